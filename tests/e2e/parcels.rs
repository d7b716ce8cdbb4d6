//! The land register over HTTP against the small synthetic demo profile.

use crate::server::Server;
use diaba_core::auth::Role;
use diaba_test_harness::{TestDb, demo_database};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

pub(crate) struct Registry {
    pub(crate) db: TestDb,
    pub(crate) server: Server,
    client: Client,
    /// Registrar of Ninh Kiều (31135) and Tân An (31147).
    pub(crate) registrar: String,
    /// Registrar of Phong Điền only.
    pub(crate) other_registrar: String,
    collector: String,
}

impl Registry {
    pub(crate) async fn start() -> Registry {
        let db = demo_database().await;
        let store = db.store().await;
        let token = |name: &'static str, role: Role, wards: &'static [&'static str]| {
            let store = &store;
            async move {
                let wards: Vec<String> = wards.iter().map(std::string::ToString::to_string).collect();
                store.add_user(name, role, &wards, None).await.unwrap().1.reveal().to_owned()
            }
        };
        let registrar = token("registrar-nk", Role::Registrar, &["31135", "31147"]).await;
        let other_registrar = token("registrar-pd", Role::Registrar, &["31299"]).await;
        let collector = token("collector-nk", Role::Collector, &["31135"]).await;
        store.close().await.unwrap();
        let server = Server::with_database(&db.url);
        Registry { db, server, client: Client::new(), registrar, other_registrar, collector }
    }

    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let mut request = self.client.request(method, self.server.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(etag) = if_match {
            request = request.header("If-Match", etag);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        (status, response.json().await.unwrap_or(Value::Null), headers)
    }

    pub(crate) async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let (status, body, _) = self.call(Method::GET, path, token, None, None).await;
        (status, body)
    }

    /// Counts of every table a write touches: equal before and after a refused request.
    pub(crate) async fn fingerprint(&self) -> Vec<i64> {
        let mut conn = self.db.connect().await;
        let mut counts = Vec::new();
        for table in ["parcel", "parcel_version", "parcel_land_use", "parcel_lineage", "audit_log", "change"] {
            let n: i64 =
                sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(&mut conn).await.unwrap();
            counts.push(n);
        }
        let retired: i64 = sqlx::query_scalar("SELECT count(*) FROM parcel WHERE retired_at IS NOT NULL")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        counts.push(retired);
        counts
    }

