//! `/v1/addresses` and `/v1/vpostcode`: household digitisation from phones, review by
//! ward officers, and finding a household by code, by address or by place (DESIGN §5).

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{Json, Page, Query, if_match};
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use diaba_core::auth::{Caller, Role};
use diaba_core::{AsOf, LonLat, Vpostcode, VpostcodeError, fold};
use diaba_store::addresses::{AddressRecord, NewAddress, Reviewed, Submitted};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Most submissions in one offline batch.
pub const MAX_SUBMISSION_BATCH: usize = 500;
/// Longest accepted text field, in characters.
const MAX_TEXT: usize = 200;
/// Longest search query, in characters.
const MAX_QUERY: usize = 200;
/// Default and largest radius of reverse geocoding, metres.
const NEAREST_RADIUS_M: (f64, f64) = (100.0, 1_000.0);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/addresses/submissions", post(submit).get(submissions))
        .route("/v1/addresses/submissions/batch", post(submit_batch))
        .route("/v1/addresses/submissions/{id}/{decision}", post(review))
        .route("/v1/addresses", get(search))
        .route("/v1/addresses/nearest", get(nearest))
        .route("/v1/addresses/nearby", get(nearby))
        .route("/v1/addresses/stats", get(stats))
        .route("/v1/addresses/{id}", get(one))
        .route("/v1/vpostcode", get(encode))
        .route("/v1/vpostcode/{code}", get(decode))
}

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

fn text(field: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(value) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else { return Ok(None) };
    if value.chars().count() > MAX_TEXT || value.chars().any(char::is_control) {
        return Err(unprocessable(field, format!("{field} must be at most {MAX_TEXT} characters of text")));
    }
    Ok(Some(value))
}

fn unprocessable(field: &str, detail: impl Into<String>) -> ApiError {
    ApiError::Unprocessable { field: field.into(), detail: detail.into(), parcels: Vec::new() }
}

fn collector(auth: &Auth) -> Result<&Caller, ApiError> {
    let caller = auth.required()?;
    if !matches!(caller.role, Role::Collector | Role::Admin) {
        return Err(ApiError::Forbidden {
            detail: format!("household submissions come from collectors; a {} reviews them", caller.role.as_str()),
        });
    }
    Ok(caller)
}

fn key_of(value: Option<&str>) -> Result<String, ApiError> {
    let key = value.map(str::trim).filter(|k| !k.is_empty()).ok_or_else(|| {
        ApiError::invalid(
            "Idempotency-Key",
            "send an Idempotency-Key (e.g. a UUID made on the phone) with each submission",
        )
    })?;
    if key.len() > 200 || !key.is_ascii() {
        return Err(ApiError::invalid("Idempotency-Key", "an Idempotency-Key is at most 200 ASCII characters"));
    }
    Ok(key.to_owned())
}

