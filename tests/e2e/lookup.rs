//! `/v1/lookup` from the in-memory index against PostGIS `ST_Covers`, and two nodes
//! following one change feed. Demo data: synthetic (the as-of test also gives it an
//! invented history).

use crate::server::{Server, change_land_use};
use diaba_core::auth::Role;
use diaba_test_harness::{TestDb, demo_database, statements_naming};
use reqwest::Client;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// SplitMix64, seeded.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// PostGIS's answer for each point: (parcel id, current ward code), lowest id on ties.
async fn postgis_answers(db: &TestDb, points: &[(f64, f64)]) -> Vec<(Option<i64>, Option<String>)> {
    let mut conn = db.connect().await;
    let lons: Vec<f64> = points.iter().map(|p| p.0).collect();
    let lats: Vec<f64> = points.iter().map(|p| p.1).collect();
    sqlx::query_as(
        "SELECT (SELECT v.parcel_id FROM parcel_version v WHERE v.valid_to IS NULL AND ST_Covers(v.geom, pt) ORDER BY v.parcel_id LIMIT 1), \
                (SELECT u.code FROM admin_unit u WHERE u.level = 'ward' AND u.valid_to IS NULL AND u.valid_from <= CURRENT_DATE \
                   AND ST_Covers(u.geom, pt) ORDER BY u.id LIMIT 1) \
         FROM (SELECT ST_SetSRID(ST_MakePoint(x, y), 4326) pt, n FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY t(x, y, n)) s ORDER BY n",
    )
    .bind(&lons)
    .bind(&lats)
    .fetch_all(&mut conn)
    .await
    .unwrap()
}

async fn index_answers(client: &Client, server: &Server, points: &[(f64, f64)]) -> Vec<(Option<i64>, Option<String>)> {
    let mut out = Vec::with_capacity(points.len());
    for chunk in points.chunks(10_000) {
        let body =
            json!({ "points": chunk.iter().map(|(lon, lat)| json!({ "lat": lat, "lon": lon })).collect::<Vec<_>>() });
        let answer: Value =
            client.post(server.url("/v1/lookup")).json(&body).send().await.unwrap().json().await.unwrap();
        for result in answer["results"].as_array().unwrap() {
            out.push((result["parcel"]["id"].as_i64(), result["ward"]["code"].as_str().map(str::to_owned)));
        }
    }
    out
}

fn assert_same(
    points: &[(f64, f64)],
    index: &[(Option<i64>, Option<String>)],
    postgis: &[(Option<i64>, Option<String>)],
    what: &str,
) {
    assert_eq!(index.len(), postgis.len());
    let disagreements: Vec<String> = points
        .iter()
        .zip(index.iter().zip(postgis))
        .filter(|(_, (a, b))| a != b)
        .take(5)
        .map(|(p, (a, b))| format!("{p:?}: index {a:?}, PostGIS {b:?}"))
        .collect();
    assert!(disagreements.is_empty(), "{what}: index and ST_Covers disagree: {disagreements:#?}");
}

