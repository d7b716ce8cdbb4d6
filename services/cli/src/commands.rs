//! One function per subcommand.

use crate::args::{ClusterArgs, Command, DEFAULT_SEED, DbArgs, DbCommand, DemoProfile, ServeArgs, UserCommand};
use anyhow::Context;
use diaba_core::auth::Role;
use diaba_geodata::demo;
use diaba_store::{Cluster, ClusterOptions, DatabaseConfig, Store};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
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
        Command::Import(args) => import(args).await,
        Command::Seed(args) => {
            let store = open_migrated(&args.db, 4).await?;
            let result = seed(&store, args.profile, args.seed).await;
            store.close().await?;
            result
        }
        Command::User(UserCommand::Add { name, role, wards, team, db }) => {
            let role =
                Role::parse(&role).with_context(|| format!("unknown role {role:?}: collector, registrar or admin"))?;
            for ward in &wards {
                diaba_core::UnitCode::parse(ward)?;
            }
            let store = open_migrated(&db, 2).await?;
            let (user, token) = store.add_user(&name, role, &wards, team.as_deref()).await?;
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
        max_vertices: args.max_vertices,
        max_batch: args.max_batch,
        max_accuracy_m: args.max_accuracy_m,
        tile_cache_bytes: args.tile_cache_mb * 1024 * 1024,
        web_dir: web_dir(args.web_dir),
        auth_failures_per_minute: args.auth_failures_per_minute,
        cors_origins: args.cors_origins,
        search_concurrency: args.search_concurrency,
    };
    let state = diaba_api::AppState::start(store.clone(), &config).await.context("loading the index")?;
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

/// `diaba import`: read and validate, report every rejected feature, then write all or
/// nothing (unless --partial) in one transaction.
async fn import(args: crate::args::ImportArgs) -> anyhow::Result<()> {
    match args.layer {
        crate::args::ImportLayer::Parcels => return import_parcels(args).await,
        crate::args::ImportLayer::Addresses => return import_addresses(args).await,
        crate::args::ImportLayer::Units => return import_units(args).await,
        crate::args::ImportLayer::FloodZones => {}
    }
    let crs = args.src_crs.as_deref().map(diaba_core::parcel::SubmittedCrs::parse).transpose()?;
    let file = args.file.clone();
    let scenario = args.scenario.clone();
    let read = tokio::task::spawn_blocking(move || diaba_interop::read_flood_zones(&file, crs, &scenario)).await??;
    for rejected in &read.rejected {
        eprintln!("rejected feature {}: {}", rejected.feature, rejected.reason);
    }
    let report = serde_json::json!({
        "file": args.file.display().to_string(),
        "accepted": read.accepted.len(),
        "rejected": read.rejected.iter().map(|r| serde_json::json!({ "feature": r.feature, "reason": r.reason })).collect::<Vec<_>>(),
    });
    println!("{} accepted, {} rejected", read.accepted.len(), read.rejected.len());
    if !read.rejected.is_empty() && !args.partial {
        anyhow::bail!("nothing imported: fix the rejected features or pass --partial");
    }
    if args.dry_run {
        println!("dry run: nothing written");
        return Ok(());
    }
    let zones: Vec<diaba_store::NewFloodZone> = read
        .accepted
        .into_iter()
        .map(|z| diaba_store::NewFloodZone {
            name: z.name,
            risk_level: z.risk_level,
            scenario: z.scenario,
            return_period_years: z.return_period_years,
            lonlat: z.lonlat,
        })
        .collect();
    let store = open_migrated(&args.db, 2).await?;
    let result = store.import_flood_zones(&args.file.display().to_string(), &zones, &report).await;
    store.close().await?;
    println!("imported as batch {}", result?);
    Ok(())
}

