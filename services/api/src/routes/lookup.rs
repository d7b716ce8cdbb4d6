//! `/v1/lookup`: everything about a point in one call, from the in-memory index.

use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

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
    let answer = state.register.lookup(q.lat.as_deref(), q.lon.as_deref(), q.at.as_deref()).await?;
    Ok(axum::Json(answer).into_response())
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
async fn lookup_batch(State(state): State<AppState>, Json(body): Json<BatchBody>) -> Result<Response, ApiError> {
    let points: Vec<(f64, f64)> = body.points.iter().map(|p| (p.lat, p.lon)).collect();
    let results = state.register.lookup_many(&points, body.at.as_deref()).await?;
    Ok(axum::Json(json!({ "results": results })).into_response())
}
