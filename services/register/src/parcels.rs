//! The land register's parcels (DESIGN §4): finding them at any date, and every write —
//! registration, correction, split (tách thửa), merge (hợp thửa) — with its rules:
//! geometry validated in both coordinate systems, land uses from the national code lists,
//! the caller's role and ward, optimistic concurrency, and the owners shown only to whom
//! may see them.

use crate::Register;
use crate::at::parse_at;
use crate::error::{Error, Result};
use crate::page::Page;
use diaba_core::auth::{Action, Caller};
use diaba_core::crs::Vn2000;
use diaba_core::parcel::{LandUse, ParcelGeometry, SubmittedCrs, validate_geometry};
use diaba_core::{AsOf, NationalParcelId, UnitCode};
use diaba_store::parcels::{LineageEntry, NewParcel, ParcelPatch, ParcelRecord, SplitPart};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Most parts one split may make.
pub const MAX_SPLIT_PARTS: usize = 100;
/// Most parcels one merge may join.
pub const MAX_MERGE_PARCELS: usize = 50;
/// Largest box one `bbox` search may cover, in square degrees.
const MAX_BBOX_SQUARE_DEGREES: f64 = 1.0;

thread_local! {
    /// PROJ objects are per thread; validation runs without awaiting, so this is safe.
    static VN2000: Vn2000 = Vn2000::can_tho().expect("PROJ can set up VN-2000 (proj-data installed)");
}

/// A parcel as a caller may see it: owners, its versions' authors and reasons only where
/// [`Action::SeePersonalData`] allows.
#[derive(Debug, Clone, Serialize)]
pub struct ParcelView {
    #[serde(flatten)]
    record: ParcelRecord,
    #[serde(skip_serializing_if = "Option::is_none")]
    owners: Option<Option<Value>>,
}

impl ParcelView {
    fn of(mut record: ParcelRecord, caller: Option<&Caller>) -> Self {
        let owners = record.owners.take();
        let shown = diaba_core::auth::may(caller, Action::SeePersonalData, &record.ward_code);
        if !shown {
            // Staff identities and registrars' free text are not what a public register shows.
            record.author = None;
            record.reason = None;
        }
        Self { record, owners: shown.then_some(owners) }
    }

    /// Parcel id.
    pub fn id(&self) -> i64 {
        self.record.id
    }

    /// Version (the ETag).
    pub fn version(&self) -> i32 {
        self.record.version
    }
}

/// What a parcel search found.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ParcelsFound {
    /// By key or national id: the parcel.
    One(Box<ParcelView>),
    /// By box: a page.
    Page {
        /// The parcels.
        items: Vec<ParcelView>,
        /// Where the next page starts, when this one was full.
        next_after: Option<i64>,
    },
}

/// `GET /v1/parcels` as asked: by key, by national id, or by box.
#[derive(Debug, Default, Deserialize)]
pub struct ParcelSearch {
    /// Ward code of the key.
    pub ward: Option<String>,
    /// Map sheet of the key.
    pub sheet: Option<String>,
    /// Parcel number of the key.
    pub number: Option<String>,
    /// National parcel id.
    pub national_id: Option<String>,
    /// `minLon,minLat,maxLon,maxLat`.
    pub bbox: Option<String>,
    /// As of.
    pub at: Option<String>,
    /// Page size (box searches).
    pub limit: Option<String>,
    /// Keyset: last id of the previous page.
    pub after: Option<String>,
}

/// A parcel as submitted for registration or correction.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParcelInput {
    /// Current ward code (registration only).
    pub ward: Option<String>,
    /// Map sheet (registration only).
    pub sheet: Option<i32>,
    /// Parcel number (registration only).
    pub number: Option<i32>,
    /// GeoJSON (Multi)Polygon.
    pub geometry: Option<Value>,
    /// CRS of the geometry (EPSG:4326 by default, or EPSG:5897).
    pub crs: Option<String>,
    /// Land uses.
    pub land_uses: Option<Vec<LandUse>>,
    /// Certificate serial, verbatim.
    pub certificate_serial: Option<String>,
    /// Registry number, verbatim.
    pub registry_number: Option<String>,
    /// Address text.
    pub address_text: Option<String>,
    /// Holders (personal data): `[{name, kind?, id_number?, date_of_birth?, share?}]`; they
    /// become parties and rights, and answers read them back from those.
    pub owners: Option<Value>,
    /// Why (kept with the version).
    pub reason: Option<String>,
}

