//! Documents attached to a dossier and the fees paid for it. The files themselves are kept
//! by the register under the data directory, named by their SHA-256; the store keeps what
//! they are and who brought them.

use crate::error::{QueryContext, Result};
use crate::store::Store;
use chrono::{DateTime, Utc};
use diaba_core::auth::Actor;
use serde::Serialize;

/// A document as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DocumentRecord {
    /// Its id within diaba.
    pub id: i64,
    /// What it is (e.g. `id_card`, `certificate`, `other`).
    pub kind: String,
    /// The name it was uploaded under.
    pub file_name: String,
    /// application/pdf, image/jpeg or image/png, as read from its content.
    pub media_type: String,
    /// Its size.
    pub bytes: i64,
    /// Its SHA-256, hex: the name it is kept under.
    pub sha256: String,
    /// When.
    pub uploaded_at: DateTime<Utc>,
    /// citizen or office.
    pub by: String,
}

/// A document to record.
#[derive(Debug, Clone)]
pub struct NewDocument {
    /// What it is.
    pub kind: String,
    /// The name it came under.
    pub file_name: String,
    /// Its type, from its content.
    pub media_type: &'static str,
    /// Its size.
    pub bytes: i64,
    /// Its SHA-256, hex.
    pub sha256: String,
}

/// A payment recorded for a dossier.
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// The payment provider (`counter` for the built-in one).
    pub provider: &'static str,
    /// VND.
    pub amount_vnd: i64,
    /// The provider's receipt or transaction reference.
    pub reference: String,
}

const DOCUMENT: &str =
    "SELECT id, kind, file_name, media_type, bytes, sha256, uploaded_at, by FROM application_document";

impl Store {
    /// Records a document of dossier `application`, brought by `actor`.
    pub async fn add_document(&self, application: i64, new: &NewDocument, actor: Actor<'_>) -> Result<DocumentRecord> {
        let by = if actor.subject().is_some() { "citizen" } else { "office" };
        sqlx::query_as(
            "INSERT INTO application_document (application_id, kind, file_name, media_type, bytes, sha256, by, \
             actor_id, actor_subject) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             RETURNING id, kind, file_name, media_type, bytes, sha256, uploaded_at, by",
        )
        .bind(application)
        .bind(&new.kind)
        .bind(&new.file_name)
        .bind(new.media_type)
        .bind(new.bytes)
        .bind(&new.sha256)
        .bind(by)
        .bind(actor.user_id())
        .bind(actor.subject())
        .fetch_one(self.pool())
        .await
        .query("add document")
    }

    /// The documents of dossier `application`, oldest first.
    pub async fn documents(&self, application: i64) -> Result<Vec<DocumentRecord>> {
        sqlx::query_as(&format!("{DOCUMENT} WHERE application_id = $1 ORDER BY id"))
            .bind(application)
            .fetch_all(self.pool())
            .await
            .query("documents")
    }

    /// Document `id` of dossier `application`.
    pub async fn document(&self, application: i64, id: i64) -> Result<Option<DocumentRecord>> {
        sqlx::query_as(&format!("{DOCUMENT} WHERE application_id = $1 AND id = $2"))
            .bind(application)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .query("document")
    }

    /// Records a payment for dossier `application` (a registrar's record of money paid at
    /// the counter, or a provider's confirmed transaction).
    pub async fn add_payment(&self, application: i64, payment: &NewPayment, recorded_by: Option<i64>) -> Result<()> {
        sqlx::query(
            "INSERT INTO payment (application_id, provider, amount_vnd, reference, recorded_by) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(application)
        .bind(payment.provider)
        .bind(payment.amount_vnd)
        .bind(&payment.reference)
        .bind(recorded_by)
        .execute(self.pool())
        .await
        .query("add payment")?;
        Ok(())
    }
}
