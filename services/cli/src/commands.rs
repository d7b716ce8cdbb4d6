//! One function per subcommand.

use crate::args::{Command, DEFAULT_SEED, DbCommand, DemoProfile, ServeArgs, UserCommand};
use crate::database::{cluster_options, open_migrated};
use crate::progress::progress_bar;
use anyhow::Context;
use diaba_core::Layer;
use diaba_core::auth::Role;
use diaba_store::{Cluster, Store};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve(*args).await,
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
        Command::Import(args) => crate::import::import(args).await,
        Command::Seed(args) => {
            let store = open_migrated(&args.db, 4).await?;
            let result = seed(&store, args.profile, args.seed).await;
            store.close().await?;
            result
        }
        Command::User(UserCommand::Add { name, role, mut wards, team, datastreams, db }) => {
            // `--wards ''` (as scripts write for an admin) names no ward.
            wards.retain(|w| !w.is_empty());
            let role = Role::parse(&role)
                .with_context(|| format!("unknown role {role:?}: collector, registrar, admin or sensor"))?;
            anyhow::ensure!(
                (role == Role::Sensor) != datastreams.is_empty(),
                "--datastreams names what a sensor writes to, and only a sensor's"
            );
            for ward in &wards {
                diaba_core::UnitCode::parse(ward)?;
            }
            let store = open_migrated(&db, 2).await?;
            let (user, token) = store.add_user(&name, role, &wards, team.as_deref()).await?;
            store.set_datastreams(user.user_id, &datastreams).await?;
            store.close().await?;
            eprintln!(
                "user {} ({}, wards: {}). The token is shown only now:",
                user.name,
                role.as_str(),
                wards.join(",")
            );
            println!("{}", token.reveal());
            Ok(())
        }
        Command::User(UserCommand::Revoke { name, db }) => {
            let store = open_migrated(&db, 2).await?;
            let revoked = store.revoke_tokens(&name).await?;
            store.close().await?;
            println!("revoked {revoked} token(s) of {name}");
            Ok(())
        }
        Command::Vpostcode(command) => crate::codecs::vpostcode(command),
        Command::Crs(command) => crate::codecs::crs(command),
        Command::ParcelId(args) => crate::codecs::parcel_id(args),
        Command::Bake(args) => bake(args).await,
        Command::Export(args) => export(args).await,
        Command::Extract(args) => extract(args).await,
        Command::Population(crate::args::PopulationCommand::Import { file, synthetic, db }) => {
            let csv = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let store = open_migrated(&db, 2).await?;
            let loaded = diaba_register::population::import_population(&store, &csv, synthetic).await;
            store.close().await?;
            let loaded = loaded?;
            eprintln!("{} residents loaded (batch {})", loaded.loaded, loaded.batch);
            Ok(())
        }
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
    if args.demo != DemoProfile::None && store.demo_profile().await?.is_none() {
        seed(&store, args.demo, DEFAULT_SEED).await?;
    }
    let config = diaba_api::Config {
        listen: args.listen,
        body_limit: args.body_limit,
        request_timeout: Duration::from_secs(args.request_timeout),
        header_timeout: Duration::from_secs(args.header_timeout),
        max_vertices: args.max_vertices,
        max_batch: args.max_batch,
        max_accuracy_m: args.max_accuracy_m,
        tile_cache_bytes: args.tile_cache_mb * 1024 * 1024,
        render_tiles_on: args.render_tiles_on.into(),
        web_dir: web_dir(args.web_dir),
        fonts_dir: args.fonts_dir,
        observation_retention_months: args.observation_retention_months,
        mqtt_url: args.mqtt_url,
        auth_failures_per_minute: args.auth_failures_per_minute,
        cors_origins: args.cors_origins,
        read_concurrency: args.read_concurrency,
        public_url: args.public_url,
        difficult_wards: args.difficult_wards,
        oidc: oidc_config(&args.online),
        service: diaba_register::service::Service {
            fees: args.online.fees.iter().cloned().collect(),
            public_url: None,
            webhook_url: args.online.notify_webhook.clone(),
            office_email: args.online.office_email.clone(),
            flood_alert_webhooks: args.online.flood_alert_webhook.clone(),
            flood_alert_emails: args.online.flood_alert_email.clone(),
            documents_dir: Some(
                args.online.documents_dir.clone().unwrap_or_else(|| args.db.cluster.data_dir.join("documents")),
            ),
            max_document_bytes: args.online.max_document_mb * 1024 * 1024,
        },
        max_document_bytes: args.online.max_document_mb * 1024 * 1024,
    };
    let channels = diaba_notify::Channels::new(args.online.smtp_url.as_deref(), &args.online.mail_from)?;
    let state = diaba_api::AppState::start(store.clone(), &config).await.context("loading the index")?;
    diaba_notify::spawn(store.clone(), state.register.clone(), channels);
    if args.demo_gauges {
        diaba_register::simulator::spawn(state.register.clone());
    }
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

