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
        .route("/v1/flood/live", get(live))
        .route("/v1/flood/live/events", get(events))
        .route("/v1/flood/rules/{scenario}/{level}", axum::routing::put(set_rule))
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

/// Flooding now.
async fn live(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(axum::Json(state.register.flood_live().await?).into_response())
}

/// Alerts as they are raised (on any node), as Server-Sent Events.
async fn events(State(state): State<AppState>) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let alerts = tokio_stream::wrappers::BroadcastStream::new(state.alerts.subscribe());
    let stream = tokio_stream::StreamExt::filter_map(alerts, |alert| {
        // A client too slow to keep up misses alerts (they stay in /v1/flood/live).
        alert.ok().map(|body| Ok::<_, std::convert::Infallible>(Event::default().event("alert").data(body.to_string())))
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleBody {
    datastream: i64,
    threshold: f64,
    watch_hours: Option<f64>,
}

/// Sets a rule (admins): the zones of `scenario` at `level` flood when the datastream's
/// reading reaches `threshold`, and are on watch when rising to it within `watch_hours` (3).
async fn set_rule(
    State(state): State<AppState>,
    auth: crate::auth::Auth,
    axum::extract::Path((scenario, level)): axum::extract::Path<(String, String)>,
    crate::extract::Json(body): crate::extract::Json<RuleBody>,
) -> Result<Response, ApiError> {
    let caller = auth.required()?;
    let risk_level: i16 =
        level.parse().map_err(|_| ApiError::invalid("level", format!("'{level}' is not a risk level (1 to 5)")))?;
    let rule = diaba_store::flood_live::FloodRule {
        scenario,
        risk_level,
        datastream: body.datastream,
        threshold: body.threshold,
        watch_hours: body.watch_hours.unwrap_or(3.0),
    };
    state.register.set_flood_rule(caller, rule).await?;
    Ok(axum::Json(state.register.flood_live().await?).into_response())
}