    /// A live demo parcel of a ward, by key, with an ODT use.
    pub(crate) async fn some_parcel(&self, ward: &str) -> Value {
        let mut conn = self.db.connect().await;
        let (sheet, number): (i32, i32) = sqlx::query_as(
            "SELECT v.sheet, v.number FROM parcel_version v JOIN parcel_land_use u ON u.parcel_version_id = v.id \
             WHERE v.ward_code = $1 AND v.valid_to IS NULL AND u.code IN ('ODT', 'ONT') ORDER BY v.sheet, v.number LIMIT 1",
        )
        .bind(ward)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        let (status, body) =
            self.get(&format!("/v1/parcels?ward={ward}&sheet={sheet}&number={number}"), Some(&self.registrar)).await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

/// The outline of a record as lon/lat rings.
pub(crate) fn ring(record: &Value) -> Vec<[f64; 2]> {
    record["geometry"]["coordinates"][0][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| [p[0].as_f64().unwrap(), p[1].as_f64().unwrap()])
        .collect()
}

fn polygon(points: &[[f64; 2]]) -> Value {
    json!({ "type": "Polygon", "coordinates": [points] })
}

/// Splits a 4-corner lot (c0..c3, closed) across its long side into two halves.
pub(crate) fn halves(corners: &[[f64; 2]]) -> (Value, Value) {
    let mid = |a: [f64; 2], b: [f64; 2]| [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0];
    let (c0, c1, c2, c3) = (corners[0], corners[1], corners[2], corners[3]);
    let len = |a: [f64; 2], b: [f64; 2]| (a[0] - b[0]).hypot(a[1] - b[1]);
    if len(c0, c1) >= len(c1, c2) {
        let (m01, m32) = (mid(c0, c1), mid(c3, c2));
        (polygon(&[c0, m01, m32, c3, c0]), polygon(&[m01, c1, c2, m32, m01]))
    } else {
        let (m12, m03) = (mid(c1, c2), mid(c0, c3));
        (polygon(&[c0, c1, m12, m03, c0]), polygon(&[m03, m12, c2, c3, m03]))
    }
}

#[tokio::test]
async fn a_parcel_by_key_has_the_legal_area_postgis_computes_in_vn2000() {
    let r = Registry::start().await;
    let parcel = r.some_parcel("31135").await;
    let mut conn = r.db.connect().await;
    let postgis: f64 = sqlx::query_scalar(
        "SELECT ST_Area(ST_Transform(geom, 5897)) FROM parcel_version WHERE parcel_id = $1 AND valid_to IS NULL",
    )
    .bind(parcel["id"].as_i64().unwrap())
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let legal = parcel["legal_area_m2"].as_f64().unwrap();
    assert!((legal - postgis).abs() < 0.01, "legal {legal} vs PostGIS {postgis}");
    assert_eq!(parcel["national_id"].as_str().unwrap().len(), 12);
    assert!(parcel["source"].as_str().unwrap().starts_with("synthetic-demo"), "demo data is labelled synthetic");
    let max_difference: f64 = sqlx::query_scalar(
        "SELECT max(abs(legal_area_m2 - ST_Area(ST_Transform(geom, 5897)))) FROM parcel_version WHERE valid_to IS NULL",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(max_difference < 0.01, "some parcel's legal area is {max_difference} m² off PostGIS");
}

#[tokio::test]
async fn the_demo_fabric_has_no_overlapping_parcels_and_plausible_land_uses() {
    let r = Registry::start().await;
    let mut conn = r.db.connect().await;
    let overlaps: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM parcel_version a JOIN parcel_version b ON a.parcel_id < b.parcel_id AND a.geom && b.geom \
         WHERE a.valid_to IS NULL AND b.valid_to IS NULL AND ST_Area(ST_Intersection(a.geom_vn2000, b.geom_vn2000)) > 0.01",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(overlaps, 0);
    let outside: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM parcel_version v WHERE NOT EXISTS (SELECT 1 FROM admin_unit w WHERE w.code = v.ward_code \
         AND w.valid_to IS NULL AND w.level = 'ward' AND ST_CoveredBy(v.geom, w.geom))",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(outside, 0, "every demo parcel lies inside its real ward");
    let odt_share_in_ninh_kieu: f64 = sqlx::query_scalar(
        "SELECT avg((u.code = 'ODT')::int)::float8 FROM parcel_version v JOIN parcel_land_use u ON u.parcel_version_id = v.id \
         WHERE v.ward_code = '31135' AND u.code NOT IN ('DGT', 'SON')",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(odt_share_in_ninh_kieu > 0.8, "ODT share in Ninh Kiều: {odt_share_in_ninh_kieu}");
}

#[tokio::test]
async fn owners_are_for_registrars_only_and_writes_need_the_right_role_and_ward() {
    let r = Registry::start().await;
    let parcel = r.some_parcel("31135").await;
    let id = parcel["id"].as_i64().unwrap();
    assert!(parcel["owners"].is_array(), "a registrar sees owners");
    for token in [None, Some(r.collector.as_str()), Some(r.other_registrar.as_str())] {
        let (status, body) = r.get(&format!("/v1/parcels/{id}"), token).await;
        assert_eq!(status, 200);
        let owners_visible = body.get("owners").is_some();
        // The other registrar works in Phong Điền: the Ninh Kiều parcel's owners are not theirs.
        assert!(!owners_visible, "owners shown to {token:?}");
    }
    let (status, body) = r.get(&format!("/v1/parcels/{id}/history"), None).await;
    assert_eq!(status, 200);
    assert!(!body.to_string().contains("id_number"), "public history leaks owners: {body}");

    let change = json!({ "address_text": "Số 9, Đường Mậu Thân" });
    let before = r.fingerprint().await;
    let (status, _, _) =
        r.call(Method::PATCH, &format!("/v1/parcels/{id}"), None, Some(change.clone()), Some("\"1\"")).await;
    assert_eq!(status, 401, "no token");
    let (status, _, _) = r
        .call(Method::PATCH, &format!("/v1/parcels/{id}"), Some(&r.collector), Some(change.clone()), Some("\"1\""))
        .await;
    assert_eq!(status, 403, "collector");
    let (status, _, _) = r
        .call(
            Method::PATCH,
            &format!("/v1/parcels/{id}"),
            Some(&r.other_registrar),
            Some(change.clone()),
            Some("\"1\""),
        )
        .await;
    assert_eq!(status, 403, "registrar of another ward");
    let (status, _, _) = r
        .call(Method::PATCH, &format!("/v1/parcels/{id}"), Some("dba_not_a_token"), Some(change.clone()), Some("\"1\""))
        .await;
    assert_eq!(status, 401, "unknown token");
    assert_eq!(r.fingerprint().await, before, "refused writes change nothing");
    let (status, body, headers) =
        r.call(Method::PATCH, &format!("/v1/parcels/{id}"), Some(&r.registrar), Some(change), Some("\"1\"")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["etag"], "\"2\"");
    assert_eq!(body["address_text"], "Số 9, Đường Mậu Thân");
}

#[tokio::test]
async fn two_concurrent_updates_with_the_same_etag_one_wins_the_other_gets_412() {
    let r = Registry::start().await;
    let parcel = r.some_parcel("31147").await;
    let id = parcel["id"].as_i64().unwrap();
    let path = format!("/v1/parcels/{id}");
    let a = r.call(Method::PATCH, &path, Some(&r.registrar), Some(json!({ "address_text": "A" })), Some("\"1\""));
    let b = r.call(Method::PATCH, &path, Some(&r.registrar), Some(json!({ "address_text": "B" })), Some("\"1\""));
    let ((sa, ba, _), (sb, bb, _)) = tokio::join!(a, b);
    let mut statuses = [sa.as_u16(), sb.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 412], "{ba} {bb}");
    let (_, now) = r.get(&path, None).await;
    assert_eq!(now["version"], 2);
    let winner = if sa == 200 { "A" } else { "B" };
    assert_eq!(now["address_text"], winner, "the winner's change is the one kept");
    let (status, _, _) =
        r.call(Method::PATCH, &path, Some(&r.registrar), Some(json!({ "address_text": "C" })), None).await;
    assert_eq!(status, 428, "a write without If-Match is refused");
}

#[tokio::test]
async fn split_then_merge_keeps_every_step_in_history_and_lineage() {
    let r = Registry::start().await;
    let parent = r.some_parcel("31135").await;
    let parent_id = parent["id"].as_i64().unwrap();
    let corners = ring(&parent);
    let (left, right) = halves(&corners);
    let before_split = chrono_now(&r).await;

    let (status, split, _) = r
        .call(
            Method::POST,
            &format!("/v1/parcels/{parent_id}/split"),
            Some(&r.registrar),
            Some(json!({ "parts": [{ "geometry": left }, { "geometry": right }], "reason": "chia thừa kế" })),
            Some("\"1\""),
        )
        .await;
    assert_eq!(status, 201, "{split}");
    let children: Vec<&Value> = split["children"].as_array().unwrap().iter().collect();
    assert_eq!(children.len(), 2);
    let areas: f64 = children.iter().map(|c| c["legal_area_m2"].as_f64().unwrap()).sum();
    assert!((areas - parent["legal_area_m2"].as_f64().unwrap()).abs() < 0.5);
    let (_, retired) = r.get(&format!("/v1/parcels/{parent_id}"), None).await;
    assert!(retired["retired_at"].is_string(), "{retired}");
    let (status, then) = r.get(&format!("/v1/parcels/{parent_id}?at={before_split}"), None).await;
    assert_eq!(status, 200, "{then}");
    assert!(then["retired_at"].is_null(), "not retired yet at that instant: {then}");
    assert_eq!(then["id"], parent_id);
    let (status, _) =
        r.get(&format!("/v1/parcels?ward=31135&sheet={}&number={}", parent["sheet"], parent["number"]), None).await;
    assert_eq!(status, 404, "the parent's key is no longer live");
    let (status, by_key_then) = r
        .get(
            &format!("/v1/parcels?ward=31135&sheet={}&number={}&at={before_split}", parent["sheet"], parent["number"]),
            None,
        )
        .await;
    assert_eq!(status, 200, "at= before the split finds the parent by key");
    assert_eq!(by_key_then["id"], parent_id);

    let merge = json!({ "parcels": children.iter().map(|c| json!({ "id": c["id"], "version": c["version"] })).collect::<Vec<_>>(), "reason": "hợp thửa" });
    let (status, merged, _) = r.call(Method::POST, "/v1/parcels/merge", Some(&r.registrar), Some(merge), None).await;
    assert_eq!(status, 201, "{merged}");
    assert!((merged["legal_area_m2"].as_f64().unwrap() - parent["legal_area_m2"].as_f64().unwrap()).abs() < 0.5);
    let merged_id = merged["id"].as_i64().unwrap();

    let (_, lineage) = r.get(&format!("/v1/parcels/{merged_id}/lineage"), None).await;
    let ancestors: Vec<i64> =
        lineage["ancestors"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect();
    assert!(ancestors.contains(&parent_id), "the grandparent is an ancestor: {lineage}");
    for child in &children {
        assert!(ancestors.contains(&child["id"].as_i64().unwrap()));
    }
    let events: Vec<&str> =
        lineage["ancestors"].as_array().unwrap().iter().map(|a| a["event"].as_str().unwrap()).collect();
    assert!(events.contains(&"split") && events.contains(&"merge"), "{lineage}");
    let (_, parent_lineage) = r.get(&format!("/v1/parcels/{parent_id}/lineage"), None).await;
    assert_eq!(parent_lineage["descendants"].as_array().unwrap().len(), 3, "two children and one grandchild");
    let (_, history) = r.get(&format!("/v1/parcels/{parent_id}/history"), None).await;
    let version = &history["versions"][0];
    assert!(version["valid_to"].is_string(), "the parent's version was closed, not deleted");
    let mut conn = r.db.connect().await;
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action IN ('parcel.split', 'parcel.merge')")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(audited, 2);
}

async fn chrono_now(r: &Registry) -> String {
    let mut conn = r.db.connect().await;
    let now: String =
        sqlx::query_scalar("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    now
}

#[tokio::test]
async fn bad_parcels_get_a_problem_naming_the_fault_and_leave_the_database_unchanged() {
    let r = Registry::start().await;
    let parcel = r.some_parcel("31135").await;
    let corners = ring(&parcel);
    let id = parcel["id"].as_i64().unwrap();
    // A free spot: just outside the demo neighbourhood, still in Ninh Kiều ward? Use an
    // overlap with an existing lot for the overlap case instead.
    let shifted: Vec<[f64; 2]> = corners.iter().map(|p| [p[0] + 0.000005, p[1] + 0.000005]).collect();
    let key = |number: i32| json!({ "ward": "31135", "sheet": 999, "number": number, "land_uses": [{ "code": "ODT", "area_m2": 100.0 }] });
    let with = |number: i32, extra: Value| {
        let mut body = key(number);
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let swapped: Vec<[f64; 2]> = corners.iter().map(|p| [p[1], p[0]]).collect();
    let unclosed: Vec<[f64; 2]> = corners[..corners.len() - 1].to_vec();
    let bowtie = vec![corners[0], corners[2], corners[1], corners[3], corners[0]];
    let hanoi = vec![[105.85, 21.02], [105.851, 21.02], [105.851, 21.021], [105.85, 21.021], [105.85, 21.02]];
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        ("not GeoJSON", with(1, json!({ "geometry": { "type": "Polygon", "coordinates": "nope" } })), 422, "geometry"),
        (
            "a point",
            with(2, json!({ "geometry": { "type": "Point", "coordinates": [105.78, 10.03] } })),
            422,
            "geometry",
        ),
        ("unclosed ring", with(3, json!({ "geometry": polygon(&unclosed) })), 422, "geometry"),
        ("self-intersecting", with(4, json!({ "geometry": polygon(&bowtie) })), 422, "geometry"),
        ("lat/lon swapped", with(5, json!({ "geometry": polygon(&swapped) })), 422, "geometry"),
        ("outside the area", with(6, json!({ "geometry": polygon(&hanoi) })), 422, "geometry"),
        ("overlapping", with(7, json!({ "geometry": polygon(&shifted) })), 422, "geometry"),
        ("wrong CRS", with(8, json!({ "geometry": polygon(&corners), "crs": "EPSG:3857" })), 422, "crs"),
        (
            "bad land use",
            json!({ "ward": "31135", "sheet": 999, "number": 9, "geometry": polygon(&corners), "land_uses": [{ "code": "XYZ" }] }),
            422,
            "land_uses",
        ),
        ("unknown field", with(10, json!({ "geometry": polygon(&corners), "colour": "red" })), 422, "body"),
    ];
    let before = r.fingerprint().await;
    for (name, body, status, field) in cases {
        let (got, problem, headers) = r.call(Method::POST, "/v1/parcels", Some(&r.registrar), Some(body), None).await;
        assert_eq!(got.as_u16(), status, "{name}: {problem}");
        assert_eq!(headers["content-type"], "application/problem+json", "{name}");
        assert_eq!(problem["field"], field, "{name}: {problem}");
        assert!(problem["detail"].as_str().is_some_and(|d| d.len() > 10), "{name}: {problem}");
        if name == "overlapping" {
            assert!(
                problem["parcels"].as_array().unwrap().iter().any(|p| p.as_i64() == Some(id)),
                "names the overlapped parcel: {problem}"
            );
        }
        if name == "lat/lon swapped" {
            assert!(problem["detail"].as_str().unwrap().contains("longitude first"), "{problem}");
        }
    }
    // A split whose parts do not cover the parent, and a merge of parcels that do not touch.
    let (left, _) = halves(&corners);
    let (status, problem, _) = r
        .call(
            Method::POST,
            &format!("/v1/parcels/{id}/split"),
            Some(&r.registrar),
            Some(json!({ "parts": [{ "geometry": left.clone() }, { "geometry": left }] })),
            Some("\"1\""),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("cover"), "the split is refused for coverage: {problem}");
    let far = r.some_parcel("31147").await;
    let merge = json!({ "parcels": [{ "id": id, "version": 1 }, { "id": far["id"], "version": 1 }] });
    let (status, problem, _) = r.call(Method::POST, "/v1/parcels/merge", Some(&r.registrar), Some(merge), None).await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("ward")
            || problem["detail"].as_str().unwrap().contains("adjacent"),
        "{problem}"
    );
    // A body over the limit.
    let huge = "x".repeat(3 * 1024 * 1024);
    let response = r
        .client
        .post(r.server.url("/v1/parcels"))
        .bearer_auth(&r.registrar)
        .header("content-type", "application/json")
        .body(format!("{{\"ward\":\"{huge}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    assert_eq!(r.fingerprint().await, before, "nothing half-written");
}

#[tokio::test]
async fn a_registrar_registers_a_new_parcel_in_vn2000_and_finds_it_by_bbox() {
    let r = Registry::start().await;
    let mut conn = r.db.connect().await;
    // A free spot inside Ninh Kiều ward, away from the demo neighbourhood: 20 m × 30 m.
    let (e, n): (f64, f64) = sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_PointOnSurface(ST_Difference(w.geom, \
           (SELECT ST_Buffer(ST_Union(geom), 0.001) FROM parcel_version WHERE ward_code = '31135'))), 5897) p \
         FROM admin_unit w WHERE w.code = '31135' AND w.valid_to IS NULL) s",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let square = json!({ "type": "Polygon", "coordinates": [[[e, n], [e + 20.0, n], [e + 20.0, n + 30.0], [e, n + 30.0], [e, n]]] });
    let body = json!({ "ward": "31135", "sheet": 500, "number": 1, "geometry": square, "crs": "EPSG:5897",
                       "land_uses": [{ "code": "ODT", "area_m2": 600.0, "term": "lâu dài" }],
                       "certificate_serial": "CS 01234567", "owners": [{ "name": "Synthetic Owner" }] });
    let (status, created, headers) = r.call(Method::POST, "/v1/parcels", Some(&r.registrar), Some(body), None).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(headers["etag"], "\"1\"");
    assert!((created["legal_area_m2"].as_f64().unwrap() - 600.0).abs() < 0.01, "{created}");
    assert_eq!(created["certificate_serial"], "CS 01234567", "kept verbatim");
    let point = &created["geometry"]["coordinates"][0][0][0];
    let (lon, lat) = (point[0].as_f64().unwrap(), point[1].as_f64().unwrap());
    let (status, page) = r
        .get(&format!("/v1/parcels?bbox={},{},{},{}", lon - 0.0001, lat - 0.0001, lon + 0.0001, lat + 0.0001), None)
        .await;
    assert_eq!(status, 200);
    assert!(page["items"].as_array().unwrap().iter().any(|p| p["id"] == created["id"]), "{page}");
    assert!(!page.to_string().contains("Synthetic Owner"), "public bbox results carry no owners");
    let (status, _, _) = r
        .call(Method::POST, "/v1/parcels", Some(&r.registrar), Some(json!({ "ward": "31135", "sheet": 500, "number": 1, "geometry": square, "crs": "EPSG:5897", "land_uses": [{ "code": "ODT" }] })), None)
        .await;
    assert!(status == 409 || status == 422, "the same key and place again is refused, got {status}");
    let mut conn = r.db.connect().await;
    let feed: i64 = sqlx::query_scalar("SELECT count(*) FROM change WHERE layer = 'parcels' AND entity_id = $1")
        .bind(created["id"].as_i64().unwrap())
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(feed, 1, "the write is in the change feed");
}

/// A square of `side` metres (about) around a point, as a lon/lat ring.
fn square_around(lon: f64, lat: f64, side_m: f64) -> Vec<[f64; 2]> {
    let (dlon, dlat) = (side_m / 2.0 / 109_400.0, side_m / 2.0 / 110_600.0);
    vec![
        [lon - dlon, lat - dlat],
        [lon + dlon, lat - dlat],
        [lon + dlon, lat + dlat],
        [lon - dlon, lat + dlat],
        [lon - dlon, lat - dlat],
    ]
}

#[tokio::test]
async fn a_parcel_must_lie_in_its_declared_ward_not_just_its_interior_point() {
    let db = diaba_test_harness::fresh_database().await;
    let token = crate::server::registrar_of(&db, "registrar-a", "31135").await;
    // A point well inside Ninh Kiều (A), and one well inside another current ward (B).
    let (ax, ay) = crate::server::point_in_ward(&db, "31135").await;
    let (bx, by) = crate::server::point_in_ward(&db, "31120").await;
    // Part one is 120 m wide in A (its interior point, the old test, is there); part two is
    // 3 600 m² of B.
    let straddling = json!({ "type": "MultiPolygon", "coordinates": [[square_around(ax, ay, 120.0)], [square_around(bx, by, 60.0)]] });
    let client = Client::new();
    let server = Server::with_database(&db.url);
    let post = |body: Value| client.post(server.url("/v1/parcels")).bearer_auth(&token).json(&body).send();
    let parcel = |geometry: Value, number: i32| json!({ "ward": "31135", "sheet": 700, "number": number, "geometry": geometry, "land_uses": [{ "code": "ODT", "area_m2": 100.0 }] });
    let refused = post(parcel(straddling.clone(), 1)).await.unwrap();
    assert_eq!(refused.status(), 422, "a parcel mostly registered in another ward");
    let problem: Value = refused.json().await.unwrap();
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("31135") && detail.contains("outside"), "{detail}");
    let outside: f64 = detail.split("lies ").nth(1).and_then(|t| t.split(" m²").next()).unwrap().parse().unwrap();
    assert!((3_000.0..4_200.0).contains(&outside), "names the area outside: {detail}");

    // Within the ward it is registered; a PATCH moving it into B is refused, and the record
    // is unchanged.
    let created =
        post(parcel(json!({ "type": "Polygon", "coordinates": [square_around(ax, ay, 20.0)] }), 2)).await.unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let id = created["id"].as_i64().unwrap();
    let moved = client
        .patch(server.url(&format!("/v1/parcels/{id}")))
        .bearer_auth(&token)
        .header("If-Match", "\"1\"")
        .json(&json!({ "geometry": straddling }))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 422, "a PATCH into another ward");
    let now = crate::server::get_json_as(&server.url(&format!("/v1/parcels/{id}")), &token).await;
    assert_eq!(now["version"], 1, "{now}");
}

#[tokio::test]
async fn concurrent_writes_on_one_ward_are_serialised_and_never_a_500() {
    let db = diaba_test_harness::fresh_database().await;
    let token = crate::server::registrar_of(&db, "registrar-race", "31135").await;
    let (x, y) = crate::server::point_in_ward(&db, "31135").await;
    let mut conn = db.connect().await;
    let server = Server::with_database(&db.url);
    let client = Client::new();
    let create = |number: i32, geometry: Vec<[f64; 2]>| {
        let body = json!({ "ward": "31135", "sheet": 800, "number": number,
                           "geometry": { "type": "Polygon", "coordinates": [geometry] },
                           "land_uses": [{ "code": "ODT", "area_m2": 100.0 }] });
        let request = client.post(server.url("/v1/parcels")).bearer_auth(&token).json(&body).send();
        async move { request.await.unwrap().status().as_u16() }
    };
    for round in 0..3 {
        let dx = f64::from(round) * 0.001;
        // The same outline under 12 keys at once: one lot, the others overlap it.
        let overlapping: Vec<_> = (0..12).map(|n| create(100 * round + n, square_around(x + dx, y, 20.0))).collect();
        let mut statuses = futures_statuses(overlapping).await;
        statuses.sort_unstable();
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "round {round}, one outline: {statuses:?}");
        assert!(statuses.iter().all(|s| [201, 422].contains(s)), "round {round}: {statuses:?}");
        // One key for 12 separate outlines at once: one parcel, the others a 409 naming it.
        let same_key: Vec<_> = (0..12)
            .map(|n| create(100 * round + 50, square_around(x + dx, y + 0.0005 + f64::from(n) * 0.0003, 10.0)))
            .collect();
        let statuses = futures_statuses(same_key).await;
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "round {round}, one key: {statuses:?}");
        assert!(statuses.iter().all(|s| [201, 409].contains(s)), "round {round}: {statuses:?}");
    }
    let overlaps: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM parcel_version a JOIN parcel_version b ON a.parcel_id < b.parcel_id \
         AND a.valid_to IS NULL AND b.valid_to IS NULL AND ST_Area(ST_Intersection(a.geom_vn2000, b.geom_vn2000)) > 0.5",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(overlaps, 0, "no two live parcels overlap");
}

