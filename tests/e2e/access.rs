//! Access control, walked from the one table in the code (`diaba_api::ENDPOINTS`): every
//! endpoint × every kind of caller gets the status its rule says. An endpoint added to the
//! table without a sample request here fails this test; a route added without a rule is
//! refused by the server (and caught by the API crate's own test). Owners reach only
//! registrars; a revoked token stops at once; guessing tokens is slowed down.

use crate::server::{Server, get_json_as};
use diaba_api::{Access, ENDPOINTS, Endpoint};
use diaba_core::auth::Role;
use diaba_test_harness::demo_database;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

const IN: &str = "31135"; // Phường Ninh Kiều
const OUT: &str = "31299"; // Xã Phong Điền: somewhere else

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    UnknownToken,
    CollectorIn,
    CollectorOut,
    RegistrarIn,
    RegistrarOut,
    Admin,
}

const CALLERS: [Caller; 7] = [
    Caller::Anonymous,
    Caller::UnknownToken,
    Caller::CollectorIn,
    Caller::CollectorOut,
    Caller::RegistrarIn,
    Caller::RegistrarOut,
    Caller::Admin,
];

/// What a caller gets from a rule: `Ok` is the endpoint's own answer to an allowed caller.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Allowed,
    Unauthorized,
    Forbidden,
}

fn expected(access: Access, caller: Caller) -> Outcome {
    use Caller::*;
    match (caller, access) {
        (UnknownToken, _) => Outcome::Unauthorized,
        (_, Access::Public | Access::PublicOwnersToRegistrars) => Outcome::Allowed,
        (Anonymous, _) => Outcome::Unauthorized,
        (_, Access::SignedIn | Access::SignedInOrCitizen) => Outcome::Allowed,
        (CollectorIn | Admin, Access::Collector) => Outcome::Allowed,
        (RegistrarIn | Admin, Access::Registrar | Access::RegistrarOrCitizen) => Outcome::Allowed,
        (Admin, Access::Sensor | Access::Admin) => Outcome::Allowed,
        _ => Outcome::Forbidden,
    }
}

struct World {
    _db: diaba_test_harness::TestDb,
    server: Server,
    client: Client,
    tokens: Vec<(Caller, String)>,
    parcel: Value,
    neighbour: Value,
    pending_address: i64,
    verified_address: i64,
    party: i64,
    serial: String,
    dossier: String,
    spot: (f64, f64),
    _web: tempfile::TempDir,
}

