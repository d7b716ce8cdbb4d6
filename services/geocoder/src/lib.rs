//! diaba's address search engine: every verified household in an in-memory tantivy index
//! (the Lucene of Rust: inverted index, BM25, Levenshtein automata for typos), kept current
//! by the register from the change feed.
//!
//! - Words are folded ([`words`]): diacritics ignored, but an exact-diacritic match ranks
//!   first; Đ./Đường, P./Phường, KV/Khu vực, Hẻm/Kiệt/Ngõ are one; "số" goes; house numbers
//!   with slashes and letters are one word.
//! - Every word of a query must match, in any field: exactly, with one typo (words of 4
//!   letters or more, not numbers), or, for the last word as it is being typed, as a prefix.
//! - A household is found by its house number, street, hamlet, and the names of its ward
//!   now and of the wards and district it was formed from (pre-2025 names find it too).
//! - `focus` favours nearby households; `ward` filters.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod words;

pub use words::{Word, words};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::{Field, INDEXED, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::{TextAnalyzer, WhitespaceTokenizer};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

/// Most results one search ranks (offset + limit).
pub const MAX_RANKED: usize = 10_100;
/// Candidates re-ranked by distance when a focus is given.
const FOCUS_CANDIDATES: usize = 200;
/// Words of a query that count; more only add cost.
const MAX_WORDS: usize = 12;

/// The fields a household is found by, in the order results name them.
pub const FIELDS: [&str; 4] = ["house_number", "street", "hamlet", "place"];

/// A household as indexed.
#[derive(Debug, Clone)]
pub struct Household<T> {
    /// Its id.
    pub id: i64,
    /// House number, street, hamlet, and the place names (ward now, former wards and
    /// district), as written.
    pub texts: [String; 4],
    /// Its current ward code (for `ward=`).
    pub ward_code: String,
    /// Where it is.
    pub lon: f64,
    /// Where it is.
    pub lat: f64,
    /// What a hit answers with.
    pub payload: Arc<T>,
}

/// A search as asked.
#[derive(Debug, Clone, Default)]
pub struct Search<'a> {
    /// The words typed.
    pub text: &'a str,
    /// The last word is still being typed: match it as a prefix.
    pub autocomplete: bool,
    /// Favour households near this (lon, lat).
    pub focus: Option<(f64, f64)>,
    /// Only this ward.
    pub ward: Option<&'a str>,
    /// Results skipped.
    pub offset: usize,
    /// Results wanted.
    pub limit: usize,
}

/// One household found.
#[derive(Debug, Clone)]
pub struct Hit<T> {
    /// Its id.
    pub id: i64,
    /// Relevance (higher is better), distance favour included.
    pub score: f32,
    /// Which of [`FIELDS`] the query's words matched.
    pub matched: Vec<&'static str>,
    /// What was indexed with it.
    pub payload: Arc<T>,
}

/// Why a search or an update failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// tantivy failed (it should not, in memory).
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
}

struct Fields {
    id: Field,
    all: Field,
    exact: Field,
    by_name: [Field; 4],
    ward: Field,
}

struct Entry<T> {
    words: [Vec<String>; 4],
    lon: f64,
    lat: f64,
    payload: Arc<T>,
}

/// The search engine over households carrying payloads `T`.
pub struct Geocoder<T> {
    fields: Fields,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    entries: RwLock<HashMap<i64, Entry<T>>>,
}

impl<T> std::fmt::Debug for Geocoder<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let households = self.entries.read().map_or(0, |e| e.len());
        f.debug_struct("Geocoder").field("households", &households).finish_non_exhaustive()
    }
}

const TOKENIZER: &str = "words";

