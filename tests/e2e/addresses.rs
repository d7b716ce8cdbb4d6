//! Household addresses: field submissions with idempotency keys (retried, shuffled,
//! concurrent), offline batches, review, search, Vpostcodes, progress and export.

use crate::server::Server;
use diaba_core::auth::Role;
use diaba_test_harness::{TestDb, demo_database};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const NINH_KIEU: &str = "31135";
const CAI_KHE: &str = "31120";
const PHONG_DIEN: &str = "31299";

struct Field {
    db: TestDb,
    server: Server,
    client: Client,
    collector: String,
    registrar: String,
}

impl Field {
    async fn start() -> Field {
        let db = demo_database().await;
        let store = db.store().await;
        let collector = store
            .add_user("collector-nk", Role::Collector, &[NINH_KIEU.into(), CAI_KHE.into()], Some("Tổ CNSCĐ thử nghiệm"))
            .await
            .unwrap()
            .1
            .reveal()
            .to_owned();
        let registrar = store
            .add_user("registrar-nk", Role::Registrar, &[NINH_KIEU.into(), CAI_KHE.into()], None)
            .await
            .unwrap()
            .1
            .reveal()
            .to_owned();
        store.close().await.unwrap();
        let server = Server::with_database(&db.url);
        Field { db, server, client: Client::new(), collector, registrar }
    }

    /// `n` seeded random points inside a current ward (PostGIS ST_GeneratePoints).
    async fn points_in(&self, ward: &str, n: i32, seed: i32) -> Vec<(f64, f64)> {
        let mut conn = self.db.connect().await;
        sqlx::query_as(
            "SELECT ST_X(g), ST_Y(g) FROM (SELECT (ST_Dump(ST_GeneratePoints(geom, $2, $3))).geom g FROM admin_unit \
             WHERE code = $1 AND level = 'ward' AND valid_to IS NULL) s",
        )
        .bind(ward)
        .bind(n)
        .bind(seed)
        .fetch_all(&mut conn)
        .await
        .unwrap()
    }

    async fn count(&self, sql: &str) -> i64 {
        let mut conn = self.db.connect().await;
        sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
    }

