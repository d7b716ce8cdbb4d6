//! Household addresses (DESIGN §5): submissions from phones placed in their ward and
//! coded, review by the ward's registrars, and finding a household by words, by place or
//! by code.

use crate::Register;
use crate::error::{Error, Result};
use crate::page::Page;
use crate::search::search_text;
use chrono::{DateTime, Utc};
use diaba_core::auth::{Action, Caller};
use diaba_core::spatial::AddressFeature;
use diaba_core::{AddressStatus, AsOf, LonLat, UnitCode, UnitLevel, Vpostcode, VpostcodeError, fold};
use diaba_store::addresses::{AddressRecord, NewAddress, ProgressRow, PublicAddress, Reviewed, Submitted};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Most submissions in one offline batch.
pub const MAX_SUBMISSION_BATCH: usize = 500;
/// Longest accepted text field, in characters.
const MAX_TEXT: usize = 200;
/// Longest search query, in characters.
const MAX_QUERY: usize = 200;
/// Default and largest radius of reverse geocoding, metres.
const NEAREST_RADIUS_M: (f64, f64) = (100.0, 1_000.0);
/// Most addresses listed by [`Register::nearby`].
const NEARBY_LIMIT: usize = 50;

/// A submission as a phone sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Submission {
    lat: f64,
    lon: f64,
    accuracy_m: f64,
    house_number: String,
    street: Option<String>,
    hamlet: Option<String>,
    head_name: Option<String>,
    device_id: Option<String>,
    captured_at: DateTime<Utc>,
    /// The code the phone computed, if it did: checked against the location.
    vpostcode: Option<String>,
}

/// What a submission came to.
#[derive(Debug, Serialize)]
pub struct SubmissionAnswer {
    /// The record.
    pub address: AddressRecord,
    /// Possible duplicates nearby.
    pub warnings: Vec<Value>,
    /// Stored now (`true`) or the same answer as the first time (a replay).
    #[serde(skip)]
    pub created: bool,
}

/// One item of a batch, answered on its own.
pub type BatchItem = Result<SubmissionAnswer>;

/// An address as the caller may see it.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum AddressView {
    /// Every field: its collector and the ward's registrars.
    Full(AddressRecord),
    /// What a public register shows.
    Public(PublicAddress),
}

impl AddressView {
    /// Id.
    pub fn id(&self) -> i64 {
        match self {
            AddressView::Full(r) => r.id,
            AddressView::Public(r) => r.id,
        }
    }

    /// Version (the ETag).
    pub fn version(&self) -> i32 {
        match self {
            AddressView::Full(r) => r.version,
            AddressView::Public(r) => r.version,
        }
    }
}

/// A page of submissions of a ward.
#[derive(Debug, Serialize)]
pub struct Submissions {
    /// Ward code.
    pub ward: String,
    /// Their status.
    pub status: AddressStatus,
    /// Oldest first.
    pub submissions: Vec<AddressRecord>,
    /// Where the next page starts.
    pub next_after: Option<i64>,
}

/// `GET /v1/addresses?q=` (and `/v1/geocode`) as asked.
#[derive(Debug, Default, Deserialize)]
pub struct SearchRequest {
    /// The words typed.
    pub q: Option<String>,
    /// 1 to 100 (20).
    pub limit: Option<String>,
    /// 0 to 10 000.
    pub offset: Option<String>,
    /// `true`: the last word is still being typed (matched as a prefix).
    pub autocomplete: Option<String>,
    /// `lat,lon`: favour households near it.
    pub focus: Option<String>,
    /// A ward code: only its households.
    pub ward: Option<String>,
}

/// One household found: its public record, its score, and which fields matched.
#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    /// The public record (with its Vpostcode).
    #[serde(flatten)]
    pub record: PublicAddress,
    /// Relevance, higher is better (BM25, exact diacritics and nearness favoured).
    pub score: f32,
    /// Which of house_number, street, hamlet and place (ward names) the words matched.
    pub matched: Vec<&'static str>,
}

/// Search results.
#[derive(Debug, Serialize)]
pub struct SearchResults {
    /// The query as typed.
    pub q: String,
    /// The query as matched.
    pub folded: String,
    /// Best first.
    pub results: Vec<SearchHit>,
    /// Offset of the next page, when this one was full.
    pub next_offset: Option<i64>,
}

