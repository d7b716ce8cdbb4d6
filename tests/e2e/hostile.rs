//! Hostile input: injection strings in every parameter of every endpoint (from the access
//! table), deeply nested and non-finite JSON, polygons with too many vertices, tiles at the
//! edges of the grid, and a client that sends its body too slowly.

use crate::server::Server;
use diaba_api::ENDPOINTS;
use diaba_core::auth::Role;
use diaba_test_harness::demo_database;
use reqwest::{Client, Method};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

const NASTY: [&str; 6] = [
    "' OR '1'='1",
    "1; DROP TABLE parcel; --",
    "31135' UNION SELECT owners::text FROM parcel_version --",
    "$$; SELECT pg_sleep(5); --",
    "\u{0}\u{1}\u{7f}",
    "%' AND 1=1 --",
];

async fn fingerprint(db: &diaba_test_harness::TestDb) -> Vec<i64> {
    let mut conn = db.connect().await;
    let mut counts = Vec::new();
    for table in ["parcel", "parcel_version", "address", "app_user", "api_token", "audit_log", "change"] {
        counts.push(sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(&mut conn).await.unwrap());
    }
    counts
}

#[tokio::test]
async fn injection_strings_in_every_parameter_are_plain_text_to_every_endpoint() {
    let db = demo_database().await;
    let store = db.store().await;
    let collector = store.add_user("h-collector", Role::Collector, &["31135".into()], None).await.unwrap().1;
    // An admin passes every scope check, so the strings reach the queries themselves.
    let admin = store.add_user("h-admin", Role::Admin, &[], None).await.unwrap().1;
    store.close().await.unwrap();
    let server = Server::with_database(&db.url);
    let client = Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let before = fingerprint(&db).await;
    let mut requests = 0;
    // An event stream never ends; its parameters are none.
    let endpoints =
        ENDPOINTS.iter().filter(|e| e.method == Method::GET && e.tag != "web" && e.produces != "text/event-stream");
    for (endpoint, token) in endpoints.flat_map(|e| [(e, &collector), (e, &admin)]) {
        for nasty in NASTY {
            let encoded: String = form_urlencoded::byte_serialize(nasty.as_bytes()).collect();
            // Every path parameter, then every query parameter, gets the string.
            let path: String = endpoint
                .path
                .split('/')
                .map(|s| if s.starts_with('{') { encoded.clone() } else { s.to_owned() })
                .collect::<Vec<_>>()
                .join("/");
            let query: Vec<String> = endpoint.query.iter().map(|p| format!("{}={encoded}", p.name)).collect();
            for url in [path.clone(), format!("{path}?{}", query.join("&"))] {
                let started = Instant::now();
                let response = client.get(server.url(&url)).bearer_auth(token.reveal()).send().await.unwrap();
                requests += 1;
                let status = response.status().as_u16();
                let body = response.text().await.unwrap();
                assert!(status < 500, "{url}: {status} {body}");
                assert!(
                    started.elapsed() < Duration::from_secs(4),
                    "{url} took {:?} (pg_sleep ran?)",
                    started.elapsed()
                );
                assert!(!body.contains("id_number"), "{url} leaked owners: {body}");
            }
        }
    }
    assert!(requests > 300, "{requests} requests");
    assert_eq!(fingerprint(&db).await, before, "nothing written, nothing dropped");
}

