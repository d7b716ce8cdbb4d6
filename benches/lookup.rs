//! Lookup benchmark (DESIGN §13): the in-memory index against PostGIS `ST_Covers` through
//! sqlx on the same seeded points in the same run, index build time and memory at several
//! sizes, and start-up on the loaded database. Run by `scripts/bench lookup`, which seeds
//! the full profile first and passes its data directory in DIABA_BENCH_DATA_DIR.
// Tests and benchmarks unwrap: a failure there is the report.
#![allow(clippy::unwrap_used)]

use diaba_core::PackedParcelId;
use diaba_core::outline::Outline;
use diaba_core::spatial::{LandUses, ParcelFeature};
use diaba_index::LayerTree;
use diaba_store::{ClusterOptions, DatabaseConfig, Store};
use geo::{MultiPolygon, polygon};
use std::time::Instant;

const POINTS: usize = 200_000;
/// All of them: the benchmark also checks the full profile against PostGIS, point by point.
const POSTGIS_POINTS: usize = 100_000;
/// Points of the as-of statement (~40 µs each in PostGIS).
const AS_OF_POSTGIS_POINTS: usize = 20_000;

struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn resident_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    pages * 4096.0 / 1048576.0
}

/// `n` synthetic 6 m × 25 m lots on a grid (synthetic, for scaling only).
fn synthetic_lots(n: usize) -> Vec<ParcelFeature> {
    let side = (n as f64).sqrt().ceil() as usize;
    let (w, h) = (6.0 / 111_000.0, 25.0 / 110_600.0);
    // Shared as the store shares them when loading.
    let (ward, residential): (std::sync::Arc<str>, LandUses) = ("00000".into(), ["ODT"].into_iter().collect());
    (0..n)
        .map(|i| {
            let (x, y) = (105.5 + (i % side) as f64 * w, 9.9 + (i / side) as f64 * h);
            ParcelFeature {
                id: i as i64 + 1,
                national_id: PackedParcelId::new(&format!("{i:012}")).expect("12 digits"),
                ward_code: ward.clone(),
                sheet: 1,
                number: i as i32 + 1,
                version: 1,
                land_uses: residential.clone(),
                legal_area_m2: 150.0,
                valid_from: 0,
                name: None,
                outline: Outline::from(&MultiPolygon(vec![
                    polygon![(x: x, y: y), (x: x + w, y: y), (x: x + w, y: y + h), (x: x, y: y + h)],
                ])),
            }
        })
        .collect()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // cargo bench --list
    }
    let Ok(data_dir) = std::env::var("DIABA_BENCH_DATA_DIR") else {
        eprintln!("run through scripts/bench lookup, which seeds the full profile and sets DIABA_BENCH_DATA_DIR");
        return;
    };
    // The real start-up first: after the synthetic runs the allocator keeps freed pages and
    // resident memory would no longer show what loading costs.
    let options = ClusterOptions::new(&data_dir);
    let store = Store::open(&DatabaseConfig::Embedded(options), 4).await.expect("open the seeded cluster");
    let started = Instant::now();
    let before = resident_mib();
    // As `diaba serve` loads it: every layer and the closed parcel versions.
    let (index, _) = diaba_register::load_index(&store).await.expect("load the index");
    let startup = started.elapsed().as_secs_f64();
    let memory = resident_mib() - before;
    let count = index.parcels.len();
    println!("## Start-up on the full demo profile\n");
    println!(
        "| live parcels | load from PostGIS + build (s) | resident memory added (MiB) |\n|---|---|---|\n| {count} | {startup:.2} | {memory:.0} |"
    );

    println!("\n## Index build time and memory by size (synthetic grid lots)\n");
    println!("| parcels | bulk load (s) | resident memory added (MiB) | lookups/s (1 thread) |");
    println!("|---|---|---|---|");
    for n in [50_000usize, 250_000, 1_000_000, 5_000_000] {
        let before = resident_mib();
        let lots = synthetic_lots(n);
        let started = Instant::now();
        let layer = LayerTree::new(lots);
        let build = started.elapsed().as_secs_f64();
        let memory = resident_mib() - before;
        let mut rng = Seeded(n as u64);
        let side = (n as f64).sqrt();
        let points: Vec<[f64; 2]> = (0..POINTS)
            .map(|_| [105.5 + rng.next() * side * 6.0 / 111_000.0, 9.9 + rng.next() * side * 25.0 / 110_600.0])
            .collect();
        let started = Instant::now();
        let hits = points.iter().filter(|p| !layer.covering(**p).is_empty()).count();
        let rate = POINTS as f64 / started.elapsed().as_secs_f64();
        assert!(hits > POINTS / 2, "grid points must mostly hit lots");
        println!("| {n} | {build:.2} | {memory:.0} | {rate:.0} |");
        drop(layer);
    }

    // Same points for both: random points over the parcel fabric's extent.
    let extent = index.parcels.all().iter().fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |e, p| {
        let r = p.outline.bounding_rect().unwrap();
        [e[0].min(r.min().x), e[1].min(r.min().y), e[2].max(r.max().x), e[3].max(r.max().y)]
    });
    let mut rng = Seeded(42);
    let points: Vec<[f64; 2]> = (0..POINTS)
        .map(|_| [extent[0] + rng.next() * (extent[2] - extent[0]), extent[1] + rng.next() * (extent[3] - extent[1])])
        .collect();
    let started = Instant::now();
    let mut index_answers = Vec::with_capacity(POINTS);
    for p in &points {
        index_answers.push(index.parcel_at(*p).map(|f| f.id));
    }
    let index_rate = POINTS as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut disagreements = 0;
    for (p, want) in points.iter().zip(&index_answers).take(POSTGIS_POINTS) {
        let got = store.parcel_ids_covering(p[0], p[1], None).await.expect("PostGIS lookup").into_iter().min();
        if got != *want {
            disagreements += 1;
        }
    }
    let postgis_rate = POSTGIS_POINTS as f64 / started.elapsed().as_secs_f64();
    let hits = index_answers.iter().filter(|a| a.is_some()).count();
    println!("\n## Point lookup: index vs PostGIS ST_Covers through sqlx (same points, same run)\n");
    println!("| engine | points | lookups/s | parcels hit | disagreements |");
    println!("|---|---|---|---|---|");
    println!("| diaba index (1 thread) | {POINTS} | {index_rate:.0} | {hits} | |");
    println!(
        "| PostGIS ST_Covers via sqlx (1 connection, GiST) | {POSTGIS_POINTS} | {postgis_rate:.0} | | {disagreements} |"
    );
    println!("\n**Ratio: {:.0}×** (target ≥ 50×)", index_rate / postgis_rate);

    // The nearest household within 30 m, as every lookup answers it: at points up to 20 m
    // from a household (where people look up), so dense quarters weigh as they do in use.
    let homes = index.addresses.all();
    let metres = 1.0 / diaba_core::METRES_PER_DEGREE;
    let near: Vec<[f64; 2]> = (0..POINTS)
        .map(|_| {
            let home = &homes[(rng.next() * homes.len() as f64) as usize % homes.len()];
            [home.lon + (rng.next() - 0.5) * 40.0 * metres, home.lat + (rng.next() - 0.5) * 40.0 * metres]
        })
        .collect();
    let started = Instant::now();
    let nearest: Vec<Option<i64>> = near.iter().map(|p| index.nearest_address(*p, 30.0).map(|(a, _)| a.id)).collect();
    let index_rate = POINTS as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut disagreements = 0;
    for (p, want) in near.iter().zip(&nearest).take(POSTGIS_POINTS / 10) {
        if store.nearest_address_id(p[0], p[1], 30.0).await.expect("PostGIS nearest") != *want {
            disagreements += 1;
        }
    }
    let postgis_rate = (POSTGIS_POINTS / 10) as f64 / started.elapsed().as_secs_f64();
    let found = nearest.iter().filter(|a| a.is_some()).count();
    println!("\n## Nearest household within 30 m: index vs PostGIS (GiST box, spheroid distance) through sqlx\n");
    println!("| engine | points | lookups/s | households found | disagreements |");
    println!("|---|---|---|---|---|");
    println!("| diaba index (1 thread) | {POINTS} | {index_rate:.0} | {found} | |");
    println!("| PostGIS via sqlx (1 connection) | {} | {postgis_rate:.0} | | {disagreements} |", POSTGIS_POINTS / 10);
    println!(
        "\n**Ratio: {:.0}×** (the index measures on the plane tangent to the WGS 84 ellipsoid at the point, PostGIS on the spheroid: within a millimetre of each other over 30 m, so a disagreement is a tie or a household at the edge within that)",
        index_rate / postgis_rate
    );

    // A past day's parcel, as `/v1/lookup?at=` answers it: the index reads its live parcels
    // and closed versions; PostGIS, the one as-of statement lookups sent before f03dd74.
    // At the end of today, so the live parcels are in force and hit (the seeded profile
    // has no past of its own).
    let at = diaba_core::end_of_day(diaba_core::AsOf::today().date());
    let started = Instant::now();
    let reader = index.reader();
    let in_memory: Vec<Option<i64>> =
        points.iter().map(|p| reader.parcel_in_force_at(*p, at.timestamp()).map(|f| f.id)).collect();
    let index_rate = POINTS as f64 / started.elapsed().as_secs_f64();
    let lonlat: Vec<(f64, f64)> = points.iter().take(AS_OF_POSTGIS_POINTS).map(|p| (p[0], p[1])).collect();
    let started = Instant::now();
    let stored = store.parcels_covering_at(&lonlat, at).await.expect("PostGIS as-of parcels");
    let postgis_rate = AS_OF_POSTGIS_POINTS as f64 / started.elapsed().as_secs_f64();
    let disagreements = in_memory.iter().zip(&stored).filter(|(i, s)| **i != s.as_ref().map(|f| f.id)).count();
    let hits = in_memory.iter().flatten().count();
    println!("\n## A past day's parcel: index (live and closed versions) vs PostGIS's as-of statement\n");
    println!("| engine | points | lookups/s | parcels hit | disagreements |");
    println!("|---|---|---|---|---|");
    println!("| diaba index (1 thread) | {POINTS} | {index_rate:.0} | {hits} | |");
    println!(
        "| PostGIS, one statement for all points (`Store::parcels_covering_at`) | {AS_OF_POSTGIS_POINTS} | {postgis_rate:.0} | | {disagreements} |"
    );
    println!("\n**Ratio: {:.0}×**", index_rate / postgis_rate);
    store.close().await.expect("close");
}