/// A split as submitted.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitInput {
    /// The parts, covering the parent.
    pub parts: Vec<PartInput>,
    /// Why.
    pub reason: Option<String>,
}

/// One part of a split.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartInput {
    /// GeoJSON (Multi)Polygon.
    pub geometry: Value,
    /// CRS of the geometry.
    pub crs: Option<String>,
    /// Land uses; the parent's, scaled to the part, when absent.
    pub land_uses: Option<Vec<LandUse>>,
}

/// A merge as submitted.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    /// The parcels and the versions the caller saw.
    pub parcels: Vec<MergeParent>,
    /// Why.
    pub reason: Option<String>,
}

/// One parcel of a merge.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeParent {
    /// Parcel id.
    pub id: i64,
    /// The version the caller saw.
    pub version: i32,
}

/// A split done: the retired parent and its children.
#[derive(Debug, Serialize)]
pub struct SplitDone {
    /// The parent, now retired.
    pub retired: i64,
    /// The new parcels.
    pub children: Vec<ParcelView>,
}

/// Every version of a parcel and its relatives.
#[derive(Debug, Serialize)]
pub struct History {
    /// Parcel id.
    pub id: i64,
    /// Oldest first.
    pub versions: Vec<ParcelView>,
    /// Ancestors and descendants.
    pub lineage: Vec<LineageEntry>,
    /// Endorsements and certificates recorded for it (what they say: for registrars of its
    /// ward and admins only), with their source documents (an approved dossier's code).
    pub register_changes: Vec<diaba_store::parties::RegisterChange>,
}

/// A parcel's relatives through splits and merges.
#[derive(Debug, Serialize)]
pub struct Lineage {
    /// Parcel id.
    pub id: i64,
    /// Parents, grandparents …
    pub ancestors: Vec<LineageEntry>,
    /// Children, grandchildren …
    pub descendants: Vec<LineageEntry>,
}

/// The version a write was made on, from the record's ETag as the client sent it back
/// (`If-Match: "3"`, `W/"3"` or `3`): required, so no one's change is silently lost.
pub fn expected_version(if_match: Option<&str>) -> Result<i32> {
    let text = if_match.ok_or_else(|| Error::VersionRequired {
        detail: "send If-Match with the ETag (version) you edited, so no one's change is lost".into(),
    })?;
    text.trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map_err(|_| Error::invalid("If-Match", "If-Match must be the record's ETag, e.g. \"3\""))
}

/// A parcel id from a path: a positive integer.
pub fn parse_parcel_id(text: &str) -> Result<i64> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| Error::invalid("id", format!("parcel id must be a positive integer, got {text:?}")))
}

fn positive(field: &'static str, text: Option<&str>) -> Result<i32> {
    let text = text.ok_or_else(|| Error::invalid(field, format!("{field} is required with ward")))?;
    text.parse::<i32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| Error::invalid(field, format!("{field} must be a positive integer, got {text:?}")))
}

