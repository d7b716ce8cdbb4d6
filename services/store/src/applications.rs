//! Dossiers of the online land service: stored with every step taken; a step is one
//! transaction that checks the version the caller saw, and approval applies the change to
//! the register in that same transaction (the holder's next version, the endorsement on
//! the certificate, the dossier as their source).

use crate::audit;
use crate::error::{QueryContext, Result};
use crate::feed::{ChangeOp, append};
use crate::outbox::Notice;
use crate::store::Store;
use chrono::{DateTime, NaiveDate, Utc};
use diaba_core::Layer;
use diaba_core::auth::{Actor, Caller};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;

/// A dossier as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ApplicationRecord {
    /// Internal id.
    #[serde(skip)]
    pub id: i64,
    /// Human code, e.g. `CT-2026-000123`.
    pub code: String,
    /// The procedure (holder_change).
    pub procedure: String,
    /// counter or online.
    pub channel: String,
    /// Ward of the parcel.
    pub ward_code: String,
    /// The certificate concerned.
    pub certificate: String,
    /// The holder whose details change.
    pub party_id: i64,
    /// Who applies (personal data).
    pub applicant_name: String,
    /// The holder's new details: `{name?, personal_id?, address?}` (personal data).
    pub changes: Value,
    /// Why (personal data: free text).
    pub reason: String,
    /// The state (diaba_core::application::State).
    pub state: String,
    /// Where a suspended dossier was.
    pub state_before_suspension: Option<String>,
    /// Version (the ETag): each step adds one.
    pub version: i32,
    /// The time limit in working days.
    pub limit_days: i32,
    /// When it was submitted.
    pub submitted_at: DateTime<Utc>,
    /// When it was received complete.
    pub received_on: Option<NaiveDate>,
    /// When it falls due.
    pub due_on: Option<NaiveDate>,
    /// Since when it is suspended.
    pub suspended_on: Option<NaiveDate>,
    /// When it was approved or refused.
    pub decided_at: Option<DateTime<Utc>>,
    /// The fee, VND.
    pub fee_vnd: i64,
    /// Paid so far, VND.
    pub paid_vnd: i64,
    /// endorsement or new_certificate, once approved.
    pub outcome: Option<String>,
    /// The certificate issued in place of `certificate` (outcome new_certificate).
    pub new_certificate: Option<String>,
    /// Where the citizen's notifications go (personal data).
    pub contact_email: Option<String>,
    /// The population register's answer about the holder, checked on receipt (and on
    /// resubmission); shown by the register's view.
    #[serde(skip)]
    pub population_check: Option<Value>,
    /// The signed-in citizen who applied online (the provider's subject).
    #[serde(skip)]
    pub applicant_subject: Option<String>,
}

/// One step taken on a dossier.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct EventRecord {
    /// When.
    pub at: DateTime<Utc>,
    /// citizen or office.
    pub by: String,
    /// The step.
    pub step: String,
    /// From.
    pub from_state: Option<String>,
    /// To.
    pub to_state: String,
    /// Why, or what is missing (free text: personal data).
    pub note: Option<String>,
    /// Which staff member (personal data).
    pub actor: Option<String>,
}

/// A new dossier.
#[derive(Debug, Clone)]
pub struct NewApplication {
    /// counter or online.
    pub channel: &'static str,
    /// Ward of the parcel.
    pub ward_code: String,
    /// The certificate.
    pub certificate_id: i64,
    /// The holder.
    pub party_id: i64,
    /// Who applies.
    pub applicant_name: String,
    /// The new details.
    pub changes: Value,
    /// Why.
    pub reason: String,
    /// Working days allowed.
    pub limit_days: i32,
    /// Fee, VND.
    pub fee_vnd: i64,
    /// Year of submission in Vietnam (for the code).
    pub year: i32,
    /// The citizen who applies online (`None` at the counter).
    pub applicant_subject: Option<String>,
    /// Where their notifications go.
    pub contact_email: Option<String>,
    /// Notifications of the submission.
    pub notices: Vec<Notice>,
}

