use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(document))
}

/// `GET /openapi.json`: the whole API, drawn from the access table.
async fn document(State(state): State<AppState>) -> axum::Json<serde_json::Value> {
    axum::Json((*state.openapi).clone())
}
