//! `/v1/parties`, `/v1/parcels/{id}/rights`, `/v1/certificates`: land users, their rights
//! and certificates. Each handler extracts, makes one call to the register (which decides
//! who sees personal data), and answers.

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{Json, Query, if_match};
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use diaba_register::parties::{CertificateView, EndorsementInput, PartySearch};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/parties", get(find))
        .route("/v1/parties/{id}", get(one))
        .route("/v1/parties/{id}/verification", get(verification))
        .route("/v1/population/{personal_id}", get(resident))
        .route("/v1/parcels/{id}/rights", get(rights))
        .route("/v1/certificates/{serial}", get(certificate))
        .route("/v1/certificates/{serial}/endorsements", post(endorse))
}

async fn find(State(state): State<AppState>, auth: Auth, Query(q): Query<PartySearch>) -> Result<Response, ApiError> {
    Ok(axum::Json(state.register.find_parties(q, auth.caller()).await?).into_response())
}

async fn one(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(axum::Json(state.register.party(&id, auth.caller()).await?).into_response())
}

async fn verification(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(axum::Json(state.register.verify_party(&id, auth.caller()).await?).into_response())
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct WardQuery {
    ward: Option<String>,
}

async fn resident(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<WardQuery>,
) -> Result<Response, ApiError> {
    let resident = state.register.resident(&id, q.ward.as_deref(), auth.caller()).await?;
    let mut response = axum::Json(resident).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(response)
}

async fn rights(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<crate::routes::parcels::AtQuery>,
) -> Result<Response, ApiError> {
    Ok(axum::Json(state.register.parcel_rights(&id, q.at.as_deref(), auth.caller()).await?).into_response())
}

/// The certificate with its version as ETag.
fn with_etag(status: StatusCode, view: &CertificateView) -> Response {
    super::versioned(status, view, view.version(), None)
}

async fn certificate(
    State(state): State<AppState>,
    auth: Auth,
    Path(serial): Path<String>,
) -> Result<Response, ApiError> {
    Ok(with_etag(StatusCode::OK, &state.register.certificate(&serial, auth.caller()).await?))
}

async fn endorse(
    State(state): State<AppState>,
    auth: Auth,
    Path(serial): Path<String>,
    headers: HeaderMap,
    Json(body): Json<EndorsementInput>,
) -> Result<Response, ApiError> {
    let view = state.register.endorse(&serial, if_match(&headers), body, auth.caller()).await?;
    Ok(with_etag(StatusCode::CREATED, &view))
}
