//! Streaming replication under diaba: a real primary and a real standby (`pg_basebackup -R`)
//! on loopback, two diaba nodes on them. Reads go to the replica, writes and the change
//! feed to the primary; a stopped replica costs nothing; a promoted standby takes over
//! without a restart and without losing an acknowledged write.

use crate::server::Server;
use reqwest::Client;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A point well inside Ninh Kiều (ward 31135).
const IN_NINH_KIEU: (f64, f64) = (105.7830, 10.0325);

/// A PostgreSQL server of our own, on loopback TCP, stopped and removed when dropped.
struct Postgres {
    dir: tempfile::TempDir,
    port: u16,
}

impl Postgres {
    /// A new primary; with `synchronous`, a commit is acknowledged only once a standby has it.
    fn primary(synchronous: bool) -> Self {
        let server = Self::empty();
        run("initdb", &["-D", &server.pgdata(), "-U", "diaba", "--auth=trust", "--encoding=UTF8", "--no-locale"]);
        server.append_conf(&(server.own_settings() + "wal_level = replica\nmax_wal_senders = 5\nhot_standby = on\n"));
        server.start();
        run_sql(&server.url("postgres"), "CREATE DATABASE diaba");
        if synchronous {
            // Only now: until a standby is there, every commit (this CREATE too) would wait.
            server.append_conf("synchronous_standby_names = '*'\n");
            run("pg_ctl", &["-D", &server.pgdata(), "reload"]);
        }
        server
    }

    /// A streaming standby of `primary`, cloned with `pg_basebackup -R`.
    fn standby_of(primary: &Postgres) -> Self {
        let server = Self::empty();
        let port = primary.port.to_string();
        // A fast checkpoint: by default pg_basebackup waits for a spread one, which idles
        // for most of a minute.
        let args =
            ["-h", "127.0.0.1", "-p", &port, "-U", "diaba", "-D", &server.pgdata(), "-R", "-X", "stream", "-c", "fast"];
        run("pg_basebackup", &args);
        // Its own port and socket; and once promoted it must not wait for a standby of its own.
        let conf = server.own_settings() + "synchronous_standby_names = ''\n";
        server.append_conf(&conf);
        server.start();
        server
    }

