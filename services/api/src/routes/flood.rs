//! `/v1/flood`: risk zones and what they hold (DESIGN §6).

use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/flood/zones", get(zones))
        .route("/v1/flood/zones/{id}/exposure", get(zone_exposure))
        .route("/v1/flood/exposure", get(ward_exposure))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ZonesQuery {
    scenario: Option<String>,
    level: Option<String>,
    bbox: Option<String>,
}

/// Zones in force (from the index), without geometry: tiles and OGC serve shapes.
async fn zones(State(state): State<AppState>, Query(q): Query<ZonesQuery>) -> Result<Response, ApiError> {
    let zones = state.register.flood_zones(q.scenario.as_deref(), q.level.as_deref(), q.bbox.as_deref())?;
    Ok(axum::Json(zones).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct PageQuery {
    limit: Option<String>,
    after: Option<String>,
}

async fn zone_exposure(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let exposure = state.register.zone_exposure(&id, q.limit.as_deref(), q.after.as_deref()).await?;
    Ok(axum::Json(exposure).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct WardQuery {
    ward: Option<String>,
    scenario: Option<String>,
}

async fn ward_exposure(State(state): State<AppState>, Query(q): Query<WardQuery>) -> Result<Response, ApiError> {
    let exposure = state.register.ward_exposure(q.ward.as_deref(), q.scenario.as_deref()).await?;
    Ok(axum::Json(exposure).into_response())
}
