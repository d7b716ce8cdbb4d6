//! `/v1/units` and `/health` over real HTTP against a real PostGIS.

use crate::server::{Server, get_json};
use diaba_test_harness::fresh_database;

/// A point in central Ninh Kiều, near the Cần Thơ river front.
const NINH_KIEU: (&str, &str) = ("10.0325", "105.7830");

#[tokio::test]
async fn a_ninh_kieu_point_names_the_current_ward_today_and_the_district_in_2024() {
    let db = fresh_database().await;
    let server = Server::with_database(&db.url);
    let (lat, lon) = NINH_KIEU;

    let (status, _, today) = get_json(&server.url(&format!("/v1/units?lat={lat}&lon={lon}"))).await;
    assert_eq!(status, 200, "{today}");
    assert_eq!(today["ward"]["code"], "31135");
    assert_eq!(today["ward"]["name"], "Phường Ninh Kiều");
    assert_eq!(today["ward"]["postcode"], "94119");
    assert!(today["district"].is_null(), "no district level after 2025-07-01: {today}");

    let (status, _, before) = get_json(&server.url(&format!("/v1/units?lat={lat}&lon={lon}&at=2024-01-01"))).await;
    assert_eq!(status, 200, "{before}");
    assert_eq!(before["district"]["code"], "916");
    assert_eq!(before["district"]["name"], "Quận Ninh Kiều");
    // 31135 meant Tân An then: the same code must not be reported as today's ward.
    let candidates: Vec<&str> =
        before["ward_candidates"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(candidates.contains(&"Phường Tân An"), "{before}");
    assert!(before["ward"].is_null() || before["ward"]["valid_to"] == "2025-07-01");
}

#[tokio::test]
async fn an_unchanged_commune_gets_its_exact_pre_reform_ward() {
    let db = fresh_database().await;
    let server = Server::with_database(&db.url);
    // Trường Long (31309) was kept whole in 2025, so its old ward is known exactly.
    let mut conn = db.connect().await;
    let (lon, lat): (f64, f64) = sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM admin_unit \
         WHERE code = '31309' AND valid_from = '2025-07-01') s",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let (status, _, body) = get_json(&server.url(&format!("/v1/units?lat={lat}&lon={lon}&at=2020-06-01"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["district"]["code"], "926", "{body}");
    assert_eq!(body["ward"]["code"], "31309", "{body}");
    assert_eq!(body["ward_candidates"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn bad_coordinates_and_dates_get_a_problem_naming_the_parameter() {
    let db = fresh_database().await;
    let server = Server::with_database(&db.url);
    let cases = [
        ("/v1/units?lon=105.78", "lat"),
        ("/v1/units?lat=10.03", "lon"),
        ("/v1/units?lat=abc&lon=105.78", "lat"),
        ("/v1/units?lat=NaN&lon=105.78", "lat"),
        ("/v1/units?lat=10.03&lon=inf", "lon"),
        ("/v1/units?lat=95&lon=105.78", "lat"),
        ("/v1/units?lat=10.03&lon=-181", "lon"),
        ("/v1/units?lat=10.03&lon=105.78&at=2024-02-30", "at"),
        ("/v1/units?lat=10.03&lon=105.78&at=tomorrow", "at"),
    ];
    for (path, field) in cases {
        let (status, content_type, body) = get_json(&server.url(path)).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(content_type, "application/problem+json", "{path}");
        assert_eq!(body["field"], field, "{path}: {body}");
        assert!(body["detail"].as_str().unwrap().contains(field), "{path}: {body}");
    }
}

#[tokio::test]
async fn a_point_outside_can_tho_is_a_404_problem_that_says_so() {
    let db = fresh_database().await;
    let server = Server::with_database(&db.url);
    // Hà Nội.
    let (status, content_type, body) = get_json(&server.url("/v1/units?lat=21.0285&lon=105.8542")).await;
    assert_eq!(status, 404);
    assert_eq!(content_type, "application/problem+json");
    assert!(body["detail"].as_str().unwrap().contains("Cần Thơ"), "{body}");
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_with_problems() {
    let db = fresh_database().await;
    let server = Server::with_database(&db.url);
    let (status, content_type, _) = get_json(&server.url("/v1/nothing-here")).await;
    assert_eq!((status, content_type.as_str()), (404, "application/problem+json"));
    let response = reqwest::Client::new().delete(server.url("/v1/units")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn health_reports_the_database_and_the_loaded_data_version() {
    let db = fresh_database().await;
    let server = Server::with_database(&db.url);
    let (status, _, body) = get_json(&server.url("/health")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["database"], "reachable");
    assert!(body["data_version"].as_str().is_some_and(|v| v.len() > 8), "{body}");
    assert!(body["postgis"].as_str().unwrap().starts_with('3'), "{body}");
}
