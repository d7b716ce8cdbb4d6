use crate::error::{QueryContext, Result};
use diaba_cluster::{CLUSTER_SUPERUSER, Cluster, ClusterOptions, SOCKET_PORT};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use std::str::FromStr;
use std::sync::Mutex;
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

/// The connection pool, and the embedded cluster when diaba runs one.
#[derive(Debug)]
pub struct Store {
    pool: PgPool,
    /// Taken by [`Store::close`]; a mutex so closing works through a shared handle.
    cluster: Mutex<Option<Cluster>>,
}

impl Store {
    /// Connects (starting the embedded cluster if configured), creating the database if needed.
    /// Does not migrate: call [`Store::migrate`].
    pub async fn open(config: &DatabaseConfig, max_connections: u32) -> Result<Self> {
        let (options, cluster) = match config {
            DatabaseConfig::Url(url) => (PgConnectOptions::from_str(url).query("parse DATABASE_URL")?, None),
            DatabaseConfig::Embedded(cluster_options) => {
                let cluster_options = cluster_options.clone();
                let cluster = tokio::task::spawn_blocking(move || Cluster::open(&cluster_options))
                    .await
                    .expect("cluster start does not panic")?;
                ensure_database(&cluster, EMBEDDED_DATABASE).await?;
                (cluster_connect_options(&cluster, EMBEDDED_DATABASE), Some(cluster))
            }
        };
        // Named per process, so an operator (or a fault test) can tell the nodes apart.
        let options = options.application_name(&format!("diaba-{}", std::process::id()));
        let pool = connect_pool(options, max_connections).await?;
        Ok(Self { pool, cluster: Mutex::new(cluster) })
    }

    /// Wraps an existing pool (tests build one per database).
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool, cluster: Mutex::new(None) }
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

async fn connect_pool(options: PgConnectOptions, max_connections: u32) -> Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(1)
        // A request waiting longer than this for a connection gets a 503, not a hang.
        .acquire_timeout(Duration::from_secs(3))
        .connect_with(options)
        .await
        .query("connect")
}

/// Creates `database` in the embedded cluster on first use.
/// Connection options for the embedded cluster's socket, as its superuser.
pub fn cluster_connect_options(cluster: &Cluster, database: &str) -> PgConnectOptions {
    PgConnectOptions::new()
        .socket(cluster.socket_dir())
        .port(SOCKET_PORT)
        .username(CLUSTER_SUPERUSER)
        .database(database)
}

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
