//! `/metrics` read back by Prometheus's own parser (Python `prometheus_client`, the
//! OpenMetrics parser, which refuses malformed exposition), and its numbers checked against
//! what the node did.

use crate::server::Server;
use diaba_test_harness::demo_database;
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

/// Parses OpenMetrics text with `prometheus_client` and prints every sample as JSON.
const PARSE: &str = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append({"family": family.name, "type": family.type, "name": s.name, "labels": s.labels, "value": s.value})
print(json.dumps(out))
"#;

fn parse(text: &str) -> Vec<Value> {
    // Debian's python3 holds python3-prometheus-client (scripts/setup installs it).
    let python = if std::path::Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" };
    let mut child = Command::new(python)
        .args(["-c", PARSE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "prometheus_client refused /metrics: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&output.stdout).unwrap()
}

fn value(samples: &[Value], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| s["name"] == name && labels.iter().all(|(k, v)| s["labels"][*k] == *v))
        .and_then(|s| s["value"].as_f64())
}

#[tokio::test]
async fn metrics_parse_and_count_what_the_node_did() {
    let db = demo_database().await;
    let server = Server::with_database(&db.url);
    let client = reqwest::Client::new();
    for _ in 0..3 {
        assert_eq!(client.get(server.url("/v1/lookup?lat=10.0357&lon=105.778")).send().await.unwrap().status(), 200);
    }
    // The raw path holds a parcel id; the label must be the route template.
    assert_eq!(client.get(server.url("/v1/parcels/999999999")).send().await.unwrap().status(), 404);
    assert_eq!(client.get(server.url("/no/such/thing")).send().await.unwrap().status(), 404);
    assert_eq!(client.post(server.url("/v1/parcels")).body("{}").send().await.unwrap().status(), 401);
    let tile = format!("/tiles/parcels/{}.mvt", diaba_tiles::TileCoord::containing(105.778, 10.0357, 16));
    for _ in 0..2 {
        assert!(client.get(server.url(&tile)).send().await.unwrap().status().is_success());
    }

    let response = client.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let text = response.text().await.unwrap();
    let samples = parse(&text);

    let requests = "diaba_http_requests_total";
    assert_eq!(value(&samples, requests, &[("route", "/v1/lookup"), ("method", "GET"), ("status", "200")]), Some(3.0));
    assert_eq!(value(&samples, requests, &[("route", "/v1/parcels/{id}"), ("status", "404")]), Some(1.0));
    assert_eq!(value(&samples, requests, &[("route", "unmatched"), ("status", "404")]), Some(1.0));
    assert_eq!(
        value(&samples, requests, &[("route", "/v1/parcels"), ("method", "POST"), ("status", "401")]),
        Some(1.0)
    );
    // Labels only: a value may print as 0.00499999999 by chance.
    let labels: Vec<String> = samples.iter().map(|s| s["labels"].to_string()).collect();
    assert!(labels.iter().all(|l| !l.contains("999999999") && !l.contains("/no/such")), "no raw path in any label");
    let latency = "diaba_http_request_duration_seconds";
    assert_eq!(value(&samples, &format!("{latency}_count"), &[("route", "/v1/lookup")]), Some(3.0));
    assert_eq!(value(&samples, &format!("{latency}_bucket"), &[("route", "/v1/lookup"), ("le", "+Inf")]), Some(3.0));

    let health: Value = client.get(server.url("/health")).send().await.unwrap().json().await.unwrap();
    for (layer, key) in
        [("parcels", "parcels"), ("units", "units"), ("addresses", "addresses"), ("flood_zones", "flood_zones")]
    {
        let indexed = value(&samples, "diaba_index_features", &[("layer", layer)]);
        assert_eq!(indexed, health["index"][key].as_f64(), "{layer}");
    }
    assert!(value(&samples, "diaba_index_features", &[("layer", "parcels")]).unwrap() > 1000.0);
    assert!(value(&samples, "diaba_search_households", &[]).unwrap() > 1000.0);
    assert_eq!(value(&samples, "diaba_feed_lag_entries", &[]), Some(0.0), "an idle node has applied the whole feed");
    assert_eq!(value(&samples, "diaba_feed_latest_seq", &[]), value(&samples, "diaba_feed_applied_seq", &[]));
    assert_eq!(value(&samples, "diaba_tile_cache_hits_total", &[]), Some(1.0), "the second request of the tile");
    assert_eq!(value(&samples, "diaba_tile_cache_misses_total", &[]), Some(1.0));
    assert!(value(&samples, "diaba_db_pool_max_connections", &[("pool", "primary")]).unwrap() >= 1.0);
    assert!(value(&samples, "diaba_db_pool_connections", &[("pool", "primary"), ("state", "idle")]).is_some());
    assert!(value(&samples, "diaba_db_replica_up", &[]).is_none(), "no replica configured, none reported");
}
