//! The change feed (DESIGN §7): written in the same transaction as the change it describes.

use crate::error::{QueryContext, Result};
use sqlx::PgConnection;

/// Layers of the change feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// Administrative units.
    Units,
    /// Land parcels.
    Parcels,
    /// Household addresses.
    Addresses,
    /// Flood-risk zones.
    FloodZones,
}

impl Layer {
    fn as_str(self) -> &'static str {
        match self {
            Layer::Units => "units",
            Layer::Parcels => "parcels",
            Layer::Addresses => "addresses",
            Layer::FloodZones => "flood_zones",
        }
    }
}

/// Appends a "reload the whole layer" entry (bulk loads) and wakes the listeners.
pub(crate) async fn append_reload(conn: &mut PgConnection, layer: Layer) -> Result<i64> {
    append(conn, layer, None, "reload").await
}

pub(crate) async fn append(conn: &mut PgConnection, layer: Layer, entity_id: Option<i64>, op: &str) -> Result<i64> {
    // Serialises feed writers until commit, so sequence numbers become visible in order and
    // a reader resuming from its last seq cannot skip a slower, earlier transaction.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('diaba.change_feed'))")
        .execute(&mut *conn)
        .await
        .query("feed lock")?;
    let seq: i64 = sqlx::query_scalar("INSERT INTO change (layer, entity_id, op) VALUES ($1, $2, $3) RETURNING seq")
        .bind(layer.as_str())
        .bind(entity_id)
        .bind(op)
        .fetch_one(&mut *conn)
        .await
        .query("append change")?;
    sqlx::query("SELECT pg_notify('diaba_change', $1::text)")
        .bind(seq)
        .execute(&mut *conn)
        .await
        .query("notify change")?;
    Ok(seq)
}
