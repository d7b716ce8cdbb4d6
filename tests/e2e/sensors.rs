//! Water-level sensors through the SensorThings API: an admin sets up a (synthetic) tide
//! gauge, its sensor token writes readings over HTTP one at a time and in batches, faulty
//! readings are refused and counted, and the data reads back through paging and $filter,
//! from monthly partitions that the retention drops.

use crate::server::Server;
use chrono::{DateTime, Datelike, Duration, Utc};
use diaba_core::auth::Role;
use diaba_test_harness::demo_database;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

const STA: &str = "/sta/v1.1";

struct Gauge {
    client: Client,
    server: Server,
    admin: String,
}

impl Gauge {
    async fn post(&self, token: &str, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.server.url(&format!("{STA}/{path}")))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn create(&self, path: &str, body: Value) -> i64 {
        let (status, created) = self.post(&self.admin, path, &body).await;
        assert_eq!(status, StatusCode::CREATED, "{path}: {created}");
        assert!(created["@iot.selfLink"].as_str().unwrap().ends_with(&format!("{path}({})", created["@iot.id"])));
        created["@iot.id"].as_i64().unwrap()
    }

    async fn get(&self, url: &str) -> Value {
        let url = match url {
            "" => self.server.url(STA),
            _ if url.starts_with("http") => url.to_string(),
            _ => self.server.url(&format!("{STA}/{url}")),
        };
        let response = self.client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        response.json().await.unwrap()
    }
}

fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[tokio::test]
async fn a_gauge_writes_readings_faulty_ones_are_refused_and_clients_page_and_filter_them() {
    let db = demo_database().await;
    let store = db.store().await;
    let admin = store.add_user("admin-sta", Role::Admin, &[], None).await.unwrap().1.reveal().to_owned();
    let gauge = Gauge { client: Client::new(), server: Server::with_database(&db.url), admin };

    let root = gauge.get("").await;
    let sets: Vec<&str> = root["value"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(sets, ["Things", "Locations", "Sensors", "ObservedProperties", "Datastreams", "Observations"]);

    let location = gauge
        .create(
            "Locations",
            json!({"name": "Bến Ninh Kiều (synthetic)", "description": "synthetic gauge site",
                   "encodingType": "application/geo+json", "location": {"type": "Point", "coordinates": [105.7884, 10.0339]}}),
        )
        .await;
    let thing = gauge
        .create(
            "Things",
            json!({"name": "Trạm đo triều Cần Thơ (synthetic)", "description": "synthetic tide gauge",
                   "properties": {"synthetic": true}, "Locations": [{"@iot.id": location}]}),
        )
        .await;
    let sensor = gauge.create("Sensors", json!({"name": "Radar level sensor (synthetic)", "encodingType": "text/html", "metadata": "https://example.invalid/radar"})).await;
    let property = gauge
        .create(
            "ObservedProperties",
            json!({"name": "Water level", "definition": "http://vocab.nerc.ac.uk/collection/P01/current/ASLVZZ01/"}),
        )
        .await;
    let stream_body = |name: &str| {
        json!({"name": name, "description": "synthetic", "unitOfMeasurement": {"name": "metre", "symbol": "m", "definition": "http://qudt.org/vocab/unit/M"},
               "Thing": {"@iot.id": thing}, "Sensor": {"@iot.id": sensor}, "ObservedProperty": {"@iot.id": property},
               "properties": {"measurementRange": [-1.0, 4.0]}})
    };
    let stream = gauge.create("Datastreams", stream_body("Mực nước sông Hậu (synthetic)")).await;
    let other = gauge.create("Datastreams", stream_body("another gauge (synthetic)")).await;
    let (status, _) = gauge.post(&gauge.admin, "Datastreams", &json!({"name": "x", "unitOfMeasurement": {}, "Thing": {"@iot.id": 99999}, "Sensor": {"@iot.id": sensor}, "ObservedProperty": {"@iot.id": property}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a link to a thing that does not exist");

    // Navigation both ways.
    let things = gauge.get(&format!("Locations({location})/Things")).await;
    assert_eq!(things["value"][0]["@iot.id"], thing);
    let linked = gauge.get(&format!("Datastreams({stream})/Thing")).await;
    assert_eq!(linked["name"], "Trạm đo triều Cần Thơ (synthetic)");
    assert!(
        linked["Datastreams@iot.navigationLink"].as_str().unwrap().ends_with(&format!("Things({thing})/Datastreams"))
    );
    let range = gauge.get(&format!("Datastreams({stream})")).await["properties"]["measurementRange"].clone();
    let range: Vec<f64> = range.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(range, [-1.0, 4.0]);

    let (user, token) = store.add_user("gauge-can-tho", Role::Sensor, &[], None).await.unwrap();
    store.set_datastreams(user.user_id, &[stream]).await.unwrap();
    let token = token.reveal().to_owned();

    // One reading, then 300 in one batch over two months: a tidal curve, synthetic.
    let start = Utc::now() - Duration::days(40);
    let (status, created) = gauge
        .post(
            &token,
            &format!("Datastreams({stream})/Observations"),
            &json!({"phenomenonTime": at(start), "result": 1.5}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let rows: Vec<Value> = (1..=300)
        .map(|i| {
            let t = start + Duration::hours(3 * i64::from(i));
            json!([at(t), ((1.2 + 0.8 * (f64::from(i) / 4.0).sin()) * 100.0).round() / 100.0])
        })
        .collect();
    let batch =
        json!([{"Datastream": {"@iot.id": stream}, "components": ["phenomenonTime", "result"], "dataArray": rows}]);
    let (status, links) = gauge.post(&token, "CreateObservations", &batch).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(links.as_array().unwrap().len(), 300);
    assert!(links.as_array().unwrap().iter().all(|l| l.as_str().unwrap().contains("/Observations(")), "{links}");
    let mut conn = db.connect().await;
    let partitions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_inherits WHERE inhparent = 'sta_observation'::regclass")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert!(partitions >= 2, "the readings span two months: {partitions} partitions");

    // Faulty readings: each refused with its reason, counted per sensor, none stored.
    let future = at(Utc::now() + Duration::minutes(10));
    for (body, path, says) in [
        (
            json!({"phenomenonTime": at(Utc::now()), "result": "NaN"}),
            format!("Datastreams({stream})/Observations"),
            "not a number",
        ),
        (
            json!({"phenomenonTime": at(Utc::now()), "result": 9.5}),
            format!("Datastreams({stream})/Observations"),
            "outside the sensor's range",
        ),
        (json!({"phenomenonTime": future, "result": 1.0}), format!("Datastreams({stream})/Observations"), "future"),
        (
            json!({"result": 1.0, "Datastream": {"@iot.id": 987_654}}),
            "Observations".to_string(),
            "no datastream 987654",
        ),
        (json!({"result": 1.0, "Datastream": {"@iot.id": other}}), "Observations".to_string(), "no datastream"),
    ] {
        let (status, problem) = gauge.post(&token, &path, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {problem}");
        assert!(problem["detail"].as_str().unwrap().contains(says), "{body}: {problem}");
    }
    let mixed = json!([{"Datastream": {"@iot.id": stream}, "components": ["phenomenonTime", "result"],
                        "dataArray": [[at(Utc::now()), 1.1], [at(Utc::now()), 44.0], [at(Utc::now()), 1.2]]}]);
    let (_, links) = gauge.post(&token, "CreateObservations", &mixed).await;
    assert_eq!(links[1], "error", "the bad row of a batch is an error, the others go in: {links}");
    assert!(
        links[0].as_str().unwrap().contains("Observations(") && links[2].as_str().unwrap().contains("Observations(")
    );
    let rejected = store.sta_rejections().await.unwrap();
    let count = |sensor_id: i64, reason: &str| {
        rejected.iter().find(|(s, r, _)| *s == sensor_id && r == reason).map_or(0, |(_, _, n)| *n)
    };
    assert_eq!(count(sensor, "not_a_number"), 1, "{rejected:?}");
    assert_eq!(count(sensor, "out_of_range"), 2, "{rejected:?}");
    assert_eq!(count(sensor, "future_time"), 1, "{rejected:?}");
    assert_eq!(count(0, "unknown_datastream"), 2, "{rejected:?}");

    // Who may write what.
    let (status, _) = gauge.post(&token, "Things", &json!({"name": "x"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a sensor does not create things");
    let response = gauge
        .client
        .post(gauge.server.url(&format!("{STA}/Observations")))
        .json(&json!({"result": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // Reading back: every page through @iot.nextLink, newest first, each reading once.
    let total = 1 + 300 + 2;
    let mut url = format!("Datastreams({stream})/Observations?$top=40&$orderby=phenomenonTime%20desc&$count=true");
    let mut seen: Vec<(String, i64)> = Vec::new();
    loop {
        let page = gauge.get(&url).await;
        assert_eq!(page["@iot.count"], total, "{url}");
        for o in page["value"].as_array().unwrap() {
            seen.push((o["phenomenonTime"].as_str().unwrap().to_owned(), o["@iot.id"].as_i64().unwrap()));
            assert!(o["Datastream@iot.navigationLink"].is_string());
        }
        match page["@iot.nextLink"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen.len(), total as usize);
    assert!(seen.windows(2).all(|w| w[0].0 >= w[1].0), "newest first");
    let mut ids: Vec<i64> = seen.iter().map(|(_, id)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), total as usize, "each reading once across the pages");

    // $filter on time and result, checked against the same readings counted here.
    // To the millisecond, as the filter sends it.
    let since = DateTime::parse_from_rfc3339(&at(start + Duration::days(20))).unwrap().with_timezone(&Utc);
    let filter = format!("phenomenonTime ge {} and result gt 1.5", at(since));
    let expected = rows
        .iter()
        .filter(|r| {
            DateTime::parse_from_rfc3339(r[0].as_str().unwrap()).unwrap() >= since && r[1].as_f64().unwrap() > 1.5
        })
        .count();
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("$filter", &filter)
        .append_pair("$count", "true")
        .append_pair("$top", "1000")
        .finish();
    let filtered = gauge.get(&format!("Datastreams({stream})/Observations?{query}")).await;
    assert!(expected > 10);
    assert_eq!(filtered["@iot.count"], expected as i64, "{filter}");
    assert!(filtered["value"].as_array().unwrap().iter().all(|o| o["result"].as_f64().unwrap() > 1.5));
    // The same through a real SensorThings client: FROST's Python client (PyPI), paging by
    // @iot.nextLink (scripts/test puts it in target/sta-venv).
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/target/sta-venv/bin/python");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/clients/sta_read.py");
    let output = std::process::Command::new(python)
        .args([script, &gauge.server.url(STA), &stream.to_string(), &filter])
        .output()
        .unwrap_or_else(|e| panic!("{python}: {e} (scripts/test makes this venv)"));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let read: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(read["datastream"], "Mực nước sông Hậu (synthetic)");
    assert_eq!(read["unit"], "m");
    let mut oldest_first = seen.clone();
    oldest_first.sort(); // by time, then id: the server breaks ties by id
    let oldest_first: Vec<i64> = oldest_first.into_iter().map(|(_, id)| id).collect();
    let client_ids: Vec<i64> = read["all"].as_array().unwrap().iter().map(|o| o[0].as_i64().unwrap()).collect();
    assert_eq!(client_ids, oldest_first, "the client pages through every reading, oldest first");
    let mut wanted: Vec<i64> =
        filtered["value"].as_array().unwrap().iter().map(|o| o["@iot.id"].as_i64().unwrap()).collect();
    wanted.sort_unstable();
    assert_eq!(read["filtered"], json!(wanted), "the client's $filter finds the same readings");

    for bad in ["$filter=result%20gt%20%27high%27", "$filter=owner%20eq%201", "$top=-3", "$expand=Thing"] {
        let response = gauge.client.get(gauge.server.url(&format!("{STA}/Observations?{bad}"))).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
    }
    for missing in ["Robots", "Things(999999)", "Things(999999)/Datastreams", "Things(1)/Observations"] {
        let response = gauge.client.get(gauge.server.url(&format!("{STA}/{missing}"))).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{missing}");
    }

    // Retention: dropping the months that ended before the second month leaves only it.
    let first_month_end =
        (start + chrono::Months::new(1)).date_naive().with_day0(0).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let dropped = store.sta_drop_partitions_before(first_month_end).await.unwrap();
    assert_eq!(dropped.len(), 1, "{dropped:?}");
    let left = gauge.get(&format!("Datastreams({stream})/Observations?$count=true&$top=1")).await;
    let kept = seen.iter().filter(|(t, _)| DateTime::parse_from_rfc3339(t).unwrap() >= first_month_end).count();
    assert_eq!(left["@iot.count"], kept as i64);
    store.close().await.unwrap();
}