/// `minLon,minLat,maxLon,maxLat` in degrees, at most one square degree.
pub fn parse_bbox(text: &str) -> Result<[f64; 4]> {
    let numbers: Vec<f64> = text
        .split(',')
        .map(|v| v.trim().parse::<f64>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Error::invalid("bbox", "bbox must be four numbers: minLon,minLat,maxLon,maxLat"))?;
    match numbers.as_slice() {
        [a, b, c, d]
            if [a, b, c, d].iter().all(|v| v.is_finite())
                && a < c
                && b < d
                && (-180.0..=180.0).contains(a)
                && (-180.0..=180.0).contains(c)
                && (-90.0..=90.0).contains(b)
                && (-90.0..=90.0).contains(d) =>
        {
            if (c - a) * (d - b) > MAX_BBOX_SQUARE_DEGREES {
                return Err(Error::invalid(
                    "bbox",
                    "bbox may span at most 1 square degree; page through smaller boxes",
                ));
            }
            Ok([*a, *b, *c, *d])
        }
        _ => Err(Error::invalid("bbox", "bbox must be minLon,minLat,maxLon,maxLat with min < max, in degrees")),
    }
}

fn required<T>(value: Option<T>, field: &str) -> Result<T> {
    value.ok_or_else(|| Error::unprocessable(field, format!("{field} is required")))
}

fn geometry_of(value: &Value, crs: Option<&str>, max_vertices: usize) -> Result<ParcelGeometry> {
    let crs = crs.map(SubmittedCrs::parse).transpose()?.unwrap_or(SubmittedCrs::Wgs84);
    Ok(VN2000.with(|vn2000| validate_geometry(value, crs, max_vertices, vn2000))?)
}

fn land_uses_of(uses: Option<Vec<LandUse>>) -> Result<Option<Vec<LandUse>>> {
    if let Some(uses) = &uses {
        if uses.is_empty() {
            return Err(Error::unprocessable("land_uses", "a parcel has at least one land use"));
        }
        for use_ in uses {
            use_.validate()?;
        }
    }
    Ok(uses)
}

/// An owners list checked as [`diaba_core::party::check_owners`] checks it (a 422 naming
/// the holder at fault).
pub fn check_owners(owners: &Value) -> Result<()> {
    diaba_core::party::check_owners(owners).map_err(|detail| Error::unprocessable("owners", detail))
}

/// The caller, who must be signed in to write.
fn signed_in(caller: Option<&Caller>) -> Result<&Caller> {
    caller.ok_or_else(|| Error::Unauthenticated { detail: "this request needs a bearer token".into() })
}

impl Register {
    /// Parcels by key (`ward`, `sheet`, `number`), national id, or box, live or as of `at`.
    pub async fn find_parcels(&self, q: ParcelSearch, caller: Option<&Caller>) -> Result<ParcelsFound> {
        let _turn = self.read_turn().await?;
        let at = parse_at(q.at.as_deref())?;
        if let Some(ward) = q.ward.as_deref() {
            let ward = UnitCode::parse(ward).map_err(|e| Error::invalid("ward", e.to_string()))?;
            let (sheet, number) = (positive("sheet", q.sheet.as_deref())?, positive("number", q.number.as_deref())?);
            let date = at.map_or_else(AsOf::today, |t| AsOf::from_date(diaba_core::vietnam_date(t)));
            let era = self.store.ward_era(ward.as_str(), date.date()).await?.ok_or_else(|| {
                Error::not_found(format!(
                    "there was no ward {ward} on {date}; pre-2025 codes need at= before 2025-07-01"
                ))
            })?;
            let record = self.store.parcel_by_key(ward.as_str(), era, sheet, number, at).await?.ok_or_else(|| {
                Error::not_found(format!("no parcel ward {ward} sheet {sheet} number {number} on {date}"))
            })?;
            return Ok(ParcelsFound::One(Box::new(self.view(record, caller).await?)));
        }
        if let Some(national_id) = q.national_id.as_deref() {
            let id = NationalParcelId::parse(national_id).map_err(|e| Error::invalid("national_id", e.to_string()))?;
            let record = self
                .store
                .parcel_by_national_id(id.as_str(), at)
                .await?
                .ok_or_else(|| Error::not_found(format!("no parcel with national id {id}")))?;
            return Ok(ParcelsFound::One(Box::new(self.view(record, caller).await?)));
        }
        let bbox = q.bbox.as_deref().ok_or_else(|| {
            Error::invalid("query", "give ward, sheet and number; or national_id; or bbox=minLon,minLat,maxLon,maxLat")
        })?;
        let bbox = parse_bbox(bbox)?;
        let page = Page::parse(q.limit.as_deref(), q.after.as_deref())?;
        let records = self.store.parcels_in_bbox(bbox, at, page.after, page.limit).await?;
        let next_after = page.next_after(records.len(), records.last().map(|r| r.id));
        let items = self.views(records, caller).await?;
        Ok(ParcelsFound::Page { items, next_after })
    }

