//! Codec throughput on seeded points over the service area.
//!
//! Each group puts diaba's codec and a reference side by side on the same input, so the
//! ratio comes from one run: for Open Location Code the reference is Google's own Rust
//! crate (`open-location-code` 0.1.0).
// Tests and benchmarks unwrap: a failure there is the report.
#![allow(clippy::unwrap_used)]

use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_group, criterion_main};
use diaba_core::crs::Vn2000;
use diaba_core::{LonLat, NationalParcelId, Vpostcode, olc};
use geo::{MultiPolygon, polygon};
use std::time::Duration;

const POINTS: usize = 10_000;

fn points() -> Vec<LonLat> {
    // SplitMix64, seeded: the same points in every run.
    let mut state = 42u64;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..POINTS).map(|_| LonLat::new(105.74 + 0.06 * next(), 10.00 + 0.06 * next()).unwrap()).collect()
}

fn olc_codec(c: &mut Criterion) {
    let points = points();
    let codes: Vec<String> = points.iter().map(|p| olc::encode(p.lat(), p.lon(), 11).unwrap()).collect();
    let mut group = c.benchmark_group("olc_encode_11");
    group.throughput(Throughput::Elements(POINTS as u64));
    group.bench_function(BenchmarkId::new("diaba", POINTS), |b| {
        b.iter(|| points.iter().map(|p| olc::encode(p.lat(), p.lon(), 11).unwrap().len()).sum::<usize>());
    });
    group.bench_function(BenchmarkId::new("reference_google_olc_crate", POINTS), |b| {
        b.iter(|| {
            points
                .iter()
                .map(|p| open_location_code::encode(geo_04::Point::new(p.lon(), p.lat()), 11).len())
                .sum::<usize>()
        });
    });
    group.finish();

    let mut group = c.benchmark_group("olc_decode_11");
    group.throughput(Throughput::Elements(POINTS as u64));
    group.bench_function(BenchmarkId::new("diaba", POINTS), |b| {
        b.iter(|| codes.iter().map(|code| olc::decode(code).unwrap().lat_lo).sum::<f64>());
    });
    group.bench_function(BenchmarkId::new("reference_google_olc_crate", POINTS), |b| {
        b.iter(|| codes.iter().map(|code| open_location_code::decode(code).unwrap().south).sum::<f64>());
    });
    group.finish();
}

fn vpostcode_codec(c: &mut Criterion) {
    let table = diaba_geodata::postcode_table().unwrap();
    let points: Vec<LonLat> = points().into_iter().filter(|p| table.area_containing(*p).is_some()).collect();
    let codes: Vec<Vpostcode> = points.iter().map(|p| table.encode(*p).unwrap()).collect();
    let mut group = c.benchmark_group("vpostcode");
    group.throughput(Throughput::Elements(points.len() as u64));
    // Encoding includes finding the ward by point-in-polygon over the 12 real ward outlines.
    group.bench_function("encode_with_ward_search", |b| {
        b.iter(|| points.iter().map(|p| table.encode(*p).unwrap().postcode().as_str().len()).sum::<usize>());
    });
    group.bench_function("decode_with_area_check", |b| {
        b.iter(|| codes.iter().map(|code| table.decode(code).unwrap().cell.lat_lo).sum::<f64>());
    });
    group.bench_function("parse", |b| {
        let texts: Vec<String> = codes.iter().map(std::string::ToString::to_string).collect();
        b.iter(|| texts.iter().map(|t| Vpostcode::parse(black_box(t)).unwrap().compact().len()).sum::<usize>());
    });
    group.finish();
}

fn geodesy(c: &mut Criterion) {
    let points = points();
    let vn2000 = Vn2000::can_tho().unwrap();
    let mut group = c.benchmark_group("vn2000");
    group.throughput(Throughput::Elements(POINTS as u64));
    group.bench_function("wgs84_to_vn2000", |b| {
        b.iter(|| points.iter().map(|p| vn2000.to_vn2000(*p).unwrap().easting()).sum::<f64>());
    });
    group.finish();

    let lots: Vec<MultiPolygon<f64>> = points
        .iter()
        .take(1_000)
        .map(|p| {
            let (x, y) = (p.lon(), p.lat());
            MultiPolygon(vec![polygon![
                (x: x, y: y), (x: x + 2e-4, y: y), (x: x + 2e-4, y: y + 8e-5), (x: x + 6e-5, y: y + 8e-5),
                (x: x + 6e-5, y: y + 4e-4), (x: x, y: y + 4e-4),
            ]])
        })
        .collect();
    let mut group = c.benchmark_group("parcel_id");
    group.throughput(Throughput::Elements(lots.len() as u64));
    group.bench_function("l_shaped_lot", |b| {
        b.iter(|| lots.iter().map(|lot| NationalParcelId::for_parcel(lot).unwrap().as_str().len()).sum::<usize>());
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = olc_codec, vpostcode_codec, geodesy
}
criterion_main!(benches);