/// Runs the requests at once and collects their statuses.
async fn futures_statuses(requests: Vec<impl std::future::Future<Output = u16> + Send + 'static>) -> Vec<u16> {
    let handles: Vec<_> = requests.into_iter().map(tokio::spawn).collect();
    let mut statuses = Vec::new();
    for handle in handles {
        statuses.push(handle.await.unwrap());
    }
    statuses
}

#[tokio::test]
async fn a_merge_names_each_parcel_once_and_joins_only_parcels_of_the_same_land_users() {
    let r = Registry::start().await;
    let parent = r.some_parcel("31135").await;
    let parent_id = parent["id"].as_i64().unwrap();
    let (left, right) = halves(&ring(&parent));
    let (status, split, _) = r
        .call(
            Method::POST,
            &format!("/v1/parcels/{parent_id}/split"),
            Some(&r.registrar),
            Some(json!({ "parts": [{ "geometry": left }, { "geometry": right }] })),
            Some("\"1\""),
        )
        .await;
    assert_eq!(status, 201, "{split}");
    let (a, b) = (split["children"][0]["id"].as_i64().unwrap(), split["children"][1]["id"].as_i64().unwrap());
    let before = r.fingerprint().await;

    let twice = json!({ "parcels": [{ "id": a, "version": 1 }, { "id": a, "version": 1 }] });
    let (status, problem, _) = r.call(Method::POST, "/v1/parcels/merge", Some(&r.registrar), Some(twice), None).await;
    assert_eq!(status, 422, "a parcel named twice: {problem}");
    assert_eq!(problem["field"], "parcels");

    // One half passes to another land user (synthetic name): the halves no longer merge.
    let owners = json!([{ "name": "Trần Thị Bích (synthetic)", "synthetic": true }]);
    let (status, patched, _) = r
        .call(
            Method::PATCH,
            &format!("/v1/parcels/{b}"),
            Some(&r.registrar),
            Some(json!({ "owners": owners })),
            Some("\"1\""),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    let after_patch = r.fingerprint().await;
    let different = json!({ "parcels": [{ "id": a, "version": 1 }, { "id": b, "version": 2 }] });
    let (status, problem, _) =
        r.call(Method::POST, "/v1/parcels/merge", Some(&r.registrar), Some(different), None).await;
    assert_eq!(status, 422, "different land users: {problem}");
    assert!(problem["detail"].as_str().unwrap().contains("land users"), "{problem}");
    assert_eq!(r.fingerprint().await, after_patch, "nothing written by the refused merge");
    assert_ne!(before, after_patch);
}