/// Places and stores one submission; `body` is the JSON as sent (its hash guards the key).
async fn submit_value(
    state: &AppState,
    caller: &Caller,
    key: &str,
    body: Value,
    ward_names: &HashMap<String, Vec<String>>,
) -> Result<(StatusCode, Value), ApiError> {
    let request_hash = Sha256::digest(body.to_string().as_bytes());
    let submission: Submission = serde_path_to_error::deserialize(body).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." { "body".to_owned() } else { field };
        unprocessable(&field, format!("{field}: {}", e.inner()))
    })?;
    let point = LonLat::new(submission.lon, submission.lat)?;
    if !submission.accuracy_m.is_finite() || submission.accuracy_m < 0.0 {
        return Err(unprocessable("accuracy_m", "accuracy_m is the GPS accuracy in metres, 0 or more"));
    }
    if submission.accuracy_m > f64::from(state.max_accuracy_m) {
        return Err(unprocessable(
            "accuracy_m",
            format!(
                "the GPS fix is accurate to {:.0} m, worse than the {:.0} m this register accepts; wait for a better fix \
                 (step outside, away from walls) and capture again",
                submission.accuracy_m, state.max_accuracy_m
            ),
        ));
    }
    if submission.captured_at > Utc::now() + chrono::Duration::minutes(10) {
        return Err(unprocessable("captured_at", "captured_at is in the future; check the phone's clock"));
    }
    let house_number = text("house_number", Some(submission.house_number))?
        .ok_or_else(|| unprocessable("house_number", "house_number is required"))?;
    let street = text("street", submission.street)?;
    let hamlet = text("hamlet", submission.hamlet)?;
    if street.is_none() && hamlet.is_none() {
        return Err(unprocessable("street", "give the street (urban wards) or the hamlet, ấp (rural communes)"));
    }
    let head_name = text("head_name", submission.head_name)?;
    let device_id = text("device_id", submission.device_id)?;

    let p = [point.lon(), point.lat()];
    let ward = state
        .index
        .units_at(p, AsOf::today())
        .into_iter()
        .find(|u| u.level == diaba_core::UnitLevel::Ward && u.in_service_area)
        .ok_or_else(|| {
            unprocessable(
                "lat",
                format!("lat {}, lon {} is outside the 12 wards diaba serves", point.lat(), point.lon()),
            )
        })?;
    if !caller.covers_ward(&ward.code) {
        return Err(ApiError::Forbidden {
            detail: format!("the location is in {} ({}), which is not among your wards", ward.name, ward.code),
        });
    }
    let area = ward.postcode_area.as_ref().ok_or_else(|| unprocessable("lat", "this ward has no postcode area"))?;
    let code = Vpostcode::encode(point, area).map_err(|e| unprocessable("lat", e.to_string()))?;
    if let Some(sent) = submission.vpostcode.as_deref() {
        let sent = Vpostcode::parse(sent).map_err(|e| unprocessable("vpostcode", e.to_string()))?;
        if sent.postcode() != code.postcode() {
            return Err(unprocessable(
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
            return Err(unprocessable(
                "vpostcode",
                format!("{sent} does not name the submitted location, whose code is {code}"),
            ));
        }
    }
    let parcel_id = state.index.parcel_at(p).map(|parcel| parcel.id);
    let names = ward_names.get(&ward.code).map(|n| n.join(" ")).unwrap_or_default();
    let search_text = fold(&format!(
        "{house_number} {} {} {names}",
        street.as_deref().unwrap_or(""),
        hamlet.as_deref().unwrap_or("")
    ));
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
    let (status, record, nearby) =
        match state.store.submit_address(caller, key, &request_hash, &new, &search_text).await? {
            Submitted::Created { record, nearby } => (StatusCode::CREATED, record, nearby),
            Submitted::Replayed { record, nearby } => (StatusCode::OK, record, nearby),
            Submitted::KeyReused => {
                return Err(ApiError::Conflict {
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
                "distance_m": (distance * 10.0).round() / 10.0,
                "detail": format!("an address ({code}) is already recorded {distance:.1} m away: is it the same household?"),
            })
        })
        .collect();
    Ok((status, json!({ "address": record, "warnings": warnings })))
}

fn with_record_headers(status: StatusCode, body: Value) -> Response {
    let id = body["address"]["id"].as_i64().unwrap_or_default();
    let version = body["address"]["version"].as_i64().unwrap_or_default();
    let mut response = (status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::ETAG, HeaderValue::from_str(&format!("\"{version}\"")).expect("digits"));
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/addresses/{id}")) {
        headers.insert(header::LOCATION, location);
    }
    response
}

