//! Users and bearer tokens. Only a SHA-256 of each token is stored: tokens are 256 random
//! bits, so a fast hash is safe (no password stretching needed) and lookups stay cheap.

use crate::error::{Error, QueryContext, Result};
use crate::store::Store;
use diaba_core::auth::{Caller, Role};
use sha2::{Digest, Sha256};
use std::io::Read;

/// A token shown once to its owner; Debug and Display never print it.
pub struct Token(String);

impl Token {
    /// The secret, to print once.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// 256 random bits, as staff tokens and citizens' session cookies carry.
    pub fn random() -> Result<Token> {
        new_token()
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn new_token() -> Result<Token> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).map_err(|source| Error::Io {
        action: "read",
        path: "/dev/urandom".into(),
        source,
    })?;
    Ok(Token(format!("dba_{}", hex::encode(bytes))))
}

impl Store {
    /// Sets the SensorThings datastreams a sensor user writes to.
    pub async fn set_datastreams(&self, user_id: i64, datastreams: &[i64]) -> Result<()> {
        sqlx::query("UPDATE app_user SET datastreams = $2 WHERE id = $1")
            .bind(user_id)
            .bind(datastreams)
            .execute(self.pool())
            .await
            .query("set datastreams")?;
        Ok(())
    }

    /// Creates a user (or adds a token to an existing one with the same name and role)
    /// and returns a new token.
    pub async fn add_user(
        &self,
        name: &str,
        role: Role,
        wards: &[String],
        team: Option<&str>,
    ) -> Result<(Caller, Token)> {
        let token = new_token()?;
        let mut tx = self.pool().begin().await.query("begin")?;
        let user_id: i64 = sqlx::query_scalar(
            "INSERT INTO app_user (name, role, wards, team) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET role = excluded.role, wards = excluded.wards, team = excluded.team, disabled_at = NULL \
             RETURNING id",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(wards)
        .bind(team)
        .fetch_one(&mut *tx)
        .await
        .query("add user")?;
        sqlx::query("INSERT INTO api_token (user_id, token_hash, label) VALUES ($1, $2, $3)")
            .bind(user_id)
            .bind(hash(token.reveal()))
            .bind(format!("created for {name}"))
            .execute(&mut *tx)
            .await
            .query("add token")?;
        sqlx::query(
            "INSERT INTO audit_log (actor_id, action, entity, entity_id, after) \
             VALUES (NULL, 'user.add', 'app_user', $1, jsonb_build_object('name', $2::text, 'role', $3::text, 'wards', $4::text[]))",
        )
        .bind(user_id)
        .bind(name)
        .bind(role.as_str())
        .bind(wards)
        .execute(&mut *tx)
        .await
        .query("audit user")?;
        tx.commit().await.query("commit user")?;
        Ok((Caller { user_id, name: name.to_owned(), role, wards: wards.to_vec() }, token))
    }

    /// The caller holding `token`, if it is known, not revoked and its user not disabled.
    /// Checked against the database on every request, so revocation is immediate.
    pub async fn caller_for_token(&self, token: &str) -> Result<Option<Caller>> {
        let row: Option<(i64, String, String, Vec<String>)> = sqlx::query_as(
            "SELECT u.id, u.name, u.role, u.wards FROM api_token t JOIN app_user u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL",
        )
        .bind(hash(token))
        .fetch_optional(self.pool())
        .await
        .query("token lookup")?;
        Ok(row
            .and_then(|(user_id, name, role, wards)| Some(Caller { user_id, name, role: Role::parse(&role)?, wards })))
    }

    /// Revokes every token of a user; returns how many.
    pub async fn revoke_tokens(&self, name: &str) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE api_token SET revoked_at = now() FROM app_user u \
             WHERE u.id = api_token.user_id AND u.name = $1 AND revoked_at IS NULL",
        )
        .bind(name)
        .execute(self.pool())
        .await
        .query("revoke tokens")?;
        Ok(done.rows_affected())
    }
}
