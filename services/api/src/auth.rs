//! Bearer-token authentication. A present but unknown token is 401 even on public reads:
//! a client with a wrong token should learn it at once, not see public data silently.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use diaba_core::auth::Caller;

/// The authenticated caller, or `None` for an anonymous (public) request.
#[derive(Debug, Clone)]
pub struct Auth(pub Option<Caller>);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(header) = parts.headers.get(AUTHORIZATION) else { return Ok(Auth(None)) };
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::Unauthorized { detail: "use Authorization: Bearer <token>".into() })?;
        match state.store.caller_for_token(token).await? {
            Some(caller) => Ok(Auth(Some(caller))),
            None => Err(ApiError::Unauthorized { detail: "the token is unknown or revoked".into() }),
        }
    }
}

impl Auth {
    /// The caller, or 401 for writes without a token.
    pub fn required(&self) -> Result<&Caller, ApiError> {
        self.0.as_ref().ok_or_else(|| ApiError::Unauthorized { detail: "this request needs a bearer token".into() })
    }

    /// A registrar (or admin) whose wards include `ward`: 401 without token, 403 otherwise.
    pub fn registrar_of(&self, ward: &str) -> Result<&Caller, ApiError> {
        let caller = self.required()?;
        if !caller.is_registrar() {
            return Err(ApiError::Forbidden { detail: format!("a {} cannot change parcels", caller.role.as_str()) });
        }
        if !caller.covers_ward(ward) {
            return Err(ApiError::Forbidden { detail: format!("ward {ward} is not among your wards") });
        }
        Ok(caller)
    }

    /// Whether owners (personal data) may be shown.
    pub fn sees_owners(&self) -> bool {
        self.0.as_ref().is_some_and(Caller::is_registrar)
    }
}
