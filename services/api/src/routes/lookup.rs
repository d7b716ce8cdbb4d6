//! `/v1/lookup`: everything about a point in one call, from the in-memory index.

use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/lookup", get(lookup_one).post(lookup_batch))
}

#[derive(Debug, Deserialize)]
pub(crate) struct LookupQuery {
    lat: Option<String>,
    lon: Option<String>,
    at: Option<String>,
}

async fn lookup_one(State(state): State<AppState>, Query(q): Query<LookupQuery>) -> Result<Response, ApiError> {
    let answer = state.register.lookup(q.lat.as_deref(), q.lon.as_deref(), q.at.as_deref())?;
    Ok(([(header::CONTENT_TYPE, "application/json")], answer).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchBody {
    points: Vec<BatchPoint>,
    at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchPoint {
    lat: f64,
    lon: f64,
}

/// Up to `max_batch` points; each answered in order, an error object where one fails.
/// Answering and encoding 10 000 points is milliseconds of CPU on every core: done off the
/// async workers, so they stay free for the requests that queue behind (writes first).
async fn lookup_batch(State(state): State<AppState>, Json(body): Json<BatchBody>) -> Result<Response, ApiError> {
    let points: Vec<(f64, f64)> = body.points.iter().map(|p| (p.lat, p.lon)).collect();
    let (register, runtime) = (state.register.clone(), tokio::runtime::Handle::current());
    let encoded = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ApiError> {
        Ok(runtime.block_on(register.lookup_many(&points, body.at.as_deref()))?)
    })
    .await
    .map_err(|e| ApiError::Internal(Box::new(e)))??;
    Ok(([(header::CONTENT_TYPE, "application/json")], encoded).into_response())
}
