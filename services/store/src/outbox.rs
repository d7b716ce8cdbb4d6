//! The notification outbox: notices are written in the transaction of the step that owes
//! them, and delivered afterwards by whichever node claims them first (a claim is a lease:
//! a node that dies mid-delivery leaves the notice to be claimed again a minute later).

use crate::error::{QueryContext, Result};
use crate::store::Store;
use chrono::NaiveDate;
use sqlx::PgConnection;

/// A notification owed: written in the step's transaction, delivered by the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// email or webhook.
    pub channel: &'static str,
    /// The address or URL.
    pub recipient: String,
    /// The subject.
    pub subject: String,
    /// The text (e-mail) or JSON (webhook).
    pub body: String,
}

/// A notice to deliver.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingNotice {
    /// Its id.
    pub id: i64,
    /// email or webhook.
    pub channel: String,
    /// The address or URL.
    pub recipient: String,
    /// The subject.
    pub subject: String,
    /// The text or JSON.
    pub body: String,
    /// Deliveries tried so far, this one included.
    pub attempts: i32,
}

/// An open dossier due on the next working day, which the office has not been told of.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueSoon {
    /// Its id.
    pub id: i64,
    /// Its code.
    pub code: String,
    /// Its ward.
    pub ward_code: String,
    /// When it falls due.
    pub due_on: NaiveDate,
}

/// Writes `notices` (of dossier `application`, if any) in the caller's transaction.
pub(crate) async fn queue(conn: &mut PgConnection, application: Option<i64>, notices: &[Notice]) -> Result<()> {
    for notice in notices {
        sqlx::query(
            "INSERT INTO notification (application_id, channel, recipient, subject, body) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(application)
        .bind(notice.channel)
        .bind(&notice.recipient)
        .bind(&notice.subject)
        .bind(&notice.body)
        .execute(&mut *conn)
        .await
        .query("queue notification")?;
    }
    Ok(())
}

impl Store {
    /// Claims up to `limit` notices whose time has come, for a minute.
    pub async fn claim_notices(&self, limit: i64) -> Result<Vec<PendingNotice>> {
        sqlx::query_as(
            "UPDATE notification SET attempts = attempts + 1, next_attempt_at = now() + interval '1 minute' \
             WHERE id IN (SELECT id FROM notification WHERE sent_at IS NULL AND next_attempt_at <= now() \
                          ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) \
             RETURNING id, channel, recipient, subject, body, attempts",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .query("claim notices")
    }

    /// Marks a notice delivered.
    pub async fn notice_sent(&self, id: i64) -> Result<()> {
        sqlx::query("UPDATE notification SET sent_at = now(), last_error = NULL WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await
            .query("notice sent")?;
        Ok(())
    }

    /// Records a failed delivery; tried again after `retry_in_seconds`.
    pub async fn notice_failed(&self, id: i64, error: &str, retry_in_seconds: i64) -> Result<()> {
        sqlx::query(
            "UPDATE notification SET last_error = $2, next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1",
        )
        .bind(id)
        .bind(error)
        .bind(retry_in_seconds as f64)
        .execute(self.pool())
        .await
        .query("notice failed")?;
        Ok(())
    }

    /// The open dossiers due on `due_on` (the next working day) not yet noticed, marked as
    /// noticed on `today` with `notices(dossier)` written for each, in one transaction:
    /// however many nodes run this, each dossier is noticed once.
    pub async fn notice_due_soon(
        &self,
        today: NaiveDate,
        due_on: NaiveDate,
        notices: impl Fn(&DueSoon) -> Vec<Notice>,
    ) -> Result<Vec<DueSoon>> {
        let mut tx = self.pool().begin().await.query("begin")?;
        let due: Vec<DueSoon> = sqlx::query_as(
            "UPDATE application SET due_notice_on = $1 \
             WHERE state IN ('received', 'in_review') AND due_on = $2 AND due_notice_on IS NULL \
             RETURNING id, code, ward_code, due_on",
        )
        .bind(today)
        .bind(due_on)
        .fetch_all(&mut *tx)
        .await
        .query("dossiers due soon")?;
        for dossier in &due {
            queue(&mut tx, Some(dossier.id), &notices(dossier)).await?;
        }
        tx.commit().await.query("commit due notices")?;
        Ok(due)
    }

    /// The notices of a dossier, oldest first: (channel, recipient, subject, sent).
    pub async fn notices_of(&self, application: i64) -> Result<Vec<(String, String, String, bool)>> {
        sqlx::query_as(
            "SELECT channel, recipient, subject, sent_at IS NOT NULL FROM notification WHERE application_id = $1 \
             ORDER BY id",
        )
        .bind(application)
        .fetch_all(self.pool())
        .await
        .query("notices of a dossier")
    }
}
