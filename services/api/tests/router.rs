//! Request and response shapes, in process: the router driven with `oneshot` over a real
//! PostGIS database (no listener, no binary). The end-to-end suite runs the real binary.
#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use diaba_api::{AppState, Config, app};
use http_body_util::BodyExt;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

async fn router() -> axum::Router {
    let db = diaba_test_harness::demo_database().await;
    let store = Arc::new(db.store().await);
    let config = Config::default();
    let state = AppState::start(store, &config).await.unwrap();
    app(state, &config)
}

async fn get(router: &axum::Router, uri: &str) -> (StatusCode, String, Value) {
    let response = router.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let media =
        response.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, media, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_malformed_parameter_is_a_400_problem_naming_it() {
    let router = router().await;
    let (status, media, body) = get(&router, "/v1/lookup?lat=abc&lon=105.78").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(media, "application/problem+json");
    assert_eq!(body["field"], "lat");
    assert_eq!(body["status"], 400);
    let (status, _, body) = get(&router, "/v1/parcels/1?at=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["field"], "at");
}

#[tokio::test]
async fn flood_zones_are_filtered_by_level_and_by_the_box_they_meet() {
    let router = router().await;
    let (_, _, all) = get(&router, "/v1/flood/zones").await;
    let zones = all["zones"].as_array().unwrap();
    assert!(!zones.is_empty(), "the demo has flood zones");
    let (_, _, level3) = get(&router, "/v1/flood/zones?level=3").await;
    assert!(level3["zones"].as_array().unwrap().iter().all(|z| z["risk_level"] == 3));
    // A box around the first zone's own box keeps it; a box far away in the sea keeps none.
    let b = &zones[0]["bbox"];
    let inside = format!("{},{},{},{}", b[0], b[1], b[2], b[3]);
    let (_, _, near) = get(&router, &format!("/v1/flood/zones?bbox={inside}")).await;
    assert!(near["zones"].as_array().unwrap().iter().any(|z| z["id"] == zones[0]["id"]));
    let (_, _, far) = get(&router, "/v1/flood/zones?bbox=106.5,9.0,106.6,9.1").await;
    assert_eq!(far["zones"].as_array().unwrap().len(), 0);
    let (status, _, body) = get(&router, "/v1/flood/zones?level=9").await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("level")));
}

#[tokio::test]
async fn the_openapi_document_lists_what_the_handlers_read() {
    let router = router().await;
    let (status, _, doc) = get(&router, "/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let names = |path: &str| -> Vec<String> {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names("/v1/flood/zones"), ["scenario", "level", "bbox"]);
    assert_eq!(names("/v1/flood/zones/{id}/exposure"), ["limit", "after"]);
}

#[tokio::test]
async fn a_route_without_an_access_rule_does_not_exist() {
    let router = router().await;
    let (status, media, _) = get(&router, "/v1/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(media, "application/problem+json");
}
