//! `GET /v1/me`: who a token belongs to, so a page can sign in with a token and show the
//! user's role and wards (401 for an unknown or revoked token, as everywhere).

use crate::auth::Auth;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/me", get(me))
}

async fn me(auth: Auth) -> Result<axum::Json<Value>, ApiError> {
    let caller = auth.required()?;
    Ok(axum::Json(json!({
        "name": caller.name,
        "role": caller.role.as_str(),
        "wards": caller.wards,
    })))
}