    /// Records read without their holders, as `caller` may see them: holders (personal
    /// data) are fetched only for records of wards where the caller may see them.
    pub(crate) async fn views(
        &self,
        mut records: Vec<ParcelRecord>,
        caller: Option<&Caller>,
    ) -> Result<Vec<ParcelView>> {
        let shown: Vec<usize> = (0..records.len())
            .filter(|i| diaba_core::auth::may(caller, Action::SeePersonalData, &records[*i].ward_code))
            .collect();
        if !shown.is_empty() {
            let versions: Vec<(i64, Option<chrono::DateTime<chrono::Utc>>)> =
                shown.iter().map(|i| (records[*i].id, records[*i].valid_to)).collect();
            for (i, holders) in shown.into_iter().zip(self.store.holders(&versions).await?) {
                records[i].owners = holders;
            }
        }
        Ok(records.into_iter().map(|r| ParcelView::of(r, caller)).collect())
    }

    async fn view(&self, record: ParcelRecord, caller: Option<&Caller>) -> Result<ParcelView> {
        let mut views = self.views(vec![record], caller).await?;
        views.pop().ok_or_else(|| Error::Internal { detail: "a record without its view".into() })
    }

    /// One parcel, live or as of `at`; a retired parcel's last state when asked without `at`.
    pub async fn parcel(&self, id: &str, at: Option<&str>, caller: Option<&Caller>) -> Result<ParcelView> {
        let _turn = self.read_turn().await?;
        let id = parse_parcel_id(id)?;
        let at = parse_at(at)?;
        let record = match at {
            Some(_) => self.store.parcel(id, at).await?,
            None => match self.store.parcel(id, None).await? {
                Some(live) => Some(live),
                None => self.store.parcel_latest(id).await?,
            },
        };
        let record = record.ok_or_else(|| Error::not_found(format!("no parcel {id}")))?;
        self.view(record, caller).await
    }

    /// Every version of a parcel, oldest first, and its lineage.
    pub async fn parcel_history(&self, id: &str, caller: Option<&Caller>) -> Result<History> {
        let _turn = self.read_turn().await?;
        let id = parse_parcel_id(id)?;
        let versions = self.store.parcel_history(id).await?;
        if versions.is_empty() {
            return Err(Error::not_found(format!("no parcel {id}")));
        }
        let lineage = self.store.parcel_lineage(id).await?;
        let ward = versions.last().map(|v| v.ward_code.clone()).unwrap_or_default();
        let mut register_changes = self.store.parcel_register_changes(id).await?;
        if !diaba_core::auth::may(caller, Action::SeePersonalData, &ward) {
            for change in &mut register_changes {
                change.text = None;
            }
        }
        let versions = self.views(versions, caller).await?;
        Ok(History { id, versions, lineage, register_changes })
    }

    /// A parcel's ancestors and descendants.
    pub async fn parcel_lineage(&self, id: &str) -> Result<Lineage> {
        let _turn = self.read_turn().await?;
        let id = parse_parcel_id(id)?;
        self.store.parcel_latest(id).await?.ok_or_else(|| Error::not_found(format!("no parcel {id}")))?;
        let (ancestors, descendants) =
            self.store.parcel_lineage(id).await?.into_iter().partition(|e| e.relation == "ancestor");
        Ok(Lineage { id, ancestors, descendants })
    }