    async fn submit(&self, token: &str, key: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.server.url("/v1/addresses/submissions"))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn review(&self, id: i64, decision: &str, version: i64, reason: Option<&str>) -> (StatusCode, Value) {
        let mut request = self
            .client
            .post(self.server.url(&format!("/v1/addresses/submissions/{id}/{decision}")))
            .bearer_auth(&self.registrar)
            .header("If-Match", format!("\"{version}\""));
        if let Some(reason) = reason {
            request = request.json(&json!({ "reason": reason }));
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self.client.get(self.server.url(path)).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

fn household(lon: f64, lat: f64, number: &str, street: &str) -> Value {
    json!({
        "lat": lat, "lon": lon, "accuracy_m": 4.5, "house_number": number, "street": street,
        "head_name": "Nguyễn Văn Thử (synthetic)", "device_id": "test-phone-1",
        // Fixed: a phone resends the very same body.
        "captured_at": "2026-11-20T09:15:00+07:00",
    })
}

#[tokio::test]
async fn a_thousand_submissions_sent_three_times_shuffled_and_concurrently_make_a_thousand_records() {
    let f = Arc::new(Field::start().await);
    let points = f.points_in(NINH_KIEU, 1000, 11).await;
    assert_eq!(points.len(), 1000);
    let mut sends: Vec<usize> = (0..3000).map(|i| i % 1000).collect();
    // Deterministic shuffle (Fisher–Yates with an LCG).
    let mut state = 42u64;
    for i in (1..sends.len()).rev() {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        sends.swap(i, (state >> 33) as usize % (i + 1));
    }
    let limit = Arc::new(tokio::sync::Semaphore::new(24));
    let mut tasks = tokio::task::JoinSet::new();
    for i in sends {
        let (f, limit) = (f.clone(), limit.clone());
        let (lon, lat) = points[i];
        tasks.spawn(async move {
            let _permit = limit.acquire().await.unwrap();
            let body = household(lon, lat, &format!("{}", i + 1), "Đường thử nghiệm (synthetic)");
            let (status, answer) = f.submit(&f.collector, &format!("key-{i}"), &body).await;
            (i, status, answer["address"]["id"].as_i64())
        });
    }
    let mut by_key: HashMap<usize, Vec<(StatusCode, Option<i64>)>> = HashMap::new();
    while let Some(done) = tasks.join_next().await {
        let (i, status, id) = done.unwrap();
        by_key.entry(i).or_default().push((status, id));
    }
    for (i, answers) in &by_key {
        let created = answers.iter().filter(|(s, _)| *s == StatusCode::CREATED).count();
        let replayed = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
        assert_eq!((created, replayed), (1, 2), "key-{i}: {answers:?}");
        assert!(answers.iter().all(|(_, id)| id.is_some() && *id == answers[0].1), "key-{i}: {answers:?}");
    }
    assert_eq!(f.count("SELECT count(*) FROM address WHERE source = 'field'").await, 1000);
    assert_eq!(f.count("SELECT count(DISTINCT house_number) FROM address WHERE source = 'field'").await, 1000);

    // The same key with another body is refused, and writes nothing.
    let (lon, lat) = points[0];
    let (status, problem) = f.submit(&f.collector, "key-0", &household(lon, lat, "999", "Đường khác")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(f.count("SELECT count(*) FROM address WHERE source = 'field'").await, 1000);
}

#[tokio::test]
async fn a_batch_of_500_with_10_bad_items_accepts_490_and_answers_each_in_order() {
    let f = Field::start().await;
    let points = f.points_in(NINH_KIEU, 500, 12).await;
    let outside = f.points_in(PHONG_DIEN, 1, 3).await[0];
    let before = f.count("SELECT count(*) FROM address").await;
    let mut items: Vec<Value> = Vec::new();
    let mut bad = HashMap::new();
    for (i, (lon, lat)) in points.iter().enumerate() {
        let mut item = household(*lon, *lat, &format!("{}/{}", i + 1, i % 7 + 1), "Hẻm 51 Đường 3 Tháng 2");
        item["idempotency_key"] = json!(format!("batch-{i}"));
        if i % 50 == 7 {
            let (reason, status) = match i / 50 {
                0 => {
                    item["accuracy_m"] = json!(42.0);
                    ("accuracy_m", 422)
                }
                1 => {
                    item.as_object_mut().unwrap().remove("house_number");
                    ("house_number", 422)
                }
                2 => {
                    item["lat"] = json!("abc");
                    ("lat", 422)
                }
                3 => {
                    item["lat"] = json!(outside.1);
                    item["lon"] = json!(outside.0);
                    ("not among your wards", 403)
                }
                4 => {
                    item.as_object_mut().unwrap().remove("idempotency_key");
                    ("Idempotency-Key", 400)
                }
                5 => {
                    item["lat"] = json!(10.9);
                    ("outside", 422)
                }
                6 => {
                    item["vpostcode"] = json!("94107 9QCJ+2VX");
                    ("vpostcode", 422)
                }
                7 => {
                    item.as_object_mut().unwrap().remove("street");
                    ("street", 422)
                }
                8 => {
                    item["captured_at"] = json!("2999-01-01T00:00:00Z");
                    ("captured_at", 422)
                }
                _ => {
                    item["house_number"] = json!("   ");
                    ("house_number", 422)
                }
            };
            bad.insert(i, (reason, status));
        }
        items.push(item);
    }
    assert_eq!(bad.len(), 10);
    let response = f
        .client
        .post(f.server.url("/v1/addresses/submissions/batch"))
        .bearer_auth(&f.collector)
        .json(&json!({ "submissions": items }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 500);
    let mut accepted = 0;
    for (i, result) in results.iter().enumerate() {
        assert_eq!(result["index"], i, "answers keep the queue's order");
        match bad.get(&i) {
            Some((reason, status)) => {
                assert_eq!(result["status"], *status, "item {i}: {result}");
                let text = result["body"].to_string();
                assert!(text.contains(reason), "item {i} should explain {reason}: {text}");
            }
            None => {
                assert_eq!(result["status"], 201, "item {i}: {result}");
                accepted += 1;
            }
        }
    }
    assert_eq!(accepted, 490);
    assert_eq!(f.count("SELECT count(*) FROM address").await, before + 490);

    // Over the limit: refused whole, nothing written.
    let too_many: Vec<Value> = (0..501).map(|i| json!({ "idempotency_key": format!("x{i}") })).collect();
    let response = f
        .client
        .post(f.server.url("/v1/addresses/submissions/batch"))
        .bearer_auth(&f.collector)
        .json(&json!({ "submissions": too_many }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(f.count("SELECT count(*) FROM address").await, before + 490);
}

/// Submits and verifies one household; returns its record.
async fn verified(f: &Field, key: &str, lon: f64, lat: f64, number: &str, street: &str) -> Value {
    let (status, created) = f.submit(&f.collector, key, &household(lon, lat, number, street)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["address"]["id"].as_i64().unwrap();
    let (status, done) = f.review(id, "verify", 1, None).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["address"]["status"], "verified");
    done["address"].clone()
}

#[tokio::test]
async fn search_ignores_diacritics_and_finds_old_ward_names() {
    let f = Field::start().await;
    let (lon, lat) = f.points_in(NINH_KIEU, 1, 21).await[0];
    let cu = verified(&f, "s1", lon, lat, "77/5B", "Đường Nguyễn Văn Cừ").await;
    let (lon, lat) = f.points_in(CAI_KHE, 1, 22).await[0];
    let an_hoa = verified(&f, "s2", lon, lat, "12/3A", "Đường Trần Văn Khéo").await;

    // Searchable within a second of verification (the engine follows the change feed): the
    // later of the two verifications is waited for.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    while std::time::Instant::now() < deadline {
        let (_, found) = f.get("/v1/addresses?q=An%20H%C3%B2a%2012%2F3A").await;
        if found["results"].as_array().is_some_and(|r| r.iter().any(|r| r["id"] == an_hoa["id"])) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (status, found) = f.get("/v1/addresses?q=nguyen%20van%20cu%20ninh%20kieu&limit=100").await;
    assert_eq!(status, 200, "{found}");
    let results = found["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["id"] == cu["id"]), "{found}");
    for r in results {
        assert_eq!(r["ward_code"], NINH_KIEU, "{r}");
        assert!(diaba_core::fold(r["street"].as_str().unwrap()).contains("nguyen van cu"), "{r}");
        assert!(r.get("head_name").is_none_or(Value::is_null), "no personal data in search");
    }

    let (status, found) = f.get("/v1/addresses?q=An%20H%C3%B2a%2012%2F3A").await;
    assert_eq!(status, 200);
    let results = found["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["id"] == an_hoa["id"]), "old ward name finds the address: {found}");
    let (_, by_old_name) = f.get("/v1/addresses?q=an%20hoa&limit=100").await;
    let results = by_old_name["results"].as_array().unwrap();
    assert!(!results.is_empty());
    assert!(results.iter().all(|r| r["ward_code"] == CAI_KHE), "An Hòa is now part of Cái Khế: {by_old_name}");

    // Any text: a normal answer or a 400, never a 500.
    let long = "ầ".repeat(5_000);
    for q in
        ["", "%25", "%5F%25%5C", "%F0%9F%92%A5%F0%9F%92%A5", "'%3B%20DROP%20TABLE%20address%3B--", long.as_str(), "%00"]
    {
        let (status, body) = f.get(&format!("/v1/addresses?q={q}")).await;
        assert!(status == 200 || status == 400, "q={}: {status} {body}", &q[..q.len().min(40)]);
    }
}

#[tokio::test]
async fn a_verified_address_is_in_lookup_and_tiles_and_a_rejected_one_in_neither() {
    let f = Field::start().await;
    let points = f.points_in(NINH_KIEU, 2, 31).await;
    let (status, a) = f.submit(&f.collector, "a", &household(points[0].0, points[0].1, "5", "Đường Mậu Thân")).await;
    assert_eq!(status, 201, "{a}");
    let (status, b) = f.submit(&f.collector, "b", &household(points[1].0, points[1].1, "6", "Đường Mậu Thân")).await;
    assert_eq!(status, 201, "{b}");
    let (a_id, b_id) = (a["address"]["id"].as_i64().unwrap(), b["address"]["id"].as_i64().unwrap());

    let (_, pending) = f
        .get_with(&f.registrar, &format!("/v1/addresses/submissions?status=pending&ward={NINH_KIEU}&limit=1000"))
        .await;
    let ids: Vec<i64> = pending["submissions"].as_array().unwrap().iter().map(|s| s["id"].as_i64().unwrap()).collect();
    assert!(ids.contains(&a_id) && ids.contains(&b_id), "both wait for review");

    assert_eq!(f.review(a_id, "verify", 2, None).await.0, StatusCode::PRECONDITION_FAILED, "stale If-Match");
    assert_eq!(f.review(a_id, "verify", 1, None).await.0, 200);
    assert_eq!(f.review(b_id, "reject", 1, None).await.0, 422, "a rejection needs a reason");
    let (status, rejected) = f.review(b_id, "reject", 1, Some("trùng hộ đã có (test)")).await;
    assert_eq!(status, 200, "{rejected}");
    assert_eq!(f.review(b_id, "verify", 2, None).await.0, StatusCode::CONFLICT, "already decided");

    let lookup_address = |lon: f64, lat: f64| {
        let f = &f;
        async move { f.get(&format!("/v1/lookup?lat={lat}&lon={lon}")).await.1["address"]["id"].as_i64() }
    };
    let started = Instant::now();
    while lookup_address(points[0].0, points[0].1).await != Some(a_id) {
        assert!(started.elapsed() < Duration::from_secs(2), "verified address not in lookup after 2 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_ne!(lookup_address(points[1].0, points[1].1).await, Some(b_id), "a rejected address is not in lookup");

    for (id, (lon, lat), wanted) in [(a_id, points[0], true), (b_id, points[1], false)] {
        let tile = diaba_tiles::TileCoord::containing(lon, lat, 18);
        let response = f.client.get(f.server.url(&format!("/tiles/addresses/{tile}.mvt"))).send().await.unwrap();
        let ids: Vec<u64> = if response.status() == 200 {
            let reader = mvt_reader::Reader::new(response.bytes().await.unwrap().to_vec()).unwrap();
            reader.get_features(0).unwrap().iter().filter_map(|f| f.id).collect()
        } else {
            Vec::new()
        };
        assert_eq!(ids.contains(&(id as u64)), wanted, "address {id} in tile {tile}: {ids:?}");
    }

    assert_eq!(f.get(&format!("/v1/addresses/{b_id}")).await.0, 404, "rejected: not public");
    let (status, own) = f.get_with(&f.collector, &format!("/v1/addresses/{b_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(own["address"]["status_reason"], "trùng hộ đã có (test)", "the collector sees why");
    let (status, public) = f.get(&format!("/v1/addresses/{a_id}")).await;
    assert_eq!(status, 200);
    assert!(public["address"]["head_name"].is_null() && public["address"]["device_id"].is_null());
    let (status, near) = f.get(&format!("/v1/addresses/nearest?lat={}&lon={}", points[0].1, points[0].0)).await;
    assert_eq!((status, near["address"]["id"].as_i64()), (StatusCode::OK, Some(a_id)));

    // A second household 1 m away gets a warning naming the first.
    let (status, second) =
        f.submit(&f.collector, "a2", &household(points[0].0 + 0.00001, points[0].1, "5A", "Đường Mậu Thân")).await;
    assert_eq!(status, 201);
    assert_eq!(second["warnings"][0]["address_id"], a_id, "{second}");

    let (status, stats) = f.get(&format!("/v1/addresses/stats?ward={NINH_KIEU}")).await;
    assert_eq!(status, 200);
    let ward = &stats["wards"][0];
    assert_eq!(ward["ward_code"], NINH_KIEU);
    let n = |k: &str| ward[k].as_i64().unwrap();
    assert_eq!(n("digitised"), n("verified") + n("pending") + n("rejected"));
    let team = ward["teams"].as_array().unwrap().iter().find(|t| t["team"] == "Tổ CNSCĐ thử nghiệm").expect("our team");
    assert_eq!(
        (team["digitised"].as_i64(), team["verified"].as_i64(), team["rejected"].as_i64()),
        (Some(3), Some(1), Some(1))
    );
    assert!(!stats["over_time"].as_array().unwrap().is_empty());
}

impl Field {
    async fn get_with(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let response = self.client.get(self.server.url(path)).bearer_auth(token).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn bad_submissions_get_a_clear_problem_and_write_nothing() {
    let f = Field::start().await;
    let (lon, lat) = f.points_in(NINH_KIEU, 1, 41).await[0];
    let good = household(lon, lat, "1", "Đường Hòa Bình");
    let before = f.count("SELECT count(*) FROM address").await + f.count("SELECT count(*) FROM idempotency_key").await;

    let anonymous = f.client.post(f.server.url("/v1/addresses/submissions")).json(&good).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(f.submit(&f.registrar, "r", &good).await.0, 403, "registrars review, collectors submit");
    let no_key = f
        .client
        .post(f.server.url("/v1/addresses/submissions"))
        .bearer_auth(&f.collector)
        .json(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), 400);
    let garbled = f
        .client
        .post(f.server.url("/v1/addresses/submissions"))
        .bearer_auth(&f.collector)
        .header("Idempotency-Key", "g")
        .header("content-type", "application/json")
        .body("{\"lat\": 10.0,")
        .send()
        .await
        .unwrap();
    assert_eq!(garbled.status(), 400);
    let mut poor = good.clone();
    poor["accuracy_m"] = json!(16);
    let (status, problem) = f.submit(&f.collector, "p", &poor).await;
    assert_eq!(status, 422);
    assert_eq!(problem["field"], "accuracy_m");
    assert!(problem["detail"].as_str().unwrap().contains("15 m"), "{problem}");
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("lat");
    let (status, problem) = f.submit(&f.collector, "m", &missing).await;
    assert_eq!(status, 422);
    assert!(problem["detail"].as_str().unwrap().contains("lat"), "{problem}");
    let mut wrong_code = good.clone();
    wrong_code["vpostcode"] = json!("94119 2QMM+262");
    let (status, problem) = f.submit(&f.collector, "w", &wrong_code).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["field"], "vpostcode");
    let after = f.count("SELECT count(*) FROM address").await + f.count("SELECT count(*) FROM idempotency_key").await;
    assert_eq!(after, before, "refused submissions leave nothing behind");

    // Vpostcodes: encode, decode back to a cell holding the point, mismatches explained.
    let (status, encoded) = f.get(&format!("/v1/vpostcode?lat={lat}&lon={lon}")).await;
    assert_eq!(status, 200);
    let code = encoded["vpostcode"].as_str().unwrap().to_owned();
    let (status, decoded) = f.get(&format!("/v1/vpostcode/{}", code.replace(' ', "%20").replace('+', "%2B"))).await;
    assert_eq!(status, 200, "{decoded}");
    let cell = &decoded["cell"];
    assert!(cell["south"].as_f64().unwrap() <= lat && lat <= cell["north"].as_f64().unwrap());
    assert!(cell["west"].as_f64().unwrap() <= lon && lon <= cell["east"].as_f64().unwrap());
    let other_postcode = if code.starts_with("94119") { "94107" } else { "94119" };
    let (status, problem) = f.get(&format!("/v1/vpostcode/{other_postcode}{}", &code[6..].replace('+', ""))).await;
    assert_eq!(status, 422, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("do not match"), "{problem}");
    assert_eq!(f.get("/v1/vpostcode/hello").await.0, 400);
    assert_eq!(f.get("/v1/vpostcode/999999QCJ2VX").await.0, 404);
}

#[tokio::test]
async fn verified_addresses_export_as_csv_without_personal_data() {
    let db = demo_database().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_diaba"))
        .args(["export", "--layer", "addresses", "--format", "csv", "--ward", NINH_KIEU, "--database-url", &db.url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert!(headers.contains(&"vpostcode".to_string()) && headers.contains(&"house_number".to_string()));
    assert!(!headers.iter().any(|h| h.contains("head") || h.contains("device")), "{headers:?}");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let mut conn = db.connect().await;
    let verified: i64 = sqlx::query_scalar("SELECT count(*) FROM address WHERE status = 'verified' AND ward_code = $1")
        .bind(NINH_KIEU)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(verified > 0, "the small demo has verified households in Ninh Kiều");
    assert_eq!(rows.len() as i64, verified);
}

#[tokio::test]
async fn nearby_lists_exactly_the_verified_addresses_postgis_finds_within_the_radius() {
    let f = Field::start().await;
    const RADIUS: f64 = 60.0;
    let mut compared = 0;
    for (lon, lat) in f.points_in(NINH_KIEU, 25, 7).await {
        let (status, body) = f.get(&format!("/v1/addresses/nearby?lat={lat}&lon={lon}&radius_m={RADIUS}")).await;
        assert_eq!(status, 200, "{body}");
        let listed: Vec<(i64, f64)> = body["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["address"]["id"].as_i64().unwrap(), a["distance_m"].as_f64().unwrap()))
            .collect();
        assert!(listed.windows(2).all(|w| w[0].1 <= w[1].1), "nearest first: {listed:?}");
        assert_eq!(body["total"].as_u64(), Some(listed.len() as u64), "fewer than 50 here");
        // The reference: PostGIS on the spheroid. The index measures on the plane tangent
        // to the ellipsoid, within a millimetre of it here: only addresses within 1 cm of
        // the edge are left out, and every distance must be PostGIS's to its 0.1 m rounding.
        let mut conn = f.db.connect().await;
        let reference: Vec<(i64, f64)> = sqlx::query_as(
            "SELECT id, ST_Distance(location::geography, ST_MakePoint($1, $2)::geography) d FROM address \
             WHERE status = 'verified' AND ST_DWithin(location::geography, ST_MakePoint($1, $2)::geography, $3 + 1)",
        )
        .bind(lon)
        .bind(lat)
        .bind(RADIUS)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        for (id, d) in &listed {
            let postgis = reference.iter().find(|(r, _)| r == id).map(|(_, d)| *d);
            assert!(
                postgis.is_some_and(|p| (p - d).abs() <= 0.0501),
                "address {id}: {d} m here, {postgis:?} in PostGIS"
            );
        }
        let clear = |d: f64| (d - RADIUS).abs() > 0.01;
        let mut ours: Vec<i64> = listed.iter().filter(|(_, d)| clear(*d)).map(|(id, _)| *id).collect();
        let mut theirs: Vec<i64> =
            reference.iter().filter(|(_, d)| clear(*d) && *d <= RADIUS).map(|(id, _)| *id).collect();
        ours.sort_unstable();
        theirs.sort_unstable();
        assert_eq!(ours, theirs, "verified addresses within {RADIUS} m of {lon},{lat}");
        compared += theirs.len();
    }
    assert!(compared > 20, "the demo puts households around these points ({compared} compared)");
    let (status, problem) = f.get("/v1/addresses/nearby?lat=10.03&lon=105.78&radius_m=5000").await;
    assert_eq!((status.as_u16(), problem["field"].as_str()), (400, Some("radius_m")));
}

#[tokio::test]
async fn me_names_the_token_holder_and_refuses_anonymous_and_unknown_tokens() {
    let f = Field::start().await;
    let (status, me) = f.get_with(&f.collector, "/v1/me").await;
    assert_eq!(status, 200);
    assert_eq!((me["name"].as_str(), me["role"].as_str()), (Some("collector-nk"), Some("collector")));
    assert_eq!(me["wards"], json!([NINH_KIEU, CAI_KHE]));
    assert_eq!(f.get("/v1/me").await.0, 401);
    assert_eq!(f.get_with("dba_not-a-real-token", "/v1/me").await.0, 401);
}

/// Keys no public answer may carry: personal data, staff identities and free-text notes,
/// and capture details beyond what a public register shows (tiles and OGC leave them out).
const NOT_PUBLIC: [&str; 9] =
    ["head_name", "device_id", "captured_by", "team", "captured_at", "accuracy_m", "status_reason", "author", "reason"];

fn private_keys(value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if NOT_PUBLIC.contains(&key.as_str()) {
                    found.push(key.clone());
                }
                found.extend(private_keys(inner));
            }
        }
        Value::Array(items) => items.iter().for_each(|i| found.extend(private_keys(i))),
        _ => {}
    }
    found
}

#[tokio::test]
async fn public_answers_carry_what_a_public_register_shows_and_nothing_of_staff_or_capture() {
    let f = Field::start().await;
    let (lon, lat) = f.points_in(NINH_KIEU, 1, 77).await[0];
    let record = verified(&f, "pub-1", lon, lat, "77B", "Đường Công Khai").await;
    let id = record["id"].as_i64().unwrap();
    let code = record["vpostcode"].as_str().unwrap().replace(' ', "");
    let parcel =
        f.count("SELECT min(parcel_id) FROM parcel_version WHERE valid_to IS NULL AND ward_code = '31135'").await;
    let started = Instant::now();
    while f.get(&format!("/v1/addresses/nearby?lat={lat}&lon={lon}")).await.1["total"] == 0 {
        assert!(started.elapsed() < Duration::from_secs(2), "the verified household reaches the index");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for path in [
        format!("/v1/addresses/{id}"),
        "/v1/addresses?q=77b+cong+khai".to_owned(),
        format!("/v1/vpostcode/{code}"),
        format!("/v1/addresses/nearby?lat={lat}&lon={lon}"),
        format!("/v1/parcels/{parcel}"),
        format!("/v1/parcels/{parcel}/history"),
        format!("/ogc/collections/addresses/items/{id}"),
        format!("/ogc/collections/parcels/items/{parcel}"),
    ] {
        let (status, body) = f.get(&path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body.to_string().contains("77B") || path.contains("parcels"), "{path} finds the household: {body}");
        assert_eq!(private_keys(&body), Vec::<String>::new(), "{path}: {body}");
    }
    // The ward's registrar still sees how and by whom it was captured.
    let (_, full) = f.get_with(&f.registrar, &format!("/v1/addresses/{id}")).await;
    assert!(full["address"]["accuracy_m"].is_number() && full["address"]["team"].is_string(), "{full}");
}

#[tokio::test]
async fn the_geocoder_answers_as_you_type_forgives_a_typo_and_every_node_finds_a_new_household_within_a_second() {
    let f = Field::start().await;
    let other_node = Server::with_database(&f.db.url);
    let (lon, lat) = f.points_in(NINH_KIEU, 1, 41).await[0];
    let mine = verified(&f, "g1", lon, lat, "51/12/4", "Đường Xô Viết Nghệ Tĩnh").await;
    // Both nodes: searchable within a second of verification.
    for node in [&f.server, &other_node] {
        let started = std::time::Instant::now();
        loop {
            let url = node.url("/v1/addresses?q=51%2F12%2F4%20xo%20viet%20nghe%20tinh");
            let found: Value = f.client.get(url).send().await.unwrap().json().await.unwrap();
            if found["results"][0]["id"] == mine["id"] {
                break;
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(1), "not searchable within 1 s: {found}");
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }
    // One typo in a long word, abbreviations, "số", and the last word being typed.
    for q in [
        "s%E1%BB%91%2051%2F12%2F4%20%C4%90.%20X%C3%B4%20Vi%E1%BA%BFt%20Ngh%E1%BB%87%20T%C4%A9nh",
        "51%2F12%2F4%20xo%20viet%20nhge%20tinh",
    ] {
        let (status, found) = f.get(&format!("/v1/addresses?q={q}")).await;
        assert_eq!((status.as_u16(), &found["results"][0]["id"]), (200, &mine["id"]), "{q}: {found}");
    }
    let (_, typed) = f.get("/v1/addresses?q=51%2F12%2F4%20xo%20viet%20ng&autocomplete=true").await;
    assert_eq!(typed["results"][0]["id"], mine["id"], "{typed}");
    assert_eq!(typed["results"][0]["matched"], json!(["house_number", "street"]), "{typed}");
    let (_, not_typed) = f.get("/v1/addresses?q=51%2F12%2F4%20xo%20viet%20ng").await;
    assert!(
        not_typed["results"].as_array().unwrap().iter().all(|r| r["id"] != mine["id"]),
        "a prefix only as you type"
    );
    // ward= filters; a bad focus or flag is a 400 naming it.
    let (_, elsewhere) = f.get(&format!("/v1/addresses?q=xo%20viet%20nghe%20tinh&ward={CAI_KHE}&limit=100")).await;
    assert!(elsewhere["results"].as_array().unwrap().iter().all(|r| r["ward_code"] == CAI_KHE), "{elsewhere}");
    for (bad, field) in
        [("focus=10.03", "focus"), ("focus=91,105", "focus"), ("autocomplete=yes", "autocomplete"), ("ward=1", "ward")]
    {
        let (status, problem) = f.get(&format!("/v1/addresses?q=xo%20viet&{bad}")).await;
        assert_eq!(status, 400, "{bad}: {problem}");
        assert!(problem.to_string().contains(field), "{bad}: {problem}");
    }
    // Photon-style GeoJSON for other clients.
    let response = f
        .client
        .get(f.server.url(&format!("/v1/geocode?q=51%2F12%2F4%20xo%20viet&focus={lat},{lon}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/geo+json");
    let geojson: Value = response.json().await.unwrap();
    assert_eq!(geojson["type"], "FeatureCollection");
    let first = &geojson["features"][0];
    assert_eq!(first["geometry"]["coordinates"], json!([mine["lon"], mine["lat"]]));
    assert_eq!(first["properties"]["housenumber"], "51/12/4");
    assert_eq!(first["properties"]["vpostcode"], mine["vpostcode"]);
    assert!(first["properties"].get("head_name").is_none(), "nothing personal");
    // A Vpostcode or a parcel key typed in the box resolves to its cell or its parcel.
    let code = mine["vpostcode"].as_str().unwrap();
    let (_, cell) = f.get(&format!("/v1/geocode?q={}", code.replace(' ', "%20").replace('+', "%2B"))).await;
    assert_eq!(
        (cell["features"][0]["properties"]["type"].as_str(), cell["features"][0]["properties"]["vpostcode"].as_str()),
        (Some("vpostcode"), Some(code)),
        "{cell}"
    );
    let (_, parcel) = f.get("/v1/parcels?ward=31135&sheet=1&number=1").await;
    let (_, by_key) = f.get("/v1/geocode?q=31135%2F1%2F1").await;
    assert_eq!(by_key["features"][0]["properties"]["id"], parcel["id"], "{by_key}");
    assert_eq!(by_key["features"][0]["geometry"]["type"], parcel["geometry"]["type"]);
}
