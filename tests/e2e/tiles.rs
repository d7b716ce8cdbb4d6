//! Vector tiles: decoded with an independent MVT decoder (mvt-reader, not our encoder's
//! crate), checked against lookups, the change feed and the cache.

use crate::server::{Server, change_land_use};
use diaba_core::auth::Role;
use diaba_test_harness::{TestDb, demo_database};
use diaba_tiles::{BUFFER, EXTENT, Source, TileCoord};
use geo::{Area, Coord, Distance, Euclidean, Geometry, LineString, Point};
use mvt_reader::Reader;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::time::{Duration, Instant};

/// A point inside a live demo parcel of Ninh Kiều (31135), the densest ward.
async fn ninh_kieu_point(db: &TestDb) -> (f64, f64) {
    let mut conn = db.connect().await;
    sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM parcel_version \
         WHERE valid_to IS NULL AND ward_code = '31135' ORDER BY parcel_id OFFSET 500 LIMIT 1) s",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap()
}

struct Fetched {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

async fn fetch(client: &Client, server: &Server, path: &str, headers: &[(&str, &str)]) -> Fetched {
    let mut request = client.get(server.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    Fetched { status, headers, body: response.bytes().await.unwrap().to_vec() }
}

impl Fetched {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", |v| v.to_str().unwrap())
    }
}

/// Layer name → features, decoded by mvt-reader, with every structural check of the
/// MVT 2.1 spec that a renderer relies on.
fn decode(bytes: &[u8], what: &str) -> HashMap<String, Vec<mvt_reader::feature::Feature<f64>>> {
    let reader = Reader::new(bytes.to_vec()).unwrap_or_else(|e| panic!("{what}: not a vector tile: {e:?}"));
    let mut out = HashMap::new();
    for layer in reader.get_layer_metadata().unwrap() {
        assert_eq!(layer.extent, EXTENT, "{what}");
        assert_eq!(layer.version, 2, "{what}");
        let features = reader.get_features_as::<f64>(layer.layer_index).unwrap();
        let label = Source::ALL.labels().into_iter().find(|l| l.name == layer.name);
        let fields: HashSet<&str> = match label {
            Some(label) => label.fields.iter().map(|f| f.name).collect(),
            None => {
                let source: Source =
                    layer.name.parse().unwrap_or_else(|()| panic!("{what}: unknown layer {}", layer.name));
                source.fields().iter().map(|f| f.name).collect()
            }
        };
        for feature in &features {
            assert!(feature.id.is_some(), "{what}: every feature has an id");
            for key in feature.properties.as_ref().into_iter().flat_map(|p| p.keys()) {
                assert!(fields.contains(key.as_str()), "{what}: {key} is not a public field of {}", layer.name);
            }
            let feature_what = format!("{what} {} #{:?}", layer.name, feature.id);
            match label {
                Some(_) => check_label(&feature.geometry, &feature_what),
                None => check_geometry(&feature.geometry, &feature_what),
            }
        }
        out.insert(layer.name.clone(), features);
    }
    out
}

fn check_geometry(geometry: &Geometry<f64>, what: &str) {
    let (low, high) = (-f64::from(BUFFER), f64::from(EXTENT + BUFFER));
    let inside = |c: &Coord<f64>| (low..=high).contains(&c.x) && (low..=high).contains(&c.y);
    let ring_ok = |ring: &LineString<f64>| {
        assert!(ring.0.len() >= 4 && ring.is_closed(), "{what}: ring of {} points", ring.0.len());
        assert!(ring.0.iter().all(inside), "{what}: outside the buffered extent");
    };
    match geometry {
        Geometry::Point(p) => assert!(inside(&p.0), "{what}"),
        Geometry::MultiPoint(points) => assert!(points.iter().all(|p| inside(&p.0)), "{what}"),
        Geometry::Polygon(polygon) => {
            ring_ok(polygon.exterior());
            polygon.interiors().iter().for_each(ring_ok);
            assert!(polygon.unsigned_area() > 0.0, "{what}: empty polygon");
        }
        Geometry::MultiPolygon(polygons) => {
            for polygon in polygons {
                ring_ok(polygon.exterior());
                polygon.interiors().iter().for_each(ring_ok);
                assert!(polygon.unsigned_area() > 0.0, "{what}: empty polygon");
            }
        }
        other => panic!("{what}: unexpected geometry {other:?}"),
    }
}

/// A label anchor lies inside the tile proper (so it is in no other tile); a line label's
/// middle does, its ends may reach beyond.
fn check_label(geometry: &Geometry<f64>, what: &str) {
    let inside = |x: f64, y: f64| (0.0..f64::from(EXTENT)).contains(&x) && (0.0..f64::from(EXTENT)).contains(&y);
    match geometry {
        Geometry::Point(p) => assert!(inside(p.x(), p.y()), "{what}: {p:?}"),
        // mvt-reader reads an MVT point as a multipoint of one.
        Geometry::MultiPoint(points) => {
            assert!(points.0.len() == 1 && inside(points.0[0].x(), points.0[0].y()), "{what}: {points:?}");
        }
        Geometry::LineString(line) => {
            let (a, b) = (line.0.first().unwrap(), line.0.last().unwrap());
            assert!(line.0.len() >= 2 && inside((a.x + b.x) / 2.0, (a.y + b.y) / 2.0), "{what}: {line:?}");
        }
        other => panic!("{what}: unexpected label geometry {other:?}"),
    }
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).expect("valid gzip");
    out
}

