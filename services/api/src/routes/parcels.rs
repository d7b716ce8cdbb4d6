//! `/v1/parcels`: the land register (DESIGN §4, §9, §10).

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
use diaba_core::crs::Vn2000;
use diaba_core::end_of_day;
use diaba_core::parcel::{LandUse, ParcelGeometry, SubmittedCrs, validate_geometry};
use diaba_core::{AsOf, UnitCode};
use diaba_store::parcels::{NewParcel, ParcelPatch, ParcelRecord, SplitPart};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/parcels", get(search).post(create))
        .route("/v1/parcels/merge", post(merge))
        .route("/v1/parcels/{id}", get(one).put(replace).patch(patch))
        .route("/v1/parcels/{id}/history", get(history))
        .route("/v1/parcels/{id}/lineage", get(lineage))
        .route("/v1/parcels/{id}/split", post(split))
}

thread_local! {
    /// PROJ objects are per thread; validation runs without awaiting, so this is safe.
    static VN2000: Vn2000 = Vn2000::can_tho().expect("PROJ can set up VN-2000 (proj-data installed)");
}

fn parse_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::invalid("id", format!("parcel id must be a positive integer, got {text:?}")))
}

/// `at=YYYY-MM-DD` (the end of that day in Vietnam) or an RFC 3339 instant.
fn parse_at(at: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(text) = at else { return Ok(None) };
    if let Ok(instant) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(Some(instant.with_timezone(&Utc)));
    }
    AsOf::parse(text)
        .map(|d| Some(end_of_day(d.date())))
        .map_err(|_| ApiError::invalid("at", format!("at must be YYYY-MM-DD or an RFC 3339 instant, got {text:?}")))
}

/// JSON of a record for this caller: owners only for registrars.
fn view(record: &ParcelRecord, auth: &Auth) -> Value {
    let mut value = serde_json::to_value(record).expect("records serialise");
    if !auth.sees_owners()
        && let Some(object) = value.as_object_mut()
    {
        object.remove("owners");
    }
    value
}

fn with_etag(status: StatusCode, record: &ParcelRecord, auth: &Auth) -> Response {
    let mut response = (status, axum::Json(view(record, auth))).into_response();
    let etag = HeaderValue::from_str(&format!("\"{}\"", record.version)).expect("digits");
    response.headers_mut().insert(header::ETAG, etag);
    if status == StatusCode::CREATED {
        let location = HeaderValue::from_str(&format!("/v1/parcels/{}", record.id)).expect("ascii");
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// The version named by `If-Match` ("3", W/"3" or 3).
#[derive(Debug, Deserialize)]
struct SearchQuery {
    ward: Option<String>,
    sheet: Option<String>,
    number: Option<String>,
    national_id: Option<String>,
    bbox: Option<String>,
    at: Option<String>,
    limit: Option<String>,
    after: Option<String>,
}

fn positive(field: &'static str, text: Option<&str>) -> Result<i32, ApiError> {
    let text = text.ok_or_else(|| ApiError::invalid(field, format!("{field} is required with ward")))?;
    text.parse::<i32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::invalid(field, format!("{field} must be a positive integer, got {text:?}")))
}

async fn search(State(state): State<AppState>, auth: Auth, Query(q): Query<SearchQuery>) -> Result<Response, ApiError> {
    let at = parse_at(q.at.as_deref())?;
    if let Some(ward) = q.ward.as_deref() {
        let ward = UnitCode::parse(ward).map_err(|e| ApiError::invalid("ward", e.to_string()))?;
        let (sheet, number) = (positive("sheet", q.sheet.as_deref())?, positive("number", q.number.as_deref())?);
        let date = at.map(|t| AsOf::from_date(t.date_naive())).unwrap_or_else(AsOf::today);
        let era = state.store.ward_era(ward.as_str(), date.date()).await?.ok_or_else(|| {
            ApiError::not_found(format!(
                "there was no ward {ward} on {date}; pre-2025 codes need at= before 2025-07-01"
            ))
        })?;
        let record = state.store.parcel_by_key(ward.as_str(), era, sheet, number, at).await?.ok_or_else(|| {
            ApiError::not_found(format!("no parcel ward {ward} sheet {sheet} number {number} on {date}"))
        })?;
        return Ok(with_etag(StatusCode::OK, &record, &auth));
    }
    if let Some(national_id) = q.national_id.as_deref() {
        let id = diaba_core::NationalParcelId::parse(national_id)
            .map_err(|e| ApiError::invalid("national_id", e.to_string()))?;
        let record = state
            .store
            .parcel_by_national_id(id.as_str(), at)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no parcel with national id {id}")))?;
        return Ok(with_etag(StatusCode::OK, &record, &auth));
    }
    let Some(bbox) = q.bbox.as_deref() else {
        return Err(ApiError::invalid(
            "query",
            "give ward, sheet and number; or national_id; or bbox=minLon,minLat,maxLon,maxLat",
        ));
    };
    let bbox = parse_bbox(bbox)?;
    let Page { limit, after } = Page::parse(q.limit.as_deref(), q.after.as_deref())?;
    let records = state.store.parcels_in_bbox(bbox, at, after, limit).await?;
    let next = (records.len() as i64 == limit).then(|| records.last().map(|r| r.id)).flatten();
    let items: Vec<Value> = records.iter().map(|r| view(r, &auth)).collect();
    Ok(axum::Json(json!({ "items": items, "next_after": next })).into_response())
}

fn parse_bbox(text: &str) -> Result<[f64; 4], ApiError> {
    let numbers: Vec<f64> = text
        .split(',')
        .map(|v| v.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| ApiError::invalid("bbox", "bbox must be four numbers: minLon,minLat,maxLon,maxLat"))?;
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
            if (c - a) * (d - b) > 1.0 {
                return Err(ApiError::invalid(
                    "bbox",
                    "bbox may span at most 1 square degree; page through smaller boxes",
                ));
            }
            Ok([*a, *b, *c, *d])
        }
        _ => Err(ApiError::invalid("bbox", "bbox must be minLon,minLat,maxLon,maxLat with min < max, in degrees")),
    }
}

