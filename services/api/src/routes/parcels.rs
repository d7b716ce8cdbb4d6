//! `/v1/parcels`: the land register (DESIGN §4, §9, §10). Each handler extracts, makes one
//! call to the register, and answers with the record's version as its ETag.

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{Json, Query, if_match};
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use diaba_register::extract::Variant;
use diaba_register::parcels::{MergeInput, ParcelInput, ParcelSearch, ParcelView, ParcelsFound, SplitInput};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/parcels", get(search).post(create))
        .route("/v1/parcels/merge", post(merge))
        .route("/v1/parcels/{id}", get(one).put(replace).patch(patch))
        .route("/v1/parcels/{id}/history", get(history))
        .route("/v1/parcels/{id}/lineage", get(lineage))
        .route("/v1/parcels/{id}/split", post(split))
        .route("/v1/parcels/{id}/extract.pdf", get(extract))
}

/// The record with its version as ETag (and its place, when it was just created).
fn with_etag(status: StatusCode, view: &ParcelView) -> Response {
    let location = (status == StatusCode::CREATED).then(|| format!("/v1/parcels/{}", view.id()));
    super::versioned(status, view, view.version(), location)
}

async fn search(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<ParcelSearch>,
) -> Result<Response, ApiError> {
    Ok(match state.register.find_parcels(q, auth.caller()).await? {
        ParcelsFound::One(view) => with_etag(StatusCode::OK, &view),
        page @ ParcelsFound::Page { .. } => axum::Json(page).into_response(),
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct AtQuery {
    pub(crate) at: Option<String>,
}

async fn one(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<AtQuery>,
) -> Result<Response, ApiError> {
    let view = state.register.parcel(&id, q.at.as_deref(), auth.caller()).await?;
    Ok(with_etag(StatusCode::OK, &view))
}

async fn history(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(axum::Json(state.register.parcel_history(&id, auth.caller()).await?).into_response())
}

async fn lineage(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(axum::Json(state.register.parcel_lineage(&id).await?).into_response())
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Json(body): Json<ParcelInput>,
) -> Result<Response, ApiError> {
    let view = state.register.create_parcel(body, auth.caller()).await?;
    Ok(with_etag(StatusCode::CREATED, &view))
}

async fn replace(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<ParcelInput>,
) -> Result<Response, ApiError> {
    let view = state.register.update_parcel(&id, if_match(&headers), body, true, auth.caller()).await?;
    Ok(with_etag(StatusCode::OK, &view))
}

async fn patch(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<ParcelInput>,
) -> Result<Response, ApiError> {
    let view = state.register.update_parcel(&id, if_match(&headers), body, false, auth.caller()).await?;
    Ok(with_etag(StatusCode::OK, &view))
}

async fn split(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<SplitInput>,
) -> Result<Response, ApiError> {
    let done = state.register.split_parcel(&id, if_match(&headers), body, auth.caller()).await?;
    Ok((StatusCode::CREATED, axum::Json(done)).into_response())
}

async fn merge(State(state): State<AppState>, auth: Auth, Json(body): Json<MergeInput>) -> Result<Response, ApiError> {
    let child = state.register.merge_parcels(body, auth.caller()).await?;
    Ok(with_etag(StatusCode::CREATED, &child))
}

/// The parcel extract (trích lục) as PDF: holders only in the variant for registrars of the
/// parcel's ward, which no shared cache may keep.
async fn extract(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    let pdf = state.register.parcel_extract(&id, Variant::AsEntitled, auth.caller()).await?;
    let disposition = format!("inline; filename=\"{}\"", pdf.file_name);
    let cache = if pdf.with_holders { "private, no-store" } else { "public, max-age=60" };
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("application/pdf")),
        (header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).expect("ascii file name")),
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
    ];
    Ok((headers, pdf.bytes).into_response())
}
