//! The database every subcommand opens: `--database-url`, or the embedded cluster.

use crate::args::{ClusterArgs, DbArgs};
use anyhow::Context;
use diaba_store::{ClusterOptions, DatabaseConfig, Store};

pub(crate) async fn open_migrated(args: &DbArgs, connections: u32) -> anyhow::Result<Store> {
    let config = match &args.database_url {
        Some(url) => DatabaseConfig::Url(url.clone()),
        None => DatabaseConfig::Embedded(cluster_options(&args.cluster)),
    };
    let store = Store::open(&config, connections).await.context("opening the database")?;
    anyhow::ensure!(
        args.max_replica_lag.is_finite() && args.max_replica_lag >= 0.0,
        "--max-replica-lag must be a number of seconds, 0 or more"
    );
    let max_lag = std::time::Duration::from_secs_f64(args.max_replica_lag);
    let store = store.with_read_replicas(&args.read_database_urls, max_lag, connections).context("read replicas")?;
    store.migrate().await.context("migrating the database")?;
    store.load_geodata().await.context("loading the shipped Cần Thơ units")?;
    Ok(store)
}

pub(crate) fn cluster_options(args: &ClusterArgs) -> ClusterOptions {
    ClusterOptions {
        bin_dir: args.pg_bin_dir.clone(),
        os_user: args.cluster_user.clone(),
        ..ClusterOptions::new(&args.data_dir)
    }
}
