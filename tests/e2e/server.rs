//! Runs `diaba serve` as a child process and finds the port it bound.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `diaba serve`; killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    /// Starts `diaba serve --listen 127.0.0.1:0 <args>` and waits until it listens.
    pub fn start(args: &[&str]) -> Server {
        Server::start_logging(args, "warn", Stdio::inherit())
    }

    /// As [`Server::start`], with the log filter `log` written to `stderr`.
    pub fn start_logging(args: &[&str], log: &str, stderr: impl Into<Stdio>) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_diaba"))
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--demo", "none"])
            .args(args)
            .env("DIABA_LOG", log)
            // The demo gauge would change the register under the tests.
            .env_remove("DIABA_DEMO_GAUGES")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn diaba serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("diaba listening on ") {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("diaba serve did not start listening; exit: {:?}", child.try_wait()));
        Server { child, base }
    }

    /// Starts against a database URL.
    pub fn with_database(url: &str) -> Server {
        Server::start(&["--database-url", url])
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal and waits for the process to end; returns whether it exited cleanly.
    pub fn stop_with(mut self, signal: &str) -> bool {
        let pid = self.pid().to_string();
        Command::new("kill").args(["-s", signal, &pid]).status().expect("kill");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.success();
            }
            assert!(Instant::now() < deadline, "diaba did not stop after SIG{signal}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET a URL with a bearer token and return its JSON body (Null when it is not JSON).
pub async fn get_json_as(url: &str, token: &str) -> serde_json::Value {
    let response = reqwest::Client::new().get(url).bearer_auth(token).send().await.expect("request");
    response.json().await.unwrap_or(serde_json::Value::Null)
}

/// GET a URL and return (status, content type, JSON body).
pub async fn get_json(url: &str) -> (u16, String, serde_json::Value) {
    let response = reqwest::get(url).await.expect("request");
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap_or_default().to_owned()).unwrap_or_default();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, content_type, body)
}

/// A point well inside a current ward (its PostGIS point on surface).
pub async fn point_in_ward(db: &diaba_test_harness::TestDb, code: &str) -> (f64, f64) {
    let mut conn = db.connect().await;
    sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM admin_unit \
         WHERE code = $1 AND level = 'ward' AND valid_to IS NULL) s",
    )
    .bind(code)
    .fetch_one(&mut conn)
    .await
    .unwrap()
}

/// A fresh register with one registrar of `ward`; their token.
pub async fn registrar_of(db: &diaba_test_harness::TestDb, name: &str, ward: &str) -> String {
    let store = db.store().await;
    let (_, token) = store.add_user(name, diaba_core::auth::Role::Registrar, &[ward.to_owned()], None).await.unwrap();
    store.close().await.unwrap();
    token.reveal().to_owned()
}

/// A registrar changes parcel `id`'s main land use (TMD, or SKC when it is TMD already);
/// the new code.
pub async fn change_land_use(client: &reqwest::Client, server: &Server, token: &str, id: i64) -> &'static str {
    let current = client.get(server.url(&format!("/v1/parcels/{id}"))).send().await.unwrap();
    let etag = current.headers()["etag"].to_str().unwrap().to_owned();
    let parcel: serde_json::Value = current.json().await.unwrap();
    let new_use = if parcel["land_uses"][0]["code"] == "TMD" { "SKC" } else { "TMD" };
    let response = client
        .patch(server.url(&format!("/v1/parcels/{id}")))
        .bearer_auth(token)
        .header("If-Match", etag)
        .json(&serde_json::json!({ "land_uses": [{ "code": new_use }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    new_use
}
