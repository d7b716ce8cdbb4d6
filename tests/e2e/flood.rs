//! Flood zones and exposure over the synthetic demo zones.

use crate::server::Server;
use diaba_test_harness::{demo_database, statements_naming};
use serde_json::Value;

async fn get(server: &Server, path: &str) -> (u16, Value) {
    let response = reqwest::get(server.url(path)).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn demo_zones_cover_five_levels_in_two_scenarios_and_say_they_are_synthetic() {
    let db = demo_database().await;
    let server = Server::with_database(&db.url);
    let (status, body) = get(&server, "/v1/flood/zones").await;
    assert_eq!(status, 200);
    let zones = body["zones"].as_array().unwrap();
    assert_eq!(zones.len(), 12 * 2 * 5);
    for level in 1..=5 {
        assert!(zones.iter().any(|z| z["risk_level"] == level), "no level {level}");
    }
    let scenarios: std::collections::BTreeSet<&str> = zones.iter().map(|z| z["scenario"].as_str().unwrap()).collect();
    assert!(scenarios.len() >= 2, "{scenarios:?}");
    assert!(
        zones.iter().all(|z| z["source"].as_str().unwrap().contains("synthetic")
            && z["name"].as_str().unwrap().contains("synthetic"))
    );
    let (_, level5) = get(&server, "/v1/flood/zones?level=5&scenario=tidal-peak").await;
    assert_eq!(level5["zones"].as_array().unwrap().len(), 12);
    assert_eq!(get(&server, "/v1/flood/zones?level=9").await.0, 400);
}

#[tokio::test]
async fn zone_exposure_counts_match_postgis_and_lookup_reports_the_zone() {
    let db = demo_database().await;
    let server = Server::with_database(&db.url);
    let mut conn = db.connect().await;
    // The most exposed level-5 zone in Ninh Kiều.
    let (zone, expected): (i64, i64) = sqlx::query_as(
        "SELECT z.id, count(v.parcel_id) FROM flood_zone z JOIN parcel_version v ON v.valid_to IS NULL AND ST_Intersects(v.geom, z.geom) \
         WHERE z.risk_level = 5 AND z.name LIKE 'Phường Ninh Kiều%' GROUP BY z.id ORDER BY count(*) DESC LIMIT 1",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(expected > 10, "the demo level-5 zone holds only {expected} parcels");
    let (status, exposure) = get(&server, &format!("/v1/flood/zones/{zone}/exposure?limit=5")).await;
    assert_eq!(status, 200, "{exposure}");
    assert_eq!(exposure["parcels"]["total"], expected);
    let by_use: i64 =
        exposure["parcels"]["by_land_use"].as_array().unwrap().iter().map(|c| c["parcels"].as_i64().unwrap()).sum();
    assert_eq!(by_use, expected);
    assert_eq!(exposure["parcels"]["items"].as_array().unwrap().len(), 5);
    let next = exposure["parcels"]["next_after"].as_i64().unwrap();
    let (_, page2) = get(&server, &format!("/v1/flood/zones/{zone}/exposure?limit=5&after={next}")).await;
    assert!(page2["parcels"]["items"][0]["id"].as_i64().unwrap() > next);

    let (lon, lat): (f64, f64) = sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(v.geom) p FROM parcel_version v, flood_zone z \
         WHERE z.id = $1 AND v.valid_to IS NULL AND ST_Contains(z.geom, v.geom) LIMIT 1) s",
    )
    .bind(zone)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let (_, lookup) = get(&server, &format!("/v1/lookup?lat={lat}&lon={lon}")).await;
    let zones: Vec<i64> =
        lookup["flood"]["zones"].as_array().unwrap().iter().map(|z| z["zone_id"].as_i64().unwrap()).collect();
    assert!(zones.contains(&zone), "{lookup}");
    assert_eq!(lookup["flood"]["max_risk_level"], 5);

    let (status, summary) = get(&server, "/v1/flood/exposure?ward=31135&scenario=tidal-peak").await;
    assert_eq!(status, 200, "{summary}");
    let in_ward: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM parcel_version v JOIN flood_zone z ON z.scenario = 'tidal-peak' AND z.risk_level = 5 \
         AND ST_Intersects(v.geom, z.geom) WHERE v.valid_to IS NULL AND v.ward_code = '31135'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let level5 = summary["levels"].as_array().unwrap().iter().find(|l| l["risk_level"] == 5).unwrap();
    assert_eq!(level5["parcels"].as_i64().unwrap(), in_ward, "{summary}");
    assert!(in_ward > 0);
    for (path, status) in [
        ("/v1/flood/zones/99999999/exposure", 404),
        ("/v1/flood/zones/x/exposure", 400),
        ("/v1/flood/exposure", 400),
        ("/v1/flood/exposure?ward=99999", 404),
    ] {
        assert_eq!(get(&server, path).await.0, status, "{path}");
    }
}

#[tokio::test]
async fn exposures_are_computed_once_until_the_register_changes() {
    let db = demo_database().await;
    let server = Server::with_database(&db.url);
    let path = "/v1/flood/exposure?ward=31135&scenario=tidal-peak";
    let (status, first) = get(&server, path).await;
    assert_eq!(status, 200);
    let before = statements_naming(&db, "flood_zone").await;
    for _ in 0..30 {
        let (status, again) = get(&server, path).await;
        assert_eq!((status, &again), (200, &first));
    }
    let statements = statements_naming(&db, "flood_zone").await - before;
    // Once a full aggregate each (30); now none: the first answer is kept.
    assert_eq!(statements, 0, "statements reading flood zones for 30 identical exposure requests");

    // A change of the register from the feed makes the next answer fresh again.
    let mut conn = db.connect().await;
    let level5: i64 =
        first["levels"].as_array().unwrap().iter().find(|l| l["risk_level"] == 5).unwrap()["parcels"].as_i64().unwrap();
    let retired: i64 = sqlx::query_scalar(
        "WITH hit AS (SELECT v.parcel_id FROM parcel_version v JOIN flood_zone z ON z.scenario = 'tidal-peak' \
           AND z.risk_level = 5 AND ST_Intersects(v.geom, z.geom) WHERE v.valid_to IS NULL AND v.ward_code = '31135' \
           ORDER BY v.parcel_id LIMIT 1), \
         closed AS (UPDATE parcel_version SET valid_to = now() WHERE parcel_id IN (SELECT parcel_id FROM hit) \
           AND valid_to IS NULL RETURNING parcel_id) \
         INSERT INTO change (layer, entity_id, op) SELECT 'parcels', parcel_id, 'retire' FROM closed RETURNING entity_id",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    sqlx::query("SELECT pg_notify('diaba_change', 'x')").execute(&mut conn).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (_, now) = get(&server, path).await;
        let parcels = now["levels"].as_array().unwrap().iter().find(|l| l["risk_level"] == 5).unwrap()["parcels"]
            .as_i64()
            .unwrap();
        if parcels == level5 - 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "parcel {retired} still counted: {now}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