/// `diaba export`: a layer through GDAL (or verified addresses as a plain CSV table).
async fn export(args: crate::args::ExportArgs) -> anyhow::Result<()> {
    use crate::args::{ExportFormat, ExportLayer};
    use diaba_store::ogc::{Collection, FeatureQuery};
    if let Some(ward) = &args.ward {
        diaba_core::UnitCode::parse(ward)?;
    }
    let vn2000 = match args.crs.as_str() {
        "EPSG:4326" | "CRS84" => false,
        "EPSG:5897" => true,
        other => anyhow::bail!("--crs {other}: use EPSG:4326 or EPSG:5897"),
    };
    let at = args
        .at
        .as_deref()
        .map(|text| match chrono::DateTime::parse_from_rfc3339(text) {
            Ok(t) => Ok(t.with_timezone(&chrono::Utc)),
            Err(_) => diaba_core::AsOf::parse(text).map(|d| diaba_store::parcels::end_of_day(d.date())),
        })
        .transpose()?;
    let store = open_migrated(&args.db, 2).await?;
    if args.layer == ExportLayer::Addresses && args.format == ExportFormat::Csv {
        let rows = store.verified_addresses(args.ward.as_deref()).await;
        store.close().await?;
        return write_address_csv(&rows?, args.out.as_deref());
    }
    let out = args.out.clone().context("give the file to write, e.g. parcels.gpkg")?;
    let (collection, ward_filter) = match args.layer {
        ExportLayer::Parcels => (Collection::Parcels, "ward"),
        ExportLayer::Addresses => (Collection::Addresses, "ward"),
        ExportLayer::Wards => (Collection::Wards, "code"),
        ExportLayer::FloodZones => (Collection::FloodZones, ""),
    };
    let mut query = FeatureQuery { vn2000, at, limit: 10_000, ..FeatureQuery::default() };
    if let Some(ward) = &args.ward
        && !ward_filter.is_empty()
    {
        query.filters.push((ward_filter.to_owned(), ward.clone()));
    }
    let mut features = Vec::new();
    loop {
        let page = store.ogc_features(collection, &query).await;
        let page = match page {
            Ok(page) => page,
            Err(error) => {
                store.close().await?;
                return Err(error.into());
            }
        };
        let done = page.features.len() < query.limit as usize;
        query.after_id = page.features.last().and_then(|f| f["id"].as_i64()).or(query.after_id);
        features.extend(page.features);
        if done {
            break;
        }
    }
    store.close().await?;
    for feature in &mut features {
        // The feature id is a column too, so the file keeps the register's ids.
        feature["properties"]["id"] = feature["id"].clone();
    }
    let format = match args.format {
        ExportFormat::Gpkg => diaba_interop::Format::GeoPackage,
        ExportFormat::Shp => diaba_interop::Format::Shapefile,
        ExportFormat::Geojson => diaba_interop::Format::GeoJson,
        ExportFormat::Fgb => diaba_interop::Format::FlatGeobuf,
        ExportFormat::Csv => diaba_interop::Format::Csv,
    };
    let epsg = if vn2000 { 5897 } else { 4326 };
    let layer = collection.id().replace('-', "_");
    let written =
        tokio::task::spawn_blocking(move || diaba_interop::write_features(&out, format, &layer, epsg, &features))
            .await??;
    eprintln!(
        "{written} features written to {}",
        args.out.as_deref().map(|p| p.display().to_string()).unwrap_or_default()
    );
    Ok(())
}

