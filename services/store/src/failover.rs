//! The primary's pool when `DATABASE_URL` names several servers: it connects only to one
//! that accepts writes (with `target_session_attrs=read-write`), and a watcher moves it to
//! another when that one stops answering or turns read-only: after `pg_ctl promote` on a
//! standby, every node finds the new primary within about a second, without a restart.
//!
//! Connections opened before a move are dropped when next taken from the pool, so no
//! write goes to the old server after the move.

use crate::error::{QueryContext, Result};
use crate::hosts::{Hosts, for_diaba};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How often the watcher checks the current server.
const WATCH: Duration = Duration::from_secs(1);
/// How long one check or probe may take before the server counts as gone.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether a session may write: not a standby, and not read-only by default.
const WRITABLE: &str = "SELECT NOT (pg_is_in_recovery() OR current_setting('transaction_read_only')::bool)";

/// Which of the servers the pool uses, and since when.
#[derive(Debug)]
pub(crate) struct Failover {
    hosts: Hosts,
    current: AtomicUsize,
    moved_at: std::sync::Mutex<Instant>,
}

impl Failover {
    /// Label of the server in use.
    pub fn current(&self) -> &str {
        &self.hosts.servers[self.current.load(Ordering::Acquire)].0
    }

    fn since_move(&self) -> Duration {
        self.moved_at.lock().unwrap_or_else(std::sync::PoisonError::into_inner).elapsed()
    }
}

/// Opens the pool on the first server that will do, and starts the watcher when there is
/// more than one server to choose from.
pub(crate) async fn connect(
    hosts: Hosts,
    pool_options: PgPoolOptions,
    application: &str,
) -> Result<(PgPool, Option<Arc<Failover>>)> {
    let ours = |o: &PgConnectOptions| for_diaba(o.clone(), application);
    if hosts.servers.len() == 1 && !hosts.read_write {
        let pool = pool_options.connect_with(ours(&hosts.servers[0].1)).await.query("connect")?;
        return Ok((pool, None));
    }
    let first = find_server(&hosts, 0).await.ok_or_else(|| crate::error::Error::Io {
        action: "find a server that accepts writes among",
        path: hosts.servers.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>().join(",").into(),
        source: std::io::Error::other("none answered as read-write"),
    })?;
    let read_write = hosts.read_write;
    let failover = Arc::new(Failover { hosts, current: AtomicUsize::new(first), moved_at: Instant::now().into() });
    let watched = failover.clone();
    let pool = pool_options
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if read_write && !sqlx::query_scalar::<_, bool>(WRITABLE).fetch_one(conn).await? {
                    return Err(sqlx::Error::Configuration("this server is read-only now (a standby)".into()));
                }
                Ok(())
            })
        })
        // A connection older than the last move belongs to the old server.
        .before_acquire(move |_, meta| {
            let fresh = meta.age < watched.since_move();
            Box::pin(async move { Ok(fresh) })
        })
        .connect_with(ours(&failover.hosts.servers[first].1))
        .await
        .query("connect")?;
    tracing::info!(server = failover.current(), "primary chosen");
    tokio::spawn(watch(pool.clone(), failover.clone(), application.to_owned()));
    Ok((pool, Some(failover)))
}

/// Checks the server in use every second; when it is gone or read-only, moves the pool to
/// the first server (after it, in order) that accepts writes.
async fn watch(pool: PgPool, failover: Arc<Failover>, application: String) {
    loop {
        tokio::time::sleep(WATCH).await;
        if pool.is_closed() {
            return;
        }
        let healthy = tokio::time::timeout(PROBE_TIMEOUT, async {
            let mut conn = pool.acquire().await?;
            sqlx::query_scalar::<_, bool>(WRITABLE).fetch_one(&mut *conn).await
        })
        .await;
        if matches!(healthy, Ok(Ok(true))) || (matches!(healthy, Ok(Ok(false))) && !failover.hosts.read_write) {
            continue;
        }
        let from = failover.current.load(Ordering::Acquire);
        let Some(next) = find_server(&failover.hosts, from + 1).await else {
            tracing::warn!(server = failover.current(), "primary unreachable and no other server accepts writes yet");
            continue;
        };
        if next != from {
            pool.set_connect_options(for_diaba(failover.hosts.servers[next].1.clone(), &application));
            failover.current.store(next, Ordering::Release);
            *failover.moved_at.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
            tracing::warn!(from = %failover.hosts.servers[from].0, to = failover.current(), "primary moved");
        }
    }
}

/// The first server, starting at `start` and wrapping round, that answers (and accepts
/// writes when that is asked for).
async fn find_server(hosts: &Hosts, start: usize) -> Option<usize> {
    let n = hosts.servers.len();
    for i in (0..n).map(|k| (start + k) % n) {
        if probe(&hosts.servers[i].1, hosts.read_write).await {
            return Some(i);
        }
        tracing::debug!(server = %hosts.servers[i].0, "server not usable as primary");
    }
    None
}

async fn probe(options: &PgConnectOptions, read_write: bool) -> bool {
    let check = async {
        let mut conn: PgConnection = options.connect().await?;
        let writable: bool = sqlx::query_scalar(WRITABLE).fetch_one(&mut conn).await?;
        conn.close().await?;
        Ok::<_, sqlx::Error>(writable || !read_write)
    };
    matches!(tokio::time::timeout(PROBE_TIMEOUT, check).await, Ok(Ok(true)))
}
