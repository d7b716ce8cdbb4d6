//! The words an address and a query are matched by: folded (no diacritics, đ → d, lower
//! case; `diaba_core::fold`), with the forms of Vietnamese addresses made one: `Đ.` is
//! đường, `KP` khu phố, kiệt and ngõ are hẻm, and the "số" before a house number is
//! dropped. House numbers with slashes and letters (12/3A, 51/12/4) stay one word. The
//! exact words (diacritics kept, lower case) are kept beside them, so an exact match ranks
//! first ("Cừ" before "Cu").

use unicode_normalization::UnicodeNormalization;

/// A word as matched (folded) and as written (lower case, diacritics kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// Folded: `cu`.
    pub folded: String,
    /// As written, lower case: `cừ`.
    pub exact: String,
}

impl Word {
    /// Whether a typo may be forgiven in it: words of 4 letters or more, never numbers (12
    /// and 13 are different houses).
    pub fn forgives_typo(&self) -> bool {
        self.folded.chars().count() >= 4 && !self.folded.chars().any(|c| c.is_ascii_digit())
    }
}

/// Folded forms that stand for another (after `fold`, which already spells out P., Q., TP,
/// KV, TT, TX); `abbreviated`: the word was written with a dot ("Đ.").
fn canonical(word: &str, abbreviated: bool) -> Option<&'static str> {
    match word {
        // Đ. 3/2; a lone "d" is the start of a word being typed.
        "d" if abbreviated => Some("duong"),
        "kiet" | "ngo" => Some("hem"),
        _ => None,
    }
}

/// The words of `text`.
///
/// ```
/// use diaba_geocoder::words;
/// let folded: Vec<String> = words("Số 12/3A Đ. Nguyễn Văn Cừ, Kiệt 5, KP 2").into_iter().map(|w| w.folded).collect();
/// assert_eq!(folded, ["12/3a", "duong", "nguyen", "van", "cu", "hem", "5", "khu", "pho", "2"]);
/// ```
pub fn words(text: &str) -> Vec<Word> {
    let mut out: Vec<Word> = Vec::new();
    // Split first, so each word's exact form goes with its folded one.
    // (word, written with a dot as an abbreviation)
    let raw: Vec<(String, bool)> = text
        .nfc()
        .collect::<String>()
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '"' | '-'))
        .flat_map(|w| {
            // "Đ.3/2", "P.An": a dot after a letter ends an abbreviation.
            match w.split_once('.') {
                Some((head, rest)) if !head.is_empty() && !head.chars().any(|c| c.is_ascii_digit()) => {
                    vec![(head.to_owned(), true), (rest.to_owned(), false)]
                }
                _ => vec![(w.to_owned(), false)],
            }
        })
        .filter(|(w, _)| !w.is_empty())
        .collect();
    for (i, (w, abbreviated)) in raw.iter().enumerate() {
        let folded = diaba_core::fold(w);
        if folded.is_empty() {
            continue;
        }
        // "số 12": the word for number before a house number says nothing.
        let next_is_number = raw.get(i + 1).is_some_and(|(n, _)| n.starts_with(|c: char| c.is_ascii_digit()));
        if folded == "so" && next_is_number {
            continue;
        }
        if folded == "kp" {
            out.push(Word { folded: "khu".into(), exact: "khu".into() });
            out.push(Word { folded: "pho".into(), exact: "phố".into() });
            continue;
        }
        let exact = w.to_lowercase();
        for part in folded.split(' ') {
            let part = canonical(part, *abbreviated).unwrap_or(part);
            out.push(Word {
                folded: part.to_owned(),
                exact: if folded.contains(' ') { part.to_owned() } else { exact.clone() },
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(text: &str) -> Vec<String> {
        words(text).into_iter().map(|w| w.folded).collect()
    }

    #[test]
    fn forms_of_addresses_fold_to_one() {
        assert_eq!(folded("P. An Hòa"), folded("Phường An Hòa"));
        assert_eq!(folded("Q.Ninh Kiều"), folded("quận ninh kieu"));
        assert_eq!(folded("Đ.3/2"), folded("Đường 3/2"));
        assert_eq!(folded("Đ. 3/2"), folded("Đường 3/2"));
        assert_eq!(folded("tran hung d"), ["tran", "hung", "d"], "a word being typed stays as it is");
        assert_eq!(folded("Kiệt 12"), folded("hẻm 12"));
        assert_eq!(folded("Ngõ 12"), folded("Hẻm 12"));
        assert_eq!(folded("KV Thới Thạnh"), folded("Khu vực Thới Thạnh"));
        assert_eq!(folded("số 51/12/4"), ["51/12/4"]);
        assert_eq!(folded("Sở Sao"), ["so", "sao"], "số only goes before a number");
    }

    #[test]
    fn the_exact_form_keeps_its_diacritics() {
        let w = words("Nguyễn Văn Cừ");
        assert_eq!(w[2], Word { folded: "cu".into(), exact: "cừ".into() });
        assert!(!words("12")[0].forgives_typo());
        assert!(words("ninh")[0].forgives_typo());
        assert!(!words("cai")[0].forgives_typo());
    }
}