#[tokio::test]
async fn tiles_at_every_zoom_decode_to_valid_geometry_inside_the_buffered_extent() {
    let db = demo_database().await;
    let server = Server::with_database(&db.url);
    let client = Client::new();
    let (lon, lat) = ninh_kieu_point(&db).await;
    let mut decoded_layers = HashSet::new();
    for z in [8u8, 10, 12, 13, 14, 15, 16, 17, 18, 20] {
        let centre = TileCoord::containing(lon, lat, z);
        // The tile holding Ninh Kiều and its eight neighbours: edges and corners clip.
        for dx in -1i64..=1 {
            for dy in -1i64..=1 {
                let (x, y) = (i64::from(centre.x()) + dx, i64::from(centre.y()) + dy);
                let path = format!("/tiles/all/{z}/{x}/{y}.mvt");
                let plain = fetch(&client, &server, &path, &[]).await;
                if plain.status == StatusCode::NO_CONTENT {
                    continue;
                }
                assert_eq!(plain.status, 200, "{path}");
                assert_eq!(plain.header("content-type"), "application/vnd.mapbox-vector-tile");
                assert!(plain.body.len() < 500 * 1024, "{path}: {} bytes", plain.body.len());
                let layers = decode(&plain.body, &path);
                decoded_layers.extend(layers.keys().cloned());
                for (name, features) in &layers {
                    let minzoom = match Source::ALL.labels().into_iter().find(|l| l.name == name) {
                        Some(label) => label.minzoom,
                        None => name.parse::<Source>().unwrap().minzoom(),
                    };
                    assert!(z >= minzoom, "{path}: {name} below its minzoom");
                    assert!(!features.is_empty(), "{path}: empty layer {name} sent");
                }
                let zipped = fetch(&client, &server, &path, &[("accept-encoding", "gzip")]).await;
                assert_eq!(zipped.header("content-encoding"), "gzip");
                assert_eq!(gunzip(&zipped.body), plain.body, "{path}: gzip holds the same tile");
            }
        }
    }
    for layer in ["wards", "parcels", "flood"] {
        assert!(decoded_layers.contains(layer), "no {layer} layer seen in any tile: {decoded_layers:?}");
    }
}

