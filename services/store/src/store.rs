use crate::error::{QueryContext, Result};
use crate::failover::Failover;
use crate::hosts::Hosts;
use crate::replicas::{Replica, ReplicaStatus, Replicas};
use diaba_cluster::{CLUSTER_SUPERUSER, Cluster, ClusterOptions, SOCKET_PORT};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The schema, compiled in from `migrations/`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Name of the database diaba uses inside its embedded cluster.
const EMBEDDED_DATABASE: &str = "diaba";

/// Where the data lives.
#[derive(Debug, Clone)]
pub enum DatabaseConfig {
    /// An existing PostgreSQL server with PostGIS (`DATABASE_URL`).
    Url(String),
    /// The private cluster diaba runs itself.
    Embedded(ClusterOptions),
}

/// What `/health` reports about the database.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Health {
    /// Fingerprint of the shipped geodata that is loaded.
    pub data_version: Option<String>,
    /// PostGIS version string.
    pub postgis: String,
}

/// A connection pool's use, for `/metrics`.
#[derive(Debug, Clone)]
pub struct PoolStatus {
    /// `primary`, or `replica-N` (N from 1, in the order the replicas were given).
    pub name: String,
    /// Connections open.
    pub open: u32,
    /// Of those, idle.
    pub idle: usize,
    /// The most it may open.
    pub max: u32,
}

/// The connection pool, and the embedded cluster when diaba runs one.
#[derive(Debug)]
pub struct Store {
    pool: PgPool,
    /// Taken by [`Store::close`]; a mutex so closing works through a shared handle.
    cluster: Mutex<Option<Cluster>>,
    /// Read replicas (`--read-database-url`), when given.
    replicas: Option<Arc<Replicas>>,
    /// Which of several `DATABASE_URL` servers is the primary, when there are several.
    failover: Option<Arc<Failover>>,
}

impl Store {
    /// Connects (starting the embedded cluster if configured), creating the database if needed.
    /// Does not migrate: call [`Store::migrate`].
    pub async fn open(config: &DatabaseConfig, max_connections: u32) -> Result<Self> {
        let (hosts, cluster) = match config {
            DatabaseConfig::Url(url) => (Hosts::parse(url)?, None),
            DatabaseConfig::Embedded(cluster_options) => {
                let cluster_options = cluster_options.clone();
                let cluster = tokio::task::spawn_blocking(move || Cluster::open(&cluster_options))
                    .await
                    .expect("cluster start does not panic")?;
                ensure_database(&cluster, EMBEDDED_DATABASE).await?;
                let options = cluster_connect_options(&cluster, EMBEDDED_DATABASE);
                (Hosts { servers: vec![(crate::hosts::label(&options), options)], read_write: false }, Some(cluster))
            }
        };
        let application = format!("diaba-{}", std::process::id());
        let (pool, failover) = crate::failover::connect(hosts, pool_options(max_connections), &application).await?;
        Ok(Self { pool, cluster: Mutex::new(cluster), replicas: None, failover })
    }

    /// Sends lag-tolerant reads to these streaming replicas while each is within `max_lag`
    /// of the primary (see [`Store::on_replica`]).
    pub fn with_read_replicas(mut self, urls: &[String], max_lag: Duration, max_connections: u32) -> Result<Self> {
        if !urls.is_empty() {
            self.replicas = Some(Replicas::start(urls, max_lag, max_connections, self.pool.clone())?);
        }
        Ok(self)
    }

    /// Wraps an existing pool (tests build one per database).
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool, cluster: Mutex::new(None), replicas: None, failover: None }
    }

    /// Runs `read` on a replica within the allowed lag, else on the primary; a replica that
    /// fails to answer is taken out of use and the read runs again on the primary.
    ///
    /// Only for reads that may be a moment behind the primary: never for what a writer
    /// reads back, nor for the change feed.
    pub async fn on_replica<T, F, Fut>(&self, read: F) -> Result<T>
    where
        F: Fn(Store) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let replica: Option<Arc<Replica>> = self.replicas.as_ref().and_then(|r| r.pick());
        if let Some(replica) = replica {
            match read(Self::from_pool(replica.pool.clone())).await {
                Err(error) if error.is_unavailable() => {
                    tracing::warn!(%error, "read on a replica failed");
                    replica.mark_down();
                }
                done => return done,
            }
        }
        read(Self::from_pool(self.pool.clone())).await
    }

    /// What was last measured of each read replica.
    pub fn replicas(&self) -> Vec<ReplicaStatus> {
        self.replicas.as_ref().map(|r| r.status()).unwrap_or_default()
    }

    /// The primary in use, `host:port`, when `DATABASE_URL` names several servers.
    pub fn primary_server(&self) -> Option<String> {
        self.failover.as_ref().map(|f| f.current().to_owned())
    }

    /// Use of each connection pool.
    pub fn pools(&self) -> Vec<PoolStatus> {
        let status = |name: String, pool: &PgPool| PoolStatus {
            name,
            open: pool.size(),
            idle: pool.num_idle(),
            max: pool.options().get_max_connections(),
        };
        let mut pools = vec![status("primary".into(), &self.pool)];
        if let Some(replicas) = &self.replicas {
            pools.extend(replicas.pools().enumerate().map(|(i, pool)| status(format!("replica-{}", i + 1), pool)));
        }
        pools
    }

    /// The pool, for the modules of this crate.
    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Brings the schema up to date.
    pub async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Checks the database answers and reports what data it holds.
    pub async fn health(&self) -> Result<Health> {
        let (data_version, postgis): (Option<String>, String) =
            sqlx::query_as("SELECT (SELECT value FROM meta WHERE key = 'geodata_version'), postgis_lib_version()")
                .fetch_one(&self.pool)
                .await
                .query("health")?;
        Ok(Health { data_version, postgis })
    }

    /// Closes the pool, then stops the embedded cluster if no other process uses it.
    pub async fn close(&self) -> Result<()> {
        self.pool.close().await;
        let cluster = self.cluster.lock().expect("cluster lock").take();
        if let Some(cluster) = cluster {
            tokio::task::spawn_blocking(move || cluster.release()).await.expect("cluster stop does not panic")?;
        }
        Ok(())
    }
}

fn pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(1)
        // A request waiting longer than this for a connection gets a 503, not a hang.
        .acquire_timeout(Duration::from_secs(3))
}

/// Connection options for the embedded cluster's socket, as its superuser.
pub fn cluster_connect_options(cluster: &Cluster, database: &str) -> PgConnectOptions {
    PgConnectOptions::new()
        .socket(cluster.socket_dir())
        .port(SOCKET_PORT)
        .username(CLUSTER_SUPERUSER)
        .database(database)
}

/// Creates `database` in the embedded cluster on first use.
async fn ensure_database(cluster: &Cluster, database: &str) -> Result<()> {
    let mut conn = cluster_connect_options(cluster, "postgres").connect().await.query("connect to cluster")?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(database)
        .fetch_one(&mut conn)
        .await
        .query("database exists")?;
    if !exists {
        // Identifiers cannot be bound; `database` is our own constant, never user input.
        sqlx::query(&format!("CREATE DATABASE \"{database}\"")).execute(&mut conn).await.query("create database")?;
    }
    conn.close().await.query("close")?;
    Ok(())
}
