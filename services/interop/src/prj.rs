//! A file's coordinate system, pinned: by its EPSG code when GDAL can name one, else by
//! its parameters. Offices' Shapefiles carry ESRI WKT without codes (`D_Vietnam_2000`,
//! TM-3 on 105°, k 0.9999, a TOWGS84 or none), which GDAL often cannot match to EPSG:5897.
//! VN-2000 is recognised here from what the definition says:
//! - a transverse Mercator grid with false easting 500 000 m, northing 0, latitude of
//!   origin 0, on the WGS84 ellipsoid: TM-3 (k 0.9999, a central meridian on the quarter
//!   degree from 102° to 109°30′) or UTM (k 0.9996, 99°, 105° or 111°);
//! - and the VN-2000 datum: named so (`Vietnam_2000`, `VN_2000`, `D_Vietnam_2000` …), or
//!   WGS84 with the official 7 parameters (either rotation convention).
//!
//! A grid on WGS84 without a datum shift is ambiguous (VN-2000 without its shift, or
//! WGS84 indeed, a few hundred metres apart): it is refused, never guessed.

use diaba_core::crs::{TM3_SCALE, Tm3Zone, UTM_SCALE, VN2000_TOWGS84};
use diaba_core::parcel::SubmittedCrs;
use std::collections::HashMap;

/// A coordinate system read from a file, and why it was read so (for the report).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Recognised {
    pub(crate) crs: SubmittedCrs,
    pub(crate) why: String,
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance
}

/// Whether a datum name is VN-2000's, however spelt.
fn is_vn2000_name(name: &str) -> bool {
    let folded: String = name.to_ascii_lowercase().chars().filter(char::is_ascii_alphanumeric).collect();
    let folded =
        folded.strip_prefix('d').filter(|f| f.starts_with("vietnam") || f.starts_with("vn")).unwrap_or(&folded);
    matches!(folded, "vietnam2000" | "vn2000" | "vietnam2000datum")
}

/// The datum names of a WKT (`DATUM["…"`), outermost first.
fn datum_names(wkt: &str) -> Vec<String> {
    wkt.split("DATUM[\"").skip(1).filter_map(|rest| rest.split('"').next()).map(str::to_owned).collect()
}

/// How `shift` (3 or 7 values, PROJ's `+towgs84`) compares with VN-2000's official one:
/// `Some(convention)` when it is that shift.
fn official_shift(shift: &[f64]) -> Option<&'static str> {
    let official: Vec<f64> = VN2000_TOWGS84.split(',').filter_map(|v| v.parse().ok()).collect();
    if shift.len() != 7 || !(0..3).all(|i| close(shift[i], official[i], 0.01)) || !close(shift[6], official[6], 0.001) {
        return None;
    }
    let rotations = |sign: f64| (3..6).all(|i| close(shift[i], sign * official[i], 0.000_01));
    if rotations(1.0) {
        Some("position-vector rotations")
    } else if rotations(-1.0) {
        Some("coordinate-frame rotations, as Decision 05/2007 publishes them")
    } else {
        None
    }
}

