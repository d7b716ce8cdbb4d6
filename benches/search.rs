//! Address search benchmark (issue 20): the engine's start-up time and memory on the full
//! demo profile (loaded from its database, as `diaba serve` loads it) and at 1.5 M synthetic
//! households (the full profile's households repeated with other house numbers), and the
//! time one search takes in-process over the committed evaluation set at both sizes. Run by
//! `scripts/bench search`, which seeds the full profile and passes DIABA_BENCH_DATA_DIR.
// Benchmarks unwrap: a failure there is the report.
#![allow(clippy::unwrap_used)]

use diaba_geocoder::{Geocoder, Household, Search};
use diaba_register::search::AddressSearch;
use diaba_store::{ClusterOptions, DatabaseConfig, Store};
use std::sync::Arc;
use std::time::Instant;

const LARGE: usize = 1_500_000;

fn resident_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    pages * 4096.0 / 1048576.0
}

fn queries() -> Vec<String> {
    let text = std::fs::read_to_string("bench/search-eval.json").unwrap();
    let eval: serde_json::Value = serde_json::from_str(&text).unwrap();
    eval["queries"].as_array().unwrap().iter().map(|q| q["q"].as_str().unwrap().to_owned()).collect()
}

/// p50 and p99 of one search, in microseconds, over `queries` (each asked 3 times).
fn latency<T: Send + Sync + 'static>(engine: &Geocoder<T>, queries: &[String]) -> (f64, f64) {
    let mut micros: Vec<f64> = Vec::new();
    for _ in 0..3 {
        for q in queries {
            let started = Instant::now();
            let hits = engine.search(&Search { text: q, limit: 20, ..Default::default() }).unwrap();
            micros.push(started.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(hits);
        }
    }
    micros.sort_by(f64::total_cmp);
    (micros[micros.len() / 2], micros[micros.len() * 99 / 100])
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let Ok(data_dir) = std::env::var("DIABA_BENCH_DATA_DIR") else {
        eprintln!("run through scripts/bench search, which seeds the full profile and sets DIABA_BENCH_DATA_DIR");
        return;
    };
    let store = Store::open(&DatabaseConfig::Embedded(ClusterOptions::new(&data_dir)), 4).await.unwrap();
    let queries = queries();
    println!("## Engine start-up, memory and in-process search time");
    println!();
    println!(
        "| households | load (database read + index build), s | resident memory added, MiB | one search p50, µs | p99, µs |"
    );
    println!("|---|---|---|---|---|");
    let before = resident_mib();
    let started = Instant::now();
    let search = AddressSearch::empty().unwrap();
    search.load(&store).await.unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let memory = resident_mib() - before;
    // The full profile, as served: latency measured through the same engine.
    let full = search.len();
    let (p50, p99) = latency(search.engine(), &queries);
    println!("| {full} (full profile) | {seconds:.1} | {memory:.0} | {p50:.0} | {p99:.0} |");

    // 1.5 M: the same households again with other house numbers (synthetic, for scale).
    let store = Store::open(&DatabaseConfig::Embedded(ClusterOptions::new(&data_dir)), 4).await.unwrap();
    let names = store.ward_search_names().await.unwrap();
    let addresses = store.verified_addresses(None).await.unwrap();
    drop(search);
    let mut households = Vec::with_capacity(LARGE);
    let mut copy = 0;
    while households.len() < LARGE {
        for a in &addresses {
            if households.len() == LARGE {
                break;
            }
            let place = names.get(&a.ward_code).map(|n| n.join(" ")).unwrap_or_default();
            let house = if copy == 0 {
                a.house_number.clone().unwrap_or_default()
            } else {
                format!("{}/{copy}", a.house_number.clone().unwrap_or_default())
            };
            households.push(Household {
                id: households.len() as i64 + 1,
                texts: [house, a.street.clone().unwrap_or_default(), a.hamlet.clone().unwrap_or_default(), place],
                ward_code: a.ward_code.clone(),
                lon: a.lon,
                lat: a.lat,
                payload: Arc::new(a.id),
            });
        }
        copy += 1;
    }
    let before = resident_mib();
    let started = Instant::now();
    let engine: Geocoder<i64> = Geocoder::new().unwrap();
    engine.replace_all(households).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let memory = resident_mib() - before;
    let (p50, p99) = latency(&engine, &queries);
    println!("| {} (synthetic) | {seconds:.1} (index build only) | {memory:.0} | {p50:.0} | {p99:.0} |", engine.len());
}