    /// The live record of `id`, whose ward the caller must be allowed to write in.
    async fn writable(&self, id: i64, caller: &Caller) -> Result<ParcelRecord> {
        let current =
            self.store.parcel(id, None).await?.ok_or_else(|| Error::not_found(format!("no live parcel {id}")))?;
        caller.check(Action::WriteParcels, &current.ward_code)?;
        Ok(current)
    }

    /// Registers a new parcel.
    pub async fn create_parcel(&self, input: ParcelInput, caller: Option<&Caller>) -> Result<ParcelView> {
        let caller = signed_in(caller)?;
        let ward = required(input.ward, "ward")?;
        UnitCode::parse(&ward).map_err(|e| Error::unprocessable("ward", e.to_string()))?;
        caller.check(Action::WriteParcels, &ward)?;
        let sheet = required(input.sheet.filter(|s| *s > 0), "sheet")?;
        let number = required(input.number.filter(|n| *n > 0), "number")?;
        let geometry =
            geometry_of(&required(input.geometry, "geometry")?, input.crs.as_deref(), self.limits.max_vertices)?;
        let land_uses = required(land_uses_of(input.land_uses)?, "land_uses")?;
        if let Some(owners) = &input.owners {
            check_owners(owners)?;
        }
        let new = NewParcel {
            ward,
            sheet,
            number,
            geometry,
            land_uses,
            certificate_serial: input.certificate_serial,
            registry_number: input.registry_number,
            address_text: input.address_text,
            owners: input.owners,
        };
        let reason = input.reason.unwrap_or_else(|| "registered".into());
        let record = self.store.create_parcel(new, caller, &reason).await??;
        Ok(ParcelView::of(record, Some(caller)))
    }

    /// Corrects live parcel `id` at version `expected`: `full` replaces the record (PUT),
    /// otherwise only the given fields change (PATCH). The key never changes.
    pub async fn update_parcel(
        &self,
        id: &str,
        if_match: Option<&str>,
        input: ParcelInput,
        full: bool,
        caller: Option<&Caller>,
    ) -> Result<ParcelView> {
        let caller = signed_in(caller)?;
        let id = parse_parcel_id(id)?;
        self.writable(id, caller).await?;
        let expected = expected_version(if_match)?;
        if input.ward.is_some() || input.sheet.is_some() || input.number.is_some() {
            return Err(Error::Unprocessable {
                field: "ward".into(),
                detail:
                    "the key (ward, sheet, number) of a parcel does not change; split, merge or register a new parcel"
                        .into(),
                parcels: vec![id],
            });
        }
        if full && (input.geometry.is_none() || input.land_uses.is_none()) {
            return Err(Error::unprocessable(
                "geometry",
                "PUT replaces the record: send geometry and land_uses (or use PATCH)",
            ));
        }
        let geometry = input
            .geometry
            .as_ref()
            .map(|g| geometry_of(g, input.crs.as_deref(), self.limits.max_vertices))
            .transpose()?;
        if let Some(owners) = &input.owners {
            check_owners(owners)?;
        }
        let patch = ParcelPatch {
            geometry,
            land_uses: land_uses_of(input.land_uses)?,
            certificate_serial: input.certificate_serial.map(Some).or(full.then_some(None)),
            registry_number: input.registry_number.map(Some).or(full.then_some(None)),
            address_text: input.address_text.map(Some).or(full.then_some(None)),
            owners: input.owners.map(Some).or(full.then_some(None)),
        };
        let reason = input.reason.unwrap_or_else(|| "corrected".into());
        let record = self.store.update_parcel(id, expected, patch, caller, &reason).await??;
        Ok(ParcelView::of(record, Some(caller)))
    }

