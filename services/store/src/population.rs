//! The office's copy of the population register: loaded whole from the extract an office
//! receives, read one personal ID at a time (each read audited: it is national data).

use crate::audit;
use crate::error::{QueryContext, Result};
use crate::store::Store;
use chrono::{DateTime, NaiveDate, Utc};
use diaba_core::auth::Caller;
use serde::Serialize;

/// A resident as the population register knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Resident {
    /// 12-digit personal ID.
    pub personal_id: String,
    /// Full name.
    pub full_name: String,
    /// Date of birth.
    pub date_of_birth: Option<NaiveDate>,
    /// Permanent address (thường trú).
    pub permanent_address: Option<String>,
    /// valid, expired, revoked or lost.
    pub card_status: String,
    /// From a synthetic register (tests, demos).
    pub synthetic: bool,
    /// When the office loaded it.
    #[sqlx(default)]
    pub loaded_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Replaces the whole copy with `residents` in one transaction; returns the batch id.
    pub async fn replace_population(&self, residents: &[Resident]) -> Result<String> {
        let mut tx = self.pool().begin().await.query("begin")?;
        let batch: String =
            sqlx::query_scalar("SELECT gen_random_uuid()::text").fetch_one(&mut *tx).await.query("batch id")?;
        sqlx::query("DELETE FROM population_record").execute(&mut *tx).await.query("clear population")?;
        let column = |f: fn(&Resident) -> Option<String>| residents.iter().map(f).collect::<Vec<_>>();
        sqlx::query(
            "INSERT INTO population_record (personal_id, full_name, date_of_birth, permanent_address, card_status, \
             synthetic, batch) \
             SELECT i, n, d, a, s, y, $7::uuid FROM unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::text[], \
             $6::bool[]) AS r(i, n, d, a, s, y)",
        )
        .bind(column(|r| Some(r.personal_id.clone())))
        .bind(column(|r| Some(r.full_name.clone())))
        .bind(residents.iter().map(|r| r.date_of_birth).collect::<Vec<_>>())
        .bind(column(|r| r.permanent_address.clone()))
        .bind(column(|r| Some(r.card_status.clone())))
        .bind(residents.iter().map(|r| r.synthetic).collect::<Vec<_>>())
        .bind(&batch)
        .execute(&mut *tx)
        .await
        .query("load population")?;
        let entry = audit::Entry {
            actor: None,
            action: "population.import",
            entity: "population_record",
            id: None,
            before: None,
            after: Some(serde_json::json!({ "batch": batch, "records": residents.len() })),
        };
        audit::record(&mut tx, entry).await?;
        tx.commit().await.query("commit population")?;
        Ok(batch)
    }

    /// The resident with this personal ID, the read audited under `caller` (why: `purpose`).
    pub async fn resident(&self, personal_id: &str, caller: &Caller, purpose: &str) -> Result<Option<Resident>> {
        let mut tx = self.pool().begin().await.query("begin")?;
        let found: Option<Resident> = sqlx::query_as(
            "SELECT personal_id, full_name, date_of_birth, permanent_address, card_status, synthetic, loaded_at \
             FROM population_record WHERE personal_id = $1",
        )
        .bind(personal_id)
        .fetch_optional(&mut *tx)
        .await
        .query("resident")?;
        let entry = audit::Entry {
            actor: Some(caller),
            action: "population.lookup",
            entity: "population_record",
            id: None,
            before: None,
            after: Some(
                serde_json::json!({ "personal_id": personal_id, "found": found.is_some(), "purpose": purpose }),
            ),
        };
        audit::record(&mut tx, entry).await?;
        tx.commit().await.query("commit lookup")?;
        Ok(found)
    }
}
