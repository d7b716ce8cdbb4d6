//! `diaba import`: read and validate a file with GDAL, report every feature accepted, fixed
//! or rejected (with its id in the file and the reason), then write all of it in one
//! transaction under one batch id, or nothing (unless --partial). The report goes to the
//! terminal, to the batch's row in the database, and with `--report FILE` to a JSON file
//! the office can work through, whatever the outcome.

use crate::args::ImportArgs;
use crate::database::open_migrated;
use crate::progress::progress_bar;
use anyhow::Context;
use clap::ValueEnum;
use diaba_core::Layer;
use diaba_core::parcel::SubmittedCrs;
use diaba_store::Store;
use diaba_store::import::{ImportAddress, ImportParcel, ImportUnit, Imported, ImportedUnits};
use serde::Serialize;
use std::collections::HashSet;

/// One feature that was fixed or refused.
#[derive(Debug, Clone, Serialize)]
struct Finding {
    feature: i64,
    reason: String,
}

/// What happened to a file.
#[derive(Debug, Default, Serialize)]
struct Report {
    file: String,
    layer: String,
    accepted: usize,
    notes: Vec<String>,
    fixed: Vec<Finding>,
    rejected: Vec<Finding>,
    batch: Option<String>,
    outcome: String,
}

impl Report {
    fn reject(&mut self, feature: impl TryInto<i64>, reason: impl Into<String>) {
        self.rejected.push(Finding { feature: feature.try_into().unwrap_or(-1), reason: reason.into() });
    }

