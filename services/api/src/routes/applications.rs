//! `/v1/applications`: dossiers of the land service "register a change of the certificate
//! holder's information". Each handler extracts, makes one call to the register, answers.

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{Json, Query, if_match};
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use diaba_register::applications::{ApplicationInput, ApplicationSearch, ApplicationView, StepInput};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/applications", get(list).post(submit))
        .route("/v1/applications/figures", get(figures))
        .route("/v1/applications/{code}", get(one))
        .route("/v1/applications/{code}/status", get(status))
        .route("/v1/applications/{code}/qr.svg", get(qr))
        .route("/v1/applications/{code}/{step}", post(step))
}

fn with_etag(status: StatusCode, view: &ApplicationView) -> Response {
    let location = (status == StatusCode::CREATED).then(|| format!("/v1/applications/{}", view.code()));
    super::versioned(status, view, view.version(), location)
}

async fn submit(
    State(state): State<AppState>,
    auth: Auth,
    Json(body): Json<ApplicationInput>,
) -> Result<Response, ApiError> {
    Ok(with_etag(StatusCode::CREATED, &state.register.submit_application(body, auth.caller()).await?))
}

async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<ApplicationSearch>,
) -> Result<Response, ApiError> {
    Ok(axum::Json(state.register.applications(q, auth.caller()).await?).into_response())
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct FiguresQuery {
    ward: Option<String>,
}

async fn figures(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<FiguresQuery>,
) -> Result<Response, ApiError> {
    Ok(axum::Json(state.register.application_figures(q.ward.as_deref(), auth.caller()).await?).into_response())
}

async fn one(State(state): State<AppState>, auth: Auth, Path(code): Path<String>) -> Result<Response, ApiError> {
    Ok(with_etag(StatusCode::OK, &state.register.application(&code, auth.caller()).await?))
}

async fn status(State(state): State<AppState>, Path(code): Path<String>) -> Result<Response, ApiError> {
    Ok(axum::Json(state.register.application_status(&code).await?).into_response())
}

async fn step(
    State(state): State<AppState>,
    auth: Auth,
    Path((code, step)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<StepInput>,
) -> Result<Response, ApiError> {
    let view = state.register.application_step(&code, &step, if_match(&headers), body, auth.caller()).await?;
    Ok(with_etag(StatusCode::OK, &view))
}

/// The QR code of the dossier's status address, for the receipt the office hands over and
/// for phones: its URL on `--public-url`, or on the host the request came to.
async fn qr(State(state): State<AppState>, Path(code): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    let status = state.register.application_status(&code).await?;
    let base = match &state.public_url {
        Some(url) => url.to_string(),
        None => {
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
            let scheme = header("x-forwarded-proto").unwrap_or("http");
            format!("{scheme}://{}", header("host").unwrap_or("localhost"))
        }
    };
    let url = format!("{base}/v1/applications/{}/status", status.code);
    let svg = qrcode::QrCode::new(url.as_bytes())
        .map_err(|e| ApiError::from(diaba_register::Error::Internal { detail: format!("the QR code of {url}: {e}") }))?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .build();
    let headers = [(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("image/svg+xml"))];
    Ok((headers, svg).into_response())
}
