//! `/v1/lookup`: everything about a point in one call, from the in-memory index.

use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use diaba_core::spatial::UnitFeature;
use diaba_core::{AsOf, LonLat, UnitLevel, Vpostcode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Radius for "the nearest verified household".
const ADDRESS_RADIUS_M: f64 = 30.0;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/lookup", get(lookup_one).post(lookup_batch))
}

#[derive(Debug, Deserialize)]
struct LookupQuery {
    lat: Option<String>,
    lon: Option<String>,
    at: Option<String>,
}

async fn lookup_one(
    State(state): State<AppState>,
    Query(q): Query<LookupQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    let point = LonLat::parse(q.lat.as_deref(), q.lon.as_deref())?;
    let at = q.at.as_deref().map(AsOf::parse).transpose()?;
    lookup(&state, point, at).await.map(axum::Json)
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

#[derive(Debug, Serialize)]
struct BatchAnswer {
    results: Vec<Value>,
}

/// Up to `max_batch` points; each answered in order, an error object where one fails.
async fn lookup_batch(
    State(state): State<AppState>,
    Json(body): Json<BatchBody>,
) -> Result<axum::Json<BatchAnswer>, ApiError> {
    if body.points.len() > state.max_batch {
        return Err(ApiError::PayloadTooLarge);
    }
    let at = body.at.as_deref().map(AsOf::parse).transpose()?;
    let mut results = Vec::with_capacity(body.points.len());
    for p in &body.points {
        let answer = match LonLat::new(p.lon, p.lat) {
            Ok(point) => lookup(&state, point, at).await,
            Err(error) => Err(error.into()),
        };
        results.push(answer.unwrap_or_else(|error| json!({ "error": error.to_string() })));
    }
    Ok(axum::Json(BatchAnswer { results }))
}

fn unit_json(unit: &UnitFeature) -> Value {
    json!({ "code": unit.code, "name": unit.name, "level": unit.level, "postcode": unit.postcode,
            "valid_from": unit.valid_from, "valid_to": unit.valid_to, "in_service_area": unit.in_service_area })
}

async fn lookup(state: &AppState, point: LonLat, at: Option<AsOf>) -> Result<Value, ApiError> {
    let p = [point.lon(), point.lat()];
    let today = AsOf::today();
    let day = at.unwrap_or(today);
    let units = state.index.units_at(p, day);
    let ward = units.iter().find(|u| u.level == UnitLevel::Ward);
    let district = units.iter().find(|u| u.level == UnitLevel::District);
    if ward.is_none() && district.is_none() {
        return Err(ApiError::not_found(format!(
            "lat {}, lon {} is outside the units of Cần Thơ diaba knows on {day}",
            point.lat(),
            point.lon()
        )));
    }
    // Codes are issued with the postcode of the unit valid today (DESIGN §5).
    let current_ward = if day == today {
        ward.cloned()
    } else {
        state.index.units_at(p, today).into_iter().find(|u| u.level == UnitLevel::Ward)
    };
    let vpostcode = current_ward
        .as_ref()
        .and_then(|w| w.postcode_area.as_ref())
        .and_then(|area| Vpostcode::encode(point, area).ok())
        .map(|code| code.to_string());
    let parcel = match at {
        Some(day) if day != today => {
            let instant = diaba_core::end_of_day(day.date());
            state.store.parcel_covering(point.lon(), point.lat(), Some(instant)).await?.map(std::sync::Arc::new)
        }
        _ => state.index.parcel_at(p),
    };
    let address = state.index.nearest_address(p, ADDRESS_RADIUS_M);
    let zones = state.index.flood.covering(p);
    let flood: Vec<Value> = zones
        .iter()
        .map(|z| json!({ "zone_id": z.id, "name": z.name, "risk_level": z.risk_level, "scenario": z.scenario, "source": z.source }))
        .collect();
    let max_risk = zones.iter().map(|z| z.risk_level).max();
    Ok(json!({
        "point": { "lat": point.lat(), "lon": point.lon() },
        "at": day,
        "ward": ward.map(|w| unit_json(w)),
        "district": district.map(|d| unit_json(d)),
        "parcel": parcel.map(|f| json!({
            "id": f.id, "national_id": f.national_id, "ward_code": f.ward_code, "sheet": f.sheet,
            "number": f.number, "version": f.version, "land_uses": f.land_uses, "legal_area_m2": f.legal_area_m2,
        })),
        "vpostcode": vpostcode,
        "address": address.map(|(a, distance)| json!({
            "id": a.id, "vpostcode": a.vpostcode, "house_number": a.house_number, "street": a.street,
            "hamlet": a.hamlet, "ward_code": a.ward_code, "distance_m": (distance * 10.0).round() / 10.0,
        })),
        "flood": { "zones": flood, "max_risk_level": max_risk },
    }))
}