    fn read_from(&mut self, notes: &[String], rejected: &[diaba_interop::Rejected]) {
        for note in notes {
            println!("{note}");
        }
        self.notes.extend(notes.iter().cloned());
        for r in rejected {
            self.reject(r.feature, r.reason.clone());
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a report serialises")
    }

    fn print_rejected(&self) {
        for r in &self.rejected {
            eprintln!("rejected feature {}: {}", r.feature, r.reason);
        }
    }

    /// After reading: refuse the file if any feature was rejected (unless --partial), else
    /// say what was read. `Ok(false)` when nothing is to be written (--dry-run).
    fn gate(
        &mut self,
        notes: &[String],
        rejected: &[diaba_interop::Rejected],
        accepted: usize,
        args: &ImportArgs,
    ) -> anyhow::Result<bool> {
        self.read_from(notes, rejected);
        self.accepted = accepted;
        println!("{accepted} accepted, {} rejected", self.rejected.len());
        if !self.rejected.is_empty() && !args.partial {
            return Err(self.refused());
        }
        self.print_rejected();
        if args.dry_run {
            println!("dry run: nothing written");
        }
        Ok(!args.dry_run)
    }

    /// The error that ends an import refused for its features.
    fn refused(&self) -> anyhow::Error {
        self.print_rejected();
        anyhow::anyhow!("nothing imported: {} feature(s) rejected; fix them or pass --partial", self.rejected.len())
    }
}

/// `diaba import`.
pub async fn import(args: ImportArgs) -> anyhow::Result<()> {
    let mut report = Report {
        file: args.file.display().to_string(),
        layer: args.layer.to_possible_value().map(|v| v.get_name().to_owned()).unwrap_or_default(),
        ..Report::default()
    };
    let result = match args.layer.0 {
        Layer::Parcels => parcels(&args, &mut report).await,
        Layer::Addresses => addresses(&args, &mut report).await,
        Layer::Units => units(&args, &mut report).await,
        Layer::FloodZones => flood_zones(&args, &mut report).await,
        // Which layers take a file is decided, exhaustively, by args::import_value; the
        // others never reach here.
        layer => Err(anyhow::anyhow!("{layer} are not imported on their own")),
    };
    report.outcome = match &result {
        Ok(()) if args.dry_run => "dry run: nothing written".into(),
        Ok(()) => "imported".into(),
        Err(e) => format!("{e:#}"),
    };
    if let Some(path) = &args.report {
        let text = serde_json::to_string_pretty(&report).expect("a report serialises");
        std::fs::write(path, text).with_context(|| format!("writing the report to {}", path.display()))?;
        println!("report: {}", path.display());
    }
    result
}

fn source_crs(args: &ImportArgs) -> anyhow::Result<Option<SubmittedCrs>> {
    Ok(args.src_crs.as_deref().map(SubmittedCrs::parse).transpose()?)
}

/// `--map`, `--set` and `--dgn-level`.
fn read_options(args: &ImportArgs) -> anyhow::Result<diaba_interop::ReadOptions> {
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

/// Parcels: read and validate on both cores, then staged and checked set-wise against the
/// register in one transaction while the overlaps within the file are worked out.
async fn parcels(args: &ImportArgs, report: &mut Report) -> anyhow::Result<()> {
    let (crs, options) = (source_crs(args)?, read_options(args)?);
    let (file, encoding) = (args.file.clone(), args.encoding.clone());
    let limits = diaba_interop::Limits { max_vertices: args.max_vertices, area_tolerance_percent: args.area_tolerance };
    let started = std::time::Instant::now();
    let bar = progress_bar(0, "reading and validating parcels");
    let progress = bar.clone();
    let read = tokio::task::spawn_blocking(move || {
        diaba_interop::read_parcels(&file, crs, &options, encoding.as_deref(), limits, |done, total| {
            progress.set_length(total);
            progress.set_position(done);
        })
    })
    .await??;
    bar.finish_and_clear();
    // Each phase's own seconds, as the store logs its phases (scripts/bench import reads them).
    let seconds = started.elapsed().as_secs_f32();
    tracing::info!(features = read.accepted.len() + read.rejected.len(), seconds, "import: read and validated");
    report.read_from(&read.notes, &read.rejected);
    for fix in &read.fixed {
        eprintln!("fixed feature {}: {}", fix.feature, fix.reason);
        report.fixed.push(Finding { feature: fix.feature as i64, reason: fix.reason.clone() });
    }
    // Overlaps within the file take both cores for seconds while the database would wait:
    // they are worked out alongside staging and checking (and, for a file the register
    // accepts, writing); the store counts them before it commits or leaves anything out.
    let outlines: Vec<_> = read.accepted.iter().map(|p| (p.feature, p.geometry.vn2000.geometry().clone())).collect();
    let overlaps = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let shapes: Vec<_> = outlines.iter().map(|(feature, shape)| (*feature, shape)).collect();
        let overlapping = diaba_interop::overlaps_within(&shapes);
        let seconds = started.elapsed().as_secs_f32();
        tracing::info!(
            overlaps = overlapping.len(),
            seconds,
            "import: overlaps within the file (alongside the database)"
        );
        overlapping.into_iter().map(|r| (r.feature as i64, r.reason)).collect::<Vec<_>>()
    });
    let within_file = async {
        // A panic there is one here, as when it ran in line.
        overlaps.await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    };
    let mut parcels = Vec::with_capacity(read.accepted.len());
    for p in read.accepted {
        let national_id = match p.national_id.as_deref().map(diaba_core::NationalParcelId::parse) {
            Some(Ok(id)) => id,
            // The office's id is kept or the feature refused, never silently replaced.
            Some(Err(e)) => {
                report.reject(p.feature, format!("national id {:?}: {e}", p.national_id.unwrap_or_default()));
                continue;
            }
            None => match diaba_core::NationalParcelId::for_parcel(&p.geometry.lonlat) {
                Ok(id) => id,
                Err(e) => {
                    report.reject(p.feature, format!("no national id can be made: {e}"));
                    continue;
                }
            },
        };
        parcels.push(ImportParcel {
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
            owners: p.owners,
        });
    }
    // The features that passed are checked against the register whatever the file's other
    // problems, so one run reports every problem; a file refused already writes nothing.
    let refused_already = !report.rejected.is_empty() && !args.partial;
    let started = std::time::Instant::now();
    let store = open_migrated(&args.db, 2).await?;
    tracing::info!(seconds = started.elapsed().as_secs_f32(), "import: connected");
    let dry_run = args.dry_run || refused_already;
    let outcome =
        store.import_parcels(&report.file, &parcels, within_file, &report.json(), args.partial, dry_run).await;
    let started = std::time::Instant::now();
    store.close().await?;
    tracing::info!(seconds = started.elapsed().as_secs_f32(), "import: closed");
    let (refused, done) = match outcome? {
        Imported::Refused(problems) => (problems, None),
        Imported::Done { batch, written, refused } => (refused, Some((batch, written))),
    };
    let refused_features: HashSet<i64> = refused.iter().map(|(feature, _)| *feature).collect();
    report.accepted = parcels.len().saturating_sub(refused_features.len());
    for (feature, reason) in refused {
        report.reject(feature, reason);
    }
    let Some((batch, written)) = done else {
        report.accepted = 0;
        report.print_rejected();
        anyhow::bail!("nothing imported: {} problem(s); fix them or pass --partial", report.rejected.len());
    };
    if refused_already {
        report.accepted = 0;
        return Err(report.refused());
    }
    report.print_rejected();
    if args.dry_run {
        println!("dry run: {} parcels would be imported, {} rejected", report.accepted, report.rejected.len());
    } else {
        println!("{written} parcels imported as batch {batch}, {} rejected", report.rejected.len());
        report.batch = Some(batch);
    }
    Ok(())
}