impl World {
    async fn start() -> World {
        let db = demo_database().await;
        let store = db.store().await;
        let mut tokens = vec![(Caller::UnknownToken, "dba_0000000000000000000000000000000000000000".to_owned())];
        for (caller, name, role, wards) in [
            (Caller::CollectorIn, "c-in", Role::Collector, IN),
            (Caller::CollectorOut, "c-out", Role::Collector, OUT),
            (Caller::RegistrarIn, "r-in", Role::Registrar, IN),
            (Caller::RegistrarOut, "r-out", Role::Registrar, OUT),
            (Caller::Admin, "admin", Role::Admin, ""),
        ] {
            let wards: Vec<String> = wards.split(',').filter(|w| !w.is_empty()).map(str::to_owned).collect();
            let token = store.add_user(name, role, &wards, Some("access test (synthetic)")).await.unwrap().1;
            tokens.push((caller, token.reveal().to_owned()));
        }
        let mut conn = db.connect().await;
        let pending_address: i64 = sqlx::query_scalar(
            "SELECT id FROM address WHERE ward_code = $1 AND status = 'submitted' ORDER BY id LIMIT 1",
        )
        .bind(IN)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        let verified_address: i64 = sqlx::query_scalar(
            "SELECT id FROM address WHERE ward_code = $1 AND status = 'verified' ORDER BY id LIMIT 1",
        )
        .bind(IN)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        let (party, serial): (i64, String) = sqlx::query_as(
            "SELECT r.party_id, c.serial FROM parcel_version v JOIN land_right r ON r.parcel_id = v.parcel_id \
             AND r.valid_to IS NULL JOIN certificate c ON c.id = r.certificate_id \
             WHERE v.ward_code = $1 AND v.sheet = 1 AND v.number = 1 AND v.valid_to IS NULL LIMIT 1",
        )
        .bind(IN)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        // A dossier at the counter for the step and read samples (synthetic).
        let admin: i64 =
            sqlx::query_scalar("SELECT id FROM app_user WHERE name = 'admin'").fetch_one(&mut conn).await.unwrap();
        let office =
            diaba_core::auth::Caller { user_id: admin, name: "admin".into(), role: Role::Admin, wards: vec![] };
        let certificate_id: i64 = sqlx::query_scalar("SELECT id FROM certificate WHERE serial = $1")
            .bind(&serial)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        let dossier = store
            .create_application(
                diaba_store::applications::NewApplication {
                    channel: "counter",
                    ward_code: IN.into(),
                    certificate_id,
                    party_id: party,
                    applicant_name: "Người nộp thử (synthetic)".into(),
                    changes: json!({ "address": "Phường Ninh Kiều (synthetic)" }),
                    reason: "kiểm tra quyền".into(),
                    limit_days: 4,
                    fee_vnd: 0,
                    year: 2026,
                    applicant_subject: None,
                    contact_email: None,
                    notices: Vec::new(),
                },
                diaba_core::auth::Actor::Staff(&office),
            )
            .await
            .unwrap()
            .code;
        store.close().await.unwrap();
        let web = tempfile::tempdir().unwrap();
        std::fs::create_dir(web.path().join("assets")).unwrap();
        for page in [
            "index.html",
            "field.html",
            "review.html",
            "apply.html",
            "office.html",
            "ioc.html",
            "sw.js",
            "manifest.webmanifest",
            "assets/app.css",
        ] {
            std::fs::write(web.path().join(page), "stand-in").unwrap();
        }
        // Unknown tokens are part of the matrix; their rate limit has its own test.
        let server = Server::start(&[
            "--database-url",
            &db.url,
            "--web-dir",
            web.path().to_str().unwrap(),
            "--auth-failures-per-minute",
            "0",
        ]);
        let client = Client::new();
        let get = |path: String| {
            let client = client.clone();
            let url = server.url(&path);
            async move { client.get(url).send().await.unwrap().json::<Value>().await.unwrap() }
        };
        let parcel = get(format!("/v1/parcels?ward={IN}&sheet=1&number=1")).await;
        let neighbour = get(format!("/v1/parcels?ward={IN}&sheet=1&number=2")).await;
        let ring = parcel["geometry"]["coordinates"][0][0].as_array().unwrap().clone();
        let n = (ring.len() - 1) as f64;
        let spot = (
            ring[..ring.len() - 1].iter().map(|c| c[0].as_f64().unwrap()).sum::<f64>() / n,
            ring[..ring.len() - 1].iter().map(|c| c[1].as_f64().unwrap()).sum::<f64>() / n,
        );
        World {
            _db: db,
            server,
            client,
            tokens,
            parcel,
            neighbour,
            pending_address,
            verified_address,
            party,
            serial,
            dossier,
            spot,
            _web: web,
        }
    }

    fn token(&self, caller: Caller) -> Option<&str> {
        self.tokens.iter().find(|(c, _)| *c == caller).map(|(_, t)| t.as_str())
    }