#[tokio::test]
async fn lookups_agree_with_st_covers_on_100_000_random_points_and_10_000_edge_points() {
    let db = demo_database().await;
    let server = Server::with_database(&db.url);
    let client = Client::new();
    let mut conn = db.connect().await;
    // Random points over the parcel fabric of each ward (so most hit a parcel) and beyond.
    let boxes: Vec<(f64, f64, f64, f64)> = sqlx::query_as(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) \
         FROM (SELECT ST_Extent(geom) e FROM parcel_version WHERE valid_to IS NULL GROUP BY ward_code) s",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut rng = Seeded(7);
    let mut points = Vec::with_capacity(100_000);
    for i in 0..100_000 {
        let (x0, y0, x1, y1) = boxes[i % boxes.len()];
        points.push((x0 + rng.next() * (x1 - x0), y0 + rng.next() * (y1 - y0)));
    }
    let index = index_answers(&client, &server, &points).await;
    let postgis = postgis_answers(&db, &points).await;
    let hits = index.iter().filter(|(p, _)| p.is_some()).count();
    // The neighbourhoods are round and their boxes square: most points, not all, hit a parcel.
    assert!(hits > 40_000, "only {hits} of the random points hit a parcel: the test would prove little");
    assert_same(&points, &index, &postgis, "random points");

    // Vertices and edge midpoints of parcels: shared by neighbours, the hardest cases.
    let edge_points: Vec<(f64, f64)> = sqlx::query_as(
        "(SELECT ST_X(d.geom), ST_Y(d.geom) FROM (SELECT (ST_DumpPoints(geom)).geom FROM parcel_version \
           WHERE valid_to IS NULL AND parcel_id % 2 = 0) d LIMIT 5000) \
         UNION ALL \
         (SELECT ST_X(m), ST_Y(m) FROM (SELECT ST_LineInterpolatePoint((ST_DumpSegments(geom)).geom, 0.5) m \
            FROM parcel_version WHERE valid_to IS NULL AND parcel_id % 3 = 0) s LIMIT 5000)",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(edge_points.len(), 10_000);
    let index = index_answers(&client, &server, &edge_points).await;
    let postgis = postgis_answers(&db, &edge_points).await;
    assert_same(&edge_points, &index, &postgis, "edge points");
    // A computed midpoint of a slanted edge can fall a rounding error outside both of its
    // parcels; vertices and most midpoints are covered (by both sides alike).
    let covered = index.iter().filter(|(p, _)| p.is_some()).count();
    assert!(covered > 9_000, "only {covered} of 10 000 edge points are covered: they are not on the edges");
}

#[tokio::test]
async fn a_lookup_answers_ward_parcel_vpostcode_and_flags_bad_input() {
    let db = demo_database().await;
    let server = Server::with_database(&db.url);
    let mut conn = db.connect().await;
    let (lon, lat, id): (f64, f64, i64) = sqlx::query_as(
        "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)), parcel_id FROM parcel_version \
         WHERE ward_code = '31135' AND valid_to IS NULL ORDER BY parcel_id LIMIT 1",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let body: Value =
        reqwest::get(server.url(&format!("/v1/lookup?lat={lat}&lon={lon}"))).await.unwrap().json().await.unwrap();
    assert_eq!(body["ward"]["code"], "31135", "{body}");
    assert_eq!(body["parcel"]["id"], id);
    assert!(body["vpostcode"].as_str().unwrap().starts_with("94119 "), "{body}");
    assert!(body["district"].is_null());
    let old: Value = reqwest::get(server.url(&format!("/v1/lookup?lat={lat}&lon={lon}&at=2024-06-01")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(old["district"]["code"], "916", "{old}");
    assert!(old["parcel"].is_null(), "the demo parcels did not exist in 2024: {old}");
    for (query, status) in [
        ("lat=abc&lon=105.78", 400),
        ("lat=10.03", 400),
        ("lat=21.03&lon=105.85", 404),
        ("lat=10.03&lon=105.78&at=x", 400),
    ] {
        let response = reqwest::get(server.url(&format!("/v1/lookup?{query}"))).await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{query}");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
    }
    let too_many = json!({ "points": vec![json!({ "lat": 10.03, "lon": 105.78 }); 10_001] });
    let response = Client::new().post(server.url("/v1/lookup")).json(&too_many).send().await.unwrap();
    assert_eq!(response.status(), 413);
}

async fn registrar_token(db: &TestDb) -> String {
    let store = db.store().await;
    let token = store
        .add_user("registrar-two-nodes", Role::Registrar, &["31135".into()], None)
        .await
        .unwrap()
        .1
        .reveal()
        .to_owned();
    store.close().await.unwrap();
    token
}

/// A free 20 m × 20 m square in Ninh Kiều ward, `slot` squares east of a free point.
async fn free_square(db: &TestDb, slot: f64) -> (Value, f64, f64) {
    let mut conn = db.connect().await;
    let (e, n): (f64, f64) = sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_PointOnSurface(ST_Difference(w.geom, \
           (SELECT ST_Buffer(ST_Union(geom), 0.002) FROM parcel_version WHERE ward_code = '31135'))), 5897) p \
         FROM admin_unit w WHERE w.code = '31135' AND w.valid_to IS NULL) s",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let e = e + slot * 25.0;
    let square = json!({ "type": "Polygon", "coordinates": [[[e, n], [e + 20.0, n], [e + 20.0, n + 20.0], [e, n + 20.0], [e, n]]] });
    let centre: (f64, f64) =
        sqlx::query_as("SELECT ST_X(p), ST_Y(p) FROM ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), 5897), 4326) p")
            .bind(e + 10.0)
            .bind(n + 10.0)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    (square, centre.0, centre.1)
}

async fn create(server: &Server, token: &str, square: Value, number: i32) -> i64 {
    let body = json!({ "ward": "31135", "sheet": 900, "number": number, "geometry": square, "crs": "EPSG:5897", "land_uses": [{ "code": "ODT" }] });
    let response = Client::new().post(server.url("/v1/parcels")).bearer_auth(token).json(&body).send().await.unwrap();
    let status = response.status();
    let created: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{created}");
    created["id"].as_i64().unwrap()
}

/// Polls a node's lookup until it names `id` at the point, returning how long it took.
async fn seen_within(server: &Server, lon: f64, lat: f64, id: i64, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        let body: Value =
            reqwest::get(server.url(&format!("/v1/lookup?lat={lat}&lon={lon}"))).await.unwrap().json().await.unwrap();
        if body["parcel"]["id"].as_i64() == Some(id) {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

#[tokio::test]
async fn a_write_through_one_node_is_seen_by_another_within_a_second_even_after_it_lost_its_connection() {
    let db = demo_database().await;
    let token = registrar_token(&db).await;
    let a = Server::with_database(&db.url);
    let b = Server::with_database(&db.url);

    let (square, lon, lat) = free_square(&db, 0.0).await;
    let id = create(&a, &token, square, 1).await;
    let took = seen_within(&b, lon, lat, id, Duration::from_secs(1)).await;
    assert!(took.is_some(), "node B did not see the new parcel within 1 s");

    // Cut every database connection of node B, then write through A.
    let mut conn = db.connect().await;
    let killed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1) s",
    )
    .bind(format!("diaba-{}", b.pid()))
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(killed >= 1, "node B had no connection to cut");
    let (square, lon, lat) = free_square(&db, 1.0).await;
    let second = create(&a, &token, square, 2).await;
    let took = seen_within(&b, lon, lat, second, Duration::from_secs(10)).await;
    assert!(took.is_some(), "node B did not catch up after reconnecting");
}

#[tokio::test]
async fn an_as_of_batch_is_answered_from_memory_edits_included_and_agrees_with_postgis() {
    let db = demo_database().await;
    let client = Client::new();
    let mut conn = db.connect().await;
    // A history: every parcel registered in 2020, and one in three closed in mid-2024 (the
    // demo is seeded today, with no past). Then 2024 sees all of them, some from closed
    // versions, and 2099 the live two thirds. Written in SQL, past the change feed, so
    // before the node starts and loads it.
    sqlx::raw_sql(
        "UPDATE parcel_version SET valid_from = '2020-01-01'; \
         UPDATE parcel_version SET valid_to = '2024-06-01' WHERE parcel_id % 3 = 0",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let server = Server::with_database(&db.url);
    // Points on parcels (closed ones among them) and scattered ones, most on no parcel.
    let mut points: Vec<(f64, f64)> = sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM parcel_version ORDER BY id LIMIT 300) s",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut rng = Seeded(17);
    points.extend((0..1_700).map(|_| (105.76 + rng.next() * 0.04, 10.02 + rng.next() * 0.03)));

    // An edit through the API once the node runs: the version it closes reaches the node by
    // the feed, and must answer for 2024 while today shows the new one.
    let (edited, lon, lat, version): (i64, f64, f64, i32) = sqlx::query_as(
        "SELECT parcel_id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)), version \
         FROM parcel_version WHERE ward_code = '31135' AND valid_to IS NULL ORDER BY parcel_id LIMIT 1",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    points.push((lon, lat));
    let before: Value =
        reqwest::get(server.url(&format!("/v1/lookup?lat={lat}&lon={lon}"))).await.unwrap().json().await.unwrap();
    let old_uses = before["parcel"]["land_uses"].clone();
    assert_eq!(before["parcel"]["version"], version, "{before}");
    let new_use = change_land_use(&client, &server, &registrar_token(&db).await, edited).await;
    let started = Instant::now();
    loop {
        let today: Value =
            reqwest::get(server.url(&format!("/v1/lookup?lat={lat}&lon={lon}"))).await.unwrap().json().await.unwrap();
        if today["parcel"]["version"].as_i64() == Some(i64::from(version) + 1) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(2), "today's lookup does not show the edit after 2 s: {today}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let mut found = Vec::new();
    for (day, instant) in [("2024-01-01", "2024-01-01T12:00:00+07:00"), ("2099-01-01", "2099-01-01T12:00:00+07:00")] {
        let body = json!({
            "points": points.iter().map(|(lon, lat)| json!({ "lat": lat, "lon": lon })).collect::<Vec<_>>(),
            "at": day,
        });
        let before = statements_naming(&db, "parcel_version").await;
        let answer: Value =
            client.post(server.url("/v1/lookup")).json(&body).send().await.unwrap().json().await.unwrap();
        let statements = statements_naming(&db, "parcel_version").await - before;
        // Once two queries per point (4 000 here), then one statement per batch; now the
        // index keeps the closed versions and answers every day itself.
        assert_eq!(statements, 0, "statements reading parcels for one as-of batch of 2 001 points on {day}");
        let results = answer["results"].as_array().unwrap();
        assert_eq!(results.len(), points.len());
        let reference = postgis_answers_at(&db, &points, instant).await;
        for ((result, parcel), point) in results.iter().zip(&reference).zip(&points) {
            assert_eq!(result["parcel"]["id"].as_i64(), *parcel, "parcel at {point:?} as of {day}");
        }
        let edited_answer = &results.last().unwrap()["parcel"];
        assert_eq!(edited_answer["id"], edited, "{day}");
        let (expected_version, expected_uses) =
            if day == "2024-01-01" { (version, old_uses.clone()) } else { (version + 1, json!([new_use])) };
        assert_eq!(edited_answer["version"], expected_version, "the edited parcel's version as of {day}");
        assert_eq!(edited_answer["land_uses"], expected_uses, "the edited parcel's land uses as of {day}");
        found.push(reference.iter().flatten().count());
    }
    assert!(found[1] >= 150, "the live parcels under the 300 points: {found:?}");
    assert!(found[0] >= found[1] + 75, "the closed versions answer for 2024 only: {found:?}");
}

/// The parcel covering each point at `instant` by PostGIS, point by point (lowest id).
async fn postgis_answers_at(db: &TestDb, points: &[(f64, f64)], instant: &str) -> Vec<Option<i64>> {
    let mut conn = db.connect().await;
    let (lons, lats): (Vec<f64>, Vec<f64>) = points.iter().copied().unzip();
    sqlx::query_scalar(
        "SELECT (SELECT v.parcel_id FROM parcel_version v WHERE v.valid_from < $3::timestamptz \
                   AND (v.valid_to IS NULL OR v.valid_to >= $3::timestamptz) AND ST_Covers(v.geom, pt) \
                 ORDER BY v.parcel_id LIMIT 1) \
         FROM (SELECT ST_SetSRID(ST_MakePoint(x, y), 4326) pt, n FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY t(x, y, n)) s ORDER BY n",
    )
    .bind(&lons)
    .bind(&lats)
    .bind(instant)
    .fetch_all(&mut conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_batch_answers_each_point_in_its_place_as_a_single_lookup_would_errors_included() {
    let db = demo_database().await;
    let server = Server::with_database(&db.url);
    let client = Client::new();
    // Points scattered over three wards, with bad ones among them: the batch answers them
    // in another order inside (along a curve, on every core) and must put each back.
    let mut rng = Seeded(29);
    let mut points: Vec<(f64, f64)> =
        (0..300).map(|_| (105.70 + rng.next() * 0.12, 9.98 + rng.next() * 0.08)).collect();
    for (slot, bad) in [(0, (105.78, 95.0)), (57, (105.85, 21.03)), (150, (200.0, 10.03)), (299, (105.85, 21.03))] {
        points[slot] = bad;
    }
    let body =
        json!({ "points": points.iter().map(|(lon, lat)| json!({ "lat": lat, "lon": lon })).collect::<Vec<_>>() });
    let answer: Value = client.post(server.url("/v1/lookup")).json(&body).send().await.unwrap().json().await.unwrap();
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), points.len());
    let mut failed = 0;
    for (result, (lon, lat)) in results.iter().zip(&points) {
        let single = client.get(server.url(&format!("/v1/lookup?lat={lat}&lon={lon}"))).send().await.unwrap();
        let status = single.status();
        let single: Value = single.json().await.unwrap();
        if status.is_success() {
            assert_eq!(result, &single, "the batch's answer at lat {lat}, lon {lon} differs from GET's");
        } else {
            failed += 1;
            let error =
                result["error"].as_str().unwrap_or_else(|| panic!("no error object at lat {lat}, lon {lon}: {result}"));
            assert_eq!(result.as_object().unwrap().len(), 1, "{result}");
            let detail = single["detail"].as_str().unwrap();
            assert!(error.contains(detail), "the batch says {error:?} where GET says {detail:?}");
        }
    }
    assert!(failed >= 4, "the bad points must fail: {failed}");
    assert!(failed < 100, "most points lie in the city: {failed} failed");
}
