//! Vpostcodes over the real 12 wards of the service area (shipped geodata).
// Tests and benchmarks unwrap: a failure there is the report.
#![allow(clippy::unwrap_used)]

use diaba_core::{LonLat, PostcodeTable, Vpostcode, VpostcodeError};
use geo::{BoundingRect, Contains, Point};

/// SplitMix64: a small seeded generator, so every run tests the same points.
struct Seeded(u64);

impl Seeded {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn table() -> PostcodeTable {
    diaba_geodata::postcode_table().expect("shipped postcode table")
}

/// `count` points uniformly spread over the current postcode areas.
fn points_in_wards(table: &PostcodeTable, count: usize, seed: u64) -> Vec<LonLat> {
    let areas: Vec<_> = diaba_geodata::scope_2025()
        .unwrap()
        .iter()
        .map(|u| {
            diaba_geodata::multipolygon(
                "wards",
                &diaba_geodata::wards_2025().unwrap().into_iter().find(|w| w.code == u.code).unwrap().geometry,
            )
            .unwrap()
        })
        .collect();
    let bounds = areas.iter().map(|a| a.bounding_rect().unwrap()).reduce(|a, b| {
        geo::Rect::new(
            geo::coord! { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
            geo::coord! { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
        )
    });
    let bounds = bounds.unwrap();
    let mut rng = Seeded(seed);
    let mut points = Vec::with_capacity(count);
    while points.len() < count {
        let lon = bounds.min().x + rng.next_f64() * bounds.width();
        let lat = bounds.min().y + rng.next_f64() * bounds.height();
        if table.area_containing(LonLat::new(lon, lat).unwrap()).is_some() {
            points.push(LonLat::new(lon, lat).unwrap());
        }
    }
    assert!(areas.iter().all(|a| points.iter().any(|p| a.contains(&Point::new(p.lon(), p.lat())))));
    points
}

#[test]
fn decode_of_encode_lies_in_the_olc_cell_for_100_000_points_in_the_12_wards() {
    let table = table();
    for point in points_in_wards(&table, 100_000, 2025) {
        let code = table.encode(point).unwrap_or_else(|e| panic!("{point:?}: {e}"));
        let reread = Vpostcode::parse(&code.to_string()).unwrap();
        let decoded = table.decode(&reread).unwrap_or_else(|e| panic!("{code}: {e}"));
        assert!(decoded.cell.contains(point.lat(), point.lon()), "{code} → {} does not hold {point:?}", decoded.cell);
        let full = diaba_core::olc::encode(point.lat(), point.lon(), 11).unwrap();
        assert!(full.replace('+', "").ends_with(&code.compact()[5..]), "{code} is not the tail of {full}");
    }
}

#[test]
fn a_code_whose_postcode_does_not_match_its_location_is_rejected() {
    let table = table();
    // A point in Ninh Kiều (94119) given Phong Điền's postcode (94806).
    let code = table.encode(LonLat::new(105.7830, 10.0325).unwrap()).unwrap();
    assert_eq!(code.postcode().as_str(), "94119");
    let forged = Vpostcode::parse(&format!("94806{}", code.short_code())).unwrap();
    match table.decode(&forged) {
        Err(VpostcodeError::OutsideArea { postcode, unit, .. }) => {
            assert_eq!(postcode, "94806");
            assert!(unit.contains("Phong Điền"), "{unit}");
        }
        other => panic!("expected OutsideArea, got {other:?}"),
    }
}

#[test]
fn codes_made_with_pre_2025_postcodes_stay_decodable() {
    let table = table();
    let point = LonLat::new(105.7830, 10.0325).unwrap();
    let today = table.encode(point).unwrap();
    // The same place under old Tân An's postcode (94112), from before the reform.
    let old = Vpostcode::parse(&format!("94112{}", today.short_code())).unwrap();
    let decoded = table.decode(&old).unwrap();
    assert!(decoded.cell.contains(point.lat(), point.lon()));
    assert!(!decoded.area.is_current());
    assert_eq!(decoded.area.unit_name(), "Phường Tân An");
}

#[test]
fn unknown_postcodes_and_points_outside_are_typed_errors() {
    let table = table();
    let code = Vpostcode::parse("70000 9QCJ+2VX").unwrap();
    assert!(matches!(table.decode(&code), Err(VpostcodeError::UnknownPostcode { .. })));
    assert!(matches!(table.encode(LonLat::new(106.7, 10.77).unwrap()), Err(VpostcodeError::NoArea { .. })));
}