fn write_address_csv(
    rows: &[diaba_store::addresses::AddressRecord],
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
    let loaded = diaba_api::load_index(&store).await;
    store.close().await?;
    let tiles = diaba_tiles::TileService::new(Arc::new(loaded?.0), 0);
    let out = args.out.clone();
    let partial = out.with_extension("pmtiles.partial");
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} tiles, {eta} left").expect("valid template"),
    );
    bar.set_message(format!("baking ward {} z{}–{}", args.ward, args.minzoom, args.maxzoom));
    let progress = bar.clone();
    let summary = tokio::task::spawn_blocking(move || -> anyhow::Result<diaba_tiles::PackSummary> {
        let file = std::io::BufWriter::new(std::fs::File::create(&partial)?);
        let summary = diaba_tiles::bake(&tiles, &args.ward, args.minzoom, args.maxzoom, file, |done, total| {
            progress.set_length(total);
            progress.set_position(done);
        });
        match summary {
            Ok(summary) => {
                std::fs::rename(&partial, &out)?;
                Ok(summary)
            }
            Err(error) => {
                let _ = std::fs::remove_file(&partial);
                Err(error.into())
            }
        }
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

/// `--map` and `--set` pairs.
fn field_mapping(args: &crate::args::ImportArgs) -> anyhow::Result<diaba_interop::ReadOptions> {
    let pairs = |list: &[String], flag: &str| -> anyhow::Result<std::collections::HashMap<String, String>> {
        list.iter()
            .map(|pair| {
                let (attribute, value) =
                    pair.split_once('=').with_context(|| format!("{flag} takes ATTRIBUTE=VALUE, not {pair:?}"))?;
                Ok((attribute.trim().to_owned(), value.trim().to_owned()))
            })
            .collect()
    };
    Ok(diaba_interop::ReadOptions {
        fields: pairs(&args.mapping, "--map")?,
        values: pairs(&args.values, "--set")?,
        dgn_level: args.dgn_level,
    })
}

/// Prints each refused feature; the error that ends a refused import.
fn refuse(rejected: &[(i64, String)]) -> anyhow::Error {
    for (feature, reason) in rejected {
        eprintln!("rejected feature {feature}: {reason}");
    }
    anyhow::anyhow!("nothing imported: {} feature(s) rejected; fix them or pass --partial", rejected.len())
}

/// `diaba import --layer units`: outlines validated, then written as new versions (or new
/// units) in one transaction; live parcels a revised ward no longer covers are reported.
async fn import_units(args: crate::args::ImportArgs) -> anyhow::Result<()> {
    let crs = args.src_crs.as_deref().map(diaba_core::parcel::SubmittedCrs::parse).transpose()?;
    let options = field_mapping(&args)?;
    let (file, encoding) = (args.file.clone(), args.encoding.clone());
    let read =
        tokio::task::spawn_blocking(move || diaba_interop::read_units(&file, crs, &options, encoding.as_deref()))
            .await??;
    for note in &read.notes {
        println!("{note}");
    }
    let rejected: Vec<(i64, String)> = read.rejected.iter().map(|r| (r.feature as i64, r.reason.clone())).collect();
    println!("{} accepted, {} rejected", read.accepted.len(), rejected.len());
    if !rejected.is_empty() && !args.partial {
        return Err(refuse(&rejected));
    }
    if args.dry_run {
        println!("dry run: nothing written");
        return Ok(());
    }
    let units: Vec<diaba_store::import::ImportUnit> = read
        .accepted
        .into_iter()
        .map(|u| diaba_store::import::ImportUnit {
            feature: u.feature,
            code: u.code,
            level: u.level,
            name: u.name,
            kind: u.kind,
            postcode: u.postcode,
            valid_from: u.valid_from,
            lonlat: u.lonlat,
        })
        .collect();
    let report =
        serde_json::json!({ "file": args.file.display().to_string(), "read": units.len(), "notes": read.notes });
    let store = open_migrated(&args.db, 2).await?;
    let outcome = store.import_units(&args.file.display().to_string(), &units, &report).await;
    store.close().await?;
    match outcome? {
        diaba_store::import::ImportedUnits::Refused(problems) => {
            for (feature, reason) in &problems {
                eprintln!("rejected feature {feature}: {reason}");
            }
            anyhow::bail!("nothing imported: {} unit(s) conflict with the register's versions", problems.len())
        }
        diaba_store::import::ImportedUnits::Done { batch, parcels_outside } => {
            for (ward, count) in parcels_outside {
                println!("note: {count} live parcel(s) of ward {ward} now lie outside its new outline; review them");
            }
            println!("{} unit outline(s) imported as batch {batch}", units.len());
            Ok(())
        }
    }
}

/// `diaba import --layer addresses`: each point placed in its ward and coded, then all
/// written as one batch (or none, unless --partial).
async fn import_addresses(args: crate::args::ImportArgs) -> anyhow::Result<()> {
    let crs = args.src_crs.as_deref().map(diaba_core::parcel::SubmittedCrs::parse).transpose()?;
    let mapping = field_mapping(&args)?;
    let store = open_migrated(&args.db, 2).await?;
    let result = import_addresses_into(&store, &args, crs, mapping).await;
    store.close().await?;
    result
}

async fn import_addresses_into(
    store: &Store,
    args: &crate::args::ImportArgs,
    crs: Option<diaba_core::parcel::SubmittedCrs>,
    mapping: diaba_interop::ReadOptions,
) -> anyhow::Result<()> {
    let mut postcodes = diaba_core::PostcodeTable::default();
    for unit in store.unit_features().await? {
        postcodes.extend(unit.postcode_area);
    }
    let names = store.ward_search_names().await?;
    let (file, encoding) = (args.file.clone(), args.encoding.clone());
    let bar = progress_bar(0, "reading and placing addresses");
    let progress = bar.clone();
    let read = tokio::task::spawn_blocking(move || {
        diaba_interop::read_addresses(&file, crs, &mapping, encoding.as_deref(), &postcodes, |done, total| {
            progress.set_length(total);
            progress.set_position(done);
        })
    })
    .await??;
    bar.finish_and_clear();
    for note in &read.notes {
        println!("{note}");
    }
    let rejected: Vec<(i64, String)> = read.rejected.iter().map(|r| (r.feature as i64, r.reason.clone())).collect();
    println!("{} accepted, {} rejected", read.accepted.len(), rejected.len());
    if !rejected.is_empty() && !args.partial {
        return Err(refuse(&rejected));
    }
    for (feature, reason) in &rejected {
        eprintln!("rejected feature {feature}: {reason}");
    }
    if args.dry_run {
        println!("dry run: nothing written");
        return Ok(());
    }
    let addresses: Vec<diaba_store::import::ImportAddress> = read
        .accepted
        .into_iter()
        .map(|a| {
            let ward_names = names.get(&a.ward_code).map(|n| n.join(" ")).unwrap_or_default();
            let search_text = diaba_core::fold(&format!(
                "{} {} {} {ward_names}",
                a.house_number,
                a.street.as_deref().unwrap_or(""),
                a.hamlet.as_deref().unwrap_or("")
            ));
            diaba_store::import::ImportAddress {
                feature: a.feature,
                lon: a.location.lon(),
                lat: a.location.lat(),
                vpostcode: a.vpostcode,
                ward_code: a.ward_code,
                house_number: a.house_number,
                street: a.street,
                hamlet: a.hamlet,
                head_name: a.head_name,
                search_text,
            }
        })
        .collect();
    let report = serde_json::json!({
        "file": args.file.display().to_string(),
        "read": addresses.len() + rejected.len(),
        "notes": read.notes,
        "rejected": rejected.iter().map(|(f, r)| serde_json::json!({ "feature": f, "reason": r })).collect::<Vec<_>>(),
    });
    let batch = store.import_addresses(&args.file.display().to_string(), &addresses, &report).await?;
    println!("{} addresses imported as batch {batch}", addresses.len());
    Ok(())
}

/// `diaba import --layer parcels`: read and validate with GDAL, then stage and check
/// against the register in one transaction; report every refused feature.
async fn import_parcels(args: crate::args::ImportArgs) -> anyhow::Result<()> {
    let crs = args.src_crs.as_deref().map(diaba_core::parcel::SubmittedCrs::parse).transpose()?;
    let mapping = field_mapping(&args)?;
    let (file, encoding) = (args.file.clone(), args.encoding.clone());
    let started = std::time::Instant::now();
    let bar = progress_bar(0, "reading and validating parcels");
    let progress = bar.clone();
    let read = tokio::task::spawn_blocking(move || {
        diaba_interop::read_parcels(&file, crs, &mapping, encoding.as_deref(), |done, total| {
            progress.set_length(total);
            progress.set_position(done);
        })
    })
    .await??;
    bar.finish_and_clear();
    tracing::info!(
        features = read.accepted.len() + read.rejected.len(),
        seconds = started.elapsed().as_secs_f32(),
        "import: read and validated"
    );
    for note in &read.notes {
        println!("{note}");
    }
    let mut rejected: Vec<(i64, String)> = read.rejected.iter().map(|r| (r.feature as i64, r.reason.clone())).collect();
    let outlines: Vec<_> = read.accepted.iter().map(|p| (p.feature, p.geometry.vn2000.geometry())).collect();
    let overlapping = diaba_interop::overlaps_within(&outlines);
    tracing::info!(
        overlaps = overlapping.len(),
        seconds = started.elapsed().as_secs_f32(),
        "import: overlaps within the file"
    );
    let overlaps: std::collections::HashSet<u64> = overlapping.iter().map(|r| r.feature).collect();
    rejected.extend(overlapping.into_iter().map(|r| (r.feature as i64, r.reason)));
    let mut parcels = Vec::with_capacity(read.accepted.len());
    for p in read.accepted.into_iter().filter(|p| !overlaps.contains(&p.feature)) {
        let national_id = match p.national_id.as_deref().map(diaba_core::NationalParcelId::parse) {
            Some(Ok(id)) => id,
            _ => match diaba_core::NationalParcelId::for_parcel(&p.geometry.lonlat) {
                Ok(id) => id,
                Err(e) => {
                    rejected.push((p.feature as i64, format!("no national id can be made: {e}")));
                    continue;
                }
            },
        };
        parcels.push(diaba_store::import::ImportParcel {
            feature: p.feature,
            national_id: national_id.as_str().to_owned(),
            ward_code: p.ward_code,
            sheet: p.sheet,
            number: p.number,
            land_use: p.land_use,
            legal_area_m2: p.legal_area_m2,
            address_text: p.address_text,
            vn2000: p.geometry.vn2000.geometry().clone(),
            lonlat: p.geometry.lonlat,
        });
    }
    let report = |refused: &[(i64, String)]| {
        serde_json::json!({
            "file": args.file.display().to_string(),
            "read": parcels.len() + rejected.len(),
            "fixed": read.fixed.iter().map(|f| serde_json::json!({ "feature": f.feature, "fix": f.reason })).collect::<Vec<_>>(),
            "rejected": refused.iter().map(|(f, r)| serde_json::json!({ "feature": f, "reason": r })).collect::<Vec<_>>(),
        })
    };
    for fix in &read.fixed {
        eprintln!("fixed feature {}: {}", fix.feature, fix.reason);
    }
    if !rejected.is_empty() && !args.partial {
        return Err(refuse(&rejected));
    }
    let store = open_migrated(&args.db, 2).await?;
    let source = args.file.display().to_string();
    let outcome = store.import_parcels(&source, &parcels, &report(&rejected), args.partial, args.dry_run).await;
    store.close().await?;
    match outcome? {
        diaba_store::import::Imported::Refused(problems) => {
            for (feature, reason) in problems.iter().chain(&rejected) {
                eprintln!("rejected feature {feature}: {reason}");
            }
            anyhow::bail!(
                "nothing imported: {} problem(s) against the register; fix them or pass --partial",
                problems.len()
            )
        }
        diaba_store::import::Imported::Done { batch, written, refused } => {
            for (feature, reason) in refused.iter().chain(&rejected) {
                eprintln!("rejected feature {feature}: {reason}");
            }
            if args.dry_run {
                println!(
                    "dry run: {} parcels would be imported, {} rejected",
                    parcels.len() - refused.len(),
                    refused.len() + rejected.len()
                );
            } else {
                println!("{written} parcels imported as batch {batch}, {} rejected", refused.len() + rejected.len());
            }
            Ok(())
        }
    }
}

/// Generates and loads the demo parcels unless a demo profile is already loaded.
async fn seed(store: &Store, profile: DemoProfile, seed: u64) -> anyhow::Result<()> {
    let (profile, name) = match profile {
        DemoProfile::None => return Ok(()),
        DemoProfile::Small => (demo::Profile::Small, "small"),
        DemoProfile::Full => (demo::Profile::Full, "full"),
    };
    if let Some(loaded) = store.demo_profile().await? {
        eprintln!("demo profile {loaded:?} is already loaded; nothing to do");
        return Ok(());
    }
    let started = std::time::Instant::now();
    let wards = diaba_geodata::service_wards()?;
    let bar = progress_bar(wards.len() as u64, "generating lots in the 12 wards");
    let parcels = tokio::task::spawn_blocking({
        let bar = bar.clone();
        move || {
            let vn2000 = diaba_core::crs::Vn2000::can_tho()?;
            demo::parcels(profile, seed, &wards, &vn2000, |done| bar.set_position(done as u64))
        }
    })
    .await??;
    bar.finish_and_clear();
    let bar = progress_bar(parcels.len() as u64, "loading synthetic parcels into PostGIS");
    let count = store.seed_parcels(name, seed, &parcels, |done, _| bar.set_position(done as u64)).await?;
    bar.finish_and_clear();
    let zones = {
        let wards = diaba_geodata::service_wards()?;
        let vn2000 = diaba_core::crs::Vn2000::can_tho()?;
        demo::flood_zones(&wards, &vn2000)?
    };
    store.seed_flood_zones(&zones).await?;
    let households = tokio::task::spawn_blocking(move || demo::households(&parcels, profile, seed)).await??;
    let households = store.seed_households(name, seed, &households).await?;
    tracing::info!(
        count,
        households,
        profile = name,
        seconds = started.elapsed().as_secs_f32(),
        "synthetic demo parcels, flood zones and households loaded"
    );
    Ok(())
}

fn progress_bar(total: u64, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({elapsed})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(message);
    bar
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