/// A step to record: the state it leads to and the dates it sets.
#[derive(Debug, Clone)]
pub struct Move {
    /// The step's name.
    pub step: &'static str,
    /// citizen or office.
    pub by: &'static str,
    /// The state the caller saw.
    pub from_state: String,
    /// The state after.
    pub to_state: String,
    /// Why, or what is missing.
    pub note: Option<String>,
    /// New received date and due date (receipt, resubmission, resumption).
    pub clock: Option<(NaiveDate, NaiveDate)>,
    /// Suspended since (set on suspension, cleared on resumption).
    pub suspended_on: Option<Option<NaiveDate>>,
    /// Where a suspended dossier was (set on suspension).
    pub before_suspension: Option<Option<String>>,
    /// The change approval applies.
    pub apply: Option<HolderChange>,
    /// Sets decided_at (approval, refusal).
    pub decides: bool,
    /// The population register's answer, when the step checked it (receipt, resubmission).
    pub population_check: Option<Value>,
    /// Notifications of the step.
    pub notices: Vec<Notice>,
}

/// The holder's new details, applied on approval.
#[derive(Debug, Clone)]
pub struct HolderChange {
    /// New name.
    pub name: Option<String>,
    /// New personal ID (the old one is kept among the earlier numbers).
    pub personal_id: Option<String>,
    /// New permanent address.
    pub address: Option<String>,
    /// What is endorsed on the certificate (or noted on the new one's source).
    pub endorsement: String,
    /// The date endorsed (or the new certificate issued).
    pub endorsed_on: NaiveDate,
    /// A new certificate in place of the old, which is then replaced (no blank line left,
    /// or the holder asked for one); `None`: the change is endorsed on the old one.
    pub new_certificate: Option<NewCertificate>,
}

/// A certificate issued in place of another.
#[derive(Debug, Clone)]
pub struct NewCertificate {
    /// Its serial (as normalised by `diaba_core::CertificateSerial`).
    pub serial: String,
    /// Who issues it.
    pub issuer: String,
}

/// Why a step was not recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveRefused {
    /// No such dossier.
    NotFound,
    /// Someone took a step since the caller looked.
    Stale {
        /// the live version
        current: i32,
        /// its state
        state: String,
    },
    /// A change to the register that only the office may apply.
    OfficeOnly,
}

const SELECT: &str = "SELECT a.id, a.code, a.procedure, a.channel, a.ward_code, c.serial AS certificate, a.party_id, \
     a.applicant_name, a.changes, a.reason, a.state, a.state_before_suspension, a.version, a.limit_days, \
     a.submitted_at, a.received_on, a.due_on, a.suspended_on, a.decided_at, a.fee_vnd, a.population_check, \
     coalesce((SELECT sum(amount_vnd) FROM payment WHERE application_id = a.id), 0)::bigint AS paid_vnd, \
     a.outcome, nc.serial AS new_certificate, a.contact_email, a.applicant_subject \
     FROM application a JOIN certificate c ON c.id = a.certificate_id \
     LEFT JOIN certificate nc ON nc.id = a.new_certificate_id";

