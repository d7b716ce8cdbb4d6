//! Flooding now: a (synthetic) tide gauge publishes to a real mosquitto broker, diaba takes
//! the readings in over MQTT, the zones under the gauge's rule flip, and the alerts reach a
//! Server-Sent Events client with their exposure, within a second.

use crate::server::Server;
use chrono::{Duration as Span, Utc};
use diaba_core::auth::Role;
use diaba_test_harness::demo_database;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Debian's mosquitto on a free loopback port, for one test.
struct Broker {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Broker {
    fn start() -> Broker {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("mosquitto.conf");
        std::fs::write(&config, format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"))
            .unwrap();
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto (Debian's mosquitto package; scripts/setup installs it)");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "mosquitto did not listen on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Broker { child, port, _dir: dir }
    }

    /// Publishes with Debian's own client, as a gateway would.
    fn publish(&self, datastream: i64, body: &Value) {
        let status = Command::new("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-q", "1"])
            .args(["-t", &format!("v1.1/Datastreams({datastream})/Observations"), "-m", &body.to_string()])
            .status()
            .expect("mosquitto_pub (mosquitto-clients)");
        assert!(status.success());
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads Server-Sent Events off a response.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    /// The next `alert` event's data, waiting up to `within`.
    async fn next_alert(&mut self, within: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let event: String = self.buffer.drain(..end + 2).collect();
                if event.lines().any(|l| l == "event: alert") {
                    let data: String = event.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
                    return serde_json::from_str(&data).unwrap();
                }
                continue;
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("no alert within {within:?}"))
                .unwrap()
                .expect("the event stream stays open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

#[tokio::test]
async fn a_reading_over_mqtt_floods_the_zones_of_its_rule_and_the_alert_with_exposure_arrives_within_a_second() {
    let db = demo_database().await;
    let broker = Broker::start();
    let mqtt = format!("mqtt://127.0.0.1:{}", broker.port);
    let (hook, calls) = crate::applications::webhook_receiver().await;
    let server = Server::start(&[
        "--database-url",
        &db.url,
        "--mqtt-url",
        &mqtt,
        "--flood-alert-webhook",
        &hook,
        "--flood-alert-email",
        "ops-desk@example.invalid",
    ]);
    let client = Client::new();
    let store = db.store().await;
    let admin = store.add_user("admin-flood", Role::Admin, &[], None).await.unwrap().1.reveal().to_owned();
    let post = |path: &str, body: Value| {
        client.post(server.url(&format!("/sta/v1.1/{path}"))).bearer_auth(&admin).json(&body).send()
    };
    let id = |response: reqwest::Response| async move {
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json::<Value>().await.unwrap()["@iot.id"].as_i64().unwrap()
    };
    let thing = id(post("Things", json!({"name": "Trạm Cần Thơ (synthetic)"})).await.unwrap()).await;
    let sensor = id(post("Sensors", json!({"name": "radar (synthetic)"})).await.unwrap()).await;
    let property =
        id(post("ObservedProperties", json!({"name": "Water level", "definition": "https://example.invalid/level"}))
            .await
            .unwrap())
        .await;
    let stream = id(post(
        "Datastreams",
        json!({"name": "tide (synthetic)", "unitOfMeasurement": {"name": "metre", "symbol": "m"},
        "Thing": {"@iot.id": thing}, "Sensor": {"@iot.id": sensor}, "ObservedProperty": {"@iot.id": property},
        "properties": {"measurementRange": [-1.0, 4.0]}}),
    )
    .await
    .unwrap())
    .await;

    // "Cần Thơ tide gauge ≥ 1.9 m → tidal-peak zones of level 3 flood" (synthetic zones).
    let rule = client
        .put(server.url("/v1/flood/rules/tidal-peak/3"))
        .bearer_auth(&admin)
        .json(&json!({"datastream": stream, "threshold": 1.9}))
        .send()
        .await
        .unwrap();
    assert_eq!(rule.status(), StatusCode::OK);
    let live: Value = rule.json().await.unwrap();
    let zones = live["zones"]["dry"].as_array().unwrap().len();
    assert!(zones >= 10, "a level-3 tidal-peak zone in every ward: {zones}");
    assert_eq!(live["zones"]["flooded"], json!([]));

    let response = client.get(server.url("/v1/flood/live/events")).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut events = Events { response, buffer: String::new() };

    let published = Instant::now();
    broker.publish(stream, &json!({"phenomenonTime": Utc::now().to_rfc3339(), "result": 2.05}));
    let first = events.next_alert(Duration::from_secs(5)).await;
    let latency = published.elapsed();
    assert!(latency < Duration::from_secs(1), "the first alert took {latency:?}");
    let mut flooded = vec![first];
    for _ in 1..zones {
        flooded.push(events.next_alert(Duration::from_secs(5)).await);
    }
    let mut conn = db.connect().await;
    for alert in &flooded {
        assert_eq!((alert["from"].as_str(), alert["to"].as_str()), (Some("dry"), Some("flooded")), "{alert}");
        assert_eq!(alert["zone"]["scenario"], "tidal-peak");
        assert_eq!(alert["reading"]["result"], 2.05);
        // Households: the same as PostGIS counts in the zone.
        let households: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM address a JOIN flood_zone z ON z.id = $1 \
             WHERE a.status = 'verified' AND ST_Covers(z.geom, a.location)",
        )
        .bind(alert["zone"]["id"].as_i64().unwrap())
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(alert["exposure"]["households"], households, "{alert}");
        let by_ward: i64 =
            alert["exposure"]["by_ward"].as_array().unwrap().iter().map(|w| w["parcels"].as_i64().unwrap()).sum();
        assert_eq!(alert["exposure"]["parcels"], by_ward);
    }
    assert!(flooded.iter().any(|a| a["exposure"]["parcels"].as_i64().unwrap() > 0), "some zone holds parcels");

    // The same alerts by webhook (delivered by the outbox) and e-mail (queued: no SMTP here).
    let hooked = crate::applications::calls_once(&calls, zones).await;
    assert_eq!(hooked.len(), zones);
    assert!(hooked.iter().all(|a| a["to"] == "flooded" && a["exposure"]["by_ward"].is_array()), "{hooked:?}");
    let mails: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM notification WHERE channel = 'email' AND recipient = 'ops-desk@example.invalid' \
         AND subject LIKE '%dry → flooded'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(mails, zones as i64);

    let live: Value = client.get(server.url("/v1/flood/live")).send().await.unwrap().json().await.unwrap();
    assert_eq!(live["zones"]["flooded"].as_array().unwrap().len(), zones);
    assert!(
        live["zones"]["flooded"][0]["exposure"]["by_ward"].is_array()
            && live["zones"]["flooded"][0]["since"].is_string()
    );

    // A faulty reading changes nothing; it is counted.
    broker.publish(stream, &json!({"phenomenonTime": Utc::now().to_rfc3339(), "result": "NaN"}));
    broker.publish(stream, &json!({"phenomenonTime": Utc::now().to_rfc3339(), "result": 12.0}));
    broker.publish(987_654, &json!({"result": 1.0}));
    // The tide turns: dry again, then rising fast towards the threshold → watch.
    tokio::time::sleep(Duration::from_millis(300)).await;
    broker.publish(stream, &json!({"phenomenonTime": Utc::now().to_rfc3339(), "result": 1.0}));
    for _ in 0..zones {
        let alert = events.next_alert(Duration::from_secs(5)).await;
        assert_eq!((alert["from"].as_str(), alert["to"].as_str()), (Some("flooded"), Some("dry")), "{alert}");
    }
    broker.publish(stream, &json!({"phenomenonTime": (Utc::now() - Span::minutes(10)).to_rfc3339(), "result": 1.0}));
    broker.publish(stream, &json!({"phenomenonTime": Utc::now().to_rfc3339(), "result": 1.6}));
    let watch = events.next_alert(Duration::from_secs(5)).await;
    assert_eq!(watch["to"], "watch", "rising 0.6 m in 10 min, 0.3 m to go: {watch}");
    assert!(watch["reading"]["rate_m_per_h"].as_f64().unwrap() > 0.5);

    let rejected = store.sta_rejections().await.unwrap();
    let count = |sensor_id: i64, reason: &str| {
        rejected.iter().find(|(s, r, _)| *s == sensor_id && r == reason).map_or(0, |r| r.2)
    };
    assert_eq!(
        (count(sensor, "not_a_number"), count(sensor, "out_of_range"), count(0, "unknown_datastream")),
        (1, 1, 1)
    );
    store.close().await.unwrap();
}

#[tokio::test]
async fn the_demo_gauge_sets_itself_up_labelled_synthetic_and_reads_the_tide_every_five_seconds() {
    let db = demo_database().await;
    let server = Server::start(&["--database-url", &db.url, "--demo-gauges"]);
    let client = Client::new();
    let get = |path: String| {
        let request = client.get(server.url(&path)).send();
        async move { request.await.unwrap().json::<Value>().await.unwrap() }
    };
    let started = Instant::now();
    let stream = loop {
        let streams = get("/sta/v1.1/Datastreams".into()).await;
        if let Some(stream) = streams["value"].as_array().unwrap().first() {
            break stream.clone();
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no demo gauge after 20 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(stream["name"].as_str().unwrap().contains("(synthetic)"), "{stream}");
    let id = stream["@iot.id"].as_i64().unwrap();
    let thing = get(format!("/sta/v1.1/Datastreams({id})/Thing")).await;
    assert_eq!(thing["properties"]["synthetic"], true);
    tokio::time::sleep(Duration::from_secs(6)).await;
    let readings =
        get(format!("/sta/v1.1/Datastreams({id})/Observations?$count=true&$orderby=phenomenonTime%20asc")).await;
    assert!(readings["@iot.count"].as_i64().unwrap() >= 2, "{readings}");
    let first = readings["value"][0]["result"].as_f64().unwrap();
    assert!((first - diaba_register::simulator::level_at(0.0)).abs() < 0.05, "the curve starts at mean water: {first}");
    let live = get("/v1/flood/live".into()).await;
    let rules: Vec<(i64, f64)> = live["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["risk_level"].as_i64().unwrap(), r["threshold"].as_f64().unwrap()))
        .collect();
    assert_eq!(rules, [(3, 2.0), (4, 1.8), (5, 1.6)]);
    let under: usize = ["dry", "watch", "flooded"].iter().map(|s| live["zones"][s].as_array().unwrap().len()).sum();
    assert!(under >= 30, "the demo's tidal-peak zones of levels 3–5 are under the rules: {under}");
}