async fn one(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<AtQuery>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let at = parse_at(q.at.as_deref())?;
    let record = match at {
        Some(_) => state.store.parcel(id, at).await?,
        None => match state.store.parcel(id, None).await? {
            Some(live) => Some(live),
            None => state.store.parcel_latest(id).await?, // retired: its last state, marked retired
        },
    };
    let record = record.ok_or_else(|| ApiError::not_found(format!("no parcel {id}")))?;
    Ok(with_etag(StatusCode::OK, &record, &auth))
}

#[derive(Debug, Deserialize)]
struct AtQuery {
    at: Option<String>,
}

async fn history(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let versions = state.store.parcel_history(id).await?;
    if versions.is_empty() {
        return Err(ApiError::not_found(format!("no parcel {id}")));
    }
    let lineage = state.store.parcel_lineage(id).await?;
    let versions: Vec<Value> = versions.iter().map(|r| view(r, &auth)).collect();
    Ok(axum::Json(json!({ "id": id, "versions": versions, "lineage": lineage })).into_response())
}

async fn lineage(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    state.store.parcel_latest(id).await?.ok_or_else(|| ApiError::not_found(format!("no parcel {id}")))?;
    let entries = state.store.parcel_lineage(id).await?;
    let (ancestors, descendants): (Vec<_>, Vec<_>) = entries.into_iter().partition(|e| e.relation == "ancestor");
    Ok(axum::Json(json!({ "id": id, "ancestors": ancestors, "descendants": descendants })).into_response())
}

/// A parcel as submitted.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParcelBody {
    ward: Option<String>,
    sheet: Option<i32>,
    number: Option<i32>,
    geometry: Option<Value>,
    crs: Option<String>,
    land_uses: Option<Vec<LandUse>>,
    certificate_serial: Option<String>,
    registry_number: Option<String>,
    address_text: Option<String>,
    owners: Option<Value>,
    reason: Option<String>,
}

fn geometry_of(value: &Value, crs: Option<&str>, state: &AppState) -> Result<ParcelGeometry, ApiError> {
    let crs = crs.map(SubmittedCrs::parse).transpose()?.unwrap_or(SubmittedCrs::Wgs84);
    VN2000.with(|vn2000| validate_geometry(value, crs, state.max_vertices, vn2000)).map_err(ApiError::from)
}

fn land_uses_of(uses: Option<Vec<LandUse>>) -> Result<Option<Vec<LandUse>>, ApiError> {
    if let Some(uses) = &uses {
        if uses.is_empty() {
            return Err(ApiError::Unprocessable {
                field: "land_uses".into(),
                detail: "a parcel has at least one land use".into(),
                parcels: vec![],
            });
        }
        for use_ in uses {
            use_.validate()?;
        }
    }
    Ok(uses)
}

fn required<T>(value: Option<T>, field: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::Unprocessable {
        field: field.into(),
        detail: format!("{field} is required"),
        parcels: vec![],
    })
}

async fn create(State(state): State<AppState>, auth: Auth, Json(body): Json<ParcelBody>) -> Result<Response, ApiError> {
    auth.required()?;
    let ward = required(body.ward, "ward")?;
    UnitCode::parse(&ward).map_err(|e| ApiError::Unprocessable {
        field: "ward".into(),
        detail: e.to_string(),
        parcels: vec![],
    })?;
    let caller = auth.registrar_of(&ward)?.clone();
    let sheet = required(body.sheet.filter(|s| *s > 0), "sheet")?;
    let number = required(body.number.filter(|n| *n > 0), "number")?;
    let geometry = geometry_of(&required(body.geometry, "geometry")?, body.crs.as_deref(), &state)?;
    let land_uses = required(land_uses_of(body.land_uses)?, "land_uses")?;
    let new = NewParcel {
        ward,
        sheet,
        number,
        geometry,
        land_uses,
        certificate_serial: body.certificate_serial,
        registry_number: body.registry_number,
        address_text: body.address_text,
        owners: body.owners,
    };
    let reason = body.reason.unwrap_or_else(|| "registered".into());
    let record = state.store.create_parcel(new, &caller, &reason).await??;
    Ok(with_etag(StatusCode::CREATED, &record, &auth))
}

