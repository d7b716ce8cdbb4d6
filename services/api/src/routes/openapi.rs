use crate::state::AppState;
use axum::Router;
use axum::routing::get;
use std::sync::LazyLock;

/// Drawn once from the access table, on first demand.
static DOCUMENT: LazyLock<serde_json::Value> = LazyLock::new(crate::openapi::document);

pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(document))
}

/// `GET /openapi.json`: the whole API, drawn from the access table.
async fn document() -> axum::Json<&'static serde_json::Value> {
    axum::Json(&DOCUMENT)
}