fn text(field: &str, value: Option<String>) -> Result<Option<String>> {
    let Some(value) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else { return Ok(None) };
    if value.chars().count() > MAX_TEXT || value.chars().any(char::is_control) {
        return Err(Error::unprocessable(field, format!("{field} must be at most {MAX_TEXT} characters of text")));
    }
    Ok(Some(value))
}

/// An Idempotency-Key: present, at most 200 ASCII characters.
fn idempotency_key(value: Option<&str>) -> Result<String> {
    let key = value.map(str::trim).filter(|k| !k.is_empty()).ok_or_else(|| {
        Error::invalid(
            "Idempotency-Key",
            "send an Idempotency-Key (e.g. a UUID made on the phone) with each submission",
        )
    })?;
    if key.len() > 200 || !key.is_ascii() {
        return Err(Error::invalid("Idempotency-Key", "an Idempotency-Key is at most 200 ASCII characters"));
    }
    Ok(key.to_owned())
}

fn collector(caller: Option<&Caller>) -> Result<&Caller> {
    let caller = caller.ok_or_else(|| Error::Unauthenticated { detail: "this request needs a bearer token".into() })?;
    if !Action::SubmitAddresses.roles().contains(&caller.role) {
        return Err(Error::Forbidden {
            detail: format!("household submissions come from collectors; a {} reviews them", caller.role.as_str()),
        });
    }
    Ok(caller)
}

fn address_id(text: &str) -> Result<i64> {
    text.parse().map_err(|_| Error::invalid("id", format!("{text:?} is not an address id")))
}

fn rounded(distance_m: f64) -> f64 {
    (distance_m * 10.0).round() / 10.0
}

/// A verified address and how far it is.
#[derive(Debug, Serialize)]
pub struct Near {
    /// The address (public fields).
    pub address: AddressFeature,
    /// Metres, to 0.1 m.
    pub distance_m: f64,
}

impl Near {
    fn of((address, distance): (Arc<AddressFeature>, f64)) -> Self {
        Self { address: (*address).clone(), distance_m: rounded(distance) }
    }
}

fn radius_of(text: Option<&str>) -> Result<f64> {
    match text {
        Some(text) => text.parse::<f64>().ok().filter(|r| *r > 0.0 && *r <= NEAREST_RADIUS_M.1).ok_or_else(|| {
            Error::invalid("radius_m", format!("radius_m is above 0 and at most {}", NEAREST_RADIUS_M.1))
        }),
        None => Ok(NEAREST_RADIUS_M.0),
    }
}

impl Register {
    /// Places and stores one submission made with `key`; `body` is the JSON as sent (its
    /// hash guards the key: a replay with another body is a conflict).
    pub async fn submit_address(
        &self,
        caller: Option<&Caller>,
        key: Option<&str>,
        body: Value,
    ) -> Result<SubmissionAnswer> {
        let caller = collector(caller)?;
        let key = idempotency_key(key)?;
        let names = self.store.ward_search_names().await?;
        self.submit_one(caller, &key, body, &names).await
    }

    /// An offline queue of up to [`MAX_SUBMISSION_BATCH`] submissions, each answered on its
    /// own (none lost); an unreachable database fails the whole batch, to be sent again.
    pub async fn submit_addresses(&self, caller: Option<&Caller>, items: Vec<Value>) -> Result<Vec<BatchItem>> {
        let caller = collector(caller)?;
        if items.len() > MAX_SUBMISSION_BATCH {
            return Err(Error::unprocessable(
                "submissions",
                format!(
                    "{} submissions in one batch; send at most {MAX_SUBMISSION_BATCH} and the rest in another",
                    items.len()
                ),
            ));
        }
        let names = self.store.ward_search_names().await?;
        let mut results = Vec::with_capacity(items.len());
        for mut item in items {
            let key = idempotency_key(item.get("idempotency_key").and_then(Value::as_str));
            let outcome = match key {
                Ok(key) => {
                    if let Some(object) = item.as_object_mut() {
                        object.remove("idempotency_key");
                    }
                    self.submit_one(caller, &key, item, &names).await
                }
                Err(error) => Err(error),
            };
            if let Err(Error::Store(e)) = &outcome
                && e.is_unavailable()
            {
                return outcome.map(|_| Vec::new());
            }
            results.push(outcome);
        }
        Ok(results)
    }

