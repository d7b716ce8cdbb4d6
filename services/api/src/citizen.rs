//! Citizens sign in through OpenID Connect: diaba is a relying party (authorization code
//! with PKCE, a nonce, and the ID token checked against the provider's published keys) to
//! the provider named by `--oidc-issuer` (the national e-ID in production). The ID token's
//! subject identifies the citizen; its personal-ID claim links them to their parties.
//! Signed in, the citizen holds an HttpOnly, SameSite=Lax session cookie; staff keep
//! bearer tokens.

use crate::error::ApiError;
use axum::http::header::COOKIE;
use base64::Engine;
use diaba_core::auth::Citizen;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use tokio::sync::OnceCell;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "diaba_session";

/// The provider's settings (`--oidc-*`).
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The issuer URL (discovery at `{issuer}/.well-known/openid-configuration`).
    pub issuer: String,
    /// diaba's client id there.
    pub client_id: String,
    /// diaba's client secret there.
    pub client_secret: String,
    /// The ID-token claim holding the 12-digit personal ID.
    pub personal_id_claim: String,
}

type Client =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// The relying party: the provider's metadata is fetched on first use (the provider may
/// start after diaba) and kept.
#[derive(Debug)]
pub struct RelyingParty {
    config: OidcConfig,
    client: OnceCell<Client>,
    http: reqwest::Client,
}

/// Where a sign-in starts: the provider's URL to send the browser to, and what the
/// callback must find again.
pub struct SignIn {
    /// The provider's authorization URL.
    pub url: String,
    /// The state (CSRF token) sent.
    pub state: String,
    /// The nonce sent.
    pub nonce: String,
    /// The PKCE verifier of the challenge sent.
    pub pkce_verifier: String,
}

fn provider_error(detail: impl std::fmt::Display) -> ApiError {
    ApiError::from(diaba_register::Error::Busy { detail: format!("the sign-in provider: {detail}") })
}

impl RelyingParty {
    /// A relying party to the provider `config` names.
    pub fn new(config: OidcConfig) -> Result<Self, reqwest::Error> {
        // No redirects: the provider's endpoints answer directly (SSRF guard, as
        // openidconnect's documentation asks).
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(15))
            .build()?;
        Ok(Self { config, client: OnceCell::new(), http })
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    async fn client(&self) -> Result<&Client, ApiError> {
        self.client
            .get_or_try_init(|| async {
                let issuer = IssuerUrl::new(self.config.issuer.clone()).map_err(provider_error)?;
                let metadata =
                    CoreProviderMetadata::discover_async(issuer, &self.http).await.map_err(provider_error)?;
                Ok(CoreClient::from_provider_metadata(
                    metadata,
                    ClientId::new(self.config.client_id.clone()),
                    Some(ClientSecret::new(self.config.client_secret.clone())),
                ))
            })
            .await
    }

    /// A new sign-in, coming back to `redirect_url`.
    pub async fn begin(&self, redirect_url: &str) -> Result<SignIn, ApiError> {
        let client = self
            .client()
            .await?
            .clone()
            .set_redirect_uri(RedirectUrl::new(redirect_url.to_owned()).map_err(provider_error)?);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("email".into()))
            .set_pkce_challenge(challenge)
            .url();
        Ok(SignIn {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges the code for tokens and checks the ID token (signature, issuer,
    /// audience, expiry, nonce); the citizen it names.
    pub async fn finish(
        &self,
        redirect_url: &str,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
    ) -> Result<Citizen, ApiError> {
        let client = self
            .client()
            .await?
            .clone()
            .set_redirect_uri(RedirectUrl::new(redirect_url.to_owned()).map_err(provider_error)?);
        let refused = |detail: String| ApiError::Unauthorized { detail: format!("sign-in refused: {detail}") };
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| refused(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| refused(format!("the code exchange failed: {e}")))?;
        let id_token = tokens.id_token().ok_or_else(|| refused("the provider sent no ID token".into()))?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &Nonce::new(nonce.to_owned()))
            .map_err(|e| refused(format!("the ID token: {e}")))?;
        let name = claims.name().and_then(|n| n.get(None)).map(|n| n.to_string());
        let email = claims.email().map(|e| e.to_string());
        // The token's signature was checked above over these very bytes: its payload may
        // be read for the one claim the core claims type does not carry.
        let personal_id = payload_claim(&id_token.to_string(), &self.config.personal_id_claim)
            .filter(|id| diaba_core::PersonalId::parse(id).is_ok());
        Ok(Citizen {
            subject: claims.subject().to_string(),
            name: name.unwrap_or_else(|| claims.subject().to_string()),
            personal_id,
            email,
        })
    }
}

/// A string claim of a JWT's payload.
fn payload_claim(jwt: &str, claim: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let json: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    json.get(claim)?.as_str().map(str::to_owned)
}

/// The session token of a request's cookie.
pub fn session_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}
