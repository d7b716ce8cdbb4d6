//! `GET /v1/me`: who a token belongs to, so a page can sign in with a token and show the
//! user's role and wards (401 for an unknown or revoked token, as everywhere); for a
//! signed-in citizen (session cookie), who they are and their parties' rights, to pre-fill
//! form Mẫu 18.

use crate::auth::{Auth, CitizenSession};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/me", get(me))
}

async fn me(State(state): State<AppState>, auth: Auth, citizen: CitizenSession) -> Result<Response, ApiError> {
    if let (None, Some(citizen)) = (auth.caller(), citizen.0.as_ref()) {
        return Ok(axum::Json(state.register.me(Some(citizen)).await?).into_response());
    }
    let caller = auth.required()?;
    Ok(axum::Json(json!({
        "name": caller.name,
        "role": caller.role.as_str(),
        "wards": caller.wards,
    }))
    .into_response())
}