/// `POST /v1/addresses/submissions`: 201 with the record, 200 with the same record when
/// the key is replayed, 409 when the key was used for another body.
async fn submit(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let caller = collector(&auth)?;
    let key = key_of(headers.get("idempotency-key").and_then(|v| v.to_str().ok()))?;
    let names = state.store.ward_search_names().await?;
    let (status, body) = submit_value(&state, caller, &key, body, &names).await?;
    Ok(with_record_headers(status, body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    submissions: Vec<Value>,
}

/// `POST /v1/addresses/submissions/batch`: an offline queue, up to 500, each answered on
/// its own (status and body, in order), none lost.
async fn submit_batch(
    State(state): State<AppState>,
    auth: Auth,
    Json(batch): Json<Batch>,
) -> Result<axum::Json<Value>, ApiError> {
    let caller = collector(&auth)?;
    if batch.submissions.len() > MAX_SUBMISSION_BATCH {
        return Err(ApiError::Unprocessable {
            field: "submissions".into(),
            detail: format!(
                "{} submissions in one batch; send at most {MAX_SUBMISSION_BATCH} and the rest in another",
                batch.submissions.len()
            ),
            parcels: Vec::new(),
        });
    }
    let names = state.store.ward_search_names().await?;
    let mut results = Vec::with_capacity(batch.submissions.len());
    for (index, item) in batch.submissions.into_iter().enumerate() {
        let key = key_of(item.get("idempotency_key").and_then(Value::as_str));
        let outcome = match key {
            Ok(key) => {
                let mut body = item;
                if let Some(object) = body.as_object_mut() {
                    object.remove("idempotency_key");
                }
                submit_value(&state, caller, &key, body, &names).await
            }
            Err(error) => Err(error),
        };
        let (status, body) = match outcome {
            Ok(answer) => answer,
            Err(error @ ApiError::Unavailable(_)) => return Err(error),
            Err(error) => {
                let (status, problem) = error.problem();
                (status, serde_json::to_value(problem).expect("problems serialise"))
            }
        };
        results.push(json!({ "index": index, "status": status.as_u16(), "body": body }));
    }
    Ok(axum::Json(json!({ "results": results })))
}

#[derive(Debug, Deserialize)]
struct SubmissionsQuery {
    ward: Option<String>,
    status: Option<String>,
    limit: Option<String>,
    after: Option<String>,
}

/// `GET /v1/addresses/submissions?status=pending&ward=`: for the ward's registrars.
async fn submissions(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<SubmissionsQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    let ward = q.ward.ok_or_else(|| ApiError::invalid("ward", "give the ward code, e.g. ward=31135"))?;
    reviewer(&auth, &ward)?;
    let status = match q.status.as_deref().unwrap_or("pending") {
        "pending" | "submitted" => "submitted",
        "verified" => "verified",
        "rejected" => "rejected",
        other => {
            return Err(ApiError::invalid("status", format!("status is pending, verified or rejected, not {other:?}")));
        }
    };
    let page = Page::parse(q.limit.as_deref(), q.after.as_deref())?;
    let items = state.store.address_submissions(&ward, status, page.after, page.limit).await?;
    let next_after = (items.len() as i64 == page.limit).then(|| items.last().map(|r| r.id)).flatten();
    Ok(axum::Json(json!({ "ward": ward, "status": status, "submissions": items, "next_after": next_after })))
}

fn reviewer<'a>(auth: &'a Auth, ward: &str) -> Result<&'a Caller, ApiError> {
    let caller = auth.required()?;
    if !caller.is_registrar() {
        return Err(ApiError::Forbidden { detail: format!("a {} cannot review submissions", caller.role.as_str()) });
    }
    if !caller.covers_ward(ward) {
        return Err(ApiError::Forbidden { detail: format!("ward {ward} is not among your wards") });
    }
    Ok(caller)
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Decision {
    reason: Option<String>,
}

/// `POST /v1/addresses/submissions/{id}/verify|reject` with `If-Match`.
async fn review(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, decision)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::invalid("id", format!("{id:?} is not an address id")))?;
    let verify = match decision.as_str() {
        "verify" => true,
        "reject" => false,
        other => return Err(ApiError::not_found(format!("no action {other:?}: use verify or reject"))),
    };
    let caller = auth.required()?;
    if !caller.is_registrar() {
        return Err(ApiError::Forbidden { detail: format!("a {} cannot review submissions", caller.role.as_str()) });
    }
    let expected = if_match(&headers)?;
    let decision: Decision = if body.iter().all(u8::is_ascii_whitespace) {
        Decision::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| unprocessable("body", format!("send {{\"reason\": \"…\"}}: {e}")))?
    };
    let reason = text("reason", decision.reason)?;
    if !verify && reason.is_none() {
        return Err(unprocessable("reason", "say why the submission is rejected; the collector sees it"));
    }
    let record = match state.store.review_address(id, expected, verify, reason.as_deref(), caller).await? {
        Reviewed::Done(record) => *record,
        Reviewed::NotFound => return Err(ApiError::not_found(format!("no address {id}"))),
        Reviewed::Stale(version) => {
            return Err(ApiError::PreconditionFailed { detail: format!("address {id} is at version {version} now") });
        }
        Reviewed::OutOfScope(ward) => {
            return Err(ApiError::Forbidden { detail: format!("ward {ward} is not among your wards") });
        }
        Reviewed::AlreadyDecided(status) => {
            return Err(ApiError::Conflict { detail: format!("address {id} is already {status}") });
        }
    };
    Ok(with_record_headers(StatusCode::OK, json!({ "address": record })))
}

/// Who may see an address's personal fields: registrars of its ward and its collector.
fn personal_view(auth: &Auth, record: &AddressRecord) -> bool {
    auth.0.as_ref().is_some_and(|c| {
        (c.is_registrar() && c.covers_ward(&record.ward_code)) || record.captured_by == Some(c.user_id)
    })
}

/// `GET /v1/addresses/{id}`: verified ones for everyone; submissions for their collector
/// and the ward's registrars.
async fn one(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::invalid("id", format!("{id:?} is not an address id")))?;
    let missing = || ApiError::not_found(format!("no verified address {id}"));
    let record = state.store.address(id).await?.ok_or_else(missing)?;
    let record = if personal_view(&auth, &record) {
        record
    } else if record.status == "verified" {
        record.public()
    } else {
        return Err(missing());
    };
    Ok(with_record_headers(StatusCode::OK, json!({ "address": record })))
}