    async fn submit_one(
        &self,
        caller: &Caller,
        key: &str,
        body: Value,
        ward_names: &HashMap<String, Vec<String>>,
    ) -> Result<SubmissionAnswer> {
        let request_hash = Sha256::digest(body.to_string().as_bytes());
        let submission: Submission = serde_path_to_error::deserialize(body).map_err(|e| {
            let field = e.path().to_string();
            let field = if field == "." { "body".to_owned() } else { field };
            Error::unprocessable(field.clone(), format!("{field}: {}", e.inner()))
        })?;
        let point = LonLat::new(submission.lon, submission.lat)?;
        if !submission.accuracy_m.is_finite() || submission.accuracy_m < 0.0 {
            return Err(Error::unprocessable("accuracy_m", "accuracy_m is the GPS accuracy in metres, 0 or more"));
        }
        let max_accuracy = f64::from(self.limits.max_accuracy_m);
        if submission.accuracy_m > max_accuracy {
            return Err(Error::unprocessable(
                "accuracy_m",
                format!(
                    "the GPS fix is accurate to {:.0} m, worse than the {max_accuracy:.0} m this register accepts; wait \
                     for a better fix (step outside, away from walls) and capture again",
                    submission.accuracy_m
                ),
            ));
        }
        if submission.captured_at > Utc::now() + chrono::Duration::minutes(10) {
            return Err(Error::unprocessable("captured_at", "captured_at is in the future; check the phone's clock"));
        }
        let house_number = text("house_number", Some(submission.house_number))?
            .ok_or_else(|| Error::unprocessable("house_number", "house_number is required"))?;
        let street = text("street", submission.street)?;
        let hamlet = text("hamlet", submission.hamlet)?;
        if street.is_none() && hamlet.is_none() {
            return Err(Error::unprocessable(
                "street",
                "give the street (urban wards) or the hamlet, ấp (rural communes)",
            ));
        }
        let head_name = text("head_name", submission.head_name)?;
        let device_id = text("device_id", submission.device_id)?;

        let p = [point.lon(), point.lat()];
        let ward = self
            .index
            .units_at(p, AsOf::today())
            .into_iter()
            .find(|u| u.level == UnitLevel::Ward && u.in_service_area)
            .ok_or_else(|| {
                Error::unprocessable(
                    "lat",
                    format!("lat {}, lon {} is outside the 12 wards diaba serves", point.lat(), point.lon()),
                )
            })?;
        if !caller.may(Action::SubmitAddresses, &ward.code) {
            return Err(Error::Forbidden {
                detail: format!("the location is in {} ({}), which is not among your wards", ward.name, ward.code),
            });
        }
        let area =
            ward.postcode_area.as_ref().ok_or_else(|| Error::unprocessable("lat", "this ward has no postcode area"))?;
        let code = Vpostcode::encode(point, area).map_err(|e| Error::unprocessable("lat", e.to_string()))?;
        if let Some(sent) = submission.vpostcode.as_deref() {
            let sent = Vpostcode::parse(sent).map_err(|e| Error::unprocessable("vpostcode", e.to_string()))?;
            if sent.postcode() != code.postcode() {
                return Err(Error::unprocessable(
                    "vpostcode",
                    format!(
                        "{sent} has postcode {}, but the location is in {} whose postcode is {}; the phone's postcode \
                         list may be out of date (wards merged on 2025-07-01)",
                        sent.postcode(),
                        ward.name,
                        code.postcode()
                    ),
                ));
            }
            if sent != code {
                return Err(Error::unprocessable(
                    "vpostcode",
                    format!("{sent} does not name the submitted location, whose code is {code}"),
                ));
            }
        }
        let parcel_id = self.index.parcel_at(p).map(|parcel| parcel.id);
        let search_text = search_text(&house_number, street.as_deref(), hamlet.as_deref(), ward_names.get(&ward.code));
        let new = NewAddress {
            lon: point.lon(),
            lat: point.lat(),
            accuracy_m: submission.accuracy_m as f32,
            house_number: Some(house_number),
            street,
            hamlet,
            head_name,
            device_id,
            captured_at: submission.captured_at,
            vpostcode: code.compact(),
            ward_code: ward.code.clone(),
            parcel_id,
        };
        let (created, record, nearby) =
            match self.store.submit_address(caller, key, &request_hash, &new, &search_text).await? {
                Submitted::Created { record, nearby } => (true, record, nearby),
                Submitted::Replayed { record, nearby } => (false, record, nearby),
                Submitted::KeyReused => {
                    return Err(Error::Conflict {
                        detail: format!("Idempotency-Key {key} was already used for a different submission"),
                    });
                }
            };
        let warnings: Vec<Value> = nearby
            .iter()
            .filter(|(id, _, _)| *id != record.id)
            .map(|(id, code, distance)| {
                json!({
                    "kind": "nearby-address",
                    "address_id": id,
                    "vpostcode": code,
                    "distance_m": rounded(*distance),
                    "detail": format!("an address ({code}) is already recorded {distance:.1} m away: is it the same household?"),
                })
            })
            .collect();
        Ok(SubmissionAnswer { address: record, warnings, created })
    }