    fn empty() -> Self {
        let dir = tempfile::tempdir().unwrap();
        if is_root() {
            let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()).status().unwrap();
            assert!(status.success(), "chown the test cluster's directory");
        }
        Self { dir, port: free_port() }
    }

    fn pgdata(&self) -> String {
        self.dir.path().join("pg").display().to_string()
    }

    fn own_settings(&self) -> String {
        format!(
            "port = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\nfsync = off\n",
            self.port,
            self.dir.path().display()
        )
    }

    fn append_conf(&self, text: &str) {
        use std::io::Write;
        let path = Path::new(&self.pgdata()).join("postgresql.conf");
        std::fs::OpenOptions::new().append(true).open(path).unwrap().write_all(text.as_bytes()).unwrap();
    }

    fn start(&self) {
        let log = self.dir.path().join("postgres.log").display().to_string();
        run("pg_ctl", &["-D", &self.pgdata(), "-l", &log, "-w", "start"]);
    }

    /// Stops it: `immediate` is a crash, as far as the clients can tell.
    fn stop(&self, mode: &str) {
        run("pg_ctl", &["-D", &self.pgdata(), "-m", mode, "-w", "stop"]);
    }

    fn promote(&self) {
        run("pg_ctl", &["-D", &self.pgdata(), "-w", "promote"]);
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://diaba@{}/{database}", self.host())
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if Path::new(&self.pgdata()).join("postmaster.pid").exists() {
            let _ = postgres_command("pg_ctl")
                .args(["-D", &self.pgdata(), "-m", "immediate", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().unwrap().stdout == b"0\n"
}

fn bin_dir() -> PathBuf {
    std::fs::read_dir("/usr/lib/postgresql")
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|p| p.join("pg_ctl").is_file())
        .max()
        .expect("PostgreSQL binaries under /usr/lib/postgresql")
}

/// A PostgreSQL program, run as `postgres` when we are root (PostgreSQL refuses root).
fn postgres_command(program: &str) -> Command {
    let bin = bin_dir().join(program);
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(bin);
        command
    } else {
        Command::new(bin)
    }
}

fn run(program: &str, args: &[&str]) {
    let output = postgres_command(program).args(args).output().unwrap();
    assert!(output.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

fn run_sql(url: &str, sql: &str) -> String {
    let output = Command::new("psql").args(["-qtAX", url, "-c", sql]).output().unwrap();
    assert!(output.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn diaba(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_diaba")).args(args).env("DIABA_LOG", "warn").output().unwrap();
    assert!(output.status.success(), "diaba {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// A 12 m square lot `n` steps east of the test point (no two overlap).
fn lot(n: u32) -> (Value, (f64, f64)) {
    let (lon, lat) = (IN_NINH_KIEU.0 + f64::from(n % 40) * 2.0e-4, IN_NINH_KIEU.1 + f64::from(n / 40) * 2.0e-4);
    let d = 6.0 / 110_000.0;
    let ring =
        json!([[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d], [lon - d, lat - d]]);
    let body = json!({ "ward": "31135", "sheet": 900, "number": n + 1, "geometry": { "type": "Polygon", "coordinates": [ring] },
                       "land_uses": [{ "code": "ODT", "area_m2": 100.0 }] });
    (body, (lon, lat))
}

/// The parcel id `/v1/lookup` finds at a point, if any.
async fn parcel_at(client: &Client, server: &Server, (lon, lat): (f64, f64)) -> Option<i64> {
    let url = server.url(&format!("/v1/lookup?lat={lat}&lon={lon}"));
    let body: Value = client.get(url).send().await.ok()?.json().await.ok()?;
    body["parcel"]["id"].as_i64()
}

/// The ids in the parcels layer of the z18 tile over a point.
async fn tile_has(client: &Client, server: &Server, (lon, lat): (f64, f64), id: i64) -> bool {
    let tile = diaba_tiles::TileCoord::containing(lon, lat, 18);
    let response = client.get(server.url(&format!("/tiles/parcels/{tile}.mvt"))).send().await.unwrap();
    let bytes = response.bytes().await.unwrap();
    let Ok(reader) = mvt_reader::Reader::new(bytes.to_vec()) else { return false };
    let layers = reader.get_layer_metadata().unwrap_or_default();
    layers.iter().filter(|l| l.name == "parcels").any(|l| {
        let features = reader.get_features_as::<f64>(l.layer_index).unwrap_or_default();
        features.iter().any(|f| f.id == Some(id as u64))
    })
}

/// Scrapes a value from `/metrics` (the text format's `name{labels} value` lines).
async fn metric(client: &Client, server: &Server, series: &str) -> Option<f64> {
    metrics(client, server, &[series]).await?.pop()
}

/// Several series read from one scrape (so they describe the same moment).
async fn metrics(client: &Client, server: &Server, series: &[&str]) -> Option<Vec<f64>> {
    let text = client.get(server.url("/metrics")).send().await.ok()?.text().await.ok()?;
    let value = |series: &str| text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok());
    series.iter().map(|s| value(s)).collect()
}

async fn wait_for<F, Fut>(within: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_node_reading_from_a_replica_sees_writes_within_a_second_and_outlives_the_replica() {
    let primary = Postgres::primary(false);
    let standby = Postgres::standby_of(&primary);
    let (primary_url, standby_url) = (primary.url("diaba"), standby.url("diaba"));
    let a = Server::with_database(&primary_url);
    let registrar =
        diaba(&["user", "add", "--role", "registrar", "--wards", "31135", "--database-url", &primary_url, "r-a"]);
    let b =
        Server::start(&["--database-url", &primary_url, "--read-database-url", &standby_url, "--max-replica-lag", "1"]);
    let client = Client::builder().timeout(Duration::from_secs(10)).build().unwrap();

    wait_for(Duration::from_secs(10), "node B sees its replica up and in use", || async {
        metric(&client, &b, "diaba_db_replica_in_use{replica=\"replica-1\"}").await.is_some_and(|v| v == 1.0)
    })
    .await;
    let lag = metric(&client, &b, "diaba_db_replica_lag_seconds{replica=\"replica-1\"}").await.unwrap();
    assert!((0.0..5.0).contains(&lag), "replica lag {lag}");

    // Write through A; B's lookups and tiles have it within a second (its feed is the primary's).
    for n in 0..3 {
        let (body, point) = lot(n);
        let created = client.post(a.url("/v1/parcels")).bearer_auth(&registrar).json(&body).send().await.unwrap();
        assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
        let id = created.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let took = wait_for(Duration::from_secs(1), "the new parcel in B's lookups", || async {
            parcel_at(&client, &b, point).await == Some(id)
        })
        .await;
        assert!(tile_has(&client, &b, point, id).await, "B's z18 tile draws parcel {id} once its lookup has it");
        eprintln!("parcel {id} written through A was in B's lookups after {took:?}");
    }

    // OGC items on B come from the replica (its pool opens), and hold A's writes.
    let items = |server: &Server| {
        let url = server.url("/ogc/collections/parcels/items?limit=100");
        let client = client.clone();
        async move { client.get(url).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    // The replica replays asynchronously: A's writes reach it within its lag, not at once.
    wait_for(Duration::from_secs(5), "B's OGC items (from the replica) hold A's three parcels", || async {
        items(&b).await["features"].as_array().is_some_and(|f| f.len() == 3)
    })
    .await;
    // Open, idle or in use: the node's replica lag check borrows a connection now and then.
    let replica_pool =
        ["idle", "in_use"].map(|state| format!("diaba_db_pool_connections{{pool=\"replica-1\",state=\"{state}\"}}"));
    let open: f64 = metrics(&client, &b, &replica_pool.each_ref().map(String::as_str)).await.unwrap().iter().sum();
    assert!(open >= 1.0, "B's replica pool has {open} connections open");

    // The replica falls behind (replay paused) past --max-replica-lag (1 s here): B reads
    // from the primary, which has a write the replica has not; replay resumes, B goes back.
    run_sql(&standby_url, "SELECT pg_wal_replay_pause()");
    let (body, _) = lot(10);
    let created = client.post(a.url("/v1/parcels")).bearer_auth(&registrar).json(&body).send().await.unwrap();
    assert_eq!(created.status(), 201);
    wait_for(Duration::from_secs(5), "B stops reading from a replica lagging past 1 s", || async {
        metric(&client, &b, "diaba_db_replica_in_use{replica=\"replica-1\"}").await == Some(0.0)
    })
    .await;
    let lag = metric(&client, &b, "diaba_db_replica_lag_seconds{replica=\"replica-1\"}").await.unwrap();
    assert!(lag > 1.0, "replica lag reported {lag}");
    let live = "SELECT count(*) FROM parcel_version WHERE valid_to IS NULL";
    assert_eq!(run_sql(&standby_url, live), "3", "the paused replica lacks the fourth parcel");
    let page = items(&b).await;
    assert_eq!(page["features"].as_array().unwrap().len(), 4, "B's OGC items come from the primary: {page}");
    run_sql(&standby_url, "SELECT pg_wal_replay_resume()");
    wait_for(Duration::from_secs(5), "B reads from the replica again once it caught up", || async {
        metric(&client, &b, "diaba_db_replica_in_use{replica=\"replica-1\"}").await == Some(1.0)
    })
    .await;

    // The standby stops: B goes on, reading from the primary.
    standby.stop("immediate");
    let (body, point) = lot(3);
    let created = client.post(b.url("/v1/parcels")).bearer_auth(&registrar).json(&body).send().await.unwrap();
    assert_eq!(created.status(), 201, "writes through B go to the primary");
    let id = created.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    wait_for(Duration::from_secs(1), "B's own write in its lookups", || async {
        parcel_at(&client, &b, point).await == Some(id)
    })
    .await;
    for _ in 0..5 {
        let page = items(&b).await;
        assert_eq!(
            page["features"].as_array().unwrap().len(),
            5,
            "OGC items from the primary once the replica is gone: {page}"
        );
    }
    wait_for(Duration::from_secs(5), "B reports its replica down", || async {
        metric(&client, &b, "diaba_db_replica_up{replica=\"replica-1\"}").await.is_some_and(|v| v == 0.0)
    })
    .await;
    assert_eq!(client.get(b.url("/health")).send().await.unwrap().status(), 200);
    let (body, point) = lot(4);
    let created = client.post(a.url("/v1/parcels")).bearer_auth(&registrar).json(&body).send().await.unwrap();
    let id = created.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    wait_for(Duration::from_secs(1), "A's write in B's lookups without the replica", || async {
        parcel_at(&client, &b, point).await == Some(id)
    })
    .await;
}

#[tokio::test]
async fn promoting_the_standby_under_write_load_loses_no_acknowledged_write() {
    // Synchronous replication: a commit is acknowledged once the standby has it, which is
    // what "no acknowledged write lost" needs (README, Operating diaba).
    let primary = Postgres::primary(true);
    let standby = Postgres::standby_of(&primary);
    let both = format!("postgres://diaba@{},{}/diaba?target_session_attrs=read-write", primary.host(), standby.host());
    let nodes = [Server::with_database(&both), Server::with_database(&both)];
    let collector = diaba(&["user", "add", "--role", "collector", "--wards", "31135", "--database-url", &both, "c-f"]);
    let client = Client::builder().timeout(Duration::from_secs(10)).build().unwrap();

    let submit = |node: usize, n: u32| {
        let body = json!({ "lat": IN_NINH_KIEU.1 + f64::from(n % 100) * 2e-5, "lon": IN_NINH_KIEU.0 + f64::from(n / 100) * 2e-5,
                           "accuracy_m": 4.0, "house_number": format!("FO{n}"), "street": "Đường Chuyển Đổi (synthetic)",
                           "captured_at": "2026-11-20T08:00:00Z" });
        client
            .post(nodes[node].url("/v1/addresses/submissions"))
            .bearer_auth(&collector)
            .header("Idempotency-Key", format!("failover-{n}"))
            .json(&body)
            .send()
    };
    let mut acknowledged = Vec::new();
    let mut refused = 0;
    let mut promoted_at = None;
    let mut acknowledged_after = [0; 2];
    let started = Instant::now();
    for n in 0.. {
        let node = n as usize % 2;
        match submit(node, n).await {
            Ok(response) if response.status() == 201 => {
                acknowledged.push(n);
                if promoted_at.is_some() {
                    acknowledged_after[node] += 1;
                }
            }
            Ok(response) => {
                assert_eq!(response.status(), 503, "a write that cannot be made now is a 503, to retry");
                refused += 1;
            }
            Err(error) => panic!("write {n}: no answer: {error}"),
        }
        if promoted_at.is_none() && acknowledged.len() >= 40 {
            // The primary dies mid-load; the standby is promoted.
            primary.stop("immediate");
            standby.promote();
            promoted_at = Some(Instant::now());
        }
        if acknowledged_after.iter().all(|&k| k >= 10) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "nodes did not recover: {acknowledged_after:?} writes since promotion"
        );
    }
    let recovered = promoted_at.unwrap().elapsed();
    eprintln!(
        "{} writes acknowledged, {refused} refused with 503; both nodes writing again {recovered:?} after the promotion",
        acknowledged.len()
    );

    // Every acknowledged write is on the promoted standby.
    let kept = run_sql(
        &standby.url("diaba"),
        "SELECT string_agg(house_number, ',' ORDER BY house_number) FROM address WHERE house_number LIKE 'FO%'",
    );
    let kept: std::collections::HashSet<&str> = kept.split(',').collect();
    for n in &acknowledged {
        assert!(kept.contains(format!("FO{n}").as_str()), "acknowledged write FO{n} lost in the failover");
    }
    // The nodes follow the new primary's feed: both report it applied.
    for node in &nodes {
        wait_for(Duration::from_secs(5), "the node's feed follows the promoted standby", || async {
            metric(&client, node, "diaba_feed_lag_entries").await == Some(0.0)
        })
        .await;
    }
}
