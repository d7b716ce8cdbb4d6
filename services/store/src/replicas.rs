//! Streaming replicas for reads that may be a moment behind: loading the index and the
//! search engine at start, OGC items, exports. Writes and the change feed stay on the
//! primary, so what a node follows is always the primary's order.
//!
//! A watcher measures each replica's lag twice a second against the primary's WAL
//! position. A replica that does not answer, or lags by more than the allowed delay, is
//! passed over: its reads go to the primary until it catches up.

use crate::error::{QueryContext, Result};
use crate::hosts::{for_diaba, label};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// How often lag is measured.
const WATCH: Duration = Duration::from_millis(500);
/// A replica that takes longer than this to answer the lag query is passed over.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// One read replica and what was last measured of it.
#[derive(Debug)]
pub(crate) struct Replica {
    label: String,
    pub pool: PgPool,
    up: AtomicBool,
    /// Lag in microseconds (meaningful when `up`).
    lag_us: AtomicU64,
}

/// What is known of a replica, for `/metrics` and `/health`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReplicaStatus {
    /// `host:port` (no credentials).
    pub server: String,
    /// It answered the last lag check.
    pub up: bool,
    /// How far its replay is behind the primary, in seconds (when up).
    pub lag_seconds: Option<f64>,
    /// Reads go to it now (up, and within the allowed lag).
    pub in_use: bool,
}

/// The read replicas and the lag they may have.
#[derive(Debug)]
pub(crate) struct Replicas {
    list: Vec<Arc<Replica>>,
    max_lag: Duration,
    next: AtomicUsize,
}

impl Replicas {
    /// Opens a small lazy pool per replica and starts measuring their lag against `primary`.
    pub fn start(urls: &[String], max_lag: Duration, max_connections: u32, primary: PgPool) -> Result<Arc<Self>> {
        let mut list = Vec::new();
        for url in urls {
            let options = PgConnectOptions::from_str(url).query("parse --read-database-url")?;
            let label = label(&options);
            let options = for_diaba(options, &format!("diaba-{}-reads", std::process::id()));
            // Lazy: a replica that is down at start must not stop the node.
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                // Short: a read that cannot get a replica connection soon goes to the primary.
                .acquire_timeout(Duration::from_secs(1))
                .connect_lazy_with(options);
            list.push(Arc::new(Replica { label, pool, up: AtomicBool::new(false), lag_us: AtomicU64::new(0) }));
        }
        let replicas = Arc::new(Self { list, max_lag, next: AtomicUsize::new(0) });
        tokio::spawn(watch(primary, replicas.clone()));
        Ok(replicas)
    }

    /// A replica to read from now, in turn; `None`: read from the primary.
    pub fn pick(&self) -> Option<Arc<Replica>> {
        let n = self.list.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n).map(|k| &self.list[(start + k) % n]).find(|r| self.usable(r)).cloned()
    }

    fn usable(&self, replica: &Replica) -> bool {
        replica.up.load(Ordering::Acquire)
            && Duration::from_micros(replica.lag_us.load(Ordering::Acquire)) <= self.max_lag
    }

    /// Each replica's pool, in the order given.
    pub fn pools(&self) -> impl Iterator<Item = &PgPool> {
        self.list.iter().map(|r| &r.pool)
    }

    /// Each replica's last measurement.
    pub fn status(&self) -> Vec<ReplicaStatus> {
        self.list
            .iter()
            .map(|r| {
                let up = r.up.load(Ordering::Acquire);
                ReplicaStatus {
                    server: r.label.clone(),
                    up,
                    lag_seconds: up.then(|| r.lag_us.load(Ordering::Acquire) as f64 / 1e6),
                    in_use: self.usable(r),
                }
            })
            .collect()
    }
}

impl Replica {
    /// Takes it out of use after a read failed on it; the watcher puts it back.
    pub fn mark_down(&self) {
        self.up.store(false, Ordering::Release);
        tracing::warn!(replica = %self.label, "read replica failed; reading from the primary");
    }
}

async fn watch(primary: PgPool, replicas: Arc<Replicas>) {
    loop {
        if primary.is_closed() {
            return;
        }
        // The primary's position first: a replica that has replayed up to it is current.
        let position: Option<String> = tokio::time::timeout(
            PROBE_TIMEOUT,
            sqlx::query_scalar("SELECT pg_current_wal_lsn()::text").fetch_one(&primary),
        )
        .await
        .ok()
        .and_then(Result::ok);
        if let Some(position) = position {
            for replica in &replicas.list {
                let lag = tokio::time::timeout(PROBE_TIMEOUT, measure(&replica.pool, &position)).await;
                let was_up = replica.up.load(Ordering::Acquire);
                match lag {
                    Ok(Ok(lag)) => {
                        replica.lag_us.store(lag.as_micros() as u64, Ordering::Release);
                        replica.up.store(true, Ordering::Release);
                        if !was_up {
                            tracing::info!(replica = %replica.label, lag_s = lag.as_secs_f64(), "read replica up");
                        }
                    }
                    _ => {
                        replica.up.store(false, Ordering::Release);
                        if was_up {
                            tracing::warn!(replica = %replica.label, "read replica not answering; reading from the primary");
                        }
                    }
                }
            }
        }
        // When the primary itself is unreachable nothing is measured: replicas keep their state.
        tokio::time::sleep(WATCH).await;
    }
}

/// Zero when the replica has replayed the primary's `position`; otherwise the age of the
/// last transaction it replayed (how stale its answers may be).
async fn measure(pool: &PgPool, position: &str) -> Result<Duration> {
    let (caught_up, age): (Option<bool>, Option<f64>) = sqlx::query_as(
        "SELECT NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= $1::pg_lsn, \
                EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8",
    )
    .bind(position)
    .fetch_one(pool)
    .await
    .query("replica lag")?;
    Ok(if caught_up == Some(true) {
        Duration::ZERO
    } else {
        Duration::from_secs_f64(age.unwrap_or(1e9).clamp(0.0, 1e9))
    })
}
