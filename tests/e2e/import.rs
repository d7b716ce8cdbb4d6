//! `diaba import` with real GDAL on real file formats.

use diaba_core::LonLat;
use diaba_core::crs::Vn2000;
use diaba_test_harness::fresh_database;
use serde_json::json;
use sqlx::Connection;
use std::process::Command;

fn diaba(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_diaba")).args(args).env("DIABA_LOG", "warn").output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A square zone (synthetic) around a Ninh Kiều point, `size` degrees wide.
fn square(lon: f64, lat: f64, size: f64) -> Vec<[f64; 2]> {
    vec![[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
}

fn collection(features: Vec<serde_json::Value>, crs: Option<&str>) -> String {
    let mut fc = json!({ "type": "FeatureCollection", "features": features });
    if let Some(name) = crs {
        fc["crs"] = json!({ "type": "name", "properties": { "name": name } });
    }
    fc.to_string()
}

fn zone(level: serde_json::Value, ring: Vec<[f64; 2]>) -> serde_json::Value {
    json!({ "type": "Feature", "properties": { "MucRuiRo": level, "KichBan": "triều cường 2030 (synthetic test)", "Ten": "vùng thử" },
            "geometry": { "type": "Polygon", "coordinates": [ring] } })
}

#[tokio::test]
async fn a_vn2000_shapefile_and_a_wgs84_geojson_import_to_the_same_coordinates() {
    let db = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let ring = square(105.78, 10.03, 0.002);
    let geojson = dir.path().join("zones.geojson");
    std::fs::write(&geojson, collection(vec![zone(json!(3), ring.clone())], None)).unwrap();

    // The same zone in VN-2000 metres (pinned transformation), as a Shapefile with a .prj.
    let vn2000 = Vn2000::can_tho().unwrap();
    let metres: Vec<[f64; 2]> = ring
        .iter()
        .map(|p| {
            let g = vn2000.to_vn2000(LonLat::new(p[0], p[1]).unwrap()).unwrap();
            [g.easting(), g.northing()]
        })
        .collect();
    let metres_json = dir.path().join("zones-5897.geojson");
    std::fs::write(&metres_json, collection(vec![zone(json!("3"), metres)], Some("urn:ogc:def:crs:EPSG::5897")))
        .unwrap();
    let shapefile = dir.path().join("zones.shp");
    let status = Command::new("ogr2ogr")
        .args(["-f", "ESRI Shapefile", "-a_srs", "EPSG:5897"])
        .arg(&shapefile)
        .arg(&metres_json)
        .status()
        .unwrap();
    assert!(status.success(), "ogr2ogr (gdal-bin) writes the test Shapefile");
    assert!(dir.path().join("zones.prj").exists());

    for file in [&geojson, &shapefile] {
        let (ok, out, err) =
            diaba(&["import", file.to_str().unwrap(), "--layer", "flood-zones", "--database-url", &db.url]);
        assert!(ok, "{file:?}: {out} {err}");
        assert!(out.contains("1 accepted, 0 rejected"), "{out}");
    }
    let mut conn = db.connect().await;
    let (distance, batches, sources): (f64, i64, i64) = sqlx::query_as(
        "SELECT ST_HausdorffDistance(a.geom, b.geom), count(DISTINCT z.import_batch), count(DISTINCT z.source) \
         FROM flood_zone a, flood_zone b, flood_zone z WHERE a.source LIKE '%.geojson' AND b.source LIKE '%.shp' GROUP BY 1",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(distance < 1e-8, "the Shapefile's zone is {distance}° from the GeoJSON's");
    assert_eq!(batches, 2, "each run is its own batch, recorded on every row");
    assert_eq!(sources, 2);
}

#[tokio::test]
async fn a_file_with_bad_features_is_reported_and_imports_nothing_without_partial() {
    let db = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let bowtie = vec![[105.78, 10.03], [105.782, 10.032], [105.782, 10.03], [105.78, 10.032], [105.78, 10.03]];
    let file = dir.path().join("mixed.geojson");
    std::fs::write(
        &file,
        collection(
            vec![
                zone(json!(2), square(105.78, 10.03, 0.001)),
                zone(json!(7), square(105.79, 10.03, 0.001)),
                zone(json!(4), bowtie),
            ],
            None,
        ),
    )
    .unwrap();
    let (ok, out, err) =
        diaba(&["import", file.to_str().unwrap(), "--layer", "flood-zones", "--database-url", &db.url]);
    assert!(!ok);
    assert!(out.contains("1 accepted, 2 rejected"), "{out}");
    assert!(err.contains("rejected feature 1") && err.contains("not 1 to 5"), "{err}");
    assert!(err.contains("rejected feature 2") && err.contains("invalid polygon"), "{err}");
    let mut conn = db.connect().await;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM flood_zone").fetch_one(&mut conn).await.unwrap();
    assert_eq!(count, 0, "all or nothing");
    let (ok, out, _) =
        diaba(&["import", file.to_str().unwrap(), "--layer", "flood-zones", "--database-url", &db.url, "--partial"]);
    assert!(ok, "{out}");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM flood_zone").fetch_one(&mut conn).await.unwrap();
    assert_eq!(count, 1);
    let (ok, _, err) = diaba(&["import", "/nonexistent.gpkg", "--layer", "flood-zones", "--database-url", &db.url]);
    assert!(!ok && err.contains("nonexistent"), "{err}");
}

/// Two synthetic parcels that overlap by a 1 m strip, and one clear of both.
#[tokio::test]
async fn parcels_overlapping_within_the_file_are_both_named_and_partial_takes_the_rest() {
    let db = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    // Whole metres near Ninh Kiều's centre, in the file's VN-2000 grid.
    let centre = Vn2000::can_tho().unwrap().to_vn2000(LonLat::new(105.783, 10.033).unwrap()).unwrap();
    let (x0, y0) = (centre.easting().round(), centre.northing().round());
    let parcel = |number: u32, x: f64| {
        let ring = [[x, y0], [x + 20.0, y0], [x + 20.0, y0 + 20.0], [x, y0 + 20.0], [x, y0]];
        json!({ "type": "Feature", "properties": { "MaXa": "31135", "SoHieuToBanDo": 77, "SoThuTuThua": number, "LoaiDat": "ODT" },
                "geometry": { "type": "Polygon", "coordinates": [ring] } })
    };
    let file = dir.path().join("overlapping.geojson");
    std::fs::write(
        &file,
        collection(vec![parcel(1, x0), parcel(2, x0 + 19.0), parcel(3, x0 + 60.0)], Some("urn:ogc:def:crs:EPSG::5897")),
    )
    .unwrap();
    let report = dir.path().join("report.json");
    let mut conn = db.connect().await;
    let before = written_so_far(&mut conn).await;
    let (ok, _, err) = diaba(&[
        "import",
        file.to_str().unwrap(),
        "--layer",
        "parcels",
        "--report",
        report.to_str().unwrap(),
        "--database-url",
        &db.url,
    ]);
    assert!(!ok);
    // The register accepts every lot, so the import writes while the overlaps are worked
    // out, then finds them before commit: nothing of it stays (no batch, feed or audit entry).
    assert_eq!(written_so_far(&mut conn).await, before, "a refused import leaves nothing");
    assert!(err.contains("rejected feature 0: overlaps feature 1 of the file by 20.00 m²"), "{err}");
    assert!(err.contains("rejected feature 1: overlaps feature 0 of the file by 20.00 m²"), "{err}");
    // The same findings in the report file, for the office to work through.
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let features: Vec<i64> =
        report["rejected"].as_array().unwrap().iter().map(|r| r["feature"].as_i64().unwrap()).collect();
    assert_eq!(features, vec![0, 1], "{report}");
    assert_eq!(report["rejected"][0]["reason"], "overlaps feature 1 of the file by 20.00 m²");
    assert!(report["outcome"].as_str().unwrap().starts_with("nothing imported"), "{report}");
    assert!(report["batch"].is_null());
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM parcel_version").fetch_one(&mut conn).await.unwrap();
    assert_eq!(count, 0, "all or nothing");
    let (ok, out, err) =
        diaba(&["import", file.to_str().unwrap(), "--layer", "parcels", "--partial", "--database-url", &db.url]);
    assert!(ok, "{err}");
    assert!(out.contains("1 parcels imported") && out.contains("2 rejected"), "{out}");
    let numbers: Vec<i32> = sqlx::query_scalar("SELECT number FROM parcel_version").fetch_all(&mut conn).await.unwrap();
    assert_eq!(numbers, vec![3]);
}

/// A household point near Ninh Kiều's centre (synthetic), with its VN-2000 grid position.
fn household_point() -> (LonLat, f64, f64) {
    let point = LonLat::new(105.7831, 10.0335).unwrap();
    let grid = Vn2000::can_tho().unwrap().to_vn2000(point).unwrap();
    (point, grid.easting(), grid.northing())
}

#[tokio::test]
async fn addresses_import_from_geojson_and_from_a_survey_order_csv_to_the_same_verified_points() {
    let (point, easting, northing) = household_point();
    let dir = tempfile::tempdir().unwrap();
    let household = |lon: f64, lat: f64, ward: &str| {
        json!({ "type": "Feature", "properties": { "SoNha": "12/3A", "TenDuong": "Đường 30 Tháng 4", "MaXa": ward, "ChuHo": "Nguyễn Văn Thử (synthetic)" },
                "geometry": { "type": "Point", "coordinates": [lon, lat] } })
    };
    let geojson = dir.path().join("households.geojson");
    std::fs::write(
        &geojson,
        collection(
            vec![
                household(point.lon(), point.lat(), "31135"),
                household(105.85, 21.03, "31135"),            // Hà Nội
                household(point.lon(), point.lat(), "31149"), // the file's ward disagrees
            ],
            None,
        ),
    )
    .unwrap();
    let db = fresh_database().await;
    let (ok, out, err) =
        diaba(&["import", geojson.to_str().unwrap(), "--layer", "addresses", "--database-url", &db.url]);
    assert!(!ok, "{out}");
    assert!(err.contains("rejected feature 1") && err.contains("outside the 12 wards"), "{err}");
    assert!(err.contains("rejected feature 2: the file says ward 31149, but the point is in ward 31135"), "{err}");
    let mut conn = db.connect().await;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM address").fetch_one(&mut conn).await.unwrap();
    assert_eq!(count, 0, "all or nothing");
    let (ok, out, err) =
        diaba(&["import", geojson.to_str().unwrap(), "--layer", "addresses", "--partial", "--database-url", &db.url]);
    assert!(ok && out.contains("1 addresses imported as batch"), "{out}{err}");

    // The same household in a surveyors' table: X = northing, Y = easting, semicolons, mm.
    let csv = dir.path().join("ho_dan.csv");
    std::fs::write(&csv, format!("STT;SoNha;TenDuong;X;Y\n1;12/3A;Đường 30 Tháng 4;{northing:.3};{easting:.3}\n"))
        .unwrap();
    let from_table = fresh_database().await;
    let (ok, out, err) =
        diaba(&["import", csv.to_str().unwrap(), "--layer", "addresses", "--database-url", &from_table.url]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("X = northing"), "the table's convention is reported: {out}");
    let (ok, _, err) =
        diaba(&["import", csv.to_str().unwrap(), "--layer", "addresses", "--database-url", &from_table.url]);
    assert!(!ok && err.contains("is already address"), "importing the file again adds nothing: {err}");

    let row = |url: String| async move {
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let row: (String, String, String, f64, f64, bool, String) = sqlx::query_as(
            "SELECT vpostcode, ward_code, status, ST_X(location), ST_Y(location), import_batch IS NOT NULL, house_number FROM address",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        row
    };
    let (a, b) = (row(db.url.clone()).await, row(from_table.url.clone()).await);
    assert_eq!((a.1.as_str(), a.2.as_str(), a.5, a.6.as_str()), ("31135", "verified", true, "12/3A"));
    assert!((a.3 - point.lon()).abs() < 1e-12 && (a.4 - point.lat()).abs() < 1e-12, "{a:?}");
    assert!((a.3 - b.3).abs() < 1e-7 && (a.4 - b.4).abs() < 1e-7, "same place within a centimetre: {a:?} {b:?}");
    assert_eq!(a.0, b.0, "same Vpostcode");
    assert!(a.0.starts_with("9"), "a Cần Thơ postcode: {}", a.0);
}

#[tokio::test]
async fn a_parcel_coordinate_table_in_survey_order_imports_as_its_outline() {
    let (_, easting, northing) = household_point();
    // Centimetres, written with decimal commas as a Vietnamese Excel export does (';' lists).
    let (e0, n0) = (easting.round() + 0.25, northing.round() + 0.75);
    // Corners listed out of order (STT says the order), without repeating the first.
    let corners = [(3, e0 + 20.0, n0 + 20.0), (1, e0, n0), (4, e0, n0 + 20.0), (2, e0 + 20.0, n0)];
    let comma = |v: f64| format!("{v:.3}").replace('.', ",");
    let mut table = String::from("MaXa;SoHieuToBanDo;SoThuTuThua;LoaiDat;STT;X;Y\n");
    for (order, e, n) in corners {
        table.push_str(&format!("31135;88;5;ODT;{order};{};{}\n", comma(n), comma(e)));
    }
    // Parcel 6 has a corner without a number: refused whole, never imported misshapen.
    for (order, e, n) in [(1, e0 + 40.0, n0), (2, e0 + 60.0, n0), (3, e0 + 60.0, n0 + 20.0)] {
        table.push_str(&format!("31135;88;6;ODT;{order};{};{}\n", comma(n), comma(e)));
    }
    table.push_str("31135;88;6;ODT;4;;\n");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("toa_do_thua.csv");
    std::fs::write(&csv, table).unwrap();
    let db = fresh_database().await;
    let (ok, out, err) = diaba(&["import", csv.to_str().unwrap(), "--layer", "parcels", "--database-url", &db.url]);
    assert!(!ok, "{out}");
    assert!(err.contains("parcel 31135/88/6: row 8: no coordinate in column Y"), "{err}");
    let (ok, out, err) =
        diaba(&["import", csv.to_str().unwrap(), "--layer", "parcels", "--partial", "--database-url", &db.url]);
    assert!(ok, "{out}{err}");
    let mut conn = db.connect().await;
    let (count, area, outline): (i64, f64, String) = sqlx::query_as(
        "SELECT count(*), max(legal_area_m2), max(ST_AsText(ST_Normalize(geom_vn2000), 3)) FROM parcel_version",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(count, 1);
    assert!((area - 400.0).abs() < 1e-6, "legal area from the outline: {area}");
    for (_, e, n) in corners {
        assert!(outline.contains(&format!("{e} {n}")), "corner {e} {n} (to the centimetre) in {outline}");
    }
}

/// A MicroStation v7 sheet (synthetic) written by GDAL's own DGN driver: outlines on level
/// 10, number and land-use texts on level 20, a road and an outline on other levels.
#[tokio::test]
async fn a_dgn_sheet_imports_its_outlines_labelled_by_the_texts_inside_them() {
    let (_, easting, northing) = household_point();
    let (e, n) = (easting.round(), northing.round());
    let square = |x: f64| vec![[x, n], [x + 20.0, n], [x + 20.0, n + 20.0], [x, n + 20.0], [x, n]];
    let element = |level: i64, geometry: serde_json::Value, label: Option<&str>| {
        let mut properties = json!({ "Level": level });
        if let Some(text) = label {
            properties["OGR_STYLE"] = json!(format!("LABEL(f:\"Arial\",t:\"{text}\",s:1g)"));
        }
        json!({ "type": "Feature", "properties": properties, "geometry": geometry })
    };
    let text = |x: f64, y: f64, t: &str| element(20, json!({ "type": "Point", "coordinates": [x, y] }), Some(t));
    let features = vec![
        element(10, json!({ "type": "Polygon", "coordinates": [square(e)] }), None),
        element(10, json!({ "type": "LineString", "coordinates": square(e + 20.0) }), None),
        element(10, json!({ "type": "Polygon", "coordinates": [square(e + 40.0)] }), None), // no label
        element(10, json!({ "type": "LineString", "coordinates": [[e, n - 5.0], [e + 60.0, n - 5.0]] }), None), // a road
        element(30, json!({ "type": "Polygon", "coordinates": [square(e + 100.0)] }), None), // another level
        text(e + 10.0, n + 12.0, "1"),
        text(e + 10.0, n + 6.0, "ODT"),
        text(e + 30.0, n + 10.0, "2/CLN"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("sheet.geojson");
    std::fs::write(&source, collection(features, None)).unwrap();
    let dgn = dir.path().join("to_88.dgn");
    let out = Command::new("ogr2ogr")
        .args(["-f", "DGN", dgn.to_str().unwrap(), source.to_str().unwrap()])
        // Millimetre units from an origin south-west of the province (DGN v7 stores 32-bit integers).
        .args(["-dsco", "ORIGIN=500000,1000000,0"])
        .args(["-dsco", "SUB_UNITS_PER_MASTER_UNIT=1000", "-dsco", "UOR_PER_SUB_UNIT=1"])
        .output()
        .unwrap();
    assert!(dgn.exists(), "ogr2ogr wrote the DGN: {}", String::from_utf8_lossy(&out.stderr));

    let db = fresh_database().await;
    let args = |extra: &[&'static str]| {
        let mut args = vec!["import", dgn.to_str().unwrap(), "--layer", "parcels", "--dgn-level", "10"];
        args.extend(["--set", "ward=31135", "--set", "sheet=88", "--database-url", &db.url]);
        args.extend(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>| diaba(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let (ok, out, err) = run(args(&[]));
    assert!(!ok, "{out}");
    assert!(err.contains("no parcel number among the texts inside the outline"), "{err}");
    assert_eq!(err.matches("rejected feature").count(), 1, "only the unlabelled outline: {err}");
    let mut conn = db.connect().await;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM parcel_version").fetch_one(&mut conn).await.unwrap();
    assert_eq!(count, 0, "all or nothing");

    let (ok, out, err) = run(args(&["--partial"]));
    assert!(ok, "{out}{err}");
    let parcels: Vec<(String, i32, i32, String, f64)> = sqlx::query_as(
        "SELECT v.ward_code, v.sheet, v.number, u.code, v.legal_area_m2 FROM parcel_version v \
         JOIN parcel_land_use u ON u.parcel_version_id = v.id ORDER BY v.number",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(parcels.len(), 2, "{parcels:?}");
    assert_eq!((parcels[0].2, parcels[0].3.as_str()), (1, "ODT"));
    assert_eq!((parcels[1].0.as_str(), parcels[1].1, parcels[1].2, parcels[1].3.as_str()), ("31135", 88, 2, "CLN"));
    assert!(parcels.iter().all(|p| (p.4 - 400.0).abs() < 1e-3), "20 m × 20 m at DGN's millimetre: {parcels:?}");
}

/// A revised outline of Phường Ninh Kiều (synthetic: the shipped outline pulled in by
/// ~50 m), effective 2026-11-01 as a decision would date it.
#[tokio::test]
async fn a_revised_ward_outline_becomes_its_next_version_and_the_previous_one_closes() {
    let db = fresh_database().await;
    let mut conn = db.connect().await;
    let (old_id, outline): (i64, String) = sqlx::query_as(
        "SELECT id, ST_AsGeoJSON(ST_Buffer(geom, -0.0005), 9) FROM admin_unit \
         WHERE code = '31135' AND level = 'ward' AND valid_to IS NULL",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let outline: serde_json::Value = serde_json::from_str(&outline).unwrap();
    let unit = |code: &str, date: &str| json!({ "type": "Feature", "properties": { "MaXa": code, "NgayHieuLuc": date }, "geometry": outline.clone() });
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, features: Vec<serde_json::Value>| {
        let path = dir.path().join(name);
        std::fs::write(&path, collection(features, None)).unwrap();
        path.to_str().unwrap().to_owned()
    };
    const UNITS: &str = "SELECT count(*) FROM admin_unit";
    let before: i64 = sqlx::query_scalar(UNITS).fetch_one(&mut conn).await.unwrap();

    // Dated before the current version, and a new code without a name: nothing written.
    let bad = write("bad.geojson", vec![unit("31135", "2020-01-01"), unit("31990", "01/11/2026")]);
    let (ok, _, err) = diaba(&["import", &bad, "--layer", "units", "--database-url", &db.url]);
    assert!(!ok);
    assert!(err.contains("has a version from 2025-07-01"), "{err}");
    assert!(err.contains("unit 31990 is new to the register: give its name"), "{err}");
    let after: i64 = sqlx::query_scalar(UNITS).fetch_one(&mut conn).await.unwrap();
    assert_eq!(after, before, "all or nothing");

    // A decision dated later than today would make its outline current before its day.
    let future = write("future.geojson", vec![unit("31135", "01/01/2099")]);
    let (ok, _, err) = diaba(&["import", &future, "--layer", "units", "--database-url", &db.url]);
    assert!(!ok && err.contains("is after today"), "{err}");

    let good = write("ninh_kieu_2026.geojson", vec![unit("31135", "01/11/2026")]);
    let (ok, out, err) = diaba(&["import", &good, "--layer", "units", "--database-url", &db.url]);
    assert!(ok, "{out}{err}");
    let closed: Option<chrono::NaiveDate> = sqlx::query_scalar("SELECT valid_to FROM admin_unit WHERE id = $1")
        .bind(old_id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(closed, chrono::NaiveDate::from_ymd_opt(2026, 11, 1));
    let (name, postcode, served, batch, difference, predecessor): (String, Option<String>, bool, bool, f64, i64) =
        sqlx::query_as(
            "SELECT n.name, n.postcode, n.in_service_area, n.import_batch IS NOT NULL, \
               ST_Area(ST_SymDifference(n.geom, ST_Buffer(o.geom, -0.0005))) / ST_Area(n.geom), s.predecessor_id \
             FROM admin_unit n JOIN unit_succession s ON s.successor_id = n.id JOIN admin_unit o ON o.id = s.predecessor_id \
             WHERE n.code = '31135' AND n.valid_to IS NULL AND n.valid_from = '2026-11-01'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        (name.as_str(), postcode.is_some(), served, batch, predecessor),
        ("Phường Ninh Kiều", true, true, true, old_id)
    );
    // The file carried 9 decimals (~0.1 mm); the old outline differs by ~10 %.
    assert!(difference < 1e-6, "the imported outline is stored as given: {difference}");
}

#[tokio::test]
async fn an_imported_parcel_reaching_into_another_ward_is_refused_with_the_area_outside() {
    let db = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let (ax, ay) = crate::server::point_in_ward(&db, "31135").await;
    let (bx, by) = crate::server::point_in_ward(&db, "31120").await;
    let square = |x: f64, y: f64, d: f64| {
        json!([[[x - d, y - d], [x + d, y - d], [x + d, y + d], [x - d, y + d], [x - d, y - d]]])
    };
    let file = dir.path().join("straddling.geojson");
    let feature = |n: i32, geometry: serde_json::Value| {
        json!({ "type": "Feature", "properties": { "MaXa": "31135", "SoHieuToBanDo": 80, "SoThuTuThua": n, "LoaiDat": "ODT" },
                "geometry": geometry })
    };
    std::fs::write(
        &file,
        json!({ "type": "FeatureCollection", "features": [
            // Part one (wide) in Ninh Kiều, part two, about 3 600 m², in another ward (synthetic lots).
            feature(1, json!({ "type": "MultiPolygon", "coordinates": [square(ax, ay, 0.00055), square(bx, by, 0.00027)] })),
            feature(2, json!({ "type": "Polygon", "coordinates": square(ax + 0.002, ay, 0.0001) })),
        ]})
        .to_string(),
    )
    .unwrap();
    let (ok, _, stderr) = diaba(&["import", file.to_str().unwrap(), "--layer", "parcels", "--database-url", &db.url]);
    assert!(!ok, "refused");
    assert!(stderr.contains("rejected feature 0") && stderr.contains("outside ward 31135"), "{stderr}");
    assert!(!stderr.contains("rejected feature 1"), "the lot inside its ward is fine: {stderr}");
}

#[tokio::test]
async fn holder_columns_become_parties_and_rights_and_a_bad_personal_id_is_reported_per_feature() {
    let db = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let centre = Vn2000::can_tho().unwrap().to_vn2000(LonLat::new(105.783, 10.033).unwrap()).unwrap();
    let (x0, y0) = (centre.easting().round(), centre.northing().round());
    // Holders as office files carry them: names, IDs and shares separated by ";" (synthetic).
    let parcel = |number: u32, x: f64, holders: &str, ids: &str, shares: &str| {
        let ring = [[x, y0], [x + 20.0, y0], [x + 20.0, y0 + 20.0], [x, y0 + 20.0], [x, y0]];
        json!({ "type": "Feature", "properties": { "MaXa": "31135", "SoHieuToBanDo": 78, "SoThuTuThua": number, "LoaiDat": "ODT",
                                                   "ChuSuDung": holders, "SoCCCD": ids, "TyLeSoHuu": shares },
                "geometry": { "type": "Polygon", "coordinates": [ring] } })
    };
    let file = dir.path().join("holders.geojson");
    std::fs::write(
        &file,
        collection(
            vec![
                parcel(
                    1,
                    x0,
                    "Phạm Văn Lâm (synthetic); Phạm Thị Mai (synthetic)",
                    "092080001234; 092185005678",
                    "1/2; 1/2",
                ),
                parcel(2, x0 + 40.0, "Phạm Văn Lâm (synthetic)", "092080001234", ""),
                parcel(3, x0 + 80.0, "Người Sai Số (synthetic)", "999080001234", ""),
                parcel(4, x0 + 120.0, "Hai Người (synthetic); Ba Người (synthetic)", "", "1/2; 1/3"),
            ],
            Some("urn:ogc:def:crs:EPSG::5897"),
        ),
    )
    .unwrap();
    let (ok, out, err) = diaba(&["import", file.to_str().unwrap(), "--layer", "parcels", "--database-url", &db.url]);
    assert!(!ok, "{out}");
    assert!(err.contains("rejected feature 2: holders:") && err.contains("province"), "{err}");
    assert!(err.contains("rejected feature 3: holders:") && err.contains("sum to 1"), "{err}");
    let (ok, out, err) =
        diaba(&["import", file.to_str().unwrap(), "--layer", "parcels", "--partial", "--database-url", &db.url]);
    assert!(ok, "{err}");
    assert!(out.contains("2 parcels imported"), "{out}");
    let mut conn = db.connect().await;
    let rights: Vec<(i32, String, String, String)> = sqlx::query_as(
        "SELECT v.number, pv.name, coalesce(pv.personal_id, ''), r.share_num || '/' || r.share_den \
         FROM land_right r JOIN parcel_version v ON v.parcel_id = r.parcel_id \
         JOIN party_version pv ON pv.party_id = r.party_id WHERE r.valid_to IS NULL ORDER BY v.number, r.id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let expected = [
        (1, "Phạm Văn Lâm (synthetic)", "092080001234", "1/2"),
        (1, "Phạm Thị Mai (synthetic)", "092185005678", "1/2"),
        (2, "Phạm Văn Lâm (synthetic)", "092080001234", "1/1"),
    ];
    let got: Vec<(i32, &str, &str, &str)> =
        rights.iter().map(|(n, a, b, c)| (*n, a.as_str(), b.as_str(), c.as_str())).collect();
    assert_eq!(got, expected);
    let parties: i64 = sqlx::query_scalar("SELECT count(*) FROM party").fetch_one(&mut conn).await.unwrap();
    assert_eq!(parties, 2, "one party per personal ID, however many parcels they hold");
}

/// GDAL's ESRI WKT of VN-2000 / TM-3 105° as offices' .prj files carry it: no EPSG code,
/// the datum named `D_Vietnam_2000`, the ellipsoid WGS84, and (here) no TOWGS84.
const OFFICE_PRJ: &str = r#"PROJCS["VN_2000_TM3_105",GEOGCS["GCS_VN_2000",DATUM["D_Vietnam_2000",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",105.0],PARAMETER["Scale_Factor",0.9999],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;

/// The five lots of issue 25 (synthetic), in VN-2000 metres around a point of Ninh Kiều: a
/// good lot, a self-intersecting one, one with land use XYZ, one 200 km away, and one with
/// the first one's key. Written by GDAL (ogr2ogr) as a Shapefile, whose DBF cuts the field
/// names to 10 letters (SoHieuToBa, SoThuTuThu, MucDichSuD).
async fn office_shapefile(db: &diaba_test_harness::TestDb, dir: &std::path::Path, srs: &str) -> std::path::PathBuf {
    let (lon, lat) = crate::server::point_in_ward(db, "31135").await;
    let centre = Vn2000::can_tho().unwrap().to_vn2000(LonLat::new(lon, lat).unwrap()).unwrap();
    let (x, y) = (centre.easting().round(), centre.northing().round());
    let square = |x: f64, y: f64| json!([[[x, y], [x + 15.0, y], [x + 15.0, y + 15.0], [x, y + 15.0], [x, y]]]);
    let bowtie = json!([[[x + 40.0, y], [x + 55.0, y + 15.0], [x + 55.0, y], [x + 40.0, y + 15.0], [x + 40.0, y]]]);
    let lot = |number: i32, land_use: &str, geometry: serde_json::Value| {
        json!({ "type": "Feature", "properties": { "MaXa": "31135", "SoHieuToBanDo": 77, "SoThuTuThua": number,
                                                   "MucDichSuDung": land_use, "DienTich": 225.0 },
                "geometry": { "type": "Polygon", "coordinates": geometry } })
    };
    let features = vec![
        lot(1, "ODT", square(x, y)),
        lot(2, "ODT", bowtie),
        lot(3, "XYZ", square(x + 80.0, y)),
        lot(4, "ODT", square(x, y + 200_000.0)),
        lot(1, "ONT", square(x + 120.0, y)),
    ];
    let source = dir.join("lots.geojson");
    std::fs::write(&source, collection(features, Some("urn:ogc:def:crs:EPSG::5897"))).unwrap();
    let shapefile = dir.join("lots.shp");
    let out = Command::new("ogr2ogr")
        .args(["-f", "ESRI Shapefile", "-a_srs", srs])
        .arg(&shapefile)
        .arg(&source)
        .output()
        .unwrap();
    assert!(out.status.success(), "ogr2ogr: {}", String::from_utf8_lossy(&out.stderr));
    shapefile
}

#[tokio::test]
async fn an_office_shapefile_reports_every_problem_in_one_run_and_partial_takes_the_good_lot() {
    let db = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let shapefile = office_shapefile(&db, dir.path(), "EPSG:5897").await;
    // The .prj as offices' software writes it, without a code (GDAL could not name it).
    std::fs::write(dir.path().join("lots.prj"), OFFICE_PRJ).unwrap();
    let dbf = std::fs::read(dir.path().join("lots.dbf")).unwrap();
    for cut in ["SoHieuToBa", "SoThuTuThu", "MucDichSuD"] {
        assert!(dbf.windows(cut.len()).any(|w| w == cut.as_bytes()), "the DBF names {cut}");
    }
    let report = dir.path().join("report.json");
    let file = shapefile.to_str().unwrap();
    let (ok, out, err) =
        diaba(&["import", file, "--layer", "parcels", "--database-url", &db.url, "--report", report.to_str().unwrap()]);
    assert!(!ok, "refused: {out}");
    // GDAL reads the ESRI name D_Vietnam_2000 as Vietnam_2000.
    assert!(
        out.contains("VN-2000 / TM-3 105° (k 0.9999)") && out.contains("Vietnam_2000"),
        "the CRS read and why: {out}"
    );
    for source in ["sheet ← SoHieuToBa", "number ← SoThuTuThu", "land_use ← MucDichSuD", "area ← DienTich"] {
        assert!(out.contains(source), "{source} in {out}");
    }
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let problems: Vec<(i64, String)> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["feature"].as_i64().unwrap(), r["reason"].as_str().unwrap().to_owned()))
        .collect();
    let of = |feature: i64| {
        problems.iter().filter(|(f, _)| *f == feature).map(|(_, r)| r.as_str()).collect::<Vec<_>>().join("; ")
    };
    assert!(of(0).is_empty(), "the good lot has no problem: {problems:?}");
    assert!(of(1).contains("self-intersect") || of(1).contains("invalid"), "feature 1: {}", of(1));
    assert!(of(2).contains("\"XYZ\" is not a land-use code"), "feature 2: {}", of(2));
    assert!(of(3).contains("outside"), "feature 3: {}", of(3));
    assert!(of(4).contains("key 31135/77/1 is feature 0's"), "feature 4: {}", of(4));
    assert!(err.contains("nothing imported"), "{err}");
    let mut conn = db.connect().await;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM parcel").fetch_one(&mut conn).await.unwrap();
    assert_eq!(count, 0, "nothing written");

    let (ok, out, err) = diaba(&["import", file, "--layer", "parcels", "--database-url", &db.url, "--partial"]);
    assert!(ok, "{out} {err}");
    let live: Vec<(i32, String)> = sqlx::query_as(
        "SELECT v.number, u.code FROM parcel_version v JOIN parcel_land_use u ON u.parcel_version_id = v.id \
                        WHERE v.valid_to IS NULL ORDER BY v.number",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(live, [(1, "ODT".to_owned())], "only the good lot");
}

#[tokio::test]
async fn a_tm3_prj_on_wgs84_with_no_datum_shift_never_passes_silently() {
    let db = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let bare = "+proj=tmerc +lat_0=0 +lon_0=105 +k=0.9999 +x_0=500000 +y_0=0 +datum=WGS84 +units=m +no_defs";
    let shapefile = office_shapefile(&db, dir.path(), bare).await;
    let (ok, out, err) =
        diaba(&["import", shapefile.to_str().unwrap(), "--layer", "parcels", "--database-url", &db.url]);
    assert!(!ok, "{out}");
    assert!(err.contains("without a datum shift") && err.contains("--src-crs EPSG:5897"), "{err}");
    // WGS84 with the official 7 parameters, as an OGC WKT1 .prj carries them (TOWGS84;
    // ESRI WKT has no place for them), is VN-2000.
    let wkt1 = format!(
        r#"PROJCS["VN-2000 / TM-3 105",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563],TOWGS84[{}]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",105],PARAMETER["scale_factor",0.9999],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1]]"#,
        diaba_core::crs::VN2000_TOWGS84
    );
    std::fs::write(shapefile.with_extension("prj"), wkt1).unwrap();
    let (_, out, _) = diaba(&[
        "import",
        shapefile.to_str().unwrap(),
        "--layer",
        "parcels",
        "--database-url",
        &db.url,
        "--dry-run",
        "--partial",
    ]);
    assert!(out.contains("official VN-2000 shift"), "{out}");
}

/// One table of land-use codes, each refused or taken alike by the API and by the import.
#[tokio::test]
async fn the_api_and_the_import_take_and_refuse_the_same_land_use_codes() {
    const CODES: [(&str, bool); 6] =
        [("ODT", true), ("ONT", true), ("TMD", true), ("XYZ", false), ("ODX", false), ("OD", false)];
    let db = fresh_database().await;
    let token = crate::server::registrar_of(&db, "registrar-codes", "31135").await;
    let server = crate::server::Server::with_database(&db.url);
    let (lon, lat) = crate::server::point_in_ward(&db, "31135").await;
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    for (i, (code, valid)) in CODES.into_iter().enumerate() {
        // Two small lots per code, side by side (synthetic): one for the API, one for the file.
        let d = 0.00004;
        let lot = |dx: f64| {
            let (x, y) = (lon + dx, lat + i as f64 * 3.0 * d);
            json!({ "type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]] })
        };
        let body = json!({ "ward": "31135", "sheet": 90, "number": i + 1, "geometry": lot(0.0),
                           "land_uses": [{ "code": code, "area_m2": 20.0 }] });
        let response = client.post(server.url("/v1/parcels")).bearer_auth(&token).json(&body).send().await.unwrap();
        let api_took = response.status() == 201;
        let file = dir.path().join(format!("{code}.geojson"));
        let feature = json!({ "type": "Feature", "properties": { "MaXa": "31135", "SoHieuToBanDo": 91, "SoThuTuThua": i + 1, "LoaiDat": code },
                              "geometry": lot(3.0 * d) });
        std::fs::write(&file, collection(vec![feature], None)).unwrap();
        let (import_took, out, err) =
            diaba(&["import", file.to_str().unwrap(), "--layer", "parcels", "--database-url", &db.url, "--dry-run"]);
        assert_eq!(
            (api_took, import_took),
            (valid, valid),
            "{code}: API {api_took}, import {import_took}: {out} {err}"
        );
        if !valid {
            assert!(err.contains("is not a land-use code"), "{code}: {err}");
        }
    }
}

/// The API's validation rules, walked: each refuses a parcel written through the API and
/// the same parcel in an imported file (one table; every lot synthetic).
#[tokio::test]
async fn every_validation_rule_of_the_api_also_refuses_a_feature_on_import() {
    let db = fresh_database().await;
    let token = crate::server::registrar_of(&db, "registrar-rules", "31135").await;
    let server = crate::server::Server::start(&["--database-url", &db.url, "--max-vertices", "40"]);
    let (lon, lat) = crate::server::point_in_ward(&db, "31135").await;
    let (olon, olat) = crate::server::point_in_ward(&db, "31120").await;
    let d = 0.00005;
    let square = |x: f64, y: f64| json!([[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]);
    let client = reqwest::Client::new();
    let post = |body: serde_json::Value| {
        let request = client.post(server.url("/v1/parcels")).bearer_auth(&token).json(&body);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    // A live parcel to collide with.
    let existing = json!({ "ward": "31135", "sheet": 92, "number": 1, "geometry": { "type": "Polygon", "coordinates": square(lon, lat) },
                           "land_uses": [{ "code": "ODT" }] });
    assert_eq!(post(existing).await, 201);
    let many: Vec<[f64; 2]> = (0..=60)
        .map(|i| {
            let a = f64::from(i) / 60.0 * std::f64::consts::TAU;
            [lon + 0.001 + d * a.cos(), lat + 0.001 + d * a.sin()]
        })
        .collect();
    let bowtie = json!([[
        [lon + 0.002, lat],
        [lon + 0.002 + d, lat + d],
        [lon + 0.002 + d, lat],
        [lon + 0.002, lat + d],
        [lon + 0.002, lat]
    ]]);
    // (rule, ward, sheet, number, outline, what the import's reason says)
    let rules = [
        ("self-intersection", "31135", 93, 1, bowtie, "invalid"),
        ("outside the city", "31135", 93, 2, square(lon, lat + 2.0), "outside"),
        ("too many vertices", "31135", 93, 3, json!([many]), "vertices"),
        ("key already taken", "31135", 92, 1, square(lon + 0.003, lat), "already parcel"),
        ("overlaps a live parcel", "31135", 93, 5, square(lon + d / 2.0, lat), "overlaps live parcel"),
        ("outside its ward", "31135", 93, 6, square(olon, olat), "outside ward 31135"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (rule, ward, sheet, number, outline, reason) in rules {
        let geometry = json!({ "type": "Polygon", "coordinates": outline });
        let status = post(json!({ "ward": ward, "sheet": sheet, "number": number, "geometry": geometry,
                                   "land_uses": [{ "code": "ODT" }] }))
        .await;
        assert!((400..500).contains(&status), "{rule}: the API answered {status}");
        let file = dir.path().join("rule.geojson");
        let feature = json!({ "type": "Feature", "properties": { "MaXa": ward, "SoHieuToBanDo": sheet, "SoThuTuThua": number, "LoaiDat": "ODT" },
                              "geometry": geometry });
        std::fs::write(&file, collection(vec![feature], None)).unwrap();
        let (ok, out, err) = diaba(&[
            "import",
            file.to_str().unwrap(),
            "--layer",
            "parcels",
            "--database-url",
            &db.url,
            "--max-vertices",
            "40",
            "--dry-run",
        ]);
        assert!(!ok && err.contains("rejected feature 0") && err.contains(reason), "{rule}: {out} {err}");
    }
}

/// An import is one batch in the change feed (one "reload the parcel layer" entry) and one
/// audit entry, and a running node's in-memory index then holds every imported parcel;
/// a refused import leaves nothing behind: no parcel, batch, feed or audit entry.
#[tokio::test]
async fn an_imported_batch_reaches_a_running_nodes_index_and_a_refused_one_leaves_nothing() {
    let db = fresh_database().await;
    let server = crate::server::Server::with_database(&db.url);
    let dir = tempfile::tempdir().unwrap();
    let (lon, lat) = crate::server::point_in_ward(&db, "31135").await;
    let centre = Vn2000::can_tho().unwrap().to_vn2000(LonLat::new(lon, lat).unwrap()).unwrap();
    let (x0, y0) = (centre.easting().round(), centre.northing().round());
    // Six 20 m lots in a row, 30 m apart (synthetic); in reverse order, so the file is not
    // in the order the import stages it.
    let lot = |number: i64, sheet: i64, slot: i64| {
        let x = x0 + 30.0 * slot as f64;
        let ring = [[x, y0], [x + 20.0, y0], [x + 20.0, y0 + 20.0], [x, y0 + 20.0], [x, y0]];
        json!({ "type": "Feature", "properties": { "MaXa": "31135", "SoHieuToBanDo": sheet, "SoThuTuThua": number + 1, "LoaiDat": "ODT" },
                "geometry": { "type": "Polygon", "coordinates": [ring] } })
    };
    let good = dir.path().join("good.geojson");
    std::fs::write(
        &good,
        collection((0..6).rev().map(|n| lot(n, 91, n)).collect(), Some("urn:ogc:def:crs:EPSG::5897")),
    )
    .unwrap();
    // Lots of another sheet further on, one key twice: refused whole once staged (in the
    // import's transaction, which then writes nothing).
    let mut twice: Vec<_> = (0..6).map(|n| lot(n, 92, n + 7)).collect();
    twice.push(lot(5, 92, 14));
    let refused = dir.path().join("refused.geojson");
    std::fs::write(&refused, collection(twice, Some("urn:ogc:def:crs:EPSG::5897"))).unwrap();

    let mut conn = db.connect().await;
    let (parcels, batches, seq, audits) = written_so_far(&mut conn).await;
    let indexed = |server: &crate::server::Server| {
        let url = server.url("/health");
        async move { crate::server::get_json(&url).await.2["index"]["parcels"].as_i64().unwrap() }
    };
    let before = indexed(&server).await;
    assert_eq!(before, parcels);

    let (ok, _, err) = diaba(&["import", refused.to_str().unwrap(), "--layer", "parcels", "--database-url", &db.url]);
    assert!(!ok && err.contains("rejected feature 6: key 31135/92/6 is feature 5's"), "{err}");
    assert_eq!(written_so_far(&mut conn).await, (parcels, batches, seq, audits), "a refused import leaves nothing");

    let (ok, out, err) = diaba(&["import", good.to_str().unwrap(), "--layer", "parcels", "--database-url", &db.url]);
    assert!(ok && out.contains("6 parcels imported"), "{out} {err}");
    let (parcels_now, batches_now, _, audits_now) = written_so_far(&mut conn).await;
    assert_eq!(
        (parcels_now, batches_now, audits_now),
        (parcels + 6, batches + 1, audits + 1),
        "one batch, one audit entry"
    );
    let entries: Vec<(String, String, Option<i64>)> =
        sqlx::query_as("SELECT layer, op, entity_id FROM change WHERE seq > $1 ORDER BY seq")
            .bind(seq)
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(entries, vec![("parcels".to_owned(), "reload".to_owned(), None)], "one feed entry for the batch");

    // The node picks the batch up from the feed: every lot is in its index and found by lookup.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while indexed(&server).await != before + 6 {
        assert!(std::time::Instant::now() < deadline, "the node's index never held the imported parcels");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let lots: Vec<(f64, f64, i64, i32)> = sqlx::query_as(
        "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)), parcel_id, number FROM parcel_version \
         WHERE sheet = 91 AND valid_to IS NULL ORDER BY number",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(lots.iter().map(|l| l.3).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5, 6]);
    for (lon, lat, id, number) in lots {
        let (_, _, body) = crate::server::get_json(&server.url(&format!("/v1/lookup?lat={lat}&lon={lon}"))).await;
        assert_eq!(body["parcel"]["id"], id, "lot {number}: {body}");
    }
}

/// Parcels, import batches, the change feed's last sequence number and import audit entries.
async fn written_so_far(conn: &mut sqlx::PgConnection) -> (i64, i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM parcel), (SELECT count(*) FROM import_batch), \
                (SELECT COALESCE(max(seq), 0) FROM change), (SELECT count(*) FROM audit_log WHERE action = 'import')",
    )
    .fetch_one(conn)
    .await
    .unwrap()
}

/// Every imported parcel enters one outline (GiST) index, the live versions' (migration
/// 0013): the register's lookups still each find an index, live ones that one, those by date
/// (a version live then, whether live or closed now) it and the closed versions' together.
/// Generic plans, as a pooled connection's prepared statements get after a few runs, on
/// the small demo profile (an empty table makes any index as good as another).
#[tokio::test]
async fn lookups_live_and_by_date_keep_an_outline_index_when_imports_fill_one() {
    let db = diaba_test_harness::demo_database().await;
    let mut conn = db.connect().await;
    sqlx::raw_sql("ANALYZE parcel_version").execute(&mut conn).await.unwrap();
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes WHERE tablename = 'parcel_version' AND indexdef LIKE '%USING gist%' \
         ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(indexes, ["parcel_version_closed_geom_idx", "parcel_version_live_geom_idx"]);
    // A plan without an index would show a (disabled) sequential scan of the table.
    sqlx::raw_sql("SET enable_seqscan = off; SET plan_cache_mode = force_generic_plan")
        .execute(&mut conn)
        .await
        .unwrap();
    let point = "ST_Covers(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326))";
    let queries = [
        // The API's lookup (layers.rs), now and at a date.
        (format!("SELECT parcel_id FROM parcel_version WHERE valid_to IS NULL AND {point}"), 1),
        (
            format!(
                "SELECT parcel_id FROM parcel_version WHERE valid_from < $3 AND (valid_to IS NULL OR valid_to >= $3) AND {point}"
            ),
            2,
        ),
        // OGC API items at a date (ogc.rs): a box and the versions valid then.
        (
            "SELECT v.parcel_id FROM parcel_version v JOIN parcel p ON p.id = v.parcel_id \
             WHERE v.geom && ST_MakeEnvelope($1, $2, $1 + 0.01, $2 + 0.01, 4326) \
               AND v.valid_from <= $3 AND (v.valid_to IS NULL OR v.valid_to > $3)"
                .to_owned(),
            2,
        ),
    ];
    for (i, (sql, uses)) in queries.iter().enumerate() {
        let types = if sql.contains("$3") { "(float8, float8, timestamptz)" } else { "(float8, float8)" };
        let args = if sql.contains("$3") { "(105.78, 10.03, now() - interval '1 day')" } else { "(105.78, 10.03)" };
        sqlx::raw_sql(&format!("PREPARE q{i}{types} AS {sql}")).execute(&mut conn).await.unwrap();
        let plan: Vec<String> =
            sqlx::query_scalar(&format!("EXPLAIN EXECUTE q{i}{args}")).fetch_all(&mut conn).await.unwrap();
        let plan = plan.join("\n");
        assert!(!plan.contains("Seq Scan on parcel_version"), "{sql}:\n{plan}");
        assert!(plan.contains("parcel_version_live_geom_idx"), "{sql}:\n{plan}");
        assert_eq!(plan.contains("parcel_version_closed_geom_idx"), *uses == 2, "{sql}:\n{plan}");
    }
}