    /// Submissions of `ward` with `status` (pending by default), for its registrars.
    pub async fn submissions(
        &self,
        caller: Option<&Caller>,
        ward: Option<&str>,
        status: Option<&str>,
        (limit, after): (Option<&str>, Option<&str>),
    ) -> Result<Submissions> {
        let _turn = self.read_turn().await?;
        let ward = ward.ok_or_else(|| Error::invalid("ward", "give the ward code, e.g. ward=31135"))?;
        let caller =
            caller.ok_or_else(|| Error::Unauthenticated { detail: "this request needs a bearer token".into() })?;
        caller.check(Action::ReviewAddresses, ward)?;
        let status = AddressStatus::parse(status.unwrap_or("pending")).ok_or_else(|| {
            Error::invalid("status", format!("status is pending, verified or rejected, not {:?}", status.unwrap_or("")))
        })?;
        let page = Page::parse(limit, after)?;
        let items = self.store.address_submissions(ward, status, page.after, page.limit).await?;
        let next_after = page.next_after(items.len(), items.last().map(|r| r.id));
        Ok(Submissions { ward: ward.to_owned(), status, submissions: items, next_after })
    }

    /// Verifies or rejects (with a reason the collector sees) submission `id` at the
    /// version named by `if_match`.
    pub async fn review_address(
        &self,
        caller: Option<&Caller>,
        id: &str,
        decision: &str,
        if_match: Option<&str>,
        reason: Option<String>,
    ) -> Result<AddressRecord> {
        let id = address_id(id)?;
        let verify = match decision {
            "verify" => true,
            "reject" => false,
            other => return Err(Error::not_found(format!("no action {other:?}: use verify or reject"))),
        };
        let caller =
            caller.ok_or_else(|| Error::Unauthenticated { detail: "this request needs a bearer token".into() })?;
        if !Action::ReviewAddresses.roles().contains(&caller.role) {
            return Err(Error::Forbidden { detail: format!("a {} cannot review submissions", caller.role.as_str()) });
        }
        let expected = crate::parcels::expected_version(if_match)?;
        let reason = text("reason", reason)?;
        if !verify && reason.is_none() {
            return Err(Error::unprocessable("reason", "say why the submission is rejected; the collector sees it"));
        }
        match self.store.review_address(id, expected, verify, reason.as_deref(), caller).await? {
            Reviewed::Done(record) => Ok(*record),
            Reviewed::NotFound => Err(Error::not_found(format!("no address {id}"))),
            Reviewed::Stale(version) => {
                Err(Error::Stale { detail: format!("address {id} is at version {version} now") })
            }
            Reviewed::OutOfScope(ward) => {
                Err(Error::Forbidden { detail: format!("ward {ward} is not among your wards") })
            }
            Reviewed::AlreadyDecided(status) => {
                Err(Error::Conflict { detail: format!("address {id} is already {status}") })
            }
        }
    }

    /// One address: a verified one for everyone (public fields); a submission only for its
    /// collector and the ward's registrars, who also see how, when and by whom it was made.
    pub async fn address(&self, caller: Option<&Caller>, id: &str) -> Result<AddressView> {
        let _turn = self.read_turn().await?;
        let id = address_id(id)?;
        let missing = || Error::not_found(format!("no verified address {id}"));
        let record = self.store.address(id).await?.ok_or_else(missing)?;
        let personal = caller.is_some_and(|c| {
            (c.is_registrar() && c.covers_ward(&record.ward_code)) || record.captured_by == Some(c.user_id)
        });
        if personal {
            Ok(AddressView::Full(record))
        } else if record.status == AddressStatus::Verified {
            Ok(AddressView::Public(record.public()))
        } else {
            Err(missing())
        }
    }

