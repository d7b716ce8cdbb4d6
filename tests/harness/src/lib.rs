//! Throwaway PostGIS for tests: one cluster per test binary, one database per test.
//!
//! The cluster is diaba's own embedded cluster ([`diaba_store::Cluster`]) in a temporary
//! directory, without fsync. A template database is migrated and loaded with the shipped
//! geodata once; each test gets a copy (`CREATE DATABASE … TEMPLATE`), which takes
//! milliseconds and keeps tests independent. A watchdog process stops the cluster and
//! removes its directory when the test binary exits, however it exits.
//!
//! If PostgreSQL or PostGIS cannot start, the harness panics with the reason: a test
//! suite that silently skips its database tests would prove nothing.
#![forbid(unsafe_code)]

use diaba_store::{Cluster, ClusterOptions, Store};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::sync::OnceCell;

const TEMPLATE: &str = "diaba_template";
/// The template plus the small synthetic demo profile.
const DEMO_TEMPLATE: &str = "diaba_template_demo";
/// The demo seed the tests use (the same as `diaba seed`'s default).
pub const DEMO_SEED: u64 = 20250701;
const DB_PLACEHOLDER: &str = "DATABASE_NAME";

struct Harness {
    socket_options: PgConnectOptions,
    url_template: String,
}

static HARNESS: OnceCell<Harness> = OnceCell::const_new();
static DEMO: OnceCell<()> = OnceCell::const_new();
static NEXT_DATABASE: AtomicU32 = AtomicU32::new(0);

/// A fresh database with the schema and the shipped administrative units.
#[derive(Debug, Clone)]
pub struct TestDb {
    /// Database name.
    pub name: String,
    /// A `DATABASE_URL` for it (Unix socket).
    pub url: String,
    options: PgConnectOptions,
}

impl TestDb {
    /// A store connected to this database.
    pub async fn store(&self) -> Store {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(self.options.clone())
            .await
            .expect("connect to test database");
        Store::from_pool(pool)
    }

    /// A single connection, for checks written in SQL.
    pub async fn connect(&self) -> sqlx::PgConnection {
        self.options.connect().await.expect("connect to test database")
    }
}

/// Creates a new database from the migrated template.
pub async fn fresh_database() -> TestDb {
    copy_of(TEMPLATE).await
}

/// A new database holding the small synthetic demo profile (≈5 600 parcels, ≈3 000
/// households, flood zones), seeded once
/// per test binary into a template and copied per test.
pub async fn demo_database() -> TestDb {
    DEMO.get_or_init(|| async {
        let template = copy_of(TEMPLATE).await;
        let store = template.store().await;
        let wards = diaba_geodata::service_wards().expect("shipped wards");
        let parcels = tokio::task::spawn_blocking(move || {
            let vn2000 = diaba_core::crs::Vn2000::can_tho().expect("PROJ");
            diaba_demo::parcels(diaba_demo::Profile::Small, DEMO_SEED, &wards, &vn2000, |_| {})
        })
        .await
        .expect("generator thread")
        .expect("generate demo parcels");
        store.seed_parcels("small", DEMO_SEED, &parcels, |_, _| {}).await.expect("seed demo parcels");
        let households = tokio::task::spawn_blocking(move || {
            diaba_demo::households(&parcels, diaba_demo::Profile::Small, DEMO_SEED)
        })
        .await
        .expect("generator thread")
        .expect("generate demo households");
        store.seed_households("small", DEMO_SEED, &households).await.expect("seed demo households");
        let zones = {
            let wards = diaba_geodata::service_wards().expect("shipped wards");
            let vn2000 = diaba_core::crs::Vn2000::can_tho().expect("PROJ");
            diaba_demo::flood_zones(&wards, &vn2000).expect("demo flood zones")
        };
        store.seed_flood_zones(&zones).await.expect("seed demo flood zones");
        store.close().await.expect("close");
        let harness = HARNESS.get().expect("started");
        let mut admin = harness.socket_options.clone().database("postgres").connect().await.expect("connect");
        sqlx::query(&format!("ALTER DATABASE \"{}\" RENAME TO {DEMO_TEMPLATE}", template.name))
            .execute(&mut admin)
            .await
            .expect("rename demo template");
    })
    .await;
    copy_of(DEMO_TEMPLATE).await
}