    /// A request for `endpoint` that an allowed caller gets a definite answer to without
    /// changing anything another caller's request depends on.
    fn sample(&self, endpoint: &Endpoint, caller: Caller) -> (String, Option<Value>, Vec<(&'static str, String)>) {
        let (lon, lat) = self.spot;
        let id = self.parcel["id"].as_i64().unwrap();
        let submission = || {
            json!({ "lat": lat, "lon": lon, "accuracy_m": 3.0, "house_number": format!("{caller:?}"),
                    "street": "Đường kiểm tra quyền (synthetic)", "captured_at": "2026-11-20T09:00:00Z" })
        };
        let stale = vec![("If-Match", "\"999\"".to_owned())];
        let key = vec![("Idempotency-Key", format!("access-{caller:?}"))];
        let none = Vec::new();
        match (endpoint.method.as_str(), endpoint.path) {
            (
                "GET",
                "/health" | "/metrics" | "/openapi.json" | "/v1/me" | "/ogc" | "/ogc/" | "/ogc/conformance"
                | "/ogc/api",
            ) => (endpoint.path.to_owned(), None, none),
            ("GET", "/ogc/collections") => (endpoint.path.to_owned(), None, none),
            ("GET", "/ogc/collections/{id}") => ("/ogc/collections/parcels".into(), None, none),
            ("GET", "/ogc/collections/{id}/items") => {
                (format!("/ogc/collections/parcels/items?ward={IN}&limit=2"), None, none)
            }
            ("GET", "/ogc/collections/{id}/items/{feature}") => {
                (format!("/ogc/collections/parcels/items/{id}"), None, none)
            }
            (
                "GET",
                "/v1/units" | "/v1/lookup" | "/v1/vpostcode" | "/v1/addresses/nearest" | "/v1/addresses/nearby",
            ) => (format!("{}?lat={lat}&lon={lon}&radius_m=500", endpoint.path), None, none),
            ("POST", "/v1/lookup") => {
                (endpoint.path.into(), Some(json!({ "points": [{ "lat": lat, "lon": lon }] })), none)
            }
            ("GET", "/v1/parcels") => (format!("/v1/parcels?ward={IN}&sheet=1&number=1"), None, none),
            ("GET", "/v1/parcels/{id}") => (format!("/v1/parcels/{id}"), None, none),
            ("GET", "/v1/parcels/{id}/history") => (format!("/v1/parcels/{id}/history"), None, none),
            ("GET", "/v1/parcels/{id}/lineage") => (format!("/v1/parcels/{id}/lineage"), None, none),
            ("GET", "/v1/parcels/{id}/extract.pdf") => (format!("/v1/parcels/{id}/extract.pdf"), None, none),
            ("GET", "/v1/parcels/{id}/rights") => (format!("/v1/parcels/{id}/rights"), None, none),
            ("GET", "/v1/parties") => (format!("/v1/parties?name=nguyen&ward={IN}"), None, none),
            ("GET", "/v1/parties/{id}") => (format!("/v1/parties/{}", self.party), None, none),
            ("GET", "/v1/parties/{id}/verification") => {
                (format!("/v1/parties/{}/verification", self.party), None, none)
            }
            ("GET", "/v1/population/{personal_id}") => (format!("/v1/population/092085004711?ward={IN}"), None, none),
            ("POST", "/v1/applications") => (
                endpoint.path.into(),
                Some(
                    json!({ "certificate": self.serial, "party_id": self.party, "applicant_name": "Người nộp (synthetic)",
                             "changes": { "address": "Ninh Kiều (synthetic)" }, "reason": "kiểm tra quyền" }),
                ),
                none,
            ),
            ("GET", "/v1/applications") => (format!("/v1/applications?ward={IN}"), None, none),
            ("GET", "/v1/applications/figures") => (format!("/v1/applications/figures?ward={IN}"), None, none),
            ("GET", "/v1/applications/{code}") => (format!("/v1/applications/{}", self.dossier), None, none),
            ("GET", "/v1/applications/{code}/qr.svg") => {
                (format!("/v1/applications/{}/qr.svg", self.dossier), None, none)
            }
            ("GET", "/v1/applications/{code}/status") => {
                (format!("/v1/applications/{}/status", self.dossier), None, none)
            }
            ("POST", "/v1/applications/{code}/{step}") => {
                (format!("/v1/applications/{}/receive", self.dossier), Some(json!({})), stale)
            }
            ("GET", "/v1/applications/{code}/documents") => {
                (format!("/v1/applications/{}/documents", self.dossier), None, none)
            }
            // JSON is no document: refused for its content (422), nothing kept.
            ("POST", "/v1/applications/{code}/documents") => (
                format!("/v1/applications/{}/documents?kind=other&name=scan.pdf", self.dossier),
                Some(json!({ "not": "a pdf" })),
                none,
            ),
            ("GET", "/v1/applications/{code}/documents/{id}") => {
                (format!("/v1/applications/{}/documents/999999", self.dossier), None, none)
            }
            // The test's procedure is free: any payment is more than is due (422).
            ("POST", "/v1/applications/{code}/payments") => (
                format!("/v1/applications/{}/payments", self.dossier),
                Some(json!({ "provider": "counter", "amount_vnd": 1000, "reference": "BL-1 (synthetic)" })),
                none,
            ),
            // No OpenID provider is set up here: sign-in is not found; signing out always works.
            ("GET", "/auth/login") => (endpoint.path.into(), None, none),
            ("GET", "/auth/callback") => ("/auth/callback?code=c&state=s".into(), None, none),
            ("POST", "/auth/logout") => (endpoint.path.into(), None, none),
            ("GET", "/v1/certificates/{serial}") => (format!("/v1/certificates/{}", self.serial), None, none),
            ("POST", "/v1/certificates/{serial}/endorsements") => (
                format!("/v1/certificates/{}/endorsements", self.serial),
                Some(json!({ "text": "kiểm tra quyền (synthetic)" })),
                stale,
            ),
            // Writes: the same geometry as 31135/1/1 overlaps it (422); stale versions (412).
            ("POST", "/v1/parcels") => (
                endpoint.path.into(),
                Some(json!({ "ward": IN, "sheet": 900, "number": 1, "geometry": self.parcel["geometry"],
                             "land_uses": [{ "code": "ODT", "area_m2": 100.0 }] })),
                none,
            ),
            ("PUT", "/v1/parcels/{id}") => (
                format!("/v1/parcels/{id}"),
                Some(json!({ "geometry": self.parcel["geometry"], "land_uses": self.parcel["land_uses"] })),
                stale,
            ),
            ("PATCH", "/v1/parcels/{id}") => {
                (format!("/v1/parcels/{id}"), Some(json!({ "address_text": "kiểm tra quyền" })), stale)
            }
            ("POST", "/v1/parcels/{id}/split") => (
                format!("/v1/parcels/{id}/split"),
                Some(json!({ "parts": [{ "geometry": self.parcel["geometry"] }] })),
                stale,
            ),
            ("POST", "/v1/parcels/merge") => (
                endpoint.path.into(),
                Some(
                    json!({ "parcels": [{ "id": id, "version": 999 }, { "id": self.neighbour["id"], "version": 999 }] }),
                ),
                none,
            ),
            ("GET", "/v1/flood/zones") => (endpoint.path.into(), None, none),
            ("GET", "/v1/flood/zones/{id}/exposure") => ("/v1/flood/zones/1/exposure".into(), None, none),
            ("GET", "/v1/flood/exposure") => (format!("/v1/flood/exposure?ward={IN}"), None, none),
            ("POST", "/v1/addresses/submissions") => (endpoint.path.into(), Some(submission()), key),
            ("GET", "/v1/addresses/submissions") => (format!("/v1/addresses/submissions?ward={IN}"), None, none),
            ("POST", "/v1/addresses/submissions/batch") => {
                let mut item = submission();
                item["idempotency_key"] = json!(format!("access-batch-{caller:?}"));
                (endpoint.path.into(), Some(json!({ "submissions": [item] })), none)
            }
            ("POST", "/v1/addresses/submissions/{id}/{decision}") => {
                (format!("/v1/addresses/submissions/{}/verify", self.pending_address), Some(json!({})), stale)
            }
            ("GET", "/v1/addresses") => ("/v1/addresses?q=ninh%20kieu".into(), None, none),
            ("GET", "/v1/geocode") => ("/v1/geocode?q=ninh%20kieu&autocomplete=true".into(), None, none),
            ("GET", "/v1/addresses/stats") => (endpoint.path.into(), None, none),
            ("GET", "/v1/addresses/{id}") => (format!("/v1/addresses/{}", self.verified_address), None, none),
            ("GET", "/v1/vpostcode/{code}") => ("/v1/vpostcode/94119%202QPH%2B864".into(), None, none),
            ("GET", "/tiles/{layer}/{z}/{x}/{y}") => ("/tiles/parcels/16/52026/30733.mvt".into(), None, none),
            ("GET", "/tiles/{file}") => ("/tiles/parcels.json".into(), None, none),
            ("GET", "/v1/packs/{file}") => (format!("/v1/packs/{IN}.pmtiles"), None, none),
            ("GET", "/sta/v1.1") => (endpoint.path.into(), None, none),
            ("GET", "/v1/flood/live" | "/v1/flood/live/events") => (endpoint.path.into(), None, none),
            // No datastream 987654: refused with 400 after the access check, nothing is set.
            ("PUT", "/v1/flood/rules/{scenario}/{level}") => {
                ("/v1/flood/rules/tidal-peak/3".into(), Some(json!({"datastream": 987_654, "threshold": 1.9})), none)
            }
            ("GET", "/sta/v1.1/{*path}") => ("/sta/v1.1/Things?$top=5&$count=true".into(), None, none),
            // No datastream 987654: the admin's reading is refused, nothing is written.
            ("POST", "/sta/v1.1/{*path}") => (
                "/sta/v1.1/Observations".into(),
                Some(json!({"result": 1.0, "Datastream": {"@iot.id": 987_654}})),
                none,
            ),
            ("GET", "/fonts/{fontstack}/{range}") => ("/fonts/Noto%20Sans%20Regular/0-255.pbf".into(), None, none),
            (
                "GET",
                "/" | "/field" | "/review" | "/apply" | "/office" | "/ioc" | "/sw.js" | "/manifest.webmanifest",
            ) => (endpoint.path.into(), None, none),
            ("GET", "/assets/{*path}") => ("/assets/app.css".into(), None, none),
            (method, path) => panic!("no sample request for {method} {path}: add one to tests/e2e/access.rs"),
        }
    }

    async fn call(&self, endpoint: &Endpoint, caller: Caller) -> (StatusCode, Value) {
        let (path, body, headers) = self.sample(endpoint, caller);
        let method = Method::from_bytes(endpoint.method.as_str().as_bytes()).unwrap();
        let mut request = self.client.request(method, self.server.url(&path));
        if let Some(token) = self.token(caller) {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(name, value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        if endpoint.produces == "text/event-stream" && status.is_success() {
            // An event stream stays open: its status is the answer.
            return (status, Value::Null);
        }
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }
}

/// The answer an allowed caller gets from each write sample (reads answer 2xx).
fn allowed_status(endpoint: &Endpoint, caller: Caller) -> Vec<u16> {
    match (endpoint.method.as_str(), endpoint.path) {
        ("POST", "/v1/parcels") => vec![422],
        ("PUT", "/v1/flood/rules/{scenario}/{level}") => vec![400],
        ("PUT" | "PATCH", _) | ("POST", "/v1/parcels/{id}/split") => vec![412],
        ("POST", "/v1/parcels/merge") => vec![412],
        ("POST", "/v1/addresses/submissions/{id}/{decision}") => vec![412],
        ("POST", "/v1/certificates/{serial}/endorsements") => vec![412],
        ("POST", "/v1/applications/{code}/{step}") => vec![412],
        ("POST", "/v1/applications") => vec![201],
        ("POST", "/sta/v1.1/{*path}") => vec![400],
        ("POST", "/v1/applications/{code}/documents" | "/v1/applications/{code}/payments") => vec![422],
        ("GET", "/v1/applications/{code}/documents/{id}") => vec![404],
        _ if caller == Caller::UnknownToken => vec![401],
        ("GET", "/auth/login" | "/auth/callback") => vec![404],
        ("POST", "/auth/logout") => vec![204],
        // The test's population register is empty.
        ("GET", "/v1/population/{personal_id}") => vec![404],
        ("POST", "/v1/addresses/submissions") => vec![201],
        ("GET", "/tiles/{layer}/{z}/{x}/{y}") => vec![200, 204],
        _ if caller == Caller::UnknownToken => vec![401],
        _ => vec![200],
    }
}

#[tokio::test]
async fn every_endpoint_answers_every_kind_of_caller_as_its_rule_says() {
    let world = World::start().await;
    let mut wrong = Vec::new();
    for endpoint in ENDPOINTS {
        for caller in CALLERS {
            let (status, body) = world.call(endpoint, caller).await;
            // A batch answers 200 and puts each item's own status inside.
            let status = if endpoint.path == "/v1/addresses/submissions/batch" && status == 200 {
                body["results"][0]["status"].as_u64().unwrap() as u16
            } else {
                status.as_u16()
            };
            let outcome = expected(endpoint.access, caller);
            let ok = match outcome {
                Outcome::Unauthorized => status == 401,
                Outcome::Forbidden => status == 403,
                Outcome::Allowed => {
                    let wanted = if endpoint.path == "/v1/addresses/submissions/batch" {
                        vec![201]
                    } else {
                        allowed_status(endpoint, caller)
                    };
                    wanted.contains(&status)
                }
            };
            if !ok {
                wrong.push(format!(
                    "{} {} as {caller:?}: {status}, expected {outcome:?}: {body}",
                    endpoint.method, endpoint.path
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{} wrong answers:\n{}", wrong.len(), wrong.join("\n"));
}

#[tokio::test]
async fn owners_reach_registrars_only_in_json_and_ogc() {
    let world = World::start().await;
    let id = world.parcel["id"].as_i64().unwrap();
    // Every way a registrar of another ward could ask, the bulk one included (27 pages of
    // 10 000 once read the city's owners), and the OGC pages as HTML.
    let paths = [
        format!("/v1/parcels/{id}"),
        format!("/v1/parcels?ward={IN}&sheet=1&number=1"),
        format!("/v1/parcels/{id}/history"),
        format!("/ogc/collections/parcels/items/{id}"),
        format!("/ogc/collections/parcels/items/{id}?f=html"),
        format!("/ogc/collections/parcels/items?ward={IN}&limit=5"),
        "/ogc/collections/parcels/items?limit=10000".to_owned(),
        format!("/ogc/collections/parcels/items?ward={IN}&limit=5&f=html"),
    ];
    let mut conn = world._db.connect().await;
    let owner: String =
        sqlx::query_scalar("SELECT owners->0->>'name' FROM parcel_version WHERE parcel_id = $1 AND valid_to IS NULL")
            .bind(id)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    for caller in CALLERS.into_iter().filter(|c| *c != Caller::UnknownToken) {
        for path in &paths {
            let mut request = world.client.get(world.server.url(path));
            if let Some(token) = world.token(caller) {
                request = request.bearer_auth(token);
            }
            let text = request.send().await.unwrap().text().await.unwrap();
            // Personal data: registrars of the parcel's ward and admins only.
            let sees = matches!(caller, Caller::RegistrarIn | Caller::Admin);
            if path.contains("limit=10000") {
                // The whole city: other wards' owners may be the caller's own; this parcel's not.
                let page: Value = serde_json::from_str(&text).unwrap();
                let ours = page["features"].as_array().unwrap().iter().find(|f| f["id"] == id);
                let ours = ours.unwrap_or_else(|| panic!("parcel {id} is on the first page"));
                assert_eq!(ours["properties"].get("owners").is_some(), sees, "{path} as {caller:?}");
                continue;
            }
            if !path.contains("html") {
                assert_eq!(text.contains("\"owners\""), sees, "{path} as {caller:?}");
            }
            if !path.contains("limit=5") {
                assert_eq!(text.contains(&owner), sees, "{owner} in {path} as {caller:?}");
            }
        }
    }
}

#[tokio::test]
async fn owners_never_reach_the_log_even_at_debug_level() {
    let db = demo_database().await;
    let store = db.store().await;
    let registrar = store.add_user("log-r", Role::Registrar, &[IN.into()], None).await.unwrap().1;
    store.close().await.unwrap();
    let log = tempfile::NamedTempFile::new().unwrap();
    let server = Server::start_logging(&["--database-url", &db.url], "debug", log.reopen().unwrap());
    let client = Client::new();
    let parcel = get_json_as(&server.url(&format!("/v1/parcels?ward={IN}&sheet=1&number=1")), registrar.reveal()).await;
    let owner = parcel["owners"][0]["name"].as_str().expect("a registrar sees the owner").to_owned();
    let id = parcel["id"].as_i64().unwrap();
    // A write that fails and one that is logged as a change, both carrying owners.
    let _ = client
        .patch(server.url(&format!("/v1/parcels/{id}")))
        .bearer_auth(registrar.reveal())
        .header("If-Match", "\"999\"")
        .json(&json!({ "owners": [{ "name": "Người Thử Nhật Ký (synthetic)" }] }))
        .send()
        .await
        .unwrap();
    drop(server);
    let written = std::fs::read_to_string(log.path()).unwrap();
    assert!(written.contains("request"), "the debug log has request lines");
    assert!(!written.contains(&owner), "an owner's name is in the log");
    assert!(!written.contains("Người Thử Nhật Ký"), "a submitted owner is in the log");
    assert!(!written.contains(registrar.reveal()), "a token is in the log");
}

#[tokio::test]
async fn a_revoked_token_stops_working_at_once() {
    let world = World::start().await;
    let token = world.token(Caller::CollectorIn).unwrap();
    let me = |token: String| {
        let request = world.client.get(world.server.url("/v1/me")).bearer_auth(token);
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(me(token.to_owned()).await, 200);
    let store = world._db.store().await;
    assert_eq!(store.revoke_tokens("c-in").await.unwrap(), 1);
    store.close().await.unwrap();
    assert_eq!(me(token.to_owned()).await, 401, "the very next request");
}

#[tokio::test]
async fn guessing_tokens_is_slowed_down_per_address() {
    let db = diaba_test_harness::fresh_database().await;
    let store = db.store().await;
    let (_, valid) = store.add_user("behind-the-same-nat", Role::Collector, &[IN.to_owned()], None).await.unwrap();
    store.close().await.unwrap();
    let server = Server::start(&["--database-url", &db.url, "--auth-failures-per-minute", "5"]);
    let client = Client::new();
    let me = |token: &str| client.get(server.url("/v1/me")).bearer_auth(token.to_owned()).send();
    for attempt in 0..5 {
        assert_eq!(me(&format!("dba_guess{attempt}")).await.unwrap().status(), 401);
    }
    let refused = me("dba_guess5").await.unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "60");
    assert_eq!(refused.headers()["content-type"], "application/problem+json");
    // Public reads without a token still work for that address, and so does a valid token:
    // phones behind one carrier NAT share an address, and only guesses are refused.
    assert_eq!(client.get(server.url("/health")).send().await.unwrap().status(), 200);
    assert_eq!(me(valid.reveal()).await.unwrap().status(), 200, "a valid token from a limited address");
    assert_eq!(me("dba_guess6").await.unwrap().status(), 429, "guesses are still refused");
}

#[tokio::test]
async fn openapi_lists_every_endpoint_of_the_table_with_its_security() {
    let db = diaba_test_harness::fresh_database().await;
    let server = Server::with_database(&db.url);
    let doc: Value = reqwest::get(server.url("/openapi.json")).await.unwrap().json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for endpoint in ENDPOINTS {
        let path = endpoint.path.replace("{*path}", "{path}");
        let operation = &doc["paths"][&path][endpoint.method.as_str().to_lowercase()];
        assert!(operation.is_object(), "{} {path} missing", endpoint.method);
        let secured = operation["security"].as_array().is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
        assert_eq!(secured, endpoint.access != Access::Public, "{} {path} security", endpoint.method);
        for name in path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')) {
            let declared =
                operation["parameters"].as_array().unwrap().iter().any(|p| p["name"] == name && p["in"] == "path");
            assert!(declared, "{} {path}: path parameter {name}", endpoint.method);
        }
    }
}

#[tokio::test]
async fn cors_opens_reads_to_every_origin_and_writes_only_to_configured_ones() {
    let db = diaba_test_harness::fresh_database().await;
    let server = Server::start(&["--database-url", &db.url, "--cors-origins", "https://office.example"]);
    let client = Client::new();
    let preflight = |origin: &'static str, method: &'static str| {
        client
            .request(Method::OPTIONS, server.url("/v1/parcels"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", method)
            .header("Access-Control-Request-Headers", "authorization,content-type")
            .send()
    };
    let allowed = |response: &reqwest::Response| {
        response.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap().to_owned())
    };
    let foreign_write = preflight("https://elsewhere.example", "POST").await.unwrap();
    assert_eq!(allowed(&foreign_write), None, "a foreign page may not write");
    let office_write = preflight("https://office.example", "POST").await.unwrap();
    assert_eq!(allowed(&office_write).as_deref(), Some("https://office.example"));
    let foreign_read = preflight("https://elsewhere.example", "GET").await.unwrap();
    assert_eq!(allowed(&foreign_read).as_deref(), Some("https://elsewhere.example"));
    let read = client
        .get(server.url("/v1/units?lat=10.03&lon=105.78"))
        .header("Origin", "https://elsewhere.example")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    assert_eq!(allowed(&read).as_deref(), Some("https://elsewhere.example"));
}
