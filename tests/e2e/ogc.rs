//! OGC API – Features, checked with GDAL's own client (ogrinfo / ogr2ogr, OAPIF driver)
//! and by paging through every item.

use crate::server::{Server, get_json};
use diaba_core::auth::Role;
use diaba_test_harness::demo_database;
use serde_json::Value;
use sqlx::Connection;
use std::collections::HashSet;
use std::process::Command;

fn gdal(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn gdal_reads_the_parcels_layer_with_its_count_and_extent_and_pulls_a_bbox() {
    let db = demo_database().await;
    let server = Server::with_database(&db.url);
    let mut conn = db.connect().await;
    let (live, w, s, e, n): (i64, f64, f64, f64, f64) = sqlx::query_as(
        "SELECT count(*), ST_XMin(ST_Extent(geom)), ST_YMin(ST_Extent(geom)), ST_XMax(ST_Extent(geom)), ST_YMax(ST_Extent(geom)) \
         FROM parcel_version WHERE valid_to IS NULL",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();

    let source = format!("OAPIF:{}", server.url("/ogc"));
    let info = gdal("ogrinfo", &["-ro", "-so", &source, "parcels"]);
    assert!(info.contains(&format!("Feature Count: {live}")), "{info}");
    let extent = info.lines().find(|l| l.starts_with("Extent:")).expect("an extent line");
    let numbers: Vec<f64> =
        extent.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-')).filter_map(|t| t.parse().ok()).collect();
    for (got, want) in numbers.iter().zip([w, s, e, n]) {
        assert!((got - want).abs() < 1e-5, "{extent} vs {:?}", [w, s, e, n]);
    }

    // A box around central Ninh Kiều, pulled by ogr2ogr through the API.
    let (bw, bs, be, bn) = (105.77, 10.02, 105.79, 10.04);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("box.geojson");
    gdal(
        "ogr2ogr",
        &[
            "-f",
            "GeoJSON",
            out.to_str().unwrap(),
            &source,
            "parcels",
            "-spat",
            &bw.to_string(),
            &bs.to_string(),
            &be.to_string(),
            &bn.to_string(),
        ],
    );
    let pulled: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let mut ids: Vec<i64> = pulled["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["id"].as_i64().or(f["id"].as_i64()).unwrap_or(-1))
        .collect();
    let mut want: Vec<i64> = sqlx::query_scalar(
        "SELECT parcel_id FROM parcel_version WHERE valid_to IS NULL AND ST_Intersects(geom, ST_MakeEnvelope($1, $2, $3, $4, 4326)) ORDER BY 1",
    )
    .bind(bw)
    .bind(bs)
    .bind(be)
    .bind(bn)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(!want.is_empty());
    ids.sort();
    want.sort();
    assert_eq!(ids.len(), want.len(), "ogr2ogr pulled as many parcels as PostGIS finds in the box");
}

#[tokio::test]
async fn paging_returns_every_feature_once_and_vn2000_is_the_legal_geometry() {
    let db = demo_database().await;
    let store = db.store().await;
    let registrar =
        store.add_user("registrar-ogc", Role::Registrar, &["31135".into()], None).await.unwrap().1.reveal().to_owned();
    store.close().await.unwrap();
    let server = Server::with_database(&db.url);
    let mut conn = db.connect().await;
    let live: Vec<i64> = sqlx::query_scalar("SELECT parcel_id FROM parcel_version WHERE valid_to IS NULL ORDER BY 1")
        .fetch_all(&mut conn)
        .await
        .unwrap();

    let mut seen = HashSet::new();
    let mut next = Some(server.url("/ogc/collections/parcels/items?limit=1000"));
    let mut pages = 0;
    while let Some(url) = next {
        let (status, content_type, page) = get_json(&url).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(content_type, "application/geo+json");
        assert_eq!(page["numberMatched"], live.len());
        for feature in page["features"].as_array().unwrap() {
            assert!(seen.insert(feature["id"].as_i64().unwrap()), "feature {} twice", feature["id"]);
            assert!(feature["properties"].get("owners").is_none(), "no owners for the public");
        }
        next = page["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
            .map(|l| l["href"].as_str().unwrap().to_owned());
        pages += 1;
    }
    assert_eq!(pages, live.len().div_ceil(1000));
    // Pages are chained by the last id (each costs the same), and a deep offset is refused:
    // an anonymous client cannot make PostgreSQL walk the whole table for every page.
    let (_, _, first) = get_json(&server.url("/ogc/collections/parcels/items?limit=10")).await;
    let next = first["links"].as_array().unwrap().iter().find(|l| l["rel"] == "next").unwrap()["href"].to_string();
    assert!(next.contains("after=") && !next.contains("offset="), "{next}");
    let (status, _, problem) = get_json(&server.url("/ogc/collections/parcels/items?offset=50000")).await;
    assert_eq!((status, problem["field"].as_str()), (400, Some("offset")), "{problem}");
    assert_eq!(seen.len(), live.len());
    assert!(live.iter().all(|id| seen.contains(id)));

    // EPSG:5897: the stored legal geometry, to the millimetre, with Content-Crs (a parcel of
    // the registrar's own ward, whose owners they may see).
    let id: i64 = sqlx::query_scalar(
        "SELECT parcel_id FROM parcel_version WHERE valid_to IS NULL AND ward_code = '31135' ORDER BY parcel_id OFFSET 50 LIMIT 1",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let response = client
        .get(server.url(&format!("/ogc/collections/parcels/items/{id}?crs=http://www.opengis.net/def/crs/EPSG/0/5897")))
        .bearer_auth(&registrar)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-crs"], "<http://www.opengis.net/def/crs/EPSG/0/5897>");
    let feature: Value = response.json().await.unwrap();
    let (x, y): (f64, f64) = sqlx::query_as(
        "SELECT ST_X(ST_PointN(ST_ExteriorRing(ST_GeometryN(geom_vn2000, 1)), 1)), ST_Y(ST_PointN(ST_ExteriorRing(ST_GeometryN(geom_vn2000, 1)), 1)) \
         FROM parcel_version WHERE parcel_id = $1 AND valid_to IS NULL",
    )
    .bind(id)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let first = &feature["geometry"]["coordinates"][0][0][0];
    assert!(
        (first[0].as_f64().unwrap() - x).abs() < 0.001 && (first[1].as_f64().unwrap() - y).abs() < 0.001,
        "{first} vs {x},{y}"
    );
    assert!(feature["properties"].get("owners").is_some(), "registrars see owners");

    // A property filter and a past date.
    let (_, _, odt) = get_json(&server.url("/ogc/collections/parcels/items?land_use=ODT&ward=31135&limit=5")).await;
    assert!(odt["numberMatched"].as_i64().unwrap() > 0);
    assert!(odt["features"].as_array().unwrap().iter().all(|f| f["properties"]["ward_code"] == "31135"));
    let (_, _, before) = get_json(&server.url("/ogc/collections/wards/items?datetime=2024-06-01&level=district")).await;
    assert!(before["numberMatched"].as_i64().unwrap() >= 4, "pre-2025 districts: {before}");

    for (path, status) in [
        ("/ogc/collections/roads/items", 404),
        ("/ogc/collections/parcels/items?limit=0", 400),
        ("/ogc/collections/parcels/items?limit=10001", 400),
        ("/ogc/collections/parcels/items?bbox=1,2,3", 400),
        ("/ogc/collections/parcels/items?bbox=106,10,105,11", 400),
        ("/ogc/collections/parcels/items?crs=EPSG:3857", 400),
        ("/ogc/collections/parcels/items?datetime=2024-01-01/2025-01-01", 400),
        ("/ogc/collections/parcels/items?colour=red", 400),
        ("/ogc/collections/parcels/items/abc", 404),
        ("/ogc/collections/parcels/items/999999999", 404),
    ] {
        let (got, content_type, body) = get_json(&server.url(path)).await;
        assert_eq!(got, status, "{path}: {body}");
        assert_eq!(content_type, "application/problem+json", "{path}");
    }
    let (_, _, conformance) = get_json(&server.url("/ogc/conformance")).await;
    assert!(conformance["conformsTo"].to_string().contains("ogcapi-features-2/1.0/conf/crs"));
}

#[tokio::test]
async fn parcels_export_to_geopackage_in_vn2000_with_their_legal_geometry_and_to_other_formats() {
    let db = demo_database().await;
    let dir = tempfile::tempdir().unwrap();
    let gpkg = dir.path().join("parcels.gpkg");
    let export = |layer: &str, format: &str, crs: &str, out: &std::path::Path| {
        let done = Command::new(env!("CARGO_BIN_EXE_diaba"))
            .args(["export", "--layer", layer, "--format", format, "--crs", crs, "--database-url", &db.url])
            .arg(out)
            .output()
            .unwrap();
        assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    };
    export("parcels", "gpkg", "EPSG:5897", &gpkg);
    let info = gdal("ogrinfo", &["-ro", "-so", gpkg.to_str().unwrap(), "parcels"]);
    let mut conn = db.connect().await;
    let live: i64 = sqlx::query_scalar("SELECT count(*) FROM parcel_version WHERE valid_to IS NULL")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(info.contains(&format!("Feature Count: {live}")), "{info}");
    assert!(info.contains("ID[\"EPSG\",5897]"), "{info}");

    // Read back through GDAL and compare with PostGIS: keys, areas, vertices to 1 mm.
    let json = dir.path().join("back.geojson");
    gdal("ogr2ogr", &["-f", "GeoJSON", json.to_str().unwrap(), gpkg.to_str().unwrap(), "parcels"]);
    let back: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let features = back["features"].as_array().unwrap();
    assert_eq!(features.len() as i64, live);
    for feature in features.iter().step_by(97) {
        let p = &feature["properties"];
        let id = p["id"].as_i64().unwrap();
        let (national_id, sheet, number, area, x, y): (String, i32, i32, f64, f64, f64) = sqlx::query_as(
            "SELECT p.national_id, v.sheet, v.number, v.legal_area_m2, \
               ST_X(ST_PointN(ST_ExteriorRing(ST_GeometryN(v.geom_vn2000, 1)), 1)), ST_Y(ST_PointN(ST_ExteriorRing(ST_GeometryN(v.geom_vn2000, 1)), 1)) \
             FROM parcel_version v JOIN parcel p ON p.id = v.parcel_id WHERE v.parcel_id = $1 AND v.valid_to IS NULL",
        )
        .bind(id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(
            (p["national_id"].as_str().unwrap(), p["sheet"].as_i64().unwrap(), p["number"].as_i64().unwrap()),
            (national_id.as_str(), i64::from(sheet), i64::from(number))
        );
        assert_eq!(p["legal_area_m2"].as_f64().unwrap(), area, "legal area of {id}");
        let first = &feature["geometry"]["coordinates"][0][0][0];
        assert!(
            (first[0].as_f64().unwrap() - x).abs() < 0.001 && (first[1].as_f64().unwrap() - y).abs() < 0.001,
            "{id}: {first} vs {x},{y}"
        );
    }

    for (layer, format, file) in [
        ("parcels", "shp", "parcels.shp"),
        ("addresses", "fgb", "addresses.fgb"),
        ("flood-zones", "geojson", "flood.geojson"),
        ("wards", "csv", "wards.csv"),
    ] {
        let out = dir.path().join(file);
        export(layer, format, "EPSG:4326", &out);
        let info = gdal("ogrinfo", &["-ro", "-so", "-al", out.to_str().unwrap()]);
        let count: i64 = info
            .lines()
            .find_map(|l| l.strip_prefix("Feature Count: "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        assert!(count > 0, "{layer} as {format}: {info}");
        assert!(!info.to_lowercase().contains("owner") && !info.contains("head_name"), "{layer}: no personal data");
        if layer == "parcels" {
            // Not a holder's name or personal ID anywhere in the exported rows.
            let rows = gdal("ogrinfo", &["-ro", "-al", out.to_str().unwrap()]);
            let holders: Vec<(String, String)> = sqlx::query_as(
                "SELECT name, personal_id FROM party_version WHERE personal_id IS NOT NULL ORDER BY id LIMIT 20",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            assert_eq!(holders.len(), 20);
            for (name, id) in holders {
                assert!(!rows.contains(&name) && !rows.contains(&id), "the export names {name} ({id})");
            }
        }
        if layer == "addresses" {
            // Exported households come back through FlatGeobuf: same count, same codes.
            let empty = diaba_test_harness::fresh_database().await;
            let out = diaba(&["import", out.to_str().unwrap(), "--layer", "addresses", "--database-url", &empty.url]);
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let codes = |url: String| async move {
                let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
                let codes: Vec<String> = sqlx::query_scalar(
                    "SELECT vpostcode FROM address WHERE status = 'verified' ORDER BY vpostcode, id",
                )
                .fetch_all(&mut conn)
                .await
                .unwrap();
                codes
            };
            let (exported, imported) = (codes(db.url.clone()).await, codes(empty.url.clone()).await);
            assert_eq!(imported.len() as i64, count);
            assert_eq!(imported, exported, "every verified household, with its Vpostcode");
        }
    }
}

fn diaba(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_diaba")).args(args).output().unwrap()
}

/// Features of a GDAL-readable file, keyed by ward/sheet/number.
fn by_key(path: &std::path::Path, layer: &str) -> std::collections::BTreeMap<(String, i64, i64), Value> {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("read.geojson");
    gdal("ogr2ogr", &["-f", "GeoJSON", json.to_str().unwrap(), path.to_str().unwrap(), layer]);
    let read: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    read["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let p = &f["properties"];
            let key = (
                p["ward_code"].as_str().unwrap().to_owned(),
                p["sheet"].as_i64().unwrap(),
                p["number"].as_i64().unwrap(),
            );
            (key, f.clone())
        })
        .collect()
}

#[tokio::test]
async fn parcels_round_trip_through_a_vn2000_geopackage_into_an_empty_register() {
    let source = demo_database().await;
    let empty = diaba_test_harness::fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("first.gpkg"), dir.path().join("second.gpkg"));
    let succeed = |args: &[&str]| {
        let out = diaba(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let gpkg_5897 = ["export", "--layer", "parcels", "--format", "gpkg", "--crs", "EPSG:5897", "--database-url"];
    succeed(&[&gpkg_5897[..], &[&source.url, first.to_str().unwrap()]].concat());
    succeed(&["import", first.to_str().unwrap(), "--layer", "parcels", "--database-url", &empty.url]);
    succeed(&[&gpkg_5897[..], &[&empty.url, second.to_str().unwrap()]].concat());

    let (a, b) = (by_key(&first, "parcels"), by_key(&second, "parcels"));
    assert_eq!(a.len(), b.len());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "identical keys");
    let mut worst: f64 = 0.0;
    for (key, fa) in &a {
        let fb = &b[key];
        for attribute in ["national_id", "land_use", "legal_area_m2", "address_text"] {
            assert_eq!(fa["properties"][attribute], fb["properties"][attribute], "{key:?} {attribute}");
        }
        let ca = fa["geometry"]["coordinates"].to_string();
        let cb = fb["geometry"]["coordinates"].to_string();
        let numbers = |s: &str| {
            s.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
                .filter_map(|t| t.parse::<f64>().ok())
                .collect::<Vec<_>>()
        };
        let (na, nb) = (numbers(&ca), numbers(&cb));
        assert_eq!(na.len(), nb.len(), "{key:?}: same vertices");
        for (x, y) in na.iter().zip(&nb) {
            worst = worst.max((x - y).abs());
        }
    }
    assert!(worst <= 0.001, "geometries differ by up to {worst} m");
    let mut conn = empty.connect().await;
    let batches: i64 =
        sqlx::query_scalar("SELECT count(DISTINCT import_batch) FROM parcel_version WHERE import_batch IS NOT NULL")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(batches, 1, "every imported parcel carries the batch id");

    // A second import of the same file collides on every key and writes nothing.
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM parcel_version").fetch_one(&mut conn).await.unwrap();
    let out = diaba(&["import", first.to_str().unwrap(), "--layer", "parcels", "--database-url", &empty.url]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is already parcel"));
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM parcel_version").fetch_one(&mut conn).await.unwrap();
    assert_eq!(before, after);
}

#[tokio::test]
async fn a_shapefile_imports_alike_with_its_prj_or_with_src_crs_and_broken_features_are_named() {
    let source = demo_database().await;
    let dir = tempfile::tempdir().unwrap();
    let shp = dir.path().join("phong_dien.shp");
    let out = diaba(&[
        "export",
        "--layer",
        "parcels",
        "--format",
        "shp",
        "--crs",
        "EPSG:5897",
        "--ward",
        "31299",
        "--database-url",
        &source.url,
        shp.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bare = dir.path().join("bare");
    std::fs::create_dir(&bare).unwrap();
    for ext in ["shp", "shx", "dbf"] {
        let _ = std::fs::copy(dir.path().join(format!("phong_dien.{ext}")), bare.join(format!("phong_dien.{ext}")));
    }
    let (with_prj, with_flag) =
        (diaba_test_harness::fresh_database().await, diaba_test_harness::fresh_database().await);
    let out = diaba(&["import", shp.to_str().unwrap(), "--layer", "parcels", "--database-url", &with_prj.url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let no_prj = bare.join("phong_dien.shp");
    let out = diaba(&["import", no_prj.to_str().unwrap(), "--layer", "parcels", "--database-url", &with_flag.url]);
    assert!(!out.status.success(), "a file without .prj needs --src-crs");
    let out = diaba(&[
        "import",
        no_prj.to_str().unwrap(),
        "--layer",
        "parcels",
        "--src-crs",
        "EPSG:5897",
        "--database-url",
        &with_flag.url,
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let outlines = |db: &diaba_test_harness::TestDb| {
        let url = db.url.clone();
        async move {
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            let rows: Vec<(String, i32, i32, String)> = sqlx::query_as(
                "SELECT ward_code, sheet, number, ST_AsText(geom, 9) FROM parcel_version WHERE valid_to IS NULL ORDER BY 1, 2, 3",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            rows
        }
    };
    let (a, b) = (outlines(&with_prj).await, outlines(&with_flag).await);
    assert!(!a.is_empty());
    assert_eq!(a, b, "the same WGS84 outlines whether the CRS came from the .prj or --src-crs");

    // Vietnamese text survives the Shapefile (written UTF-8 with a .cpg), and a copy
    // without its .cpg is recognised as UTF-8 rather than read as ISO-8859-1.
    assert!(dir.path().join("phong_dien.cpg").exists());
    assert_eq!(diaba_interop::shapefile_encoding(&no_prj).as_deref(), Some("UTF-8"));
    let texts = |db: &diaba_test_harness::TestDb| {
        let url = db.url.clone();
        async move {
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            let rows: Vec<(i32, i32, Option<String>)> =
                sqlx::query_as("SELECT sheet, number, address_text FROM parcel_version ORDER BY 1, 2")
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
            rows
        }
    };
    let (from_prj, from_bare) = (texts(&with_prj).await, texts(&with_flag).await);
    assert!(
        from_prj.iter().any(|(_, _, t)| t.as_deref().is_some_and(|t| t.contains("Xã Phong Điền"))),
        "{:?}",
        &from_prj[..3]
    );
    assert_eq!(from_prj, from_bare, "the same text with or without the .cpg");
    // The same sheet saved by an office PC in Windows Vietnamese (CP1258), written by GDAL,
    // then stripped of its .cpg: detected from the bytes, decoded with every last letter.
    let cp1258 = dir.path().join("cp1258.shp");
    let converted = std::process::Command::new("ogr2ogr")
        .args(["-f", "ESRI Shapefile", cp1258.to_str().unwrap(), shp.to_str().unwrap(), "-lco", "ENCODING=CP1258"])
        .output()
        .unwrap();
    assert!(converted.status.success(), "{}", String::from_utf8_lossy(&converted.stderr));
    let dbf = std::fs::read(cp1258.with_extension("dbf")).unwrap();
    assert!(std::str::from_utf8(&dbf[32..]).is_err(), "the table is not UTF-8 any more");
    std::fs::remove_file(cp1258.with_extension("cpg")).unwrap();
    let from_cp1258 = diaba_test_harness::fresh_database().await;
    let out = diaba(&["import", cp1258.to_str().unwrap(), "--layer", "parcels", "--database-url", &from_cp1258.url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("CP1258"), "the guess is reported");
    assert_eq!(texts(&from_cp1258).await, from_prj, "the same Vietnamese text from CP1258");

    // The same sheet from an older office PC, in the font encodings TCVN3 (ABC) and VNI:
    // every text re-encoded byte for byte, written by GDAL as ISO-8859-1 (one byte per
    // character, as those fonts' users saved them), no .cpg. Guessed from the words, and
    // named with --encoding.
    for (charset, name, flag) in
        [(diaba_interop::Charset::Tcvn3, "TCVN3", None), (diaba_interop::Charset::Vni, "VNI", Some("vni"))]
    {
        let legacy = dir.path().join(format!("{name}.shp"));
        write_in_legacy_encoding(&shp, &legacy, charset);
        let dbf = std::fs::read(legacy.with_extension("dbf")).unwrap();
        assert!(std::str::from_utf8(&dbf[32..]).is_err(), "{name}: the table is not UTF-8");
        let db = diaba_test_harness::fresh_database().await;
        let mut args = vec!["import", legacy.to_str().unwrap(), "--layer", "parcels", "--database-url", &db.url];
        args.extend(flag.iter().flat_map(|f| ["--encoding", f]));
        let out = diaba(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(name),
            "{name} is reported: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(texts(&db).await, from_prj, "the same Vietnamese text from {name}");
    }

    // MapInfo: the same sheet as TAB and as MIF/MID, written by GDAL, imported through GDAL.
    // MapInfo keeps coordinates on its own grid, so outlines are compared by legal area and
    // centroid (within 0.1 m² and 0.1 m), the text exactly.
    let shapes = |db: &diaba_test_harness::TestDb| {
        let url = db.url.clone();
        async move {
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            let rows: Vec<(i32, i32, f64, f64, f64)> = sqlx::query_as(
                "SELECT sheet, number, ST_Area(geom_vn2000), ST_X(ST_Centroid(geom_vn2000)), ST_Y(ST_Centroid(geom_vn2000)) \
                 FROM parcel_version WHERE valid_to IS NULL ORDER BY 1, 2",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            rows
        }
    };
    let reference = shapes(&with_prj).await;
    for (name, driver) in [("sheet.tab", "MapInfo File"), ("sheet.mif", "MapInfo File")] {
        let mapinfo = dir.path().join(name);
        // MapInfo has no 64-bit integers; widths are its own. It stores coordinates as
        // integers over the layer's bounds: bounds around Cần Thơ's TM-3 grid keep them to
        // a fraction of a millimetre (GDAL's default bounds for this grid moved vertices by
        // centimetres, and two neighbours then overlapped by 0.51 m²: refused, rightly).
        let mut args = vec![
            "-f",
            driver,
            "-mapFieldType",
            "Integer64=Integer",
            "-unsetFieldWidth",
            "-lco",
            "BOUNDS=400000,1000000,700000,1300000",
            mapinfo.to_str().unwrap(),
            shp.to_str().unwrap(),
        ];
        if name.ends_with(".mif") {
            args.extend(["-dsco", "FORMAT=MIF"]);
        }
        let converted = std::process::Command::new("ogr2ogr").args(&args).output().unwrap();
        assert!(converted.status.success(), "{}", String::from_utf8_lossy(&converted.stderr));
        // MapInfo's datum list has no VN-2000, so GDAL wrote the grid on WGS84 without a
        // shift: diaba does not guess which was meant, and says so; --src-crs settles it.
        let db = diaba_test_harness::fresh_database().await;
        let file = mapinfo.to_str().unwrap();
        let refused = diaba(&["import", file, "--layer", "parcels", "--database-url", &db.url]);
        assert!(!refused.status.success(), "{name}: a TM-3 grid on WGS84 is ambiguous");
        let why = String::from_utf8_lossy(&refused.stderr);
        assert!(why.contains("without a datum shift") && why.contains("--src-crs"), "{name}: {why}");
        let out = diaba(&["import", file, "--layer", "parcels", "--src-crs", "EPSG:5897", "--database-url", &db.url]);
        assert!(
            out.status.success(),
            "{name}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(texts(&db).await, from_prj, "the same Vietnamese text from {name}");
        let read = shapes(&db).await;
        assert_eq!(read.len(), reference.len(), "{name}: as many parcels");
        for (got, want) in read.iter().zip(&reference) {
            let same = got.0 == want.0
                && got.1 == want.1
                && (got.2 - want.2).abs() < 0.1
                && (got.3 - want.3).abs() < 0.1
                && (got.4 - want.4).abs() < 0.1;
            assert!(same, "{name}: parcel {}/{} read as {got:?}, was {want:?}", want.0, want.1);
        }
    }

    // Broken features: each named, nothing imported; --partial takes the good one.
    let broken = dir.path().join("broken.geojson");
    std::fs::write(&broken, serde_json::json!({
        "type": "FeatureCollection",
        "features": [
            { "type": "Feature", "properties": { "MaXa": "31299", "SoHieuToBanDo": 90, "SoThuTuThua": 1, "LoaiDat": "LUC" },
              "geometry": { "type": "Polygon", "coordinates": [[[105.6001, 10.0001], [105.6004, 10.0004], [105.6004, 10.0001], [105.6001, 10.0004], [105.6001, 10.0001]]] } },
            { "type": "Feature", "properties": { "MaXa": "31299", "SoThuTuThua": 2, "LoaiDat": "LUC" },
              "geometry": { "type": "Polygon", "coordinates": [[[105.6101, 10.0101], [105.6104, 10.0101], [105.6104, 10.0104], [105.6101, 10.0104], [105.6101, 10.0101]]] } },
        ]
    }).to_string()).unwrap();
    let empty = diaba_test_harness::fresh_database().await;
    let out = diaba(&["import", broken.to_str().unwrap(), "--layer", "parcels", "--database-url", &empty.url]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rejected feature 0") && stderr.contains("rejected feature 1"), "{stderr}");
    assert!(stderr.contains("sheet"), "the missing sheet is named: {stderr}");
    let mut conn = empty.connect().await;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM parcel_version").fetch_one(&mut conn).await.unwrap();
    assert_eq!(count, 0, "nothing imported");
}

#[tokio::test]
async fn the_ogc_documents_are_web_pages_for_a_browser_and_json_for_gdal() {
    let db = demo_database().await;
    let server = Server::with_database(&db.url);
    let client = reqwest::Client::new();
    let items = server.url("/ogc/collections/parcels/items?limit=3");
    let json: Value = client.get(&items).send().await.unwrap().json().await.unwrap();
    let page = client.get(format!("{items}&f=html")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("<table>") && html.contains("3 of "), "{html}");
    for feature in json["features"].as_array().unwrap() {
        let id = feature["properties"]["national_id"].as_str().unwrap();
        assert!(html.contains(&format!("<td>{id}</td>")), "parcel {id} is a row of the page");
    }
    // The next page (after the last id of this one) stays a page.
    let last = json["features"][2]["id"].as_i64().unwrap();
    let next = html.split("href=\"").find(|h| h.contains(&format!("after={last}"))).unwrap_or_default();
    assert!(next.split('"').next().unwrap_or_default().contains("f=html"), "the next page stays a page: {html}");

    // A browser's Accept gets the landing page; GDAL's and no Accept get JSON.
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let landing = client.get(server.url("/ogc")).header("accept", browser).send().await.unwrap();
    assert!(landing.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(landing.text().await.unwrap().contains("/ogc/collections?f=html"));
    for accept in ["application/json", "*/*"] {
        let answer = client.get(server.url("/ogc/collections")).header("accept", accept).send().await.unwrap();
        assert_eq!(answer.headers()["content-type"], "application/json", "Accept: {accept}");
    }
}

/// Rewrites `shp` with every text attribute in `charset`'s bytes (GDAL writes them as
/// ISO-8859-1, one character per byte) and no .cpg, as a TCVN3 or VNI office file is.
fn write_in_legacy_encoding(shp: &std::path::Path, out: &std::path::Path, charset: diaba_interop::Charset) {
    let dir = out.parent().unwrap();
    let geojson = dir.join(format!("{}.geojson", out.file_stem().unwrap().to_str().unwrap()));
    let run = |args: &[&str]| {
        let done = std::process::Command::new("ogr2ogr").args(args).output().unwrap();
        assert!(done.status.success(), "ogr2ogr {args:?}: {}", String::from_utf8_lossy(&done.stderr));
    };
    run(&["-f", "GeoJSON", "-lco", "RFC7946=NO", geojson.to_str().unwrap(), shp.to_str().unwrap()]);
    let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&geojson).unwrap()).unwrap();
    for feature in doc["features"].as_array_mut().unwrap() {
        for value in feature["properties"].as_object_mut().unwrap().values_mut() {
            if let Some(text) = value.as_str() {
                let bytes = charset.encode(text).unwrap_or_else(|| panic!("{text} in {charset:?}"));
                *value = serde_json::Value::String(bytes.into_iter().map(char::from).collect());
            }
        }
    }
    std::fs::write(&geojson, serde_json::to_vec(&doc).unwrap()).unwrap();
    let prj = shp.with_extension("prj");
    run(&[
        "-f",
        "ESRI Shapefile",
        "-a_srs",
        prj.to_str().unwrap(),
        "-lco",
        "ENCODING=ISO-8859-1",
        out.to_str().unwrap(),
        geojson.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(out.with_extension("cpg"));
}