#[tokio::test]
async fn nested_non_finite_and_oversized_json_get_4xx_problems() {
    let db = demo_database().await;
    let store = db.store().await;
    let registrar = store.add_user("h-registrar", Role::Registrar, &["31135".into()], None).await.unwrap().1;
    store.close().await.unwrap();
    let server = Server::with_database(&db.url);
    let client = Client::new();
    let before = fingerprint(&db).await;
    let ring = |n: usize| -> Vec<[f64; 2]> {
        let mut ring: Vec<[f64; 2]> = (0..n)
            .map(|i| {
                let a = i as f64 / n as f64 * std::f64::consts::TAU;
                [105.783 + 0.0005 * a.cos(), 10.0325 + 0.0005 * a.sin()]
            })
            .collect();
        ring.push(ring[0]);
        ring
    };
    let parcel = |geometry: String| {
        format!(
            r#"{{"ward":"31135","sheet":950,"number":1,"land_uses":[{{"code":"ODT","area_m2":100}}],"geometry":{geometry}}}"#
        )
    };
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    // 400: not JSON at all; 422: JSON of the wrong shape; 413: over the body limit.
    let cases: Vec<(&str, &str, String, &[u16])> = vec![
        ("nested 100 000 deep", "/v1/lookup", format!(r#"{{"points":{deep}}}"#), &[400, 422]),
        ("nested geometry", "/v1/parcels", parcel(format!(r#"{{"type":"Polygon","coordinates":{deep}}}"#)), &[400, 422]),
        ("NaN", "/v1/parcels", parcel(r#"{"type":"Polygon","coordinates":[[[NaN,10.03],[105.78,10.03],[105.78,10.04],[NaN,10.03]]]}"#.into()), &[400]),
        ("Infinity", "/v1/parcels", parcel(r#"{"type":"Polygon","coordinates":[[[Infinity,10.03],[105.78,10.03],[105.78,10.04],[Infinity,10.03]]]}"#.into()), &[400]),
        ("1e999", "/v1/parcels", parcel(r#"{"type":"Polygon","coordinates":[[[1e999,10.03],[105.78,10.03],[105.78,10.04],[1e999,10.03]]]}"#.into()), &[400]),
        ("lookup 1e999", "/v1/lookup", r#"{"points":[{"lat":1e999,"lon":105.78}]}"#.into(), &[400]),
        ("10 001 vertices", "/v1/parcels", parcel(json!({ "type": "Polygon", "coordinates": [ring(10_001)] }).to_string()), &[422]),
    ];
    for (name, path, body, wanted) in cases {
        let response = client
            .post(server.url(path))
            .bearer_auth(registrar.reveal())
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        let problem: Value = response.json().await.unwrap_or(Value::Null);
        assert!(wanted.contains(&status), "{name}: {status} {problem}");
        assert_eq!(content_type, "application/problem+json", "{name}");
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()), "{name}: {problem}");
    }

    // A million vertices (≈ 40 MB): refused once the first 2 MB (the limit) are read.
    let body = parcel(json!({ "type": "Polygon", "coordinates": [ring(1_000_000)] }).to_string());
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "POST /v1/parcels HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        registrar.reveal(),
        body.len()
    )
    .unwrap();
    for chunk in body.as_bytes()[..3 << 20].chunks(64 << 10) {
        if stream.write_all(chunk).is_err() {
            break; // the server answered and closed: what we want
        }
    }
    let mut answer = vec![0u8; 4096];
    let n = stream.read(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{} MB body: {answer}", body.len() >> 20);
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert_eq!(fingerprint(&db).await, before, "nothing half-written");
}

#[tokio::test]
async fn tiles_at_the_edges_of_the_grid_are_answered_or_refused_cleanly() {
    let db = diaba_test_harness::fresh_database().await;
    let server = Server::with_database(&db.url);
    let max22 = (1u64 << 22) - 1;
    for (path, wanted) in [
        ("/tiles/all/0/0/0.mvt".to_owned(), [200, 204]),
        (format!("/tiles/all/22/{max22}/{max22}.mvt"), [204, 204]),
        (format!("/tiles/all/22/{}/0.mvt", max22 + 1), [400, 404]),
        ("/tiles/all/4/16/0.mvt".to_owned(), [400, 404]),
        ("/tiles/all/99999999999999999999/0/0.mvt".to_owned(), [400, 400]),
        ("/tiles/all/1/0/1.mvt.mvt".to_owned(), [400, 400]),
    ] {
        let status = reqwest::get(server.url(&path)).await.unwrap().status().as_u16();
        assert!(wanted.contains(&status), "{path}: {status}");
    }
}

#[tokio::test]
async fn a_body_sent_too_slowly_is_cut_off_by_the_request_timeout() {
    let db = diaba_test_harness::fresh_database().await;
    let server = Server::start(&["--database-url", &db.url, "--request-timeout", "2"]);
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let started = Instant::now();
    write!(
        stream,
        "POST /v1/lookup HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{"
    )
    .unwrap();
    // One byte a second: a slowloris client would keep the connection for 1 000 s.
    let mut answer = String::new();
    for _ in 0..10 {
        std::thread::sleep(Duration::from_secs(1));
        if stream.write_all(b" ").is_err() {
            // The server answered and closed before this byte: read what it said.
            let _ = stream.read_to_string(&mut answer);
            break;
        }
        let mut buffer = [0u8; 4096];
        stream.set_nonblocking(true).unwrap();
        if let Ok(n) = stream.read(&mut buffer) {
            answer.push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
        stream.set_nonblocking(false).unwrap();
        if !answer.is_empty() {
            break;
        }
    }
    assert!(answer.starts_with("HTTP/1.1 408"), "after {:?}: {answer:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(6), "cut off after {:?}", started.elapsed());
    assert!(answer.contains("application/problem+json"), "{answer}");
}

#[tokio::test]
async fn headers_sent_too_slowly_are_cut_off_by_the_header_timeout() {
    let db = diaba_test_harness::fresh_database().await;
    let server = Server::start(&["--database-url", &db.url, "--header-timeout", "2"]);
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    let started = Instant::now();
    // One header byte a second: a slowloris client would hold the connection for ever,
    // and the request timeout only starts once the headers are read.
    let request = format!("GET /health HTTP/1.1\r\nHost: {address}\r\nX-Slow: {}\r\n\r\n", "z".repeat(60));
    let mut cut_off = None;
    for byte in request.bytes() {
        if stream.write_all(&[byte]).is_err() {
            cut_off = Some(started.elapsed());
            break;
        }
        stream.set_nonblocking(true).unwrap();
        let mut buffer = [0u8; 512];
        let read = stream.read(&mut buffer);
        stream.set_nonblocking(false).unwrap();
        if matches!(read, Ok(0)) || matches!(read, Ok(n) if n > 0) {
            cut_off = Some(started.elapsed());
            break;
        }
        if started.elapsed() > Duration::from_secs(12) {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let cut_off = cut_off.unwrap_or_else(|| panic!("still connected after {:?}", started.elapsed()));
    assert!(cut_off < Duration::from_secs(6), "cut off after {cut_off:?}");
}