    /// Splits live parcel `id` at version `expected` into parts that cover it.
    pub async fn split_parcel(
        &self,
        id: &str,
        if_match: Option<&str>,
        input: SplitInput,
        caller: Option<&Caller>,
    ) -> Result<SplitDone> {
        let caller = signed_in(caller)?;
        let id = parse_parcel_id(id)?;
        self.writable(id, caller).await?;
        let expected = expected_version(if_match)?;
        if input.parts.len() > MAX_SPLIT_PARTS {
            return Err(Error::unprocessable("parts", format!("at most {MAX_SPLIT_PARTS} parts")));
        }
        let mut parts = Vec::with_capacity(input.parts.len());
        for (i, part) in input.parts.into_iter().enumerate() {
            let geometry =
                geometry_of(&part.geometry, part.crs.as_deref(), self.limits.max_vertices).map_err(|e| match e {
                    Error::Unprocessable { detail, .. } => Error::unprocessable(format!("parts[{i}].geometry"), detail),
                    other => other,
                })?;
            parts.push(SplitPart { geometry, land_uses: land_uses_of(part.land_uses)?.unwrap_or_default() });
        }
        let reason = input.reason.unwrap_or_else(|| "tách thửa".into());
        let children = self.store.split_parcel(id, expected, parts, caller, &reason).await??;
        let children = children.into_iter().map(|r| ParcelView::of(r, Some(caller))).collect();
        Ok(SplitDone { retired: id, children })
    }

    /// Merges adjacent live parcels of one ward, each at the version the caller saw.
    pub async fn merge_parcels(&self, input: MergeInput, caller: Option<&Caller>) -> Result<ParcelView> {
        let caller = signed_in(caller)?;
        if input.parcels.len() > MAX_MERGE_PARCELS {
            return Err(Error::unprocessable("parcels", format!("at most {MAX_MERGE_PARCELS} parcels")));
        }
        if input.parcels.is_empty() {
            return Err(Error::unprocessable("parcels", "name the parcels to merge"));
        }
        let mut ids: Vec<i64> = input.parcels.iter().map(|p| p.id).collect();
        ids.sort_unstable();
        if let Some(twice) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::unprocessable(
                "parcels",
                format!("parcel {} is named twice; name each parcel once", twice[0]),
            ));
        }
        for parent in &input.parcels {
            self.writable(parent.id, caller).await?;
        }
        let parents: Vec<(i64, i32)> = input.parcels.iter().map(|p| (p.id, p.version)).collect();
        let reason = input.reason.unwrap_or_else(|| "hợp thửa".into());
        let child = self.store.merge_parcels(&parents, caller, &reason).await??;
        Ok(ParcelView::of(child, Some(caller)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diaba_core::auth::Role;

    #[test]
    fn if_match_takes_strong_weak_and_bare_versions_and_requires_one() {
        for sent in ["\"3\"", "W/\"3\"", "3", " \"3\" "] {
            assert_eq!(expected_version(Some(sent)).unwrap(), 3, "{sent}");
        }
        assert!(matches!(expected_version(None), Err(Error::VersionRequired { .. })));
        assert!(matches!(expected_version(Some("\"abc\"")), Err(Error::Invalid { .. })));
    }

    #[test]
    fn a_box_is_four_ordered_numbers_of_at_most_one_square_degree() {
        assert_eq!(parse_bbox("105.7,10.0,105.8,10.1").unwrap(), [105.7, 10.0, 105.8, 10.1]);
        for bad in ["105.8,10.0,105.7,10.1", "1,2,3", "a,b,c,d", "104,9,106,11", "NaN,1,2,3"] {
            assert!(parse_bbox(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parcel_ids_are_positive_integers() {
        assert_eq!(parse_parcel_id("42").unwrap(), 42);
        for bad in ["0", "-1", "4.2", "x", ""] {
            assert!(parse_parcel_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_collector_cannot_write_parcels_and_a_registrar_only_in_their_wards() {
        let caller = |role| Caller { user_id: 1, name: "t".into(), role, wards: vec!["31135".into()] };
        assert!(caller(Role::Collector).check(Action::WriteParcels, "31135").is_err());
        assert!(caller(Role::Registrar).check(Action::WriteParcels, "31135").is_ok());
        assert!(caller(Role::Registrar).check(Action::WriteParcels, "31120").is_err());
        assert!(caller(Role::Admin).check(Action::WriteParcels, "31120").is_ok());
    }
}