#[derive(Debug, Deserialize)]
struct SearchQuery {
    q: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
}

/// `GET /v1/addresses?q=`: every word must match (house number, street, hamlet, ward,
/// old ward names), diacritics and case ignored; best match first.
async fn search(State(state): State<AppState>, Query(q): Query<SearchQuery>) -> Result<axum::Json<Value>, ApiError> {
    let query = q.q.unwrap_or_default();
    if query.chars().count() > MAX_QUERY {
        return Err(ApiError::invalid("q", format!("q is at most {MAX_QUERY} characters")));
    }
    // Control characters (NUL included) mean nothing in an address and PostgreSQL refuses NUL.
    let folded = fold(&query.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>());
    if folded.is_empty() {
        return Err(ApiError::invalid("q", "q is empty: give words of the address, e.g. q=nguyen van cu ninh kieu"));
    }
    let limit = match q.limit.as_deref() {
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| ApiError::invalid("limit", "limit is 1 to 100"))?,
        None => 20,
    };
    let offset = match q.offset.as_deref() {
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=10_000).contains(n))
            .ok_or_else(|| ApiError::invalid("offset", "offset is 0 to 10 000"))?,
        None => 0,
    };
    let hits = {
        let _turn = state.search_permits.acquire().await.expect("the semaphore is never closed");
        state.store.search_addresses(&folded, offset, limit).await?
    };
    let next_offset = (hits.len() as i64 == limit).then_some(offset + limit);
    Ok(axum::Json(json!({ "q": query, "folded": folded, "results": hits, "next_offset": next_offset })))
}

#[derive(Debug, Deserialize)]
struct PointQuery {
    lat: Option<String>,
    lon: Option<String>,
    radius_m: Option<String>,
}

fn radius_of(text: Option<&str>) -> Result<f64, ApiError> {
    match text {
        Some(text) => text.parse::<f64>().ok().filter(|r| *r > 0.0 && *r <= NEAREST_RADIUS_M.1).ok_or_else(|| {
            ApiError::invalid("radius_m", format!("radius_m is above 0 and at most {}", NEAREST_RADIUS_M.1))
        }),
        None => Ok(NEAREST_RADIUS_M.0),
    }
}

/// `GET /v1/addresses/nearest?lat=&lon=[&radius_m=]`: reverse geocoding from the index.
async fn nearest(State(state): State<AppState>, Query(q): Query<PointQuery>) -> Result<axum::Json<Value>, ApiError> {
    let point = LonLat::parse(q.lat.as_deref(), q.lon.as_deref())?;
    let radius = radius_of(q.radius_m.as_deref())?;
    let (address, distance) = state.index.nearest_address([point.lon(), point.lat()], radius).ok_or_else(|| {
        ApiError::not_found(format!(
            "no verified address within {radius} m of lat {}, lon {}",
            point.lat(),
            point.lon()
        ))
    })?;
    Ok(axum::Json(json!({ "address": *address, "distance_m": (distance * 10.0).round() / 10.0 })))
}

/// Most addresses listed by `/v1/addresses/nearby`.
const NEARBY_LIMIT: usize = 50;

/// `GET /v1/addresses/nearby?lat=&lon=[&radius_m=]`: verified addresses around a point,
/// nearest first (at most 50), so a collector sees who is already recorded here.
async fn nearby(State(state): State<AppState>, Query(q): Query<PointQuery>) -> Result<axum::Json<Value>, ApiError> {
    let point = LonLat::parse(q.lat.as_deref(), q.lon.as_deref())?;
    let radius = radius_of(q.radius_m.as_deref())?;
    let found = state.index.addresses_within([point.lon(), point.lat()], radius);
    let addresses: Vec<Value> = found
        .iter()
        .take(NEARBY_LIMIT)
        .map(|(address, distance)| json!({ "address": **address, "distance_m": (distance * 10.0).round() / 10.0 }))
        .collect();
    Ok(axum::Json(json!({ "radius_m": radius, "total": found.len(), "addresses": addresses })))
}

#[derive(Debug, Deserialize)]
struct StatsQuery {
    ward: Option<String>,
}

