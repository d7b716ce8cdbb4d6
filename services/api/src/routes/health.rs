use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health)).route("/metrics", get(metrics))
}

/// 200 when the database answers, 503 when it does not (the process itself is alive).
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let service = env!("CARGO_PKG_VERSION");
    let feed_seq = state.applied_seq.load(std::sync::atomic::Ordering::Acquire);
    match state.register.health(feed_seq).await {
        // Pages label synthetic data from this (and from each record's `source`).
        Ok(report) => (
            StatusCode::OK,
            Json(
                json!({ "status": "ok", "version": service, "database": "reachable", "postgis": report.postgis, "data_version": report.data_version, "demo_profile": report.demo_profile, "index": report.index }),
            ),
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

/// Prometheus metrics: the request counters, and the node's state read now.
async fn metrics(State(state): State<AppState>) -> axum::response::Response {
    let register = &state.register;
    let applied = state.applied_seq.load(std::sync::atomic::Ordering::Acquire);
    let store = register.store();
    let now = crate::metrics::Snapshot {
        index: register.index_sizes().map(|(layer, n)| (layer.to_string(), n)).collect(),
        households: register.address_search().len(),
        applied,
        feed: register.feed_lag(applied).await.ok(),
        tile_cache: state.tiles.counters(),
        pools: store.pools(),
        replicas: store.replicas(),
    };
    state.metrics.exposition(now)
}
