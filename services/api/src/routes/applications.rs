//! `/v1/applications`: dossiers of the land service "register a change of the certificate
//! holder's information", for the office (bearer token) and for the citizen who applied
//! (session cookie). Each handler extracts, makes one call to the register, answers.

use crate::auth::{Auth, CitizenSession};
use crate::error::ApiError;
use crate::extract::{Json, Query, if_match};
use crate::state::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use diaba_register::applications::{ApplicationInput, ApplicationSearch, ApplicationView, Asker, StepInput};
use diaba_register::documents::PaymentInput;

pub fn router(max_document_bytes: usize) -> Router<AppState> {
    // A document may be larger than a JSON body (a scanned page, a phone photo).
    let limit = DefaultBodyLimit::max(max_document_bytes.saturating_add(1));
    Router::new()
        .route("/v1/applications", get(list).post(submit))
        .route("/v1/applications/figures", get(figures))
        .route("/v1/applications/{code}", get(one))
        .route("/v1/applications/{code}/status", get(status))
        .route("/v1/applications/{code}/qr.svg", get(qr))
        .route("/v1/applications/{code}/documents", get(documents).post(add_document).layer(limit))
        .route("/v1/applications/{code}/documents/{id}", get(document))
        .route("/v1/applications/{code}/payments", post(payment))
        .route("/v1/applications/{code}/{step}", post(step))
}

fn asker<'a>(auth: &'a Auth, citizen: &'a CitizenSession) -> Asker<'a> {
    Asker { staff: auth.caller(), citizen: citizen.0.as_ref() }
}

fn with_etag(status: StatusCode, view: &ApplicationView) -> Response {
    let location = (status == StatusCode::CREATED).then(|| format!("/v1/applications/{}", view.code()));
    super::versioned(status, view, view.version(), location)
}

async fn submit(
    State(state): State<AppState>,
    auth: Auth,
    citizen: CitizenSession,
    Json(body): Json<ApplicationInput>,
) -> Result<Response, ApiError> {
    let view = state.register.submit_application(body, asker(&auth, &citizen)).await?;
    Ok(with_etag(StatusCode::CREATED, &view))
}

async fn list(
    State(state): State<AppState>,
    auth: Auth,
    citizen: CitizenSession,
    Query(q): Query<ApplicationSearch>,
) -> Result<Response, ApiError> {
    Ok(axum::Json(state.register.applications(q, asker(&auth, &citizen)).await?).into_response())
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

async fn one(
    State(state): State<AppState>,
    auth: Auth,
    citizen: CitizenSession,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    Ok(with_etag(StatusCode::OK, &state.register.application(&code, asker(&auth, &citizen)).await?))
}

async fn status(State(state): State<AppState>, Path(code): Path<String>) -> Result<Response, ApiError> {
    Ok(axum::Json(state.register.application_status(&code).await?).into_response())
}

async fn step(
    State(state): State<AppState>,
    auth: Auth,
    citizen: CitizenSession,
    Path((code, step)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<StepInput>,
) -> Result<Response, ApiError> {
    let asker = asker(&auth, &citizen);
    let view = state.register.application_step(&code, &step, if_match(&headers), body, asker).await?;
    Ok(with_etag(StatusCode::OK, &view))
}

async fn payment(
    State(state): State<AppState>,
    auth: Auth,
    Path(code): Path<String>,
    Json(body): Json<PaymentInput>,
) -> Result<Response, ApiError> {
    let view = state.register.record_payment(&code, body, Asker { staff: auth.caller(), citizen: None }).await?;
    Ok(with_etag(StatusCode::OK, &view))
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct DocumentQuery {
    kind: String,
    name: String,
}

async fn documents(
    State(state): State<AppState>,
    auth: Auth,
    citizen: CitizenSession,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    Ok(axum::Json(state.register.documents(&code, asker(&auth, &citizen)).await?).into_response())
}

async fn add_document(
    State(state): State<AppState>,
    auth: Auth,
    citizen: CitizenSession,
    Path(code): Path<String>,
    Query(q): Query<DocumentQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let record = state.register.add_document(&code, &q.kind, &q.name, &body, asker(&auth, &citizen)).await?;
    let location = format!("/v1/applications/{code}/documents/{}", record.id);
    let mut response = (StatusCode::CREATED, axum::Json(record)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

async fn document(
    State(state): State<AppState>,
    auth: Auth,
    citizen: CitizenSession,
    Path((code, id)): Path<(String, i64)>,
) -> Result<Response, ApiError> {
    let (record, bytes) = state.register.document(&code, id, asker(&auth, &citizen)).await?;
    // Shown inline only as the type its content was checked to be; never cached by others.
    let disposition = format!("inline; filename*=UTF-8''{}", utf8_percent(&record.file_name));
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(media_type(&record.media_type))),
        (header::CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("inline")),
        ),
    ];
    Ok((headers, bytes).into_response())
}

fn media_type(stored: &str) -> &'static str {
    match stored {
        "application/pdf" => "application/pdf",
        "image/jpeg" => "image/jpeg",
        "image/png" => "image/png",
        _ => "application/octet-stream",
    }
}

/// RFC 5987 encoding of a file name for Content-Disposition.
fn utf8_percent(name: &str) -> String {
    form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>().replace('+', "%20")
}

/// The QR code of the dossier's status address, for the receipt the office hands over and
/// for phones: its URL on `--public-url`, or on the host the request came to.
async fn qr(State(state): State<AppState>, Path(code): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    let status = state.register.application_status(&code).await?;
    let url = format!("{}/v1/applications/{}/status", super::citizens::base_url(&state, &headers), status.code);
    let svg = qrcode::QrCode::new(url.as_bytes())
        .map_err(|e| ApiError::from(diaba_register::Error::Internal { detail: format!("the QR code of {url}: {e}") }))?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .build();
    let headers = [(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("image/svg+xml"))];
    Ok((headers, svg).into_response())
}
