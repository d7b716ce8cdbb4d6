//! The codec subcommands, as a person or a script runs them.

use std::process::Command;

fn diaba(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_diaba")).args(args).env("DIABA_LOG", "warn").output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

#[test]
fn vpostcode_encode_then_decode_returns_the_point_in_ninh_kieu() {
    let (ok, out, err) = diaba(&["vpostcode", "encode", "10.0325", "105.7830", "--json"]);
    assert!(ok, "{err}");
    let encoded = json(&out);
    assert_eq!(encoded["postcode"], "94119");
    assert_eq!(encoded["unit"]["code"], "31135");
    let code = encoded["code"].as_str().unwrap().to_lowercase().replace(' ', "");
    let (ok, out, err) = diaba(&["vpostcode", "decode", &code, "--json"]);
    assert!(ok, "{err}");
    let decoded = json(&out);
    let cell = &decoded["cell"];
    assert!(cell["lat_lo"].as_f64().unwrap() <= 10.0325 && 10.0325 < cell["lat_hi"].as_f64().unwrap());
    assert!(cell["lng_lo"].as_f64().unwrap() <= 105.7830 && 105.7830 < cell["lng_hi"].as_f64().unwrap());
}

#[test]
fn a_mismatched_postcode_fails_with_a_reason_a_field_worker_can_act_on() {
    let (_, out, _) = diaba(&["vpostcode", "encode", "10.0325", "105.7830", "--json"]);
    let code = json(&out)["code"].as_str().unwrap().replace("94119", "94806");
    let (ok, _, err) = diaba(&["vpostcode", "decode", &code]);
    assert!(!ok);
    assert!(err.contains("not in postcode 94806") && err.contains("check them"), "{err}");
    let (ok, _, err) = diaba(&["vpostcode", "decode", "94119 QXHJ"]);
    assert!(!ok);
    assert!(err.contains("12 characters"), "{err}");
}

#[test]
fn crs_round_trip_through_the_cli() {
    let (ok, out, err) = diaba(&["crs", "to-vn2000", "10.0325", "105.7830", "--json"]);
    assert!(ok, "{err}");
    let grid = json(&out);
    assert_eq!(grid["crs"], "EPSG:5897");
    let (e, n) = (grid["easting"].as_f64().unwrap(), grid["northing"].as_f64().unwrap());
    let (ok, out, err) = diaba(&["crs", "to-wgs84", &e.to_string(), &n.to_string(), "--json"]);
    assert!(ok, "{err}");
    let back = json(&out);
    assert!((back["lat"].as_f64().unwrap() - 10.0325).abs() < 1e-8);
    assert!((back["lon"].as_f64().unwrap() - 105.7830).abs() < 1e-8);
    let (ok, _, err) = diaba(&["crs", "to-wgs84", &n.to_string(), &e.to_string()]);
    assert!(!ok && err.contains("swapped"), "X/Y swapped must be caught: {err}");
}

#[test]
fn parcel_id_of_a_geojson_file_is_inside_the_polygon() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lot.geojson");
    // Synthetic L-shaped lot in Ninh Kiều.
    std::fs::write(
        &file,
        r#"{"type":"Feature","properties":{"note":"synthetic"},"geometry":{"type":"Polygon","coordinates":[[
            [105.780,10.030],[105.781,10.030],[105.781,10.0302],[105.7802,10.0302],[105.7802,10.031],[105.780,10.031],[105.780,10.030]]]}}"#,
    )
    .unwrap();
    let (ok, out, err) = diaba(&["parcel-id", file.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let answer = json(&out);
    assert_eq!(answer["national_id"].as_str().unwrap().len(), 12);
    let (lat, lon) = (answer["point"]["lat"].as_f64().unwrap(), answer["point"]["lon"].as_f64().unwrap());
    let in_foot = (105.780..105.781).contains(&lon) && (10.030..10.0302).contains(&lat);
    let in_leg = (105.780..105.7802).contains(&lon) && (10.030..10.031).contains(&lat);
    assert!(in_foot || in_leg, "({lat}, {lon}) is outside the L");
    assert!(answer["area_m2"].as_f64().unwrap() > 2_000.0);
}