/// Recognises VN-2000 from a definition's PROJ string and WKT (both as GDAL exports them).
pub(crate) fn recognise(proj4: &str, wkt: &str) -> Result<Recognised, String> {
    let parameters: HashMap<&str, &str> = proj4
        .split_whitespace()
        .filter_map(|token| token.strip_prefix('+'))
        .map(|token| token.split_once('=').unwrap_or((token, "")))
        .collect();
    let number = |key: &str, default: f64| -> Result<f64, String> {
        parameters.get(key).map_or(Ok(default), |v| v.parse().map_err(|_| format!("+{key}={v} is not a number")))
    };
    let (meridian, scale) = match parameters.get("proj").copied() {
        Some("utm") if parameters.contains_key("south") => return Err("a southern UTM zone is not Vietnam's".into()),
        Some("utm") => (number("zone", 0.0)? * 6.0 - 183.0, UTM_SCALE),
        Some("tmerc") => {
            for (key, expected) in [("lat_0", 0.0), ("x_0", 500_000.0), ("y_0", 0.0)] {
                let value = number(key, 0.0)?;
                if !close(value, expected, 0.001) {
                    return Err(format!("+{key}={value}: a VN-2000 grid has {key} {expected}"));
                }
            }
            (number("lon_0", 0.0)?, number("k", 1.0)?)
        }
        other => return Err(format!("projection {}: not a transverse Mercator grid", other.unwrap_or("none"))),
    };
    let zone = if close(scale, TM3_SCALE, 1e-9) {
        Tm3Zone::with_meridian(meridian).map_err(|e| format!("TM-3: {e}"))?
    } else if close(scale, UTM_SCALE, 1e-9) {
        Tm3Zone::utm(meridian).map_err(|e| format!("UTM: {e}"))?
    } else {
        return Err(format!("scale factor {scale}: VN-2000 grids have 0.9999 (TM-3) or 0.9996 (UTM)"));
    };
    let ellipsoid_ok =
        parameters.get("ellps").is_none_or(|e| *e == "WGS84") && parameters.get("datum").is_none_or(|d| *d == "WGS84");
    if !ellipsoid_ok {
        return Err("VN-2000 lies on the WGS84 ellipsoid; this grid does not".into());
    }
    let names = datum_names(wkt);
    let named = names.iter().find(|n| is_vn2000_name(n));
    let shift: Option<Vec<f64>> =
        parameters.get("towgs84").map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect());
    let grid = if zone.is_utm() { "UTM" } else { "TM-3" };
    let grid = format!("VN-2000 / {grid} {}° (k {scale})", zone.central_meridian());
    let why = match (named, shift.as_deref()) {
        (_, Some(shift)) if official_shift(shift).is_some() => format!(
            "{grid}: the file's datum {} with the official VN-2000 shift ({})",
            names.first().map_or("(unnamed)", String::as_str),
            official_shift(shift).unwrap_or_default()
        ),
        (_, Some(shift)) if shift.iter().any(|v| *v != 0.0) => {
            return Err(format!(
                "{grid} grid, but its datum shift {shift:?} is not VN-2000's official one; pass --src-crs if it is VN-2000"
            ));
        }
        (Some(name), _) => format!("{grid}: the file names its datum {name} (the official shift is applied)"),
        (None, _) => {
            return Err(format!(
                "a {grid} grid on WGS84 without a datum shift: VN-2000 without its shift, or WGS84 indeed? \
                 diaba does not guess; pass --src-crs EPSG:{} if it is VN-2000",
                zone.epsg().unwrap_or(5897)
            ));
        }
    };
    Ok(Recognised { crs: SubmittedCrs::Vn2000(zone), why })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TM3_105: &str = "+proj=tmerc +lat_0=0 +lon_0=105 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 +units=m +no_defs";

    fn shift(rotation_sign: f64) -> String {
        let v: Vec<f64> = VN2000_TOWGS84.split(',').map(|v| v.parse().unwrap()).collect();
        let rot = |i: usize| v[i] * rotation_sign;
        format!("+towgs84={},{},{},{},{},{},{}", v[0], v[1], v[2], rot(3), rot(4), rot(5), v[6])
    }

    #[test]
    fn datum_names_of_every_spelling_are_vn2000() {
        for name in ["Vietnam_2000", "VN_2000", "D_Vietnam_2000", "D_VN_2000", "Vietnam 2000", "VN-2000"] {
            assert!(is_vn2000_name(name), "{name}");
        }
        for name in ["WGS_1984", "D_WGS_1984", "Indian_1960", "Hanoi_1972"] {
            assert!(!is_vn2000_name(name), "{name}");
        }
    }

    #[test]
    fn a_named_datum_or_the_official_shift_makes_vn2000() {
        let named = recognise(TM3_105, r#"PROJCS["VN_2000_TM3_105",GEOGCS["GCS_VN_2000",DATUM["D_Vietnam_2000",SPHEROID["WGS_1984",6378137,298.257223563]]]]"#).unwrap();
        assert_eq!(named.crs, SubmittedCrs::Vn2000(Tm3Zone::CAN_THO));
        assert!(named.why.contains("D_Vietnam_2000"), "{}", named.why);
        for sign in [1.0, -1.0] {
            let proj = format!("{TM3_105} {}", shift(sign));
            let read = recognise(&proj, r#"DATUM["WGS_1984""#).unwrap();
            assert_eq!(read.crs, SubmittedCrs::Vn2000(Tm3Zone::CAN_THO), "{sign}");
        }
    }

    #[test]
    fn every_cadastral_meridian_and_the_utm_zones_are_read() {
        for (meridian, zone) in [(103.0, "103"), (105.5, "105.5"), (106.25, "106.25"), (108.5, "108.5")] {
            let proj = TM3_105.replace("+lon_0=105", &format!("+lon_0={zone}"));
            let read = recognise(&proj, r#"DATUM["Vietnam_2000""#).unwrap();
            assert_eq!(read.crs, SubmittedCrs::Vn2000(Tm3Zone::with_meridian(meridian).unwrap()));
        }
        let soc_trang = recognise(&TM3_105.replace("+lon_0=105", "+lon_0=105.5"), r#"DATUM["VN_2000""#).unwrap();
        assert_eq!(soc_trang.crs, SubmittedCrs::Vn2000(Tm3Zone::SOC_TRANG));
        let utm = recognise(&format!("+proj=utm +zone=48 +ellps=WGS84 {} +units=m", shift(1.0)), "").unwrap();
        assert_eq!(utm.crs, SubmittedCrs::Vn2000(Tm3Zone::utm(105.0).unwrap()));
        assert_eq!(Tm3Zone::utm(105.0).unwrap().epsg(), Some(3405));
    }

    #[test]
    fn ambiguous_or_foreign_grids_are_refused_with_the_reason() {
        let bare = recognise(TM3_105, r#"DATUM["WGS_1984""#).unwrap_err();
        assert!(bare.contains("without a datum shift") && bare.contains("--src-crs EPSG:5897"), "{bare}");
        let other_shift = recognise(&format!("{TM3_105} +towgs84=-192,-39,-111,0,0,0,0"), "").unwrap_err();
        assert!(other_shift.contains("not VN-2000's official"), "{other_shift}");
        let off_grid = recognise(&TM3_105.replace("+lon_0=105", "+lon_0=105.3"), r#"DATUM["VN_2000""#).unwrap_err();
        assert!(off_grid.contains("TM-3"), "{off_grid}");
        let scale = recognise(&TM3_105.replace("+k=0.9999", "+k=1"), r#"DATUM["VN_2000""#).unwrap_err();
        assert!(scale.contains("scale factor"), "{scale}");
        let lcc = recognise("+proj=lcc +lat_1=10 +ellps=WGS84", "").unwrap_err();
        assert!(lcc.contains("not a transverse Mercator"), "{lcc}");
        let false_easting = recognise(&TM3_105.replace("+x_0=500000", "+x_0=0"), r#"DATUM["VN_2000""#).unwrap_err();
        assert!(false_easting.contains("x_0"), "{false_easting}");
    }
}
