//! The change feed (DESIGN §7): written in the same transaction as the change it
//! describes, read in sequence order by every node, decoded here once into [`Change`].

use crate::error::{Error, QueryContext, Result};
use crate::store::Store;
use diaba_core::Layer;
use sqlx::PgConnection;
use sqlx::postgres::PgListener;
use std::time::Duration;

/// The NOTIFY channel the change feed wakes listeners on.
const CHANNEL: &str = "diaba_change";

/// What happened to an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOp {
    /// Created or changed: read its current state.
    Upsert,
    /// Gone from the live register (split, merged, retired).
    Retire,
    /// The whole layer changed (a bulk load): read it all again.
    Reload,
}

impl ChangeOp {
    fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Upsert => "upsert",
            ChangeOp::Retire => "retire",
            ChangeOp::Reload => "reload",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [ChangeOp::Upsert, ChangeOp::Retire, ChangeOp::Reload].into_iter().find(|op| op.as_str() == text)
    }
}

/// One entry of the change feed.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Sequence number (strictly increasing in commit order).
    pub seq: i64,
    /// The layer that changed.
    pub layer: Layer,
    /// What happened.
    pub op: ChangeOp,
    /// The entity, or `None` for a whole-layer reload.
    pub id: Option<i64>,
    /// `[west, south, east, north]` of the old and new shapes together, when the entity has one.
    pub bbox: Option<[f64; 4]>,
}

/// An entry of the feed as this build reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedEntry {
    /// A change of a layer this build knows.
    Change(Change),
    /// An entry written by a newer build (a layer or operation added since): nothing this
    /// node holds can depend on it, so it is passed over, and said so in the log.
    Unknown {
        /// Its sequence number.
        seq: i64,
        /// What it names, as stored.
        what: String,
    },
}

impl FeedEntry {
    /// The entry's sequence number.
    pub fn seq(&self) -> i64 {
        match self {
            FeedEntry::Change(change) => change.seq,
            FeedEntry::Unknown { seq, .. } => *seq,
        }
    }
}

/// An entry as stored; decoded by [`Store::changes_after`].
type ChangeRow = (i64, String, Option<i64>, String, Option<Vec<f64>>);

fn decode((seq, layer, id, op, bbox): ChangeRow) -> FeedEntry {
    match (Layer::parse(&layer), ChangeOp::parse(&op)) {
        (Some(layer), Some(op)) => {
            FeedEntry::Change(Change { seq, layer, op, id, bbox: bbox.and_then(|b| <[f64; 4]>::try_from(b).ok()) })
        }
        _ => FeedEntry::Unknown { seq, what: format!("{layer} {op}") },
    }
}

/// Appends a "reload the whole layer" entry (bulk loads) and wakes the listeners.
pub(crate) async fn append_reload(conn: &mut PgConnection, layer: Layer) -> Result<i64> {
    append(conn, layer, None, ChangeOp::Reload).await
}

/// Appends one entity's change (with the box it touched) and wakes the listeners.
pub(crate) async fn append(conn: &mut PgConnection, layer: Layer, id: Option<i64>, op: ChangeOp) -> Result<i64> {
    // Serialises feed writers until commit, so sequence numbers become visible in order and
    // a reader resuming from its last seq cannot skip a slower, earlier transaction.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('diaba.change_feed'))")
        .execute(&mut *conn)
        .await
        .query("feed lock")?;
    let extent = match (id, crate::layers::extent_sql(layer)) {
        (Some(id), Some(sql)) => {
            let sql = format!("SELECT ARRAY[ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)] FROM ({sql}) s(e)");
            sqlx::query_scalar::<_, Option<Vec<f64>>>(&sql)
                .bind(id)
                .fetch_one(&mut *conn)
                .await
                .query("change extent")?
        }
        _ => None,
    };
    let seq: i64 =
        sqlx::query_scalar("INSERT INTO change (layer, entity_id, op, bbox) VALUES ($1, $2, $3, $4) RETURNING seq")
            .bind(layer.as_str())
            .bind(id)
            .bind(op.as_str())
            .bind(extent)
            .fetch_one(&mut *conn)
            .await
            .query("append change")?;
    sqlx::query("SELECT pg_notify($1, $2::text)")
        .bind(CHANNEL)
        .bind(seq)
        .execute(&mut *conn)
        .await
        .query("notify change")?;
    Ok(seq)
}

impl Store {
    /// The newest sequence number of the change feed (0 when empty).
    pub async fn last_change(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT COALESCE(max(seq), 0) FROM change").fetch_one(self.pool()).await.query("last change")
    }

    /// The feed's head, and how old the first entry after `applied` is.
    pub async fn feed_lag(&self, applied: i64) -> Result<FeedLag> {
        let (latest, oldest_unapplied_seconds): (i64, f64) = sqlx::query_as(
            "SELECT (SELECT COALESCE(max(seq), 0) FROM change), \
                    COALESCE((SELECT EXTRACT(EPOCH FROM now() - at)::float8 FROM change WHERE seq > $1 ORDER BY seq LIMIT 1), 0)",
        )
        .bind(applied)
        .fetch_one(self.pool())
        .await
        .query("feed lag")?;
        Ok(FeedLag { latest, oldest_unapplied_seconds })
    }

    /// Entries after `seq`, in order, at most `limit`.
    pub async fn changes_after(&self, seq: i64, limit: i64) -> Result<Vec<FeedEntry>> {
        let rows: Vec<ChangeRow> =
            sqlx::query_as("SELECT seq, layer, entity_id, op, bbox FROM change WHERE seq > $1 ORDER BY seq LIMIT $2")
                .bind(seq)
                .bind(limit)
                .fetch_all(self.pool())
                .await
                .query("read change feed")?;
        Ok(rows.into_iter().map(decode).collect())
    }

    /// A listener woken by every change committed to the feed.
    pub async fn change_listener(&self) -> Result<ChangeListener> {
        let mut listener = PgListener::connect_with(self.pool()).await.query("listen connect")?;
        listener.listen(CHANNEL).await.query("listen")?;
        Ok(ChangeListener { listener })
    }
}

/// How far a node is behind the change feed.
#[derive(Debug, Clone, Copy)]
pub struct FeedLag {
    /// The newest entry's sequence number.
    pub latest: i64,
    /// Age of the oldest entry the node has not applied; 0 when it has applied all.
    pub oldest_unapplied_seconds: f64,
}

/// Waits for change-feed notifications.
pub struct ChangeListener {
    listener: PgListener,
}

impl ChangeListener {
    /// Waits until a change is announced or `timeout` passes. An error means the
    /// connection was lost; callers catch up from their last sequence number anyway.
    pub async fn wait(&mut self, timeout: Duration) -> Result<()> {
        match tokio::time::timeout(timeout, self.listener.try_recv()).await {
            Ok(Ok(Some(_))) | Err(_) => Ok(()),
            Ok(Ok(None)) => Err(Error::ListenerLost),
            Ok(Err(source)) => Err(Error::Query { query: "listen", source }),
        }
    }
}