impl<T: Send + Sync + 'static> Geocoder<T> {
    /// An empty engine.
    pub fn new() -> Result<Self, Error> {
        let mut schema = Schema::builder();
        let text = |positions: bool| {
            let record =
                if positions { IndexRecordOption::WithFreqsAndPositions } else { IndexRecordOption::WithFreqs };
            TextOptions::default()
                .set_indexing_options(TextFieldIndexing::default().set_tokenizer(TOKENIZER).set_index_option(record))
        };
        let id = schema.add_i64_field("id", INDEXED | tantivy::schema::FAST);
        let all = schema.add_text_field("all", text(false));
        let exact = schema.add_text_field("exact", text(false));
        // Positions in each field, so words typed together ("an hoa") rank the places that
        // have them together (An Hòa) above those that have them apart (Hòa Bình, Tân An).
        let by_name = FIELDS.map(|name| schema.add_text_field(name, text(true)));
        let ward = schema.add_text_field("ward", STRING);
        let index = Index::create_in_ram(schema.build());
        // The words are made by [`words`]; the index only splits them at spaces.
        index.tokenizers().register(TOKENIZER, TextAnalyzer::builder(WhitespaceTokenizer::default()).build());
        let writer = index.writer_with_num_threads(1, 50_000_000)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(Self {
            fields: Fields { id, all, exact, by_name, ward },
            reader,
            writer: Mutex::new(writer),
            entries: RwLock::default(),
        })
    }

    /// Households indexed.
    pub fn len(&self) -> usize {
        self.entries.read().map_or(0, |e| e.len())
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn document(&self, household: &Household<T>) -> (TantivyDocument, Entry<T>) {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_i64(f.id, household.id);
        doc.add_text(f.ward, &household.ward_code);
        let mut folded: [Vec<String>; 4] = Default::default();
        let (mut all, mut exact) = (Vec::new(), Vec::new());
        for (i, text) in household.texts.iter().enumerate() {
            let w = words(text);
            folded[i] = w.iter().map(|w| w.folded.clone()).collect();
            doc.add_text(f.by_name[i], folded[i].join(" "));
            all.extend(folded[i].iter().cloned());
            exact.extend(w.into_iter().map(|w| w.exact));
        }
        doc.add_text(f.all, all.join(" "));
        doc.add_text(f.exact, exact.join(" "));
        let entry = Entry { words: folded, lon: household.lon, lat: household.lat, payload: household.payload.clone() };
        (doc, entry)
    }

    /// Replaces every household by `households` (the load at start).
    pub fn replace_all(&self, households: Vec<Household<T>>) -> Result<(), Error> {
        let mut writer = self.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        writer.delete_all_documents()?;
        let mut entries = HashMap::with_capacity(households.len());
        for household in &households {
            let (doc, entry) = self.document(household);
            writer.add_document(doc)?;
            entries.insert(household.id, entry);
        }
        writer.commit()?;
        self.reader.reload()?;
        *self.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner) = entries;
        Ok(())
    }

    /// Adds, replaces (`Some`) or removes (`None`) household `id`; searchable on return.
    pub fn put(&self, id: i64, household: Option<Household<T>>) -> Result<(), Error> {
        let mut writer = self.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        writer.delete_term(Term::from_field_i64(self.fields.id, id));
        let entry = match &household {
            Some(h) => {
                let (doc, entry) = self.document(h);
                writer.add_document(doc)?;
                Some(entry)
            }
            None => None,
        };
        writer.commit()?;
        self.reader.reload()?;
        let mut entries = self.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        match entry {
            Some(entry) => entries.insert(id, entry),
            None => entries.remove(&id),
        };
        Ok(())
    }

    /// The households matching `search`, best first.
    pub fn search(&self, search: &Search<'_>) -> Result<Vec<Hit<T>>, Error> {
        let query_words: Vec<Word> = words(search.text).into_iter().take(MAX_WORDS).collect();
        if query_words.is_empty() {
            return Ok(Vec::new());
        }
        let wanted = (search.offset + search.limit).min(MAX_RANKED);
        let ranked = if search.focus.is_some() { wanted.max(FOCUS_CANDIDATES) } else { wanted };
        let searcher = self.reader.searcher();
        let collector = TopDocs::with_limit(ranked.max(1)).order_by_score();
        // Words as typed first; a typo is looked for only when they find nothing (a
        // Levenshtein automaton per word is the costly part of a search).
        let mut top = searcher.search(&self.query(&searcher, &query_words, search, false), &collector)?;
        if top.is_empty() && query_words.iter().any(Word::forgives_typo) {
            top = searcher.search(&self.query(&searcher, &query_words, search, true), &collector)?;
        }
        let entries = self.entries.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let ids = searcher.segment_reader(address.segment_ord).fast_fields().i64("id")?;
            let Some(id) = ids.first(address.doc_id) else { continue };
            let Some(entry) = entries.get(&id) else { continue };
            let favour =
                search.focus.map_or(1.0, |(lon, lat)| 1.0 + (-distance_km(lon, lat, entry.lon, entry.lat) / 2.0).exp());
            hits.push(Hit {
                id,
                score: score * favour as f32,
                matched: matched(&entry.words, &query_words, search.autocomplete),
                payload: entry.payload.clone(),
            });
        }
        drop(entries);
        if search.focus.is_some() {
            hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        }
        Ok(hits.into_iter().skip(search.offset).take(search.limit).collect())
    }

    /// The query: every word required (as typed; as a prefix if it is the last one being
    /// typed; with one typo allowed when `typos`), and what only ranks kept optional (the
    /// house-number field, the diacritics as typed, words typed together), so the engine
    /// intersects a few posting lists and scores only the households in that intersection.
    fn query(
        &self,
        searcher: &tantivy::Searcher,
        query_words: &[Word],
        search: &Search<'_>,
        typos: bool,
    ) -> BooleanQuery {
        let f = &self.fields;
        let last = query_words.len() - 1;
        // A ranking term found in most households ("phường") tells nothing and costs a walk
        // over their postings.
        let common = (searcher.num_docs() / 10).max(1_000);
        let telling = |term: &Term| searcher.doc_freq(term).is_ok_and(|n| n < common);
        let boosted = |query: Box<dyn Query>, boost: f32| -> Box<dyn Query> { Box::new(BoostQuery::new(query, boost)) };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (i, word) in query_words.iter().enumerate() {
            let term = Term::from_field_text(f.all, &word.folded);
            let as_typed: Box<dyn Query> = Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs));
            // Only a word the register does not have as typed can hold the typo.
            let typo = typos && word.forgives_typo() && !searcher.doc_freq(&term).is_ok_and(|n| n > 0);
            let prefix = search.autocomplete && i == last;
            let required = if typo || prefix {
                let mut any = vec![(Occur::Should, as_typed)];
                if typo {
                    any.push((Occur::Should, boosted(Box::new(FuzzyTermQuery::new(term.clone(), 1, true)), 0.5)));
                }
                if prefix {
                    let prefixed = FuzzyTermQuery::new_prefix(term.clone(), u8::from(typo), true);
                    any.push((Occur::Should, boosted(Box::new(prefixed), 0.6)));
                }
                Box::new(BooleanQuery::new(any))
            } else {
                as_typed
            };
            clauses.push((Occur::Must, required));
            let house = Term::from_field_text(f.by_name[0], &word.folded);
            if word.folded.chars().any(|c| c.is_ascii_digit()) && telling(&house) {
                clauses.push((Occur::Should, Box::new(TermQuery::new(house, IndexRecordOption::WithFreqs))));
            }
            let exact = Term::from_field_text(f.exact, &word.exact);
            if telling(&exact) {
                clauses
                    .push((Occur::Should, boosted(Box::new(TermQuery::new(exact, IndexRecordOption::WithFreqs)), 0.8)));
            }
        }
        // Street (f.by_name[1]) and place names (f.by_name[3]): where words go together.
        for pair in query_words.windows(2) {
            for field in [f.by_name[1], f.by_name[3]] {
                let terms: Vec<Term> = pair.iter().map(|w| Term::from_field_text(field, &w.folded)).collect();
                if terms.iter().any(telling) {
                    clauses.push((Occur::Should, boosted(Box::new(PhraseQuery::new(terms)), 2.0)));
                }
            }
        }
        if let Some(ward) = search.ward {
            clauses.push((
                Occur::Must,
                Box::new(TermQuery::new(Term::from_field_text(f.ward, ward), IndexRecordOption::Basic)),
            ));
        }
        BooleanQuery::new(clauses)
    }
}