    /// Verified addresses holding every word of `q` (diacritics and case ignored, one typo
    /// forgiven in long words, the last word a prefix with `autocomplete`), best first;
    /// answered from memory.
    pub fn search_addresses(&self, request: &SearchRequest) -> Result<SearchResults> {
        let query = request.q.clone().unwrap_or_default();
        if query.chars().count() > MAX_QUERY {
            return Err(Error::invalid("q", format!("q is at most {MAX_QUERY} characters")));
        }
        // Control characters (NUL included) mean nothing in an address.
        let clean: String = query.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        let folded = fold(&clean);
        if folded.is_empty() {
            return Err(Error::invalid("q", "q is empty: give words of the address, e.g. q=nguyen van cu ninh kieu"));
        }
        let bounded = |field: &str,
                       text: Option<&str>,
                       range: std::ops::RangeInclusive<i64>,
                       default: i64,
                       what: &str| {
            match text {
                Some(text) => {
                    text.parse::<i64>().ok().filter(|n| range.contains(n)).ok_or_else(|| Error::invalid(field, what))
                }
                None => Ok(default),
            }
        };
        let limit = bounded("limit", request.limit.as_deref(), 1..=100, 20, "limit is 1 to 100")?;
        let offset = bounded("offset", request.offset.as_deref(), 0..=10_000, 0, "offset is 0 to 10 000")?;
        let autocomplete = match request.autocomplete.as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => return Err(Error::invalid("autocomplete", format!("true or false, not {other:?}"))),
        };
        let focus = match request.focus.as_deref() {
            None => None,
            Some(text) => {
                let (lat, lon) = text.split_once(',').ok_or_else(|| Error::invalid("focus", "focus=lat,lon"))?;
                let point = LonLat::parse(Some(lat.trim()), Some(lon.trim()))
                    .map_err(|e| Error::invalid("focus", e.to_string()))?;
                Some((point.lon(), point.lat()))
            }
        };
        let ward = match request.ward.as_deref() {
            Some(ward) => Some(UnitCode::parse(ward).map_err(|e| Error::invalid("ward", e.to_string()))?),
            None => None,
        };
        let search = diaba_geocoder::Search {
            text: &clean,
            autocomplete,
            focus,
            ward: ward.as_ref().map(UnitCode::as_str),
            offset: usize::try_from(offset).unwrap_or(0),
            limit: usize::try_from(limit).unwrap_or(20),
        };
        let hits = self.search.engine().search(&search).map_err(|e| Error::Internal { detail: e.to_string() })?;
        let results: Vec<SearchHit> = hits
            .into_iter()
            .map(|h| SearchHit { record: (*h.payload).clone(), score: h.score, matched: h.matched })
            .collect();
        let next_offset = (results.len() as i64 == limit).then_some(offset + limit);
        Ok(SearchResults { q: query, folded, results, next_offset })
    }

    /// The same as a GeoJSON FeatureCollection of points, Photon-style (`/v1/geocode`). A
    /// Vpostcode, a parcel key (`31135/1/1`) or a national parcel id typed in the same box
    /// resolves to its cell or its parcel (public fields only).
    pub async fn geocode(&self, request: &SearchRequest) -> Result<Value> {
        if let Some(feature) = self.code_feature(request.q.as_deref().unwrap_or("").trim()).await? {
            return Ok(json!({ "type": "FeatureCollection", "features": [feature] }));
        }
        let found = self.search_addresses(request)?;
        let features: Vec<Value> = found
            .results
            .into_iter()
            .map(|hit| {
                let a = hit.record;
                json!({
                    "type": "Feature",
                    "geometry": { "type": "Point", "coordinates": [a.lon, a.lat] },
                    "properties": {
                        "type": "house", "id": a.id, "housenumber": a.house_number, "street": a.street,
                        "district": a.hamlet, "city": a.ward_name, "state": "Cần Thơ", "country": "Việt Nam",
                        "countrycode": "VN", "postcode": a.vpostcode.get(..5), "vpostcode": a.vpostcode,
                        "ward_code": a.ward_code, "score": hit.score, "matched": hit.matched,
                    },
                })
            })
            .collect();
        Ok(json!({ "type": "FeatureCollection", "features": features }))
    }

    /// The cell of a Vpostcode, or the parcel of a key or national id, as a feature.
    async fn code_feature(&self, text: &str) -> Result<Option<Value>> {
        if let Ok(code) = Vpostcode::parse(text)
            && let Ok(decoded) = self.postcodes.decode(&code)
        {
            let c = decoded.cell;
            let (lon, lat) = ((c.lng_lo + c.lng_hi) / 2.0, (c.lat_lo + c.lat_hi) / 2.0);
            return Ok(Some(json!({
                "type": "Feature", "geometry": { "type": "Point", "coordinates": [lon, lat] },
                "properties": { "type": "vpostcode", "vpostcode": code.to_string(), "postcode": code.postcode(),
                                "state": "Cần Thơ", "country": "Việt Nam", "countrycode": "VN" },
            })));
        }
        let parts: Vec<&str> = text.split(['/', ' ', '-']).filter(|p| !p.is_empty()).collect();
        let search = match parts.as_slice() {
            [ward, sheet, number]
                if ward.len() == 5 && [ward, sheet, number].iter().all(|p| p.chars().all(|c| c.is_ascii_digit())) =>
            {
                crate::parcels::ParcelSearch {
                    ward: Some((*ward).to_owned()),
                    sheet: Some((*sheet).to_owned()),
                    number: Some((*number).to_owned()),
                    ..Default::default()
                }
            }
            [id] if diaba_core::NationalParcelId::parse(id).is_ok() => {
                crate::parcels::ParcelSearch { national_id: Some(id.to_lowercase()), ..Default::default() }
            }
            _ => return Ok(None),
        };
        let crate::parcels::ParcelsFound::One(parcel) = (match self.find_parcels(search, None).await {
            Err(Error::NotFound { .. }) => return Ok(None),
            other => other?,
        }) else {
            return Ok(None);
        };
        let parcel = serde_json::to_value(&parcel).map_err(|e| Error::Internal { detail: e.to_string() })?;
        Ok(Some(json!({
            "type": "Feature", "geometry": parcel["geometry"],
            "properties": { "type": "parcel", "id": parcel["id"], "national_id": parcel["national_id"],
                            "ward_code": parcel["ward_code"], "sheet": parcel["sheet"], "number": parcel["number"],
                            "state": "Cần Thơ", "country": "Việt Nam", "countrycode": "VN" },
        })))
    }

    /// The nearest verified address within `radius_m` (100 m by default, 1 000 at most).
    pub fn nearest_address(&self, lat: Option<&str>, lon: Option<&str>, radius_m: Option<&str>) -> Result<Near> {
        let point = LonLat::parse(lat, lon)?;
        let radius = radius_of(radius_m)?;
        self.index.nearest_address([point.lon(), point.lat()], radius).map(Near::of).ok_or_else(|| {
            Error::not_found(format!(
                "no verified address within {radius} m of lat {}, lon {}",
                point.lat(),
                point.lon()
            ))
        })
    }

    /// Verified addresses around a point, nearest first (at most 50), so a collector sees
    /// who is already recorded here; with the radius and how many there are in all.
    pub fn nearby_addresses(
        &self,
        lat: Option<&str>,
        lon: Option<&str>,
        radius_m: Option<&str>,
    ) -> Result<(f64, usize, Vec<Near>)> {
        let point = LonLat::parse(lat, lon)?;
        let radius = radius_of(radius_m)?;
        let found = self.index.addresses_within([point.lon(), point.lat()], radius);
        let total = found.len();
        Ok((radius, total, found.into_iter().take(NEARBY_LIMIT).map(Near::of).collect()))
    }

    /// Households digitised, verified, pending and rejected, by ward and team, and per
    /// capture day (Vietnam time).
    pub async fn address_stats(&self, ward: Option<&str>) -> Result<Value> {
        let _turn = self.read_turn().await?;
        if let Some(ward) = ward {
            UnitCode::parse(ward)?;
        }
        let totals = self.store.address_progress(ward, false).await?;
        let days = self.store.address_progress(ward, true).await?;
        Ok(json!({ "wards": by_ward(&totals), "over_time": by_day(days), "time_zone": "Asia/Ho_Chi_Minh" }))
    }
}

