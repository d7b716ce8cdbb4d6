//! One function per subcommand.

use crate::args::{ClusterArgs, Command, DbArgs, DbCommand, DemoProfile, ServeArgs};
use anyhow::Context;
use diaba_store::{Cluster, ClusterOptions, DatabaseConfig, Store};
use std::sync::Arc;
use std::time::Duration;

pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve(args).await,
        Command::Migrate(args) => {
            let store = open_migrated(&args, 2).await?;
            store.close().await?;
            Ok(())
        }
        Command::Db(DbCommand::Url(args)) => {
            let options = cluster_options(&args);
            let cluster = tokio::task::spawn_blocking(move || Cluster::open(&options)).await??;
            println!("{}", cluster.url("diaba"));
            // Leave it running for the psql session; `diaba db stop` stops it.
            std::mem::forget(cluster);
            Ok(())
        }
        Command::Vpostcode(command) => crate::codecs::vpostcode(command),
        Command::Crs(command) => crate::codecs::crs(command),
        Command::ParcelId(args) => crate::codecs::parcel_id(args),
        Command::Db(DbCommand::Stop(args)) => {
            let options = cluster_options(&args);
            let stopped = tokio::task::spawn_blocking(move || Cluster::open(&options)?.release()).await??;
            println!("{}", if stopped { "stopped" } else { "still in use by another diaba process" });
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let store = Arc::new(open_migrated(&args.db, args.db_connections).await?);
    if args.demo != DemoProfile::None {
        tracing::warn!(profile = ?args.demo, "synthetic demo layers are not available yet in this build; serving real units only");
    }
    let config = diaba_api::Config {
        listen: args.listen,
        body_limit: args.body_limit,
        request_timeout: Duration::from_secs(args.request_timeout),
    };
    let state = diaba_api::AppState::new(store.clone());
    diaba_api::serve(
        &config,
        state,
        |addr| {
            // Printed on stdout so scripts and tests can find a port chosen with :0.
            println!("diaba listening on http://{addr}");
            tracing::info!(%addr, "serving");
        },
        shutdown_signal(),
    )
    .await
    .with_context(|| format!("serving on {}", config.listen))?;
    tracing::info!("shutting down");
    store.close().await?;
    Ok(())
}

async fn open_migrated(args: &DbArgs, connections: u32) -> anyhow::Result<Store> {
    let config = match &args.database_url {
        Some(url) => DatabaseConfig::Url(url.clone()),
        None => DatabaseConfig::Embedded(cluster_options(&args.cluster)),
    };
    let store = Store::open(&config, connections).await.context("opening the database")?;
    store.migrate().await.context("migrating the database")?;
    store.load_geodata().await.context("loading the shipped Cần Thơ units")?;
    Ok(store)
}

fn cluster_options(args: &ClusterArgs) -> ClusterOptions {
    ClusterOptions {
        bin_dir: args.pg_bin_dir.clone(),
        os_user: args.cluster_user.clone(),
        ..ClusterOptions::new(&args.data_dir)
    }
}

/// SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = terminate => {},
    }
}