impl Store {
    /// Records a new dossier (state submitted) and its first event.
    pub async fn create_application(&self, new: NewApplication, actor: Actor<'_>) -> Result<ApplicationRecord> {
        let mut tx = self.pool().begin().await.query("begin")?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO application (code, channel, ward_code, certificate_id, party_id, applicant_name, changes, \
             reason, state, limit_days, fee_vnd, created_by, applicant_subject, contact_email) \
             VALUES ('CT-' || $1 || '-' || lpad(nextval('application_number')::text, 6, '0'), $2, $3, $4, $5, $6, $7, \
                     $8, 'submitted', $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(new.year.to_string())
        .bind(new.channel)
        .bind(&new.ward_code)
        .bind(new.certificate_id)
        .bind(new.party_id)
        .bind(&new.applicant_name)
        .bind(&new.changes)
        .bind(&new.reason)
        .bind(new.limit_days)
        .bind(new.fee_vnd)
        .bind(actor.user_id())
        .bind(&new.applicant_subject)
        .bind(&new.contact_email)
        .fetch_one(&mut *tx)
        .await
        .query("insert application")?;
        let by = if actor.subject().is_some() { "citizen" } else { "office" };
        event(&mut tx, id, actor, by, "submit", None, "submitted", Some(new.channel)).await?;
        crate::outbox::queue(&mut tx, Some(id), &new.notices).await?;
        let record = by_id(&mut tx, id).await?;
        audit_step(&mut tx, actor, &record, "application.submit").await?;
        tx.commit().await.query("commit application")?;
        Ok(record)
    }

    /// A dossier by code.
    pub async fn application(&self, code: &str) -> Result<Option<ApplicationRecord>> {
        sqlx::query_as(&format!("{SELECT} WHERE a.code = $1"))
            .bind(code)
            .fetch_optional(self.pool())
            .await
            .query("application")
    }

    /// The dossiers a citizen applied for online, newest first.
    pub async fn applications_of_citizen(&self, subject: &str, limit: i64) -> Result<Vec<ApplicationRecord>> {
        sqlx::query_as(&format!("{SELECT} WHERE a.applicant_subject = $1 ORDER BY a.id DESC LIMIT $2"))
            .bind(subject)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .query("applications of a citizen")
    }

    /// A dossier's steps, oldest first.
    pub async fn application_events(&self, id: i64) -> Result<Vec<EventRecord>> {
        sqlx::query_as(
            "SELECT e.at, e.by, e.step, e.from_state, e.to_state, e.note, u.name AS actor FROM application_event e \
             LEFT JOIN app_user u ON u.id = e.actor_id WHERE e.application_id = $1 ORDER BY e.id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await
        .query("application events")
    }

    /// Dossiers of `wards` (all when `None`), by state, and those due before `overdue_on`
    /// still open; soonest due first.
    pub async fn applications(
        &self,
        wards: Option<&[String]>,
        state: Option<&str>,
        overdue_on: Option<NaiveDate>,
        limit: i64,
    ) -> Result<Vec<ApplicationRecord>> {
        sqlx::query_as(&format!(
            "{SELECT} WHERE ($1::text[] IS NULL OR a.ward_code = ANY($1)) AND ($2::text IS NULL OR a.state = $2) \
             AND ($3::date IS NULL OR (a.due_on < $3 AND a.state IN ('received', 'in_review', 'approved'))) \
             ORDER BY a.due_on NULLS LAST, a.id LIMIT $4"
        ))
        .bind(wards)
        .bind(state)
        .bind(overdue_on)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .query("applications")
    }

    /// Records a step on dossier `code` seen at version `expected` in state
    /// `step.from_state`; approval applies the holder's change in the same transaction.
    pub async fn move_application(
        &self,
        code: &str,
        expected: i32,
        step: Move,
        actor: Actor<'_>,
    ) -> Result<std::result::Result<ApplicationRecord, MoveRefused>> {
        let mut tx = self.pool().begin().await.query("begin")?;
        let current: Option<(i64, i32, String)> =
            sqlx::query_as("SELECT id, version, state FROM application WHERE code = $1 FOR UPDATE")
                .bind(code)
                .fetch_optional(&mut *tx)
                .await
                .query("lock application")?;
        let Some((id, version, state)) = current else {
            return Ok(Err(MoveRefused::NotFound));
        };
        if version != expected || state != step.from_state {
            return Ok(Err(MoveRefused::Stale { current: version, state }));
        }
        match (&step.apply, actor) {
            (Some(change), Actor::Staff(staff)) => apply_change(&mut tx, id, code, change, staff).await?,
            (Some(_), Actor::Citizen(_)) => return Ok(Err(MoveRefused::OfficeOnly)),
            (None, _) => {}
        }
        let (received_on, due_on) = step.clock.unzip();
        sqlx::query(
            "UPDATE application SET state = $2, version = version + 1, \
             received_on = coalesce($3, received_on), due_on = coalesce($4, due_on), \
             suspended_on = CASE WHEN $5 THEN $6 ELSE suspended_on END, \
             state_before_suspension = CASE WHEN $7 THEN $8 ELSE state_before_suspension END, \
             decided_at = CASE WHEN $9 THEN now() ELSE decided_at END, \
             population_check = coalesce($10, population_check) WHERE id = $1",
        )
        .bind(id)
        .bind(&step.to_state)
        .bind(received_on)
        .bind(due_on)
        .bind(step.suspended_on.is_some())
        .bind(step.suspended_on.flatten())
        .bind(step.before_suspension.is_some())
        .bind(step.before_suspension.clone().flatten())
        .bind(step.decides)
        .bind(&step.population_check)
        .execute(&mut *tx)
        .await
        .query("move application")?;
        event(&mut tx, id, actor, step.by, step.step, Some(&state), &step.to_state, step.note.as_deref()).await?;
        crate::outbox::queue(&mut tx, Some(id), &step.notices).await?;
        let record = by_id(&mut tx, id).await?;
        audit_step(&mut tx, actor, &record, &format!("application.{}", step.step)).await?;
        tx.commit().await.query("commit step")?;
        Ok(Ok(record))
    }
}

async fn by_id(conn: &mut PgConnection, id: i64) -> Result<ApplicationRecord> {
    sqlx::query_as(&format!("{SELECT} WHERE a.id = $1")).bind(id).fetch_one(conn).await.query("application by id")
}

#[allow(clippy::too_many_arguments)]
async fn event(
    conn: &mut PgConnection,
    id: i64,
    actor: Actor<'_>,
    by: &str,
    step: &str,
    from: Option<&str>,
    to: &str,
    note: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO application_event (application_id, actor_id, actor_subject, by, step, from_state, to_state, note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(actor.user_id())
    .bind(actor.subject())
    .bind(by)
    .bind(step)
    .bind(from)
    .bind(to)
    .bind(note)
    .execute(conn)
    .await
    .query("application event")?;
    Ok(())
}

async fn audit_step(conn: &mut PgConnection, actor: Actor<'_>, record: &ApplicationRecord, action: &str) -> Result<()> {
    let entry = audit::Entry {
        actor: actor.staff(),
        action,
        entity: "application",
        id: Some(record.id),
        before: None,
        after: Some(serde_json::json!({ "code": record.code, "state": record.state, "version": record.version,
                                        "citizen": actor.subject() })),
    };
    audit::record(conn, entry).await
}

/// The holder's next version and the endorsement, with the dossier as their source.
async fn apply_change(
    conn: &mut PgConnection,
    id: i64,
    code: &str,
    change: &HolderChange,
    actor: &Caller,
) -> Result<()> {
    let (party, certificate): (i64, i64) =
        sqlx::query_as("SELECT party_id, certificate_id FROM application WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await
            .query("application parts")?;
    let source: i64 = sqlx::query_scalar(
        "INSERT INTO admin_source (kind, number, issued_on, issuer) \
         VALUES ('application', $1, $2, 'Văn phòng đăng ký đất đai thành phố Cần Thơ') RETURNING id",
    )
    .bind(code)
    .bind(change.endorsed_on)
    .fetch_one(&mut *conn)
    .await
    .query("application source")?;
    sqlx::query("UPDATE application SET source_id = $2 WHERE id = $1")
        .bind(id)
        .bind(source)
        .execute(&mut *conn)
        .await
        .query("application source id")?;
    sqlx::query(include_str!("sql/party_next_version.sql"))
        .bind(party)
        .bind(&change.name)
        .bind(&change.personal_id)
        .bind(&change.address)
        .bind(source)
        .bind(actor.user_id)
        .bind(code)
        .execute(&mut *conn)
        .await
        .query("party next version")?;
    match &change.new_certificate {
        None => {
            crate::parties::write_endorsement(
                conn,
                certificate,
                change.endorsed_on,
                &change.endorsement,
                Some(source),
                actor,
            )
            .await?;
            sqlx::query("UPDATE application SET outcome = 'endorsement' WHERE id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await
                .query("application outcome")?;
        }
        Some(new) => {
            let issued = replace_certificate(conn, certificate, new, change.endorsed_on, source).await?;
            sqlx::query("UPDATE application SET outcome = 'new_certificate', new_certificate_id = $2 WHERE id = $1")
                .bind(id)
                .bind(issued)
                .execute(&mut *conn)
                .await
                .query("application outcome")?;
            append(conn, Layer::Certificates, Some(issued), ChangeOp::Upsert).await?;
        }
    }
    append(conn, Layer::Parties, Some(party), ChangeOp::Upsert).await?;
    append(conn, Layer::Certificates, Some(certificate), ChangeOp::Upsert).await?;
    Ok(())
}

/// Issues certificate `new` in place of `old` for the same parcels: the old one is
/// replaced (pointing to the new), and the rights it attested end and go on, unchanged
/// but for the certificate, with the dossier as their source. Nothing is deleted.
async fn replace_certificate(
    conn: &mut PgConnection,
    old: i64,
    new: &NewCertificate,
    issued_on: NaiveDate,
    source: i64,
) -> Result<i64> {
    let issued: i64 = sqlx::query_scalar(
        "INSERT INTO certificate (serial, issued_on, issuer, status, synthetic, source_id) \
         SELECT $2, $3, $4, 'valid', synthetic, $5 FROM certificate WHERE id = $1 RETURNING id",
    )
    .bind(old)
    .bind(&new.serial)
    .bind(issued_on)
    .bind(&new.issuer)
    .bind(source)
    .fetch_one(&mut *conn)
    .await
    .query("insert new certificate")?;
    sqlx::query(include_str!("sql/replace_certificate.sql"))
        .bind(old)
        .bind(issued)
        .bind(source)
        .execute(&mut *conn)
        .await
        .query("replace certificate")?;
    Ok(issued)
}

/// One ward's dossiers in figures.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct WardFigures {
    /// Ward.
    pub ward_code: String,
    /// Received (ever).
    pub received: i64,
    /// Decided (approved or refused) by their due date.
    pub on_time: i64,
    /// Decided after it.
    pub late: i64,
    /// Open and past their due date.
    pub overdue: i64,
    /// Open and due on `due_soon_on` (the notice the office owes the citizen).
    pub due_soon: i64,
}

impl Store {
    /// Per ward of `wards` (all when `None`): received, decided on time or late, overdue
    /// on `today`, and due on `due_soon_on`.
    pub async fn application_figures(
        &self,
        wards: Option<&[String]>,
        today: NaiveDate,
        due_soon_on: NaiveDate,
    ) -> Result<Vec<WardFigures>> {
        sqlx::query_as(
            "SELECT ward_code, count(*) FILTER (WHERE received_on IS NOT NULL) AS received, \
             count(*) FILTER (WHERE decided_at IS NOT NULL AND (decided_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date <= due_on) \
               AS on_time, \
             count(*) FILTER (WHERE decided_at IS NOT NULL AND (decided_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date > due_on) \
               AS late, \
             count(*) FILTER (WHERE state IN ('received', 'in_review', 'approved') AND decided_at IS NULL AND due_on < $2) \
               AS overdue, \
             count(*) FILTER (WHERE state IN ('received', 'in_review') AND due_on = $3) AS due_soon \
             FROM application WHERE ($1::text[] IS NULL OR ward_code = ANY($1)) GROUP BY ward_code ORDER BY ward_code",
        )
        .bind(wards)
        .bind(today)
        .bind(due_soon_on)
        .fetch_all(self.pool())
        .await
        .query("application figures")
    }
}