/// Totals per ward, with each team's.
fn by_ward(totals: &[ProgressRow]) -> Vec<Value> {
    let mut wards: Vec<Value> = Vec::new();
    for row in totals {
        let counts = [row.digitised, row.verified, row.pending, row.rejected];
        let ward = match wards.last_mut() {
            Some(w) if w["ward_code"] == row.ward_code.as_str() => w,
            _ => {
                wards.push(json!({ "ward_code": row.ward_code, "digitised": 0, "verified": 0, "pending": 0, "rejected": 0, "teams": [] }));
                wards.last_mut().expect("just pushed")
            }
        };
        for (key, add) in ["digitised", "verified", "pending", "rejected"].into_iter().zip(counts) {
            ward[key] = json!(ward[key].as_i64().unwrap_or(0) + add);
        }
        ward["teams"].as_array_mut().expect("teams").push(json!({
            "team": row.team, "digitised": row.digitised, "verified": row.verified, "pending": row.pending, "rejected": row.rejected,
        }));
    }
    wards
}

/// Counts per ward and capture day.
fn by_day(days: Vec<ProgressRow>) -> Vec<Value> {
    let mut per_day: BTreeMap<(String, chrono::NaiveDate), [i64; 4]> = BTreeMap::new();
    for row in days {
        let Some(day) = row.day else { continue };
        let entry = per_day.entry((row.ward_code, day)).or_default();
        for (slot, n) in entry.iter_mut().zip([row.digitised, row.verified, row.pending, row.rejected]) {
            *slot += n;
        }
    }
    per_day
        .into_iter()
        .map(|((ward, day), [d, v, p, r])| json!({ "ward_code": ward, "day": day, "digitised": d, "verified": v, "pending": p, "rejected": r }))
        .collect()
}