/// The citizens' provider, when all of `--oidc-issuer`, `--oidc-client-id` and
/// `--oidc-client-secret` are given (clap insists on the other two with the first).
fn oidc_config(args: &crate::args::OnlineServiceArgs) -> Option<diaba_api::OidcConfig> {
    Some(diaba_api::OidcConfig {
        issuer: args.oidc_issuer.clone()?,
        client_id: args.oidc_client_id.clone()?,
        client_secret: args.oidc_client_secret.clone()?,
        personal_id_claim: args.oidc_personal_id_claim.clone(),
    })
}

/// The built web pages: the flag's directory, else services/web/dist in the current
/// directory or in the checkout the binary sits in (target/{debug,release}/diaba). `None`
/// (the pages answer with how to build them) when that directory holds no index.html.
fn web_dir(flag: Option<PathBuf>) -> Option<PathBuf> {
    const BUILT: &str = "services/web/dist";
    let candidates = match flag {
        Some(dir) => vec![dir],
        None => {
            let checkout =
                std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.parent()?.parent()?.join(BUILT)));
            [Some(PathBuf::from(BUILT)), checkout].into_iter().flatten().collect()
        }
    };
    let found = candidates.iter().find(|dir| dir.join("index.html").is_file()).cloned();
    match &found {
        Some(dir) => tracing::info!(dir = %dir.display(), "serving the web pages"),
        None => tracing::warn!(
            looked_in = ?candidates,
            "web pages not built (./scripts/web, or npm ci && npm run build in services/web); serving the API only"
        ),
    }
    found
}

/// `diaba export`: a layer through GDAL (or verified addresses as a plain CSV table).
async fn extract(args: crate::args::ExtractArgs) -> anyhow::Result<()> {
    use diaba_register::extract::Variant;
    let store = open_migrated(&args.db, 2).await?;
    let variant = if args.public { Variant::Public } else { Variant::Office };
    let pdf = diaba_register::extract::parcel_extract(&store, &args.parcel_id, variant, None).await;
    store.close().await?;
    let pdf = pdf?;
    std::fs::write(&args.out, &pdf.bytes).with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("{} written ({} bytes)", args.out.display(), pdf.bytes.len());
    Ok(())
}

async fn export(args: crate::args::ExportArgs) -> anyhow::Result<()> {
    use crate::args::ExportFormat;
    let store = open_migrated(&args.db, 2).await?;
    if args.layer.0 == Layer::Addresses && args.format == ExportFormat::Csv {
        let rows = store.verified_addresses(args.ward.as_deref()).await;
        store.close().await?;
        return write_address_csv(&rows?, args.out.as_deref());
    }
    let request = diaba_register::ExportRequest {
        layer: args.layer.0,
        ward: args.ward.as_deref(),
        at: args.at.as_deref(),
        crs: &args.crs,
    };
    let exported = diaba_register::export_layer(&store, request).await;
    store.close().await?;
    let exported = exported?;
    let out = args.out.clone().context("give the file to write, e.g. parcels.gpkg")?;
    let format = match args.format {
        ExportFormat::Gpkg => diaba_interop::Format::GeoPackage,
        ExportFormat::Shp => diaba_interop::Format::Shapefile,
        ExportFormat::Geojson => diaba_interop::Format::GeoJson,
        ExportFormat::Fgb => diaba_interop::Format::FlatGeobuf,
        ExportFormat::Csv => diaba_interop::Format::Csv,
    };
    let written = tokio::task::spawn_blocking(move || {
        diaba_interop::write_features(&out, format, &exported.name, exported.epsg, &exported.features)
    })
    .await??;
    eprintln!(
        "{written} features written to {}",
        args.out.as_deref().map(|p| p.display().to_string()).unwrap_or_default()
    );
    Ok(())
}

