use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

/// 200 when the database answers, 503 when it does not (the process itself is alive).
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let service = env!("CARGO_PKG_VERSION");
    let store = state.register.store();
    let index = state.register.index();
    match store.health().await {
        // Pages label synthetic data from this (and from each record's `source`).
        Ok(health) => (
            StatusCode::OK,
            Json(json!({
                "status": "ok",
                "version": service,
                "database": "reachable",
                "postgis": health.postgis,
                "data_version": health.data_version,
                "demo_profile": store.demo_profile().await.ok().flatten(),
                "index": {
                    "feed_seq": state.applied_seq.load(std::sync::atomic::Ordering::Acquire),
                    "parcels": index.parcels.len(),
                    "units": index.units.len(),
                    "flood_zones": index.flood.len(),
                    "addresses": index.addresses.len(),
                },
            })),
        ),
        Err(error) => {
            tracing::warn!(%error, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "degraded", "version": service, "database": "unreachable" })),
            )
        }
    }
}