/// The fields whose words the query's words match (as the query does).
fn matched(fields: &[Vec<String>; 4], query: &[Word], autocomplete: bool) -> Vec<&'static str> {
    let last = query.len().saturating_sub(1);
    let hits = |candidate: &str, (i, word): (usize, &Word)| {
        candidate == word.folded
            || (word.forgives_typo()
                && candidate.len().abs_diff(word.folded.len()) <= 1
                && strsim::damerau_levenshtein(candidate, &word.folded) <= 1)
            || (autocomplete && i == last && candidate.starts_with(word.folded.as_str()))
    };
    FIELDS
        .iter()
        .zip(fields)
        .filter(|(_, words)| words.iter().any(|c| query.iter().enumerate().any(|w| hits(c, w))))
        .map(|(name, _)| *name)
        .collect()
}

/// Great-circle distance in km (haversine; a city's distances need no more).
fn distance_km(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let (dp, dl) = (p2 - p1, (lon2 - lon1).to_radians());
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0 * a.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn household(id: i64, house: &str, street: &str, hamlet: &str, place: &str, lon: f64) -> Household<&'static str> {
        Household {
            id,
            texts: [house.into(), street.into(), hamlet.into(), place.into()],
            ward_code: if place.contains("Cái Khế") { "31120".into() } else { "31135".into() },
            lon,
            lat: 10.03,
            payload: Arc::new("synthetic"),
        }
    }

    fn engine() -> Geocoder<&'static str> {
        let g = Geocoder::new().unwrap();
        g.replace_all(vec![
            household(1, "12/3A", "Nguyễn Văn Cừ", "", "Phường Ninh Kiều Phường Tân An Quận Ninh Kiều", 105.78),
            household(2, "12", "Đường Cu", "", "Phường Ninh Kiều", 105.79),
            household(3, "51/12/4", "Đường 3/2", "", "Phường Cái Khế Phường An Hòa", 105.77),
            household(4, "7", "Trần Hưng Đạo", "Khu vực Thới Thạnh", "Phường Cái Khế", 105.80),
            household(5, "7", "Trần Hưng Đạo", "", "Phường Ninh Kiều", 105.70),
        ])
        .unwrap();
        g
    }

    fn ids(g: &Geocoder<&'static str>, search: Search<'_>) -> Vec<i64> {
        g.search(&Search { limit: 10, ..search }).unwrap().into_iter().map(|h| h.id).collect()
    }

    fn find(g: &Geocoder<&'static str>, text: &str) -> Vec<i64> {
        ids(g, Search { text, ..Default::default() })
    }

    #[test]
    fn diacritics_are_ignored_but_an_exact_match_ranks_first() {
        let g = engine();
        assert_eq!(find(&g, "nguyen van cu")[0], 1);
        assert_eq!(find(&g, "Cừ")[0], 1);
        assert_eq!(find(&g, "Cu")[0], 2, "Cu as written is house 2's street");
    }

    #[test]
    fn words_typed_together_rank_the_places_that_have_them_together() {
        let g = Geocoder::new().unwrap();
        g.replace_all(vec![
            household(1, "5", "Hòa Bình", "", "Phường Tân An", 105.78),
            household(2, "5", "Mậu Thân", "", "Phường Cái Khế Phường An Hòa", 105.78),
        ])
        .unwrap();
        assert_eq!(find(&g, "an hoa"), [2, 1]);
    }

    #[test]
    fn house_numbers_are_units_and_old_names_find_the_household() {
        let g = engine();
        assert_eq!(find(&g, "12/3a nguyen van cu"), [1]);
        assert_eq!(find(&g, "số 51/12/4 Đ. 3/2"), [3]);
        assert_eq!(find(&g, "51/12/4 an hoa"), [3], "a pre-2025 ward name");
        assert!(find(&g, "51/12 an hoa").is_empty(), "a house number is matched whole");
        assert_eq!(find(&g, "7 tran hung dao kv thoi thanh"), [4]);
    }

    #[test]
    fn one_typo_is_forgiven_in_long_words_only() {
        let g = engine();
        assert_eq!(find(&g, "nguyne van cu"), [1], "a transposition");
        assert_eq!(find(&g, "ngyen van cu"), [1], "a letter missing");
        assert!(find(&g, "ngyyen vn cu").is_empty(), "vn is too short to forgive");
    }

    #[test]
    fn the_last_word_is_a_prefix_as_you_type() {
        let g = engine();
        assert!(find(&g, "tran hung d").is_empty(), "not without autocomplete");
        let typed = ids(&g, Search { text: "tran hung d", autocomplete: true, ..Default::default() });
        assert_eq!(typed.len(), 2);
    }

    #[test]
    fn focus_favours_the_nearby_and_ward_filters() {
        let g = engine();
        let near_4 = ids(&g, Search { text: "7 tran hung dao", focus: Some((105.80, 10.03)), ..Default::default() });
        let near_5 = ids(&g, Search { text: "7 tran hung dao", focus: Some((105.70, 10.03)), ..Default::default() });
        assert_eq!((near_4[0], near_5[0]), (4, 5));
        assert_eq!(ids(&g, Search { text: "7 tran hung dao", ward: Some("31135"), ..Default::default() }), [5]);
    }

    #[test]
    fn hits_say_which_fields_matched_and_updates_are_searchable_at_once() {
        let g = engine();
        let hit = &g.search(&Search { text: "12/3a ninh kieu", limit: 1, ..Default::default() }).unwrap()[0];
        assert_eq!(hit.matched, ["house_number", "place"]);
        g.put(6, Some(household(6, "99", "Mậu Thân", "", "Phường Ninh Kiều", 105.78))).unwrap();
        assert_eq!(find(&g, "99 mau than"), [6]);
        g.put(6, None).unwrap();
        assert!(find(&g, "99 mau than").is_empty());
        assert_eq!(g.len(), 5);
    }
}
