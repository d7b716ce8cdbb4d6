//! Uncached tile rendering straight from the in-memory index, with no HTTP and no database:
//! the full synthetic demo fabric (≈260 000 parcels and their households), 1 000 parcel
//! tiles per zoom z14–z18, each drawn once per round like a cache miss.
//!
//! `cargo bench -p diaba-tilecache --bench render` prints tiles/s and features per tile by
//! zoom. `-- --hashes FILE` also writes each tile's size and SHA-256, so a change to the
//! drawing code can be checked to leave every tile byte for byte as it was; `-- --zoom Z`
//! draws that zoom only and `-- --rounds N` draws each tile N times (3 by default), for a
//! profiler.

use diaba_core::PackedParcelId;
use diaba_core::crs::Vn2000;
use diaba_core::outline::Outline;
use diaba_core::spatial::{AddressFeature, Interner, LayerFeatures, ParcelFeature, road_or_water_name};
use diaba_demo::Profile;
use diaba_index::Index;
use diaba_tilecache::TileService;
use diaba_tiles::{Source, TileCoord};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

const SEED: u64 = 20250701;
const PER_ZOOM: usize = 1000;

fn main() {
    let hashes = std::env::args().skip_while(|a| a != "--hashes").nth(1);
    let only: Option<u8> = std::env::args().skip_while(|a| a != "--zoom").nth(1).map(|z| z.parse().expect("--zoom Z"));
    let rounds: usize =
        std::env::args().skip_while(|a| a != "--rounds").nth(1).map_or(3, |n| n.parse().expect("--rounds N"));
    let started = Instant::now();
    let wards = diaba_geodata::service_wards().expect("shipped wards");
    let vn2000 = Vn2000::can_tho().expect("PROJ");
    let demo = diaba_demo::parcels(Profile::Full, SEED, &wards, &vn2000, |_| {}).expect("demo parcels");
    let households = diaba_demo::households(&demo, Profile::Full, SEED).expect("demo households");
    let mut shared = Interner::default();
    let parcels: Vec<ParcelFeature> = demo
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut uses = p.land_uses.clone();
            uses.sort_by(|a, b| b.area_m2.total_cmp(&a.area_m2).then(a.code.cmp(b.code)));
            ParcelFeature {
                id: i as i64 + 1,
                national_id: PackedParcelId::new(&format!("w6u{i:09}")).expect("12 ASCII characters"),
                ward_code: shared.ward(p.ward_code.clone()),
                sheet: p.sheet,
                number: p.number,
                version: 1,
                land_uses: shared.land_uses(uses.iter().map(|u| u.code.to_string()).collect()),
                legal_area_m2: (p.area_m2 * 10.0).round() / 10.0,
                valid_from: 0,
                name: road_or_water_name(&p.address_text),
                outline: Outline::from(&p.lonlat),
            }
        })
        .collect();
    let addresses: Vec<AddressFeature> = households
        .iter()
        .enumerate()
        .filter(|(_, h)| h.status == "verified")
        .map(|(i, h)| AddressFeature {
            id: i as i64 + 1,
            vpostcode: h.vpostcode.clone(),
            house_number: Some(h.house_number.clone()),
            street: h.street.map(str::to_string),
            hamlet: h.hamlet.clone(),
            ward_code: h.ward_code.clone(),
            lon: h.lon,
            lat: h.lat,
        })
        .collect();
    // Tiles holding a parcel's centre, an even spread of PER_ZOOM per zoom.
    let mut tiles = Vec::new();
    for z in (14..=18).filter(|z| only.is_none_or(|o| o == *z)) {
        let all: BTreeSet<TileCoord> = parcels
            .iter()
            .filter_map(|p| p.outline.bounding_rect())
            .map(|r| TileCoord::containing(r.center().x, r.center().y, z))
            .collect();
        let step = (all.len() / PER_ZOOM).max(1);
        tiles.push((z, all.into_iter().step_by(step).take(PER_ZOOM).collect::<Vec<_>>()));
    }
    let count = parcels.len();
    let index = Index::with([LayerFeatures::Parcels(parcels), LayerFeatures::Addresses(addresses)]);
    let service = TileService::new(Arc::new(index), 0).expect("tile service");
    let source = Source::of(diaba_core::Layer::Parcels).expect("parcel tiles");
    eprintln!("{count} parcels indexed in {:.1} s", started.elapsed().as_secs_f64());
    // Sheet anchors are made once per parcel change, not per tile: made before timing.
    service.render(source, tiles[0].1[0]);

    println!("| zoom | tiles | tiles/s | mean ms | features/tile (parcels) | mean bytes |");
    println!("|---|---|---|---|---|---|");
    let mut out = String::new();
    for (z, list) in &tiles {
        let (mut features, mut bytes) = (0usize, 0usize);
        for &tile in list {
            let mvt = service.render(source, tile);
            features += parcel_features(&mvt);
            bytes += mvt.len();
            out += &format!("{tile} {} {}\n", mvt.len(), hex::encode(Sha256::digest(&mvt)));
        }
        let start = Instant::now();
        for _ in 0..rounds {
            for &tile in list {
                std::hint::black_box(service.render(source, tile));
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        let n = (list.len() * rounds) as f64;
        println!(
            "| {z} | {} | {:.0} | {:.3} | {:.0} | {:.0} |",
            list.len(),
            n / seconds,
            seconds * 1000.0 / n,
            features as f64 / list.len() as f64,
            bytes as f64 / list.len() as f64
        );
    }
    if let Some(path) = hashes {
        std::fs::write(&path, out).expect("write hashes");
        eprintln!("tile hashes in {path}");
    }
}

/// Features in the tile's `parcels` layer, read straight off the protobuf.
fn parcel_features(mvt: &[u8]) -> usize {
    let mut count = 0;
    for (field, layer) in fields(mvt) {
        if field != 3 {
            continue;
        }
        let layer = fields(layer);
        if layer.iter().any(|&(f, v)| f == 1 && v == b"parcels") {
            count += layer.iter().filter(|&&(f, _)| f == 2).count();
        }
    }
    count
}

/// The length-delimited fields of a protobuf message (others skipped), as (number, bytes).
fn fields(mut buf: &[u8]) -> Vec<(u64, &[u8])> {
    fn varint(buf: &mut &[u8]) -> u64 {
        let mut value = 0;
        for shift in (0..64).step_by(7) {
            let byte = buf[0];
            *buf = &buf[1..];
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                break;
            }
        }
        value
    }
    let mut out = Vec::new();
    while !buf.is_empty() {
        let key = varint(&mut buf);
        match key & 7 {
            0 => {
                varint(&mut buf);
            }
            1 => buf = &buf[8..],
            5 => buf = &buf[4..],
            2 => {
                let len = varint(&mut buf) as usize;
                out.push((key >> 3, &buf[..len]));
                buf = &buf[len..];
            }
            wire => panic!("wire type {wire}"),
        }
    }
    out
}
