//! Citizens' sign-in: `/auth/login` sends the browser to the OpenID provider,
//! `/auth/callback` comes back with a code and opens a session, `/auth/logout` ends it.

use crate::citizen::{SESSION_COOKIE, session_token};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use diaba_store::citizens::PendingSignIn;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", get(login))
        .route("/auth/callback", get(callback))
        .route("/auth/logout", post(logout))
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct LoginQuery {
    #[serde(rename = "return")]
    return_to: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    iss: Option<String>,
}

fn relying_party(state: &AppState) -> Result<&crate::citizen::RelyingParty, ApiError> {
    state.oidc.as_deref().ok_or_else(|| ApiError::NotFound {
        detail: "citizen sign-in is not set up on this service (--oidc-issuer)".into(),
    })
}

/// This service's own base URL: `--public-url`, else the host the request came to.
pub(crate) fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    match &state.public_url {
        Some(url) => url.to_string(),
        None => {
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
            let scheme = header("x-forwarded-proto").unwrap_or("http");
            format!("{scheme}://{}", header("host").unwrap_or("localhost"))
        }
    }
}

/// Only a path of this service: never an open redirect to somewhere else.
fn local_path(path: Option<&str>) -> String {
    match path {
        Some(p)
            if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') && !p.chars().any(char::is_control) =>
        {
            p.to_owned()
        }
        _ => "/apply".to_owned(),
    }
}

fn redirect(to: &str, cookie: Option<String>) -> Result<Response, ApiError> {
    let location = HeaderValue::from_str(to)
        .map_err(|_| ApiError::InvalidParameter { field: "return".into(), detail: "not a usable address".into() })?;
    let mut response = (StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response();
    if let Some(cookie) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    Ok(response)
}

fn cookie(state: &AppState, value: &str, max_age: i64) -> String {
    let secure = state.public_url.as_deref().is_some_and(|u| u.starts_with("https://"));
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Result<Response, ApiError> {
    let rp = relying_party(&state)?;
    let sign_in = rp.begin(&format!("{}/auth/callback", base_url(&state, &headers))).await?;
    let pending = PendingSignIn {
        nonce: sign_in.nonce,
        pkce_verifier: sign_in.pkce_verifier,
        return_to: local_path(q.return_to.as_deref()),
    };
    state.register.begin_sign_in(&sign_in.state, &pending).await?;
    redirect(&sign_in.url, None)
}

async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, ApiError> {
    let rp = relying_party(&state)?;
    if let Some(error) = q.error {
        let detail = q.error_description.map_or(error.clone(), |d| format!("{error}: {d}"));
        return Err(ApiError::Unauthorized { detail: format!("the provider refused the sign-in ({detail})") });
    }
    // RFC 9207: a provider that names itself must be the one this sign-in went to (a
    // mix-up with another provider's answer is refused).
    if q.iss.as_deref().is_some_and(|iss| iss.trim_end_matches('/') != rp.issuer().trim_end_matches('/')) {
        return Err(ApiError::Unauthorized { detail: "the answer came from another issuer".into() });
    }
    let missing = |field: &str| ApiError::InvalidParameter { field: field.into(), detail: "missing".into() };
    let code = q.code.ok_or_else(|| missing("code"))?;
    let sign_in_state = q.state.ok_or_else(|| missing("state"))?;
    let pending = state.register.take_sign_in(&sign_in_state).await?.ok_or_else(|| ApiError::Unauthorized {
        detail: "this sign-in is unknown, used or older than 15 minutes: sign in again".into(),
    })?;
    let redirect_url = format!("{}/auth/callback", base_url(&state, &headers));
    let citizen = rp.finish(&redirect_url, &code, &pending.nonce, &pending.pkce_verifier).await?;
    let token = state.register.open_citizen_session(rp.issuer(), &citizen).await?;
    let max_age = i64::from(diaba_register::citizens::SESSION_HOURS) * 3600;
    redirect(&pending.return_to, Some(cookie(&state, &token, max_age)))
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = session_token(&headers) {
        state.register.close_citizen_session(token).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie(&state, "", 0)) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    Ok(response)
}