/// `GET /v1/addresses/stats[?ward=]`: households digitised, verified, pending and
/// rejected, by ward and team, and per capture day.
async fn stats(State(state): State<AppState>, Query(q): Query<StatsQuery>) -> Result<axum::Json<Value>, ApiError> {
    if let Some(ward) = &q.ward {
        diaba_core::UnitCode::parse(ward)?;
    }
    let totals = state.store.address_progress(q.ward.as_deref(), false).await?;
    let days = state.store.address_progress(q.ward.as_deref(), true).await?;
    let mut wards: Vec<Value> = Vec::new();
    for row in &totals {
        let ward = match wards.last_mut() {
            Some(w) if w["ward_code"] == row.ward_code.as_str() => w,
            _ => {
                wards.push(json!({ "ward_code": row.ward_code, "digitised": 0, "verified": 0, "pending": 0, "rejected": 0, "teams": [] }));
                wards.last_mut().expect("just pushed")
            }
        };
        for key in ["digitised", "verified", "pending", "rejected"] {
            let add = match key {
                "digitised" => row.digitised,
                "verified" => row.verified,
                "pending" => row.pending,
                _ => row.rejected,
            };
            ward[key] = json!(ward[key].as_i64().unwrap_or(0) + add);
        }
        ward["teams"].as_array_mut().expect("teams").push(json!({
            "team": row.team, "digitised": row.digitised, "verified": row.verified, "pending": row.pending, "rejected": row.rejected,
        }));
    }
    let mut per_day: std::collections::BTreeMap<(String, chrono::NaiveDate), [i64; 4]> = Default::default();
    for row in days {
        let Some(day) = row.day else { continue };
        let entry = per_day.entry((row.ward_code, day)).or_default();
        for (slot, n) in entry.iter_mut().zip([row.digitised, row.verified, row.pending, row.rejected]) {
            *slot += n;
        }
    }
    let over_time: Vec<Value> = per_day
        .into_iter()
        .map(|((ward, day), [d, v, p, r])| json!({ "ward_code": ward, "day": day, "digitised": d, "verified": v, "pending": p, "rejected": r }))
        .collect();
    Ok(axum::Json(json!({ "wards": wards, "over_time": over_time, "time_zone": "Asia/Ho_Chi_Minh" })))
}

#[derive(Debug, Deserialize)]
struct EncodeQuery {
    lat: Option<String>,
    lon: Option<String>,
}

/// `GET /v1/vpostcode?lat=&lon=`: the code of a point.
async fn encode(State(state): State<AppState>, Query(q): Query<EncodeQuery>) -> Result<axum::Json<Value>, ApiError> {
    let point = LonLat::parse(q.lat.as_deref(), q.lon.as_deref())?;
    let area = state.postcodes.area_containing(point).ok_or_else(|| {
        ApiError::not_found(format!(
            "lat {}, lon {} is outside every postcode area diaba covers",
            point.lat(),
            point.lon()
        ))
    })?;
    let code = Vpostcode::encode(point, area).map_err(|e| ApiError::not_found(e.to_string()))?;
    let cell = code.decode(area).map_err(|e| ApiError::Internal(Box::new(e)))?;
    Ok(axum::Json(json!({
        "vpostcode": code.to_string(), "compact": code.compact(), "postcode": code.postcode(),
        "unit": { "code": area.unit_code(), "name": area.unit_name() },
        "cell": { "south": cell.lat_lo, "west": cell.lng_lo, "north": cell.lat_hi, "east": cell.lng_hi },
    })))
}

/// `GET /v1/vpostcode/{code}`: where a code is, and the verified households there.
async fn decode(State(state): State<AppState>, Path(text): Path<String>) -> Result<axum::Json<Value>, ApiError> {
    let code = Vpostcode::parse(&text).map_err(|e| ApiError::invalid("code", e.to_string()))?;
    let decoded = state.postcodes.decode(&code).map_err(|e| match e {
        VpostcodeError::UnknownPostcode { .. } => ApiError::not_found(e.to_string()),
        VpostcodeError::OutsideArea { .. } => unprocessable("code", e.to_string()),
        other => ApiError::invalid("code", other.to_string()),
    })?;
    let cell = decoded.cell;
    let addresses: Vec<AddressRecord> = state
        .store
        .addresses_in_box([cell.lng_lo, cell.lat_lo, cell.lng_hi, cell.lat_hi])
        .await?
        .into_iter()
        .map(AddressRecord::public)
        .collect();
    Ok(axum::Json(json!({
        "vpostcode": code.to_string(), "compact": code.compact(), "postcode": code.postcode(),
        "unit": { "code": decoded.area.unit_code(), "name": decoded.area.unit_name(), "current": decoded.area.is_current() },
        "cell": { "south": cell.lat_lo, "west": cell.lng_lo, "north": cell.lat_hi, "east": cell.lng_hi },
        "centre": { "lat": cell.center_lat(), "lon": (cell.lng_lo + cell.lng_hi) / 2.0 },
        "addresses": addresses,
    })))
}