#[tokio::test]
async fn a_parcel_found_by_lookup_is_in_the_z18_tile_at_that_point_with_the_same_id() {
    let db = demo_database().await;
    let server = Server::with_database(&db.url);
    let client = Client::new();
    let centre = ninh_kieu_point(&db).await;
    let mut checked = 0;
    for i in 0..120 {
        // A 12 × 10 grid around a Ninh Kiều parcel, about 16 m apart: lots of the fabric.
        let (lon, lat) =
            (centre.0 - 0.0009 + f64::from(i % 12) * 0.00015, centre.1 - 0.00075 + f64::from(i / 12) * 0.00015);
        let answer: Value = client
            .get(server.url(&format!("/v1/lookup?lat={lat}&lon={lon}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let Some(id) = answer["parcel"]["id"].as_i64() else { continue };
        let tile = TileCoord::containing(lon, lat, 18);
        let path = format!("/tiles/parcels/{tile}.mvt");
        let fetched = fetch(&client, &server, &path, &[]).await;
        assert_eq!(fetched.status, 200, "{path}");
        let layers = decode(&fetched.body, &path);
        let feature = layers["parcels"]
            .iter()
            .find(|f| f.id == Some(id as u64))
            .unwrap_or_else(|| panic!("{path}: parcel {id} found by lookup at {lat},{lon} is not in the tile"));
        let [px, py] = tile.project(lon, lat);
        // Snapping moves each vertex by at most 0.71 unit: the point is inside or within a
        // unit of the outline (points a few millimetres from a shared edge).
        let distance = Euclidean.distance(&Point::new(px, py), &feature.geometry);
        let near = distance <= 1.0;
        assert!(
            near,
            "{path}: parcel {id}'s tile shape is {distance} units from the looked-up point {px},{py}: {:?}",
            feature.geometry
        );
        let national = feature.properties.as_ref().and_then(|p| p.get("national_id")).cloned();
        assert_eq!(
            national,
            Some(mvt_reader::feature::Value::String(answer["parcel"]["national_id"].as_str().unwrap().to_owned())),
            "{path}"
        );
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} grid points fell on a parcel");
}

#[tokio::test]
async fn an_edited_parcel_shows_in_its_next_tile_and_untouched_tiles_stay_cached() {
    let db = demo_database().await;
    let server = Server::with_database(&db.url);
    let client = Client::new();

    let (lon, lat) = ninh_kieu_point(&db).await;
    let answer: Value =
        client.get(server.url(&format!("/v1/lookup?lat={lat}&lon={lon}"))).send().await.unwrap().json().await.unwrap();
    let id = answer["parcel"]["id"].as_i64().expect("a parcel at the Ninh Kiều test point");
    let ward = answer["parcel"]["ward_code"].as_str().unwrap().to_owned();
    let store = db.store().await;
    let token = store.add_user("registrar-tiles", Role::Registrar, &[ward], None).await.unwrap().1.reveal().to_owned();
    store.close().await.unwrap();
    let touched: Vec<String> =
        [15u8, 16, 18].iter().map(|&z| format!("/tiles/parcels/{}.mvt", TileCoord::containing(lon, lat, z))).collect();
    // A tile 3 km away at z16 cannot hold the parcel.
    let untouched = format!("/tiles/parcels/{}.mvt", TileCoord::containing(lon + 0.03, lat, 16));

    for path in touched.iter().chain([&untouched]) {
        let first = fetch(&client, &server, path, &[]).await;
        assert_eq!(first.header("x-tile-cache"), "miss", "{path}");
        let second = fetch(&client, &server, path, &[]).await;
        assert_eq!(second.header("x-tile-cache"), "hit", "{path}");
        assert_eq!(second.body, first.body, "{path}");
        let revalidated = fetch(&client, &server, path, &[("if-none-match", first.header("etag"))]).await;
        assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED, "{path}");
    }
    let before: Vec<Fetched> = fetch_each(&client, &server, &touched).await;

    let new_use = change_land_use(&client, &server, &token, id).await;

    for (path, old) in touched.iter().zip(before) {
        let started = Instant::now();
        loop {
            let now = fetch(&client, &server, path, &[("if-none-match", old.header("etag"))]).await;
            if now.status == StatusCode::OK {
                let layers = decode(&now.body, path);
                let feature =
                    layers["parcels"].iter().find(|f| f.id == Some(id as u64)).expect("parcel still in its tile");
                let land_use = feature.properties.as_ref().unwrap().get("land_use").cloned();
                assert_eq!(land_use, Some(mvt_reader::feature::Value::String(new_use.into())), "{path}");
                assert_ne!(now.header("etag"), old.header("etag"));
                break;
            }
            assert_eq!(now.status, StatusCode::NOT_MODIFIED);
            assert!(started.elapsed() < Duration::from_secs(2), "{path} still shows the old parcel after 2 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let far = fetch(&client, &server, &untouched, &[]).await;
    assert_eq!(far.header("x-tile-cache"), "hit", "a tile the edit did not touch was dropped from the cache");
}

/// `path` is answered `status` with a problem document that says what is wrong.
async fn assert_problem(client: &Client, server: &Server, path: &str, status: u16) {
    let fetched = fetch(client, server, path, &[]).await;
    assert_eq!(fetched.status.as_u16(), status, "{path}");
    assert_eq!(fetched.header("content-type"), "application/problem+json", "{path}");
    let problem: Value = serde_json::from_slice(&fetched.body).unwrap();
    assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()), "{path}: {problem}");
}

async fn fetch_each(client: &Client, server: &Server, paths: &[String]) -> Vec<Fetched> {
    let mut out = Vec::new();
    for path in paths {
        out.push(fetch(client, server, path, &[]).await);
    }
    out
}

#[tokio::test]
async fn bad_tile_addresses_get_problems_and_documents_describe_the_layers() {
    let db = demo_database().await;
    let server = Server::with_database(&db.url);
    let client = Client::new();
    for (path, status) in [
        ("/tiles/parcels/23/0/0.mvt", 404),
        ("/tiles/parcels/3/8/0.mvt", 404),
        ("/tiles/parcels/3/0/8.mvt", 404),
        ("/tiles/roads/14/13000/7700.mvt", 404),
        ("/tiles/parcels/z/0/0.mvt", 400),
        ("/tiles/parcels/3/-1/0.mvt", 400),
        ("/tiles/parcels/3/0/0x.mvt", 400),
        ("/tiles/parcels/99999999999/0/0.mvt", 400),
        ("/tiles/parcels/3/0/0.png", 404),
        ("/tiles/roads.json", 404),
        ("/tiles/all.xml", 404),
    ] {
        assert_problem(&client, &server, path, status).await;
    }
    // Below every layer's minzoom: nothing to draw, 204.
    let empty = fetch(&client, &server, "/tiles/all/3/6/3.mvt", &[]).await;
    assert_eq!(empty.status, StatusCode::NO_CONTENT);
    assert!(empty.body.is_empty());

    for source in ["wards", "parcels", "addresses", "flood", "all"] {
        let (status, _, doc) = crate::server::get_json(&server.url(&format!("/tiles/{source}.json"))).await;
        assert_eq!(status, 200);
        assert_eq!(doc["tilejson"], "3.0.0");
        let tiles = doc["tiles"][0].as_str().unwrap();
        assert!(
            tiles.starts_with(&server.base) && tiles.ends_with(&format!("/tiles/{source}/{{z}}/{{x}}/{{y}}.mvt")),
            "{tiles}"
        );
        let b: Vec<f64> = doc["bounds"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert!(105.2 < b[0] && b[0] < b[2] && b[2] < 106.0 && 9.8 < b[1] && b[1] < b[3] && b[3] < 10.4, "{b:?}");
        let centre = &doc["center"];
        assert!(b[0] < centre[0].as_f64().unwrap() && centre[0].as_f64().unwrap() < b[2]);
        let layers = doc["vector_layers"].as_array().unwrap();
        assert!(!layers.is_empty() && layers.iter().all(|l| l["fields"].is_object() && l["minzoom"].is_u64()));
        assert!(!doc.to_string().contains("owner"), "no owner field is published");
    }
    let (status, _, style) = crate::server::get_json(&server.url("/tiles/style.json")).await;
    assert_eq!(status, 200);
    assert_eq!(style["version"], 8);
    assert_eq!(style["sources"]["diaba"]["url"], format!("{}/tiles/all.json", server.base));
}

/// A point inside a live demo parcel of Phong Điền (31299), and that parcel's id.
async fn phong_dien_parcel(db: &TestDb) -> (f64, f64, i64) {
    let mut conn = db.connect().await;
    sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p), parcel_id FROM (SELECT ST_PointOnSurface(geom) p, parcel_id FROM parcel_version \
         WHERE valid_to IS NULL AND ward_code = '31299' ORDER BY parcel_id OFFSET 100 LIMIT 1) s",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_baked_pack_holds_the_live_tiles_and_the_served_pack_follows_edits() {
    use pmtiles::{AsyncPmTilesReader, TileType};
    let db = demo_database().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("phong-dien.pmtiles");
    let baked = std::process::Command::new(env!("CARGO_BIN_EXE_diaba"))
        .args(["bake", "--ward", "31299", "--minzoom", "12", "--maxzoom", "16", "--database-url", &db.url])
        .arg(&out)
        .output()
        .unwrap();
    assert!(baked.status.success(), "{}", String::from_utf8_lossy(&baked.stderr));
    assert!(String::from_utf8_lossy(&baked.stdout).contains("tiles with features"));

    let reader = AsyncPmTilesReader::new_with_path(&out).await.unwrap();
    let header = reader.get_header();
    assert_eq!((header.min_zoom, header.max_zoom, header.tile_type), (12, 16, TileType::Mvt));
    let server = Server::with_database(&db.url);
    let client = Client::new();
    let (lon, lat, id) = phong_dien_parcel(&db).await;
    for z in 12..=16u8 {
        let tile = TileCoord::containing(lon, lat, z);
        let live = fetch(&client, &server, &format!("/tiles/all/{tile}.mvt"), &[]).await;
        assert_eq!(live.status, 200);
        let packed = reader
            .get_tile_decompressed(pmtiles::TileCoord::new(tile.z(), tile.x(), tile.y()).unwrap())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{tile} missing from the pack"));
        assert_eq!(packed.to_vec(), live.body, "{tile}: the pack holds the live tile");
    }
    assert!(reader.get_tile_decompressed(pmtiles::TileCoord::new(17, 0, 0).unwrap()).await.unwrap().is_none());

    // The served pack: whole, by range, and baked again after an edit in the ward.
    let first = fetch(&client, &server, "/v1/packs/31299.pmtiles", &[]).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("content-type"), "application/vnd.pmtiles");
    assert_eq!(&first.body[..8], b"PMTiles\x03");
    let head = fetch(&client, &server, "/v1/packs/31299.pmtiles", &[("range", "bytes=0-126")]).await;
    assert_eq!(head.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(head.body, first.body[..127]);
    let again = fetch(&client, &server, "/v1/packs/31299.pmtiles", &[]).await;
    assert_eq!(again.body, first.body, "an untouched pack is not baked again");

    let store = db.store().await;
    let token =
        store.add_user("registrar-pack", Role::Registrar, &["31299".into()], None).await.unwrap().1.reveal().to_owned();
    store.close().await.unwrap();
    let current = client.get(server.url(&format!("/v1/parcels/{id}"))).send().await.unwrap();
    let etag = current.headers()["etag"].to_str().unwrap().to_owned();
    let response = client
        .patch(server.url(&format!("/v1/parcels/{id}")))
        .bearer_auth(&token)
        .header("If-Match", etag)
        .json(&json!({ "land_uses": [{ "code": "TMD" }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let started = Instant::now();
    loop {
        let now = fetch(&client, &server, "/v1/packs/31299.pmtiles", &[]).await;
        if now.body != first.body {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "the pack still shows the parcel before its edit");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    for path in ["/v1/packs/99999.pmtiles", "/v1/packs/31299.zip"] {
        assert_problem(&client, &server, path, 404).await;
    }
}

#[tokio::test]
async fn packs_are_baked_in_a_private_directory_and_never_through_a_planted_link() {
    let db = demo_database().await;
    let server = Server::with_database(&db.url);
    // What a local attacker could do before: the packs' directory name was predictable
    // (/tmp/diaba-packs-<pid>), an existing directory was accepted, and files were created
    // through symbolic links, with diaba's rights (often root).
    let planted = std::env::temp_dir().join(format!("diaba-packs-{}", server.pid()));
    std::fs::create_dir_all(&planted).unwrap();
    let victim_dir = tempfile::tempdir().unwrap();
    let victim = victim_dir.path().join("precious.txt");
    std::fs::write(&victim, "not yours").unwrap();
    for name in [".31299.pmtiles.partial", "31299.pmtiles"] {
        let _ = std::fs::remove_file(planted.join(name));
        std::os::unix::fs::symlink(&victim, planted.join(name)).unwrap();
    }
    let client = reqwest::Client::new();
    let pack = client.get(server.url("/v1/packs/31299.pmtiles")).send().await.unwrap();
    assert_eq!(pack.status(), 200);
    let bytes = pack.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PMTiles"), "a real pack is served");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "not yours", "the planted link was followed");
    std::fs::remove_dir_all(&planted).unwrap();
}

fn property(feature: &mvt_reader::feature::Feature<f64>, key: &str) -> Option<mvt_reader::feature::Value> {
    feature.properties.as_ref().and_then(|p| p.get(key)).cloned()
}

#[tokio::test]
async fn each_lot_is_labelled_once_inside_it_and_roads_sheets_and_wards_are_named() {
    let db = demo_database().await;
    let server = Server::with_database(&db.url);
    let client = Client::new();
    let (lon, lat) = ninh_kieu_point(&db).await;
    let (tiles, doc) =
        (TileCoord::containing(lon, lat, 18), crate::server::get_json(&server.url("/tiles/all.json")).await.2);
    let listed: HashSet<&str> =
        doc["vector_layers"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
    for name in ["parcel_labels", "sheet_labels", "road_labels", "ward_labels"] {
        assert!(listed.contains(name), "TileJSON lists {name}: {listed:?}");
    }

    // A 3 × 3 block of z18 tiles: every lot's label is in one tile only, inside the lot.
    let mut labelled: HashMap<u64, TileCoord> = HashMap::new();
    let mut road_names = HashSet::new();
    for (dx, dy) in (0..9).map(|i| (i % 3, i / 3)) {
        let tile = TileCoord::new(18, tiles.x() + dx - 1, tiles.y() + dy - 1).unwrap();
        let path = format!("/tiles/all/{tile}.mvt");
        let fetched = fetch(&client, &server, &path, &[]).await;
        let layers = decode(&fetched.body, &path);
        let parcels: HashMap<u64, &mvt_reader::feature::Feature<f64>> =
            layers.get("parcels").into_iter().flatten().map(|f| (f.id.unwrap(), f)).collect();
        for label in layers.get("parcel_labels").into_iter().flatten() {
            let id = label.id.unwrap();
            assert!(labelled.insert(id, tile).is_none(), "{path}: lot {id} is labelled in two tiles");
            let lot = parcels.get(&id).unwrap_or_else(|| panic!("{path}: label of lot {id} without the lot"));
            let anchor = match &label.geometry {
                Geometry::Point(p) => *p,
                Geometry::MultiPoint(points) if points.0.len() == 1 => points.0[0],
                other => panic!("{path}: lot {id}'s label is {other:?}"),
            };
            let distance = Euclidean.distance(&anchor, &lot.geometry);
            assert!(distance <= 1.0, "{path}: lot {id}'s label is {distance} units outside it");
            for key in ["number", "land_use"] {
                assert_eq!(property(label, key), property(lot, key), "{path}: lot {id}'s {key}");
            }
            assert_eq!(property(label, "legal_area_m2"), property(lot, "legal_area_m2"), "{path}");
        }
        for road in layers.get("road_labels").into_iter().flatten() {
            let Some(mvt_reader::feature::Value::String(name)) = property(road, "name") else { panic!("{path}") };
            assert!(
                matches!(property(road, "kind"), Some(mvt_reader::feature::Value::String(k)) if k == "road" || k == "water")
            );
            road_names.insert(name);
        }
    }
    assert!(labelled.len() > 100, "only {} lots labelled around the Ninh Kiều point", labelled.len());
    assert!(
        !road_names.is_empty() && road_names.iter().all(|n| !n.is_empty() && !n.starts_with("Phường")),
        "{road_names:?}"
    );

    // Sheets at z15 and wards at z12, once each over the tiles covering Ninh Kiều.
    for (z, layer, key) in [(15u8, "sheet_labels", "sheet"), (12, "ward_labels", "name")] {
        let centre = TileCoord::containing(lon, lat, z);
        let mut seen = HashMap::new();
        for (dx, dy) in (0..9).map(|i| (i % 3, i / 3)) {
            let tile = TileCoord::new(u32::from(z), centre.x() + dx - 1, centre.y() + dy - 1).unwrap();
            let path = format!("/tiles/all/{tile}.mvt");
            let fetched = fetch(&client, &server, &path, &[]).await;
            for label in decode(&fetched.body, &path).remove(layer).unwrap_or_default() {
                let value = format!("{:?}/{:?}", property(&label, "ward_code"), property(&label, key));
                assert!(seen.insert(value.clone(), tile).is_none(), "{path}: {layer} {value} twice");
            }
        }
        assert!(!seen.is_empty(), "no {layer} around Ninh Kiều at z{z}");
        if layer == "ward_labels" {
            assert!(seen.keys().any(|k| k.contains("Phường Ninh Kiều")), "{seen:?}");
        }
    }
    // Below z18 lots carry no label; above z14 wards carry none.
    let z17 = fetch(&client, &server, &format!("/tiles/all/{}.mvt", TileCoord::containing(lon, lat, 17)), &[]).await;
    assert!(!decode(&z17.body, "z17").contains_key("parcel_labels"));
    assert!(!decode(&z17.body, "z17").contains_key("ward_labels"));
}

/// Top-level fields of a protobuf message: (field number, bytes of a length-delimited
/// value, or the varint). Enough to read glyph PBFs back without our generator's code.
fn protobuf_fields(mut bytes: &[u8]) -> Vec<(u64, Result<&[u8], u64>)> {
    fn varint(bytes: &mut &[u8]) -> u64 {
        let mut value = 0;
        for shift in (0..64).step_by(7) {
            let byte = bytes[0];
            *bytes = &bytes[1..];
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
        }
        value
    }
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes);
        match key & 7 {
            0 => out.push((key >> 3, Err(varint(&mut bytes)))),
            2 => {
                let len = usize::try_from(varint(&mut bytes)).unwrap();
                out.push((key >> 3, Ok(&bytes[..len])));
                bytes = &bytes[len..];
            }
            wire => panic!("unexpected wire type {wire}"),
        }
    }
    out
}

#[tokio::test]
async fn the_style_s_glyphs_come_from_diaba_and_cover_every_vietnamese_letter() {
    let db = demo_database().await;
    let server = Server::with_database(&db.url);
    let client = Client::new();
    let (_, _, style) = crate::server::get_json(&server.url("/tiles/style.json")).await;
    let glyphs = style["glyphs"].as_str().unwrap();
    assert_eq!(glyphs, format!("{}/fonts/{{fontstack}}/{{range}}.pbf", server.base));
    let fonts: HashSet<String> = style["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["type"] == "symbol")
        .flat_map(|l| {
            let text = serde_json::to_string(&l["layout"]).unwrap();
            diaba_glyphs::STYLE_FONTSTACKS.iter().filter(move |f| text.contains(*f)).map(ToString::to_string)
        })
        .collect();
    assert_eq!(fonts.len(), 3, "the style's labels use the three served fonts: {fonts:?}");

    let vietnamese = "aàảãáạăằẳẵắặâầẩẫấậbcdđeèẻẽéẹêềểễếệghiìỉĩíịklmnoòỏõóọôồổỗốộơờởỡớợpqrstuùủũúụưừửữứựvxyỳỷỹýỵ";
    let letters: Vec<u32> =
        vietnamese.chars().flat_map(|c| [c, c.to_uppercase().next().unwrap()]).map(u32::from).collect();
    for font in diaba_glyphs::STYLE_FONTSTACKS {
        let ranges: std::collections::BTreeSet<u32> = letters.iter().map(|c| c / 256 * 256).collect();
        for start in ranges {
            let path = format!("/fonts/{}/{start}-{}.pbf", font.replace(' ', "%20"), start + 255);
            let fetched = fetch(&client, &server, &path, &[]).await;
            assert_eq!(fetched.status, 200, "{path}");
            assert_eq!(fetched.header("content-type"), "application/x-protobuf", "{path}");
            // glyphs { stacks = 1 { name = 1, range = 2, glyphs = 3 { id = 1, bitmap = 2, width = 3, height = 4 } } }
            let stacks = protobuf_fields(&fetched.body);
            let [(1, Ok(stack))] = stacks[..] else { panic!("{path}: one fontstack") };
            let stack = protobuf_fields(stack);
            let text = |n| {
                stack
                    .iter()
                    .find(|(k, _)| *k == n)
                    .and_then(|(_, v)| v.ok())
                    .map(|b| String::from_utf8_lossy(b).into_owned())
            };
            assert_eq!(text(1).as_deref(), Some(font), "{path}");
            assert_eq!(text(2), Some(format!("{start}-{}", start + 255)), "{path}");
            let mut drawn = HashSet::new();
            for glyph in stack.iter().filter(|(k, _)| *k == 3).map(|(_, v)| protobuf_fields(v.unwrap())) {
                let number = |n| glyph.iter().find(|(k, _)| *k == n).and_then(|(_, v)| v.err()).unwrap_or(0);
                let bitmap =
                    glyph.iter().find(|(k, _)| *k == 2).and_then(|(_, v)| v.ok()).map_or(0, <[u8]>::len) as u64;
                let (width, height) = (number(3), number(4));
                if width > 0 {
                    assert_eq!(
                        bitmap,
                        (width + 6) * (height + 6),
                        "{path}: glyph {} is a 3-pixel-buffered SDF",
                        number(1)
                    );
                    drawn.insert(u32::try_from(number(1)).unwrap());
                }
            }
            let missing: Vec<char> = letters
                .iter()
                .filter(|c| **c / 256 * 256 == start && !drawn.contains(c))
                .filter_map(|c| char::from_u32(*c))
                .collect();
            assert!(missing.is_empty(), "{path}: no glyph for {missing:?}");
        }
    }
    for (path, status) in [
        ("/fonts/Comic%20Sans%20Regular/0-255.pbf", 404),
        ("/fonts/Noto%20Sans%20Regular/1-256.pbf", 404),
        ("/fonts/Noto%20Sans%20Regular/0-255.png", 404),
        ("/fonts/..%2F..%2Fetc%2Fpasswd/0-255.pbf", 404),
    ] {
        assert_problem(&client, &server, path, status).await;
    }
}

#[tokio::test]
async fn a_tile_of_a_past_day_draws_the_register_as_it_stood_and_today_s_shows_the_edit() {
    let db = demo_database().await;
    let (lon, lat) = ninh_kieu_point(&db).await;
    // The demo is seeded now: move its history a month back, before the node loads it.
    let mut conn = db.connect().await;
    sqlx::query("UPDATE parcel_version SET valid_from = valid_from - interval '30 days'")
        .execute(&mut conn)
        .await
        .unwrap();
    let server = Server::with_database(&db.url);
    let client = Client::new();
    let answer: Value =
        client.get(server.url(&format!("/v1/lookup?lat={lat}&lon={lon}"))).send().await.unwrap().json().await.unwrap();
    let id = answer["parcel"]["id"].as_i64().unwrap();
    let ward = answer["parcel"]["ward_code"].as_str().unwrap().to_owned();
    let store = db.store().await;
    let token = store.add_user("registrar-as-of", Role::Registrar, &[ward], None).await.unwrap().1.reveal().to_owned();
    store.close().await.unwrap();

    let tile = TileCoord::containing(lon, lat, 18);
    let today = diaba_core::AsOf::today().date();
    let yesterday = today.pred_opt().unwrap();
    let before_history = today - chrono::Days::new(60);
    let land_use = |fetched: &Fetched, what: &str| {
        let layers = decode(&fetched.body, what);
        let lot =
            layers["parcels"].iter().find(|f| f.id == Some(id as u64)).unwrap_or_else(|| panic!("{what}: no lot {id}"));
        property(lot, "land_use")
    };
    let path = |at: Option<chrono::NaiveDate>| match at {
        Some(day) => format!("/tiles/parcels/{tile}.mvt?at={day}"),
        None => format!("/tiles/parcels/{tile}.mvt"),
    };
    let old_yesterday = fetch(&client, &server, &path(Some(yesterday)), &[]).await;
    let old_use = land_use(&old_yesterday, "yesterday, before the edit");

    let new_use = change_land_use(&client, &server, &token, id).await;
    assert_ne!(old_use, Some(mvt_reader::feature::Value::String(new_use.into())));

    let started = Instant::now();
    loop {
        let now = fetch(&client, &server, &path(None), &[]).await;
        if land_use(&now, "today") == Some(mvt_reader::feature::Value::String(new_use.into())) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(2), "today's tile does not show the edit after 2 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dated_today = fetch(&client, &server, &path(Some(today)), &[]).await;
    assert_eq!(land_use(&dated_today, "at=today"), Some(mvt_reader::feature::Value::String(new_use.into())));
    let after_yesterday = fetch(&client, &server, &path(Some(yesterday)), &[]).await;
    assert_eq!(land_use(&after_yesterday, "yesterday, after the edit"), old_use, "yesterday's tile shows the edit");
    assert_eq!(after_yesterday.body, old_yesterday.body, "yesterday's tile is the same as before the edit");
    assert_eq!(after_yesterday.header("etag"), old_yesterday.header("etag"));
    // Before the register's history begins there is nothing to draw.
    assert_eq!(fetch(&client, &server, &path(Some(before_history)), &[]).await.status, StatusCode::NO_CONTENT);
    let bad = fetch(&client, &server, &format!("/tiles/parcels/{tile}.mvt?at=2025-02-30"), &[]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.header("content-type"), "application/problem+json");
}