async fn write(
    state: &AppState,
    auth: &Auth,
    id: &str,
    headers: &HeaderMap,
    body: ParcelBody,
    full: bool,
) -> Result<Response, ApiError> {
    auth.required()?;
    let id = parse_id(id)?;
    let current =
        state.store.parcel(id, None).await?.ok_or_else(|| ApiError::not_found(format!("no live parcel {id}")))?;
    let caller = auth.registrar_of(&current.ward_code)?.clone();
    let expected = if_match(headers)?;
    if body.ward.is_some() || body.sheet.is_some() || body.number.is_some() {
        return Err(ApiError::Unprocessable {
            field: "ward".into(),
            detail: "the key (ward, sheet, number) of a parcel does not change; split, merge or register a new parcel"
                .into(),
            parcels: vec![id],
        });
    }
    if full && (body.geometry.is_none() || body.land_uses.is_none()) {
        return Err(ApiError::Unprocessable {
            field: "geometry".into(),
            detail: "PUT replaces the record: send geometry and land_uses (or use PATCH)".into(),
            parcels: vec![],
        });
    }
    let patch = ParcelPatch {
        geometry: body.geometry.as_ref().map(|g| geometry_of(g, body.crs.as_deref(), state)).transpose()?,
        land_uses: land_uses_of(body.land_uses)?,
        certificate_serial: body.certificate_serial.map(Some).or(full.then_some(None)),
        registry_number: body.registry_number.map(Some).or(full.then_some(None)),
        address_text: body.address_text.map(Some).or(full.then_some(None)),
        owners: body.owners.map(Some).or(full.then_some(None)),
    };
    let reason = body.reason.unwrap_or_else(|| "corrected".into());
    let record = state.store.update_parcel(id, expected, patch, &caller, &reason).await??;
    Ok(with_etag(StatusCode::OK, &record, auth))
}

async fn replace(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<ParcelBody>,
) -> Result<Response, ApiError> {
    write(&state, &auth, &id, &headers, body, true).await
}

async fn patch(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<ParcelBody>,
) -> Result<Response, ApiError> {
    write(&state, &auth, &id, &headers, body, false).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SplitBody {
    parts: Vec<PartBody>,
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartBody {
    geometry: Value,
    crs: Option<String>,
    land_uses: Option<Vec<LandUse>>,
}

async fn split(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<SplitBody>,
) -> Result<Response, ApiError> {
    auth.required()?;
    let id = parse_id(&id)?;
    let current =
        state.store.parcel(id, None).await?.ok_or_else(|| ApiError::not_found(format!("no live parcel {id}")))?;
    let caller = auth.registrar_of(&current.ward_code)?.clone();
    let expected = if_match(&headers)?;
    if body.parts.len() > 100 {
        return Err(ApiError::Unprocessable {
            field: "parts".into(),
            detail: "at most 100 parts".into(),
            parcels: vec![],
        });
    }
    let mut parts = Vec::with_capacity(body.parts.len());
    for (i, part) in body.parts.into_iter().enumerate() {
        let geometry = geometry_of(&part.geometry, part.crs.as_deref(), &state).map_err(|e| match e {
            ApiError::Unprocessable { detail, .. } => {
                ApiError::Unprocessable { field: format!("parts[{i}].geometry"), detail, parcels: vec![] }
            }
            other => other,
        })?;
        parts.push(SplitPart { geometry, land_uses: land_uses_of(part.land_uses)?.unwrap_or_default() });
    }
    let reason = body.reason.unwrap_or_else(|| "tách thửa".into());
    let children = state.store.split_parcel(id, expected, parts, &caller, &reason).await??;
    let children: Vec<Value> = children.iter().map(|r| view(r, &auth)).collect();
    Ok((StatusCode::CREATED, axum::Json(json!({ "retired": id, "children": children }))).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeBody {
    parcels: Vec<MergeParent>,
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeParent {
    id: i64,
    version: i32,
}

async fn merge(State(state): State<AppState>, auth: Auth, Json(body): Json<MergeBody>) -> Result<Response, ApiError> {
    auth.required()?;
    if body.parcels.len() > 50 {
        return Err(ApiError::Unprocessable {
            field: "parcels".into(),
            detail: "at most 50 parcels".into(),
            parcels: vec![],
        });
    }
    let mut caller = None;
    for parent in &body.parcels {
        let current = state
            .store
            .parcel(parent.id, None)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no live parcel {}", parent.id)))?;
        caller = Some(auth.registrar_of(&current.ward_code)?.clone());
    }
    let caller = caller.ok_or_else(|| ApiError::Unprocessable {
        field: "parcels".into(),
        detail: "name the parcels to merge".into(),
        parcels: vec![],
    })?;
    let parents: Vec<(i64, i32)> = body.parcels.iter().map(|p| (p.id, p.version)).collect();
    let reason = body.reason.unwrap_or_else(|| "hợp thửa".into());
    let child = state.store.merge_parcels(&parents, &caller, &reason).await??;
    Ok(with_etag(StatusCode::CREATED, &child, &auth))
}