impl Register {
    /// The Vpostcode of a point.
    pub fn vpostcode_of(&self, lat: Option<&str>, lon: Option<&str>) -> Result<Value> {
        let point = LonLat::parse(lat, lon)?;
        let area = self.postcodes.area_containing(point).ok_or_else(|| {
            Error::not_found(format!(
                "lat {}, lon {} is outside every postcode area diaba covers",
                point.lat(),
                point.lon()
            ))
        })?;
        let code = Vpostcode::encode(point, area).map_err(|e| Error::not_found(e.to_string()))?;
        let cell = code.decode(area).map_err(|e| Error::not_found(e.to_string()))?;
        Ok(json!({
            "vpostcode": code.to_string(), "compact": code.compact(), "postcode": code.postcode(),
            "unit": { "code": area.unit_code(), "name": area.unit_name() },
            "cell": { "south": cell.lat_lo, "west": cell.lng_lo, "north": cell.lat_hi, "east": cell.lng_hi },
        }))
    }

    /// Where a code is, and the verified households there.
    pub async fn decode_vpostcode(&self, text: &str) -> Result<Value> {
        let _turn = self.read_turn().await?;
        let code = Vpostcode::parse(text).map_err(|e| Error::invalid("code", e.to_string()))?;
        let decoded = self.postcodes.decode(&code).map_err(|e| match e {
            VpostcodeError::UnknownPostcode { .. } => Error::not_found(e.to_string()),
            VpostcodeError::OutsideArea { .. } => Error::unprocessable("code", e.to_string()),
            other => Error::invalid("code", other.to_string()),
        })?;
        let cell = decoded.cell;
        let addresses: Vec<PublicAddress> = self
            .store
            .addresses_in_box([cell.lng_lo, cell.lat_lo, cell.lng_hi, cell.lat_hi])
            .await?
            .into_iter()
            .map(AddressRecord::public)
            .collect();
        Ok(json!({
            "vpostcode": code.to_string(), "compact": code.compact(), "postcode": code.postcode(),
            "unit": { "code": decoded.area.unit_code(), "name": decoded.area.unit_name(), "current": decoded.area.is_current() },
            "cell": { "south": cell.lat_lo, "west": cell.lng_lo, "north": cell.lat_hi, "east": cell.lng_hi },
            "centre": { "lat": cell.center_lat(), "lon": (cell.lng_lo + cell.lng_hi) / 2.0 },
            "addresses": addresses,
        }))
    }
}
