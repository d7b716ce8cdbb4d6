//! `/v1/addresses` and `/v1/vpostcode`: household digitisation from phones, review by
//! ward officers, and finding a household by code, by address or by place (DESIGN §5).

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{Json, Query, if_match};
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use diaba_register::addresses::{SearchRequest, SubmissionAnswer};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/addresses/submissions", post(submit).get(submissions))
        .route("/v1/addresses/submissions/batch", post(submit_batch))
        .route("/v1/addresses/submissions/{id}/{decision}", post(review))
        .route("/v1/addresses", get(search))
        .route("/v1/geocode", get(geocode))
        .route("/v1/addresses/nearest", get(nearest))
        .route("/v1/addresses/nearby", get(nearby))
        .route("/v1/addresses/stats", get(stats))
        .route("/v1/addresses/{id}", get(one))
        .route("/v1/vpostcode", get(encode))
        .route("/v1/vpostcode/{code}", get(decode))
}

/// `{"address": …}` with the record's version as ETag and its place as Location.
fn with_record_headers(status: StatusCode, (id, version): (i64, i32), body: Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::ETAG, HeaderValue::from_str(&format!("\"{version}\"")).expect("digits"));
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/addresses/{id}")) {
        headers.insert(header::LOCATION, location);
    }
    response
}

fn submitted(answer: &SubmissionAnswer) -> Response {
    let status = if answer.created { StatusCode::CREATED } else { StatusCode::OK };
    with_record_headers(status, (answer.address.id, answer.address.version), json!(answer))
}

/// `POST /v1/addresses/submissions`: 201 with the record, 200 with the same record when
/// the key is replayed, 409 when the key was used for another body.
async fn submit(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
    Ok(submitted(&state.register.submit_address(auth.caller(), key, body).await?))
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
    let answers = state.register.submit_addresses(auth.caller(), batch.submissions).await?;
    let results: Vec<Value> = answers
        .into_iter()
        .enumerate()
        .map(|(index, answer)| {
            let (status, body) = match answer {
                Ok(answer) => (if answer.created { StatusCode::CREATED } else { StatusCode::OK }, json!(answer)),
                Err(error) => {
                    let (status, problem) = ApiError::from(error).problem();
                    (status, json!(problem))
                }
            };
            json!({ "index": index, "status": status.as_u16(), "body": body })
        })
        .collect();
    Ok(axum::Json(json!({ "results": results })))
}

#[derive(Debug, Deserialize)]
pub(crate) struct SubmissionsQuery {
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
) -> Result<Response, ApiError> {
    let page = (q.limit.as_deref(), q.after.as_deref());
    let found = state.register.submissions(auth.caller(), q.ward.as_deref(), q.status.as_deref(), page).await?;
    Ok(axum::Json(found).into_response())
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Decision {
    reason: Option<String>,
}

/// `POST /v1/addresses/submissions/{id}/verify|reject` with `If-Match`; the body (a reason)
/// may be empty.
async fn review(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, decision)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let reason = if body.iter().all(u8::is_ascii_whitespace) {
        Decision::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::Unprocessable {
            field: "body".into(),
            detail: format!("send {{\"reason\": \"…\"}}: {e}"),
            parcels: Vec::new(),
        })?
    };
    let record =
        state.register.review_address(auth.caller(), &id, &decision, if_match(&headers), reason.reason).await?;
    Ok(with_record_headers(StatusCode::OK, (record.id, record.version), json!({ "address": record })))
}

/// `GET /v1/addresses/{id}`: verified ones for everyone; submissions for their collector
/// and the ward's registrars.
async fn one(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    let record = state.register.address(auth.caller(), &id).await?;
    Ok(with_record_headers(StatusCode::OK, (record.id(), record.version()), json!({ "address": record })))
}

/// `GET /v1/addresses?q=[&autocomplete=true][&focus=lat,lon][&ward=]`: every word must
/// match (house number, street, hamlet, ward, old ward names), diacritics and case ignored,
/// one typo forgiven; best match first, from memory.
async fn search(State(state): State<AppState>, Query(q): Query<SearchRequest>) -> Result<Response, ApiError> {
    Ok(axum::Json(state.register.search_addresses(&q)?).into_response())
}

/// `GET /v1/geocode?q=`: the same search as a GeoJSON FeatureCollection (Photon-style).
async fn geocode(State(state): State<AppState>, Query(q): Query<SearchRequest>) -> Result<Response, ApiError> {
    let mut response = axum::Json(state.register.geocode(&q).await?).into_response();
    response
        .headers_mut()
        .insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/geo+json"));
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub(crate) struct PointQuery {
    lat: Option<String>,
    lon: Option<String>,
    radius_m: Option<String>,
}

/// `GET /v1/addresses/nearest?lat=&lon=[&radius_m=]`: reverse geocoding from the index.
async fn nearest(State(state): State<AppState>, Query(q): Query<PointQuery>) -> Result<Response, ApiError> {
    let near = state.register.nearest_address(q.lat.as_deref(), q.lon.as_deref(), q.radius_m.as_deref())?;
    Ok(axum::Json(near).into_response())
}

/// `GET /v1/addresses/nearby?lat=&lon=[&radius_m=]`: verified addresses around a point,
/// nearest first (at most 50).
async fn nearby(State(state): State<AppState>, Query(q): Query<PointQuery>) -> Result<Response, ApiError> {
    let (radius, total, addresses) =
        state.register.nearby_addresses(q.lat.as_deref(), q.lon.as_deref(), q.radius_m.as_deref())?;
    Ok(axum::Json(json!({ "radius_m": radius, "total": total, "addresses": addresses })).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct StatsQuery {
    ward: Option<String>,
}

/// `GET /v1/addresses/stats[?ward=]`: households digitised, by ward, team and day.
async fn stats(State(state): State<AppState>, Query(q): Query<StatsQuery>) -> Result<Response, ApiError> {
    Ok(axum::Json(state.register.address_stats(q.ward.as_deref()).await?).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct EncodeQuery {
    lat: Option<String>,
    lon: Option<String>,
}

/// `GET /v1/vpostcode?lat=&lon=`: the code of a point.
async fn encode(State(state): State<AppState>, Query(q): Query<EncodeQuery>) -> Result<Response, ApiError> {
    Ok(axum::Json(state.register.vpostcode_of(q.lat.as_deref(), q.lon.as_deref())?).into_response())
}

/// `GET /v1/vpostcode/{code}`: where a code is, and the verified households there.
async fn decode(State(state): State<AppState>, Path(code): Path<String>) -> Result<Response, ApiError> {
    Ok(axum::Json(state.register.decode_vpostcode(&code).await?).into_response())
}
