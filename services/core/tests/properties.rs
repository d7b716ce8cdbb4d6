//! Property tests: every codec round-trips over the service area, and no parser panics on
//! arbitrary input (the bounded fuzzing that runs in CI with `cargo test`).
// Tests and benchmarks unwrap: a failure there is the report.
#![allow(clippy::unwrap_used)]

use diaba_core::crs::Vn2000;
use diaba_core::{AsOf, LonLat, NationalParcelId, UnitCode, Vpostcode, fold, olc};
use geo::{Contains, MultiPolygon, Point, polygon};
use proptest::prelude::*;

/// Longitude and latitude over the four former districts.
fn service_area_point() -> impl Strategy<Value = LonLat> {
    (105.55f64..105.86, 9.95f64..10.16).prop_map(|(lon, lat)| LonLat::new(lon, lat).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn olc_decode_of_encode_contains_the_point(p in service_area_point(), length in prop::sample::select(vec![8usize, 10, 11, 12, 13, 15])) {
        let code = olc::encode(p.lat(), p.lon(), length).unwrap();
        let area = olc::decode(&code).unwrap();
        prop_assert!(area.contains(p.lat(), p.lon()) || (p.lat() - area.lat_lo).abs() < 1e-12, "{code} {area}");
        prop_assert_eq!(olc::encode(area.center_lat(), area.center_lng(), length).unwrap(), code);
    }

    #[test]
    fn olc_shorten_then_recover_is_the_identity(p in service_area_point(), dx in -0.02f64..0.02, dy in -0.02f64..0.02) {
        let code = olc::encode(p.lat(), p.lon(), 11).unwrap();
        let short = olc::shorten(&code, p.lat() + dy, p.lon() + dx).unwrap();
        prop_assert_eq!(olc::recover_nearest(&short, p.lat() + dy, p.lon() + dx).unwrap(), code);
    }

    #[test]
    fn vpostcode_text_round_trips(p in service_area_point()) {
        let full = olc::encode(p.lat(), p.lon(), 11).unwrap().replace('+', "");
        let code = Vpostcode::parse(&format!("94119{}", &full[4..])).unwrap();
        prop_assert_eq!(Vpostcode::parse(&code.to_string()).unwrap(), code.clone());
        prop_assert_eq!(Vpostcode::parse(&code.compact().to_lowercase()).unwrap(), code);
    }

    #[test]
    fn vn2000_round_trip_is_sub_millimetre(p in service_area_point()) {
        thread_local!(static VN2000: Vn2000 = Vn2000::can_tho().unwrap());
        let back = VN2000.with(|vn2000| vn2000.to_wgs84(vn2000.to_vn2000(p).unwrap()).unwrap());
        prop_assert!((back.lon() - p.lon()).abs() < 1e-8 && (back.lat() - p.lat()).abs() < 1e-8);
    }

    #[test]
    fn parcel_id_point_is_inside_random_l_shaped_lots(p in service_area_point(), w in 5e-5f64..5e-4, h in 5e-5f64..5e-4, cut in 0.2f64..0.8) {
        let (x, y) = (p.lon(), p.lat());
        let lot = MultiPolygon(vec![polygon![
            (x: x, y: y), (x: x + w, y: y), (x: x + w, y: y + h * cut), (x: x + w * cut, y: y + h * cut),
            (x: x + w * cut, y: y + h), (x: x, y: y + h),
        ]]);
        let id = NationalParcelId::for_parcel(&lot).unwrap();
        let q = id.point();
        prop_assert!(lot.contains(&Point::new(q.lon(), q.lat())));
        prop_assert_eq!(NationalParcelId::parse(id.as_str()).unwrap(), id);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5_000, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic_on_arbitrary_text(text in "\\PC{0,40}") {
        let _ = Vpostcode::parse(&text);
        let _ = olc::is_valid(&text);
        let _ = olc::decode(&text);
        let _ = olc::recover_nearest(&text, 10.03, 105.78);
        let _ = olc::shorten(&text, 10.03, 105.78);
        let _ = NationalParcelId::parse(&text);
        let _ = UnitCode::parse(&text);
        let _ = AsOf::parse(&text);
        let _ = LonLat::parse(Some(&text), Some(&text));
        let _ = fold(&text);
    }

    #[test]
    fn parsers_never_panic_on_code_shaped_text(text in "[0-9A-Za-z+ 0]{0,16}") {
        let _ = Vpostcode::parse(&text);
        let _ = olc::decode(&text);
        let _ = olc::recover_nearest(&text, -89.9, 179.9);
        if olc::is_full(&text) {
            prop_assert!(olc::decode(&text).is_ok());
        }
        if olc::is_short(&text) {
            prop_assert!(olc::recover_nearest(&text, 10.03, 105.78).is_ok());
        }
    }

    #[test]
    fn folding_is_idempotent(text in "\\PC{0,40}") {
        let once = fold(&text);
        prop_assert_eq!(fold(&once), once.clone());
    }
}