/// Addresses: each point placed in its ward and coded, then all written as one batch.
async fn addresses(args: &ImportArgs, report: &mut Report) -> anyhow::Result<()> {
    let (crs, options) = (source_crs(args)?, read_options(args)?);
    let store = open_migrated(&args.db, 2).await?;
    let result = addresses_into(&store, args, crs, options, report).await;
    store.close().await?;
    result
}

async fn addresses_into(
    store: &Store,
    args: &ImportArgs,
    crs: Option<SubmittedCrs>,
    options: diaba_interop::ReadOptions,
    report: &mut Report,
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
        diaba_interop::read_addresses(&file, crs, &options, encoding.as_deref(), &postcodes, |done, total| {
            progress.set_length(total);
            progress.set_position(done);
        })
    })
    .await??;
    bar.finish_and_clear();
    if !report.gate(&read.notes, &read.rejected, read.accepted.len(), args)? {
        return Ok(());
    }
    let addresses: Vec<ImportAddress> = read
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
            ImportAddress {
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
    match store.import_addresses(&report.file, &addresses, &report.json(), args.partial).await? {
        Imported::Refused(problems) => {
            report.accepted = 0;
            for (feature, reason) in problems {
                report.reject(feature, reason);
            }
            Err(report.refused())
        }
        Imported::Done { batch, written, refused } => {
            for (feature, reason) in refused {
                report.reject(feature, reason);
            }
            report.print_rejected();
            report.accepted = written as usize;
            println!("{written} addresses imported as batch {batch}");
            report.batch = Some(batch);
            Ok(())
        }
    }
}

/// Unit outlines: new versions (or new units) in one transaction; live parcels a revised
/// ward no longer covers are reported for review.
async fn units(args: &ImportArgs, report: &mut Report) -> anyhow::Result<()> {
    let (crs, options) = (source_crs(args)?, read_options(args)?);
    let (file, encoding) = (args.file.clone(), args.encoding.clone());
    let read =
        tokio::task::spawn_blocking(move || diaba_interop::read_units(&file, crs, &options, encoding.as_deref()))
            .await??;
    if !report.gate(&read.notes, &read.rejected, read.accepted.len(), args)? {
        return Ok(());
    }
    let units: Vec<ImportUnit> = read
        .accepted
        .into_iter()
        .map(|u| ImportUnit {
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
    let store = open_migrated(&args.db, 2).await?;
    let outcome = store.import_units(&report.file, &units, &report.json()).await;
    store.close().await?;
    match outcome? {
        ImportedUnits::Refused(problems) => {
            report.accepted = 0;
            for (feature, reason) in problems {
                report.reject(feature, reason);
            }
            report.print_rejected();
            anyhow::bail!("nothing imported: {} unit(s) conflict with the register's versions", report.rejected.len())
        }
        ImportedUnits::Done { batch, parcels_outside } => {
            for (ward, count) in parcels_outside {
                let note =
                    format!("{count} live parcel(s) of ward {ward} now lie outside its new outline; review them");
                println!("note: {note}");
                report.notes.push(note);
            }
            println!("{} unit outline(s) imported as batch {batch}", units.len());
            report.batch = Some(batch);
            Ok(())
        }
    }
}

/// Flood zones: 1–5 risk levels, written as one batch.
async fn flood_zones(args: &ImportArgs, report: &mut Report) -> anyhow::Result<()> {
    let crs = source_crs(args)?;
    let (file, scenario) = (args.file.clone(), args.scenario.clone());
    let read = tokio::task::spawn_blocking(move || diaba_interop::read_flood_zones(&file, crs, &scenario)).await??;
    if !report.gate(&[], &read.rejected, read.accepted.len(), args)? {
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
    let result = store.import_flood_zones(&report.file, &zones, &report.json()).await;
    store.close().await?;
    let batch = result?;
    println!("imported as batch {batch}");
    report.batch = Some(batch);
    Ok(())
}