/// How many statements run in `db` so far name `table` (a word of their text), from
/// `pg_stat_statements`. Each is counted as it ends, whichever connection ran it, so a test
/// can tell what one request asked of the register from what the server does meanwhile (its
/// change-feed poll, its outbox), which `pg_stat_database` mixes in and reports late.
pub async fn statements_naming(db: &TestDb, table: &str) -> i64 {
    let harness = HARNESS.get().expect("the harness made `db`");
    let mut admin = harness.socket_options.connect().await.expect("connect to the test cluster");
    sqlx::query_scalar(
        "SELECT COALESCE(sum(s.calls), 0)::int8 FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid \
         WHERE d.datname = $1 AND s.query ~ ('\\m' || $2 || '\\M')",
    )
    .bind(&db.name)
    .bind(table)
    .fetch_one(&mut admin)
    .await
    .expect("read pg_stat_statements")
}

async fn copy_of(template: &str) -> TestDb {
    let harness = HARNESS.get_or_init(start).await;
    let name = format!("test_{}_{}", std::process::id(), NEXT_DATABASE.fetch_add(1, Ordering::Relaxed));
    let mut admin = harness.socket_options.clone().database("postgres").connect().await.expect("connect to cluster");
    sqlx::query(&format!("CREATE DATABASE \"{name}\" TEMPLATE {template}"))
        .execute(&mut admin)
        .await
        .expect("create test database from template");
    admin.close().await.ok();
    TestDb {
        url: harness.url_template.replace(DB_PLACEHOLDER, &name),
        options: harness.socket_options.clone().database(&name),
        name,
    }
}

async fn start() -> Harness {
    let dir = std::env::temp_dir().join(format!("diaba-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let options = ClusterOptions {
        durable: false,
        // For `statements_naming`; room for every statement of every test database.
        extra_settings: "shared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.max = 20000\n".into(),
        ..ClusterOptions::new(&dir)
    };
    let cluster = tokio::task::spawn_blocking(move || Cluster::open(&options))
        .await
        .expect("cluster thread")
        .unwrap_or_else(|e| panic!("the test harness could not start PostgreSQL+PostGIS: {e}"));
    spawn_watchdog(&cluster, dir);

    let mut admin =
        diaba_store::cluster_connect_options(&cluster, "postgres").connect().await.expect("connect to test cluster");
    sqlx::query(&format!("CREATE DATABASE {TEMPLATE}")).execute(&mut admin).await.expect("create template");
    sqlx::query("CREATE EXTENSION pg_stat_statements").execute(&mut admin).await.expect("pg_stat_statements");
    admin.close().await.ok();
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(diaba_store::cluster_connect_options(&cluster, TEMPLATE))
        .await
        .expect("connect to template");
    let store = Store::from_pool(pool);
    store
        .migrate()
        .await
        .unwrap_or_else(|e| panic!("migrations fail on the test cluster (is PostGIS installed?): {e}"));
    store.load_geodata().await.expect("load shipped geodata into the template");
    store.close().await.expect("close template pool");

    let harness = Harness {
        socket_options: diaba_store::cluster_connect_options(&cluster, "postgres"),
        url_template: cluster.url(DB_PLACEHOLDER),
    };
    // The watchdog owns the cluster's end; the handle itself must not stop it.
    std::mem::forget(cluster);
    harness
}

/// Stops the cluster and deletes its directory once this test process is gone.
fn spawn_watchdog(cluster: &Cluster, dir: PathBuf) {
    let script = format!(
        "while kill -0 {test} 2>/dev/null; do sleep 0.3; done; kill -QUIT {pg} 2>/dev/null; sleep 2; rm -rf '{dir}'",
        test = std::process::id(),
        pg = cluster.postmaster_pid(),
        dir = dir.display()
    );
    // Never waited for: it must outlive this process.
    let _watchdog = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("spawn the test cluster watchdog");
    #[allow(clippy::zombie_processes)]
    std::mem::forget(_watchdog);
}
