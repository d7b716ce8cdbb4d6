//! The audit log (DESIGN §9): who did what to which record, with its state before and
//! after. One entry per change, written in the change's own transaction.

use crate::error::{QueryContext, Result};
use diaba_core::auth::Caller;
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;

/// One audit entry.
pub(crate) struct Entry<'a> {
    /// Who: `None` for diaba itself (imports, seeding, user administration from the CLI).
    pub actor: Option<&'a Caller>,
    /// What, e.g. `parcel.split`.
    pub action: &'a str,
    /// Which kind of record, e.g. `parcel`.
    pub entity: &'a str,
    /// Which one, where there is one.
    pub id: Option<i64>,
    /// Its state before.
    pub before: Option<Value>,
    /// Its state after.
    pub after: Option<Value>,
}

/// Any record as the JSON an audit entry keeps.
pub(crate) fn snapshot(record: &impl Serialize) -> Value {
    serde_json::to_value(record).expect("records serialise")
}

/// Writes the entry.
pub(crate) async fn record(conn: &mut PgConnection, entry: Entry<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (actor_id, action, entity, entity_id, before, after) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(entry.actor.map(|c| c.user_id))
    .bind(entry.action)
    .bind(entry.entity)
    .bind(entry.id)
    .bind(entry.before)
    .bind(entry.after)
    .execute(conn)
    .await
    .query("audit")?;
    Ok(())
}
