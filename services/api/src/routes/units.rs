use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use diaba_core::{AsOf, LonLat};
use diaba_store::units::UnitsAt;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/units", get(units_at))
}

#[derive(Debug, Deserialize)]
struct UnitsQuery {
    lat: Option<String>,
    lon: Option<String>,
    at: Option<String>,
}

/// The ward (and before 2025-07-01 the district) containing a point, on a date.
async fn units_at(State(state): State<AppState>, Query(query): Query<UnitsQuery>) -> Result<Json<UnitsAt>, ApiError> {
    let point = LonLat::parse(query.lat.as_deref(), query.lon.as_deref())?;
    let at = match query.at.as_deref() {
        Some(text) => AsOf::parse(text)?,
        None => AsOf::today(),
    };
    state.store.units_at(point, at).await?.map(Json).ok_or_else(|| {
        ApiError::not_found(format!(
            "no administrative unit of Cần Thơ covers lat {}, lon {} on {at}; diaba covers the former Cần Thơ city",
            point.lat(),
            point.lon()
        ))
    })
}