fn write_address_csv(
    rows: &[diaba_store::addresses::PublicAddress],
    out: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let sink: Box<dyn std::io::Write> = match out {
        Some(path) => Box::new(std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut csv = csv::Writer::from_writer(sink);
    csv.write_record([
        "id",
        "vpostcode",
        "house_number",
        "street",
        "hamlet",
        "ward_code",
        "ward_name",
        "lat",
        "lon",
        "parcel_id",
        "version",
        "source",
    ])?;
    for r in rows {
        csv.write_record([
            r.id.to_string(),
            r.vpostcode.clone(),
            r.house_number.clone().unwrap_or_default(),
            r.street.clone().unwrap_or_default(),
            r.hamlet.clone().unwrap_or_default(),
            r.ward_code.clone(),
            r.ward_name.clone().unwrap_or_default(),
            r.lat.to_string(),
            r.lon.to_string(),
            r.parcel_id.map(|p| p.to_string()).unwrap_or_default(),
            r.version.to_string(),
            r.source.clone(),
        ])?;
    }
    csv.flush()?;
    eprintln!("{} verified addresses exported", rows.len());
    Ok(())
}

/// `diaba bake`: the ward's tiles as they are in the database now, into a PMTiles file.
async fn bake(args: crate::args::BakeArgs) -> anyhow::Result<()> {
    let store = open_migrated(&args.db, 4).await?;
    let loaded = diaba_register::load_index(&store).await;
    store.close().await?;
    let index = loaded?.0;
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} tiles, {eta} left").expect("valid template"),
    );
    bar.set_message(format!("baking ward {} z{}–{}", args.ward, args.minzoom, args.maxzoom));
    let (progress, ward, out) = (bar.clone(), args.ward.clone(), args.out.clone());
    let summary = tokio::task::spawn_blocking(move || {
        diaba_tilecache::bake_file(&index, &ward, (args.minzoom, args.maxzoom), &out, |done, total| {
            progress.set_length(total);
            progress.set_position(done);
        })
    })
    .await??;
    bar.finish_and_clear();
    println!(
        "{}: {} tiles with features of {} over the ward, {} bytes",
        args.out.display(),
        summary.written,
        summary.tiles,
        summary.bytes
    );
    Ok(())
}

/// Generates and loads the demo dataset unless a demo profile is already loaded.
async fn seed(store: &Store, profile: DemoProfile, seed: u64) -> anyhow::Result<()> {
    let (profile, name) = match profile {
        DemoProfile::None => return Ok(()),
        DemoProfile::Small => (diaba_demo::Profile::Small, "small"),
        DemoProfile::Full => (diaba_demo::Profile::Full, "full"),
    };
    let started = std::time::Instant::now();
    let bars =
        [progress_bar(0, "generating lots in the 12 wards"), progress_bar(0, "loading synthetic parcels into PostGIS")];
    let shown = bars.clone();
    let progress = move |step, done, total| {
        let bar = &shown[usize::from(step == diaba_register::SeedStep::Loading)];
        bar.set_length(total);
        bar.set_position(done);
    };
    let seeded = diaba_register::seed_demo(store, profile, name, seed, progress).await;
    bars.iter().for_each(ProgressBar::finish_and_clear);
    match seeded? {
        None => eprintln!("a demo profile is already loaded; nothing to do"),
        Some(seeded) => tracing::info!(
            parcels = seeded.parcels,
            households = seeded.households,
            profile = name,
            seconds = started.elapsed().as_secs_f32(),
            "synthetic demo parcels, flood zones and households loaded"
        ),
    }
    Ok(())
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
