//! Citizens signed in through OpenID Connect: sign-ins under way (state, nonce and PKCE
//! verifier, found again by the callback on any node) and sessions, whose tokens are kept
//! hashed like staff tokens.

use crate::error::{QueryContext, Result};
use crate::store::Store;
use diaba_core::auth::Citizen;

/// A sign-in under way, as the callback finds it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingSignIn {
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier of the code challenge sent.
    pub pkce_verifier: String,
    /// Where the citizen goes once signed in (a path of this service).
    pub return_to: String,
}

/// How long a citizen has to sign in at the provider.
const SIGN_IN_MINUTES: i32 = 15;

impl Store {
    /// Remembers a sign-in sent to the provider under `state`.
    pub async fn begin_sign_in(&self, state: &str, pending: &PendingSignIn) -> Result<()> {
        // Forgotten sign-ins go as new ones come: the table stays small.
        sqlx::query("DELETE FROM citizen_sign_in WHERE created_at < now() - make_interval(mins => $1)")
            .bind(SIGN_IN_MINUTES)
            .execute(self.pool())
            .await
            .query("forget old sign-ins")?;
        sqlx::query("INSERT INTO citizen_sign_in (state, nonce, pkce_verifier, return_to) VALUES ($1, $2, $3, $4)")
            .bind(state)
            .bind(&pending.nonce)
            .bind(&pending.pkce_verifier)
            .bind(&pending.return_to)
            .execute(self.pool())
            .await
            .query("begin sign-in")?;
        Ok(())
    }

    /// The sign-in sent under `state`, once: a replayed callback finds nothing.
    pub async fn take_sign_in(&self, state: &str) -> Result<Option<PendingSignIn>> {
        sqlx::query_as(
            "DELETE FROM citizen_sign_in WHERE state = $1 AND created_at >= now() - make_interval(mins => $2) \
             RETURNING nonce, pkce_verifier, return_to",
        )
        .bind(state)
        .bind(SIGN_IN_MINUTES)
        .fetch_optional(self.pool())
        .await
        .query("take sign-in")
    }

    /// Opens a session for `citizen`, known by the SHA-256 of its token, for `hours`.
    pub async fn open_citizen_session(
        &self,
        token_sha256: &[u8],
        issuer: &str,
        citizen: &Citizen,
        hours: i32,
    ) -> Result<()> {
        sqlx::query("DELETE FROM citizen_session WHERE expires_at < now()")
            .execute(self.pool())
            .await
            .query("forget expired sessions")?;
        sqlx::query(
            "INSERT INTO citizen_session (token_sha256, issuer, subject, name, personal_id, email, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(hours => $7))",
        )
        .bind(token_sha256)
        .bind(issuer)
        .bind(&citizen.subject)
        .bind(&citizen.name)
        .bind(&citizen.personal_id)
        .bind(&citizen.email)
        .bind(hours)
        .execute(self.pool())
        .await
        .query("open citizen session")?;
        Ok(())
    }

    /// The citizen of a live session.
    pub async fn citizen_session(&self, token_sha256: &[u8]) -> Result<Option<Citizen>> {
        let row: Option<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT subject, name, personal_id, email FROM citizen_session \
             WHERE token_sha256 = $1 AND expires_at > now()",
        )
        .bind(token_sha256)
        .fetch_optional(self.pool())
        .await
        .query("citizen session")?;
        Ok(row.map(|(subject, name, personal_id, email)| Citizen { subject, name, personal_id, email }))
    }

    /// Ends a session (sign-out).
    pub async fn close_citizen_session(&self, token_sha256: &[u8]) -> Result<()> {
        sqlx::query("DELETE FROM citizen_session WHERE token_sha256 = $1")
            .bind(token_sha256)
            .execute(self.pool())
            .await
            .query("close citizen session")?;
        Ok(())
    }
}
