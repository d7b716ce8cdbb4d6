//! VN-2000 against PROJ's own command-line tool and against itself.
// Tests and benchmarks unwrap: a failure there is the report.
#![allow(clippy::unwrap_used)]

use diaba_core::LonLat;
use diaba_core::crs::{Tm3Zone, Vn2000, Vn2000Point};
use geo::polygon;
use std::process::Command;

/// A grid over the four former districts (lon 105.55–105.85, lat 9.95–10.15).
fn service_area_grid(steps: usize) -> Vec<LonLat> {
    let mut points = Vec::new();
    for i in 0..=steps {
        for j in 0..=steps {
            let lon = 105.55 + 0.30 * i as f64 / steps as f64;
            let lat = 9.95 + 0.20 * j as f64 / steps as f64;
            points.push(LonLat::new(lon, lat).unwrap());
        }
    }
    points
}

#[test]
fn wgs84_to_vn2000_and_back_is_within_a_millimetre() {
    let vn2000 = Vn2000::can_tho().unwrap();
    for point in service_area_grid(40) {
        let grid = vn2000.to_vn2000(point).unwrap();
        let back = vn2000.to_wgs84(grid).unwrap();
        let metres_per_degree = 111_320.0;
        let dx = (back.lon() - point.lon()) * metres_per_degree * point.lat().to_radians().cos();
        let dy = (back.lat() - point.lat()) * metres_per_degree;
        assert!(dx.hypot(dy) < 0.001, "{point:?} came back {:.4} m away", dx.hypot(dy));
    }
}

#[test]
fn forward_values_agree_with_cs2cs_run_with_the_design_string() {
    let vn2000 = Vn2000::can_tho().unwrap();
    let points = service_area_grid(6);
    let input: String = points.iter().map(|p| format!("{} {}\n", p.lon(), p.lat())).collect();
    let design = Tm3Zone::CAN_THO.proj_string().replace(" +type=crs", "");
    let mut args =
        vec!["-f".to_owned(), "%.6f".to_owned(), "+proj=longlat".into(), "+datum=WGS84".into(), "+to".into()];
    args.extend(design.split_whitespace().map(str::to_owned));
    let mut child = Command::new("cs2cs")
        .args(&args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("cs2cs (proj-bin) is installed by scripts/setup");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), points.len());
    for (point, line) in points.iter().zip(lines) {
        let numbers: Vec<f64> = line.split_whitespace().take(2).map(|v| v.parse().unwrap()).collect();
        let ours = vn2000.to_vn2000(*point).unwrap();
        let (de, dn) = (ours.easting() - numbers[0], ours.northing() - numbers[1]);
        assert!(de.abs() < 0.001 && dn.abs() < 0.001, "{point:?}: ours {ours}, cs2cs {line}");
    }
}

#[test]
fn ninh_kieu_lands_where_the_zone_puts_it() {
    // 105.78°E is 0.78° east of the central meridian: about 85.5 km east of 500 000 m.
    let p = Vn2000::can_tho().unwrap().to_vn2000(LonLat::new(105.7830, 10.0325).unwrap()).unwrap();
    assert!((585_000.0..587_000.0).contains(&p.easting()), "{p}");
    assert!((1_108_000.0..1_111_000.0).contains(&p.northing()), "{p}");
}

#[test]
fn the_vn2000_datum_shift_is_applied() {
    // Asking PROJ for EPSG:4326 → EPSG:5897 may choose another transformation; ours must
    // not depend on that choice. We only assert that ours matches cs2cs with the DESIGN
    // string (above) and report here how far PROJ's own pick is, as a guard against the
    // datum shift silently disappearing (a shift of 0 would put points ~100 m+ away).
    let ours = Vn2000::can_tho().unwrap().to_vn2000(LonLat::new(105.7830, 10.0325).unwrap()).unwrap();
    let no_shift = proj::Proj::new_known_crs(
        "+proj=longlat +datum=WGS84 +type=crs",
        "+proj=tmerc +lat_0=0 +lon_0=105 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 +units=m +no_defs +type=crs",
        None,
    )
    .unwrap()
    .convert((105.7830, 10.0325))
    .unwrap();
    let offset = (ours.easting() - no_shift.0).hypot(ours.northing() - no_shift.1);
    assert!(offset > 100.0, "the VN-2000 datum shift is missing: only {offset:.2} m from a plain WGS84 tmerc");
}

#[test]
fn survey_order_and_sanity_checks() {
    let vn2000 = Vn2000::new(Tm3Zone::SOC_TRANG).unwrap();
    assert_eq!(Tm3Zone::SOC_TRANG.epsg(), Some(9209));
    let swapped = Vn2000Point::new(1_109_000.0, 586_000.0);
    assert!(swapped.unwrap_err().to_string().contains("swapped"));
    let p = Vn2000Point::from_survey_xy(1_109_000.0, 586_000.0).unwrap();
    let back = vn2000.to_wgs84(p).unwrap();
    assert!((105.0..106.5).contains(&back.lon()));
    assert!(Tm3Zone::with_meridian(105.3).is_err());
    assert!(Tm3Zone::with_meridian(f64::NAN).is_err());
}

#[test]
fn legal_area_of_a_100_m_square_is_10_000_m2_on_the_grid() {
    let vn2000 = Vn2000::can_tho().unwrap();
    let corner = vn2000.to_vn2000(LonLat::new(105.78, 10.03).unwrap()).unwrap();
    let (e, n) = (corner.easting(), corner.northing());
    let square = geo::MultiPolygon(vec![polygon![
        (x: e, y: n), (x: e + 100.0, y: n), (x: e + 100.0, y: n + 100.0), (x: e, y: n + 100.0)
    ]]);
    let lonlat = vn2000.unproject(&diaba_core::crs::Vn2000Polygon::from_metres(square)).unwrap();
    let area = vn2000.area_m2(&lonlat).unwrap();
    assert!((area - 10_000.0).abs() < 0.01, "{area}");
}
