//! `/v1/flood`: risk zones and what they hold (DESIGN §6).

use crate::error::ApiError;
use crate::extract::{Page, Query};
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use diaba_core::UnitCode;
use geo::BoundingRect;
use serde::Deserialize;
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/flood/zones", get(zones))
        .route("/v1/flood/zones/{id}/exposure", get(zone_exposure))
        .route("/v1/flood/exposure", get(ward_exposure))
}

#[derive(Debug, Deserialize)]
struct ZonesQuery {
    scenario: Option<String>,
    level: Option<String>,
}

/// Zones in force (from the index), without geometry: tiles and OGC serve shapes.
async fn zones(State(state): State<AppState>, Query(q): Query<ZonesQuery>) -> Result<axum::Json<Value>, ApiError> {
    let level = q
        .level
        .as_deref()
        .map(|l| {
            l.parse::<i16>()
                .ok()
                .filter(|l| (1..=5).contains(l))
                .ok_or_else(|| ApiError::invalid("level", "level is 1 to 5"))
        })
        .transpose()?;
    let mut zones: Vec<Value> = state
        .index
        .flood
        .all()
        .iter()
        .filter(|z| q.scenario.as_deref().is_none_or(|s| s == z.scenario) && level.is_none_or(|l| l == z.risk_level))
        .map(|z| {
            let bbox = z.shape.bounding_rect().map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]);
            json!({ "id": z.id, "name": z.name, "risk_level": z.risk_level, "scenario": z.scenario, "source": z.source, "bbox": bbox })
        })
        .collect();
    zones.sort_by_key(|z| z["id"].as_i64());
    Ok(axum::Json(json!({ "zones": zones, "scale": "QĐ 18/2021/QĐ-TTg, levels 1 (low) to 5 (very high)" })))
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    limit: Option<String>,
    after: Option<String>,
}

async fn zone_exposure(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    let id: i64 = id
        .parse()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| ApiError::invalid("id", "zone id must be a positive integer"))?;
    let page = Page::parse(q.limit.as_deref(), q.after.as_deref())?;
    state
        .store
        .zone_exposure(id, page.after, page.limit)
        .await?
        .map(axum::Json)
        .ok_or_else(|| ApiError::not_found(format!("no flood zone {id} in force")))
}

#[derive(Debug, Deserialize)]
struct WardQuery {
    ward: Option<String>,
    scenario: Option<String>,
}

async fn ward_exposure(
    State(state): State<AppState>,
    Query(q): Query<WardQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    let ward = q
        .ward
        .as_deref()
        .ok_or_else(|| ApiError::invalid("ward", "ward is required (a current ward code, e.g. 31135)"))?;
    let ward = UnitCode::parse(ward).map_err(|e| ApiError::invalid("ward", e.to_string()))?;
    let known = state
        .index
        .units
        .all()
        .iter()
        .any(|u| u.code == ward.as_str() && u.level == diaba_core::UnitLevel::Ward && u.valid_to.is_none());
    if !known {
        return Err(ApiError::not_found(format!("{ward} is not a current ward of Cần Thơ")));
    }
    let levels = state.store.ward_exposure(ward.as_str(), q.scenario.as_deref()).await?;
    Ok(axum::Json(json!({ "ward": ward, "levels": levels })))
}
