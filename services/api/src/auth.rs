//! Bearer-token authentication. A present but unknown token is 401 even on public reads:
//! a client with a wrong token should learn it at once, not see public data silently.
//! Clients that keep sending unknown tokens are slowed down: after
//! [`crate::Config::auth_failures_per_minute`] failures from one address, unknown tokens
//! from it get 429 until a minute passes without a failure; valid tokens always work.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use diaba_core::auth::{Caller, Citizen};
use std::net::SocketAddr;

/// The authenticated caller, or `None` for an anonymous (public) request.
#[derive(Debug, Clone)]
pub struct Auth(pub Option<Caller>);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // Resolved once by the access layer; resolved here only for routes outside it.
        if let Some(auth) = parts.extensions.get::<Auth>() {
            return Ok(auth.clone());
        }
        Auth::resolve(parts, state).await
    }
}

impl Auth {
    /// The caller named by the request's bearer token: anonymous without one, 401 for an
    /// unknown or revoked token, 429 for an address that failed too often.
    pub async fn resolve(parts: &Parts, state: &AppState) -> Result<Auth, ApiError> {
        let Some(header) = parts.headers.get(AUTHORIZATION) else { return Ok(Auth(None)) };
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::Unauthorized { detail: "use Authorization: Bearer <token>".into() })?;
        if let Some(caller) = state.register.caller_for_token(token).await? {
            return Ok(Auth(Some(caller)));
        }
        // Only unknown tokens are counted and refused: phones behind one carrier NAT share
        // an address, and a valid token must never pay for someone else's guesses.
        let client = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        if client.is_some_and(|ip| state.sign_in_failures.blocked(ip)) {
            return Err(ApiError::TooManyRequests {
                detail: "too many unknown tokens from this address; wait a minute and check the token".into(),
                retry_after: 60,
            });
        }
        if let Some(ip) = client {
            state.sign_in_failures.record(ip);
        }
        Err(ApiError::Unauthorized { detail: "the token is unknown or revoked".into() })
    }

    /// The caller, or 401 for writes without a token.
    pub fn required(&self) -> Result<&Caller, ApiError> {
        self.0.as_ref().ok_or_else(|| ApiError::Unauthorized { detail: "this request needs a bearer token".into() })
    }

    /// The caller, `None` for the public.
    pub fn caller(&self) -> Option<&Caller> {
        self.0.as_ref()
    }
}

/// The signed-in citizen, or `None` (no cookie, or an expired session: such a request is
/// answered as the public's, never refused for the stale cookie alone).
#[derive(Debug, Clone)]
pub struct CitizenSession(pub Option<Citizen>);

impl FromRequestParts<AppState> for CitizenSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match crate::citizen::session_token(&parts.headers) {
            Some(token) => Ok(CitizenSession(state.register.citizen_for_session(token).await?)),
            None => Ok(CitizenSession(None)),
        }
    }
}
