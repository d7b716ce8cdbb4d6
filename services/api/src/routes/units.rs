use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use diaba_store::units::UnitsAt;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/units", get(units_at))
}

#[derive(Debug, Deserialize)]
pub(crate) struct UnitsQuery {
    lat: Option<String>,
    lon: Option<String>,
    at: Option<String>,
}

/// The ward (and before 2025-07-01 the district) containing a point, on a date.
async fn units_at(State(state): State<AppState>, Query(q): Query<UnitsQuery>) -> Result<Json<UnitsAt>, ApiError> {
    Ok(Json(state.register.units_at(q.lat.as_deref(), q.lon.as_deref(), q.at.as_deref()).await?))
}
