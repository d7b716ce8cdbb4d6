//! Faults: the database stopped under the service, and an import killed mid-batch.

use crate::embedded::DataDir;
use crate::server::{Server, get_json, get_json_as};
use diaba_test_harness::{demo_database, fresh_database};
use reqwest::Client;
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

const IN_NINH_KIEU: (f64, f64) = (105.7830, 10.0325);

fn diaba(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_diaba")).args(args).env("DIABA_LOG", "warn").output().unwrap();
    assert!(output.status.success(), "diaba {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// `pg_ctl` on the embedded cluster, as the user that owns it (postgres when we are root).
fn pg_ctl(data_dir: &str, args: &[&str]) {
    let bin = std::fs::read_dir("/usr/lib/postgresql")
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path().join("bin/pg_ctl")))
        .filter(|p| p.is_file())
        .max()
        .expect("PostgreSQL binaries under /usr/lib/postgresql");
    let pgdata = format!("{data_dir}/pg");
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let mut command = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&bin);
        c
    } else {
        Command::new(&bin)
    };
    let status = command.args(args).args(["-D", &pgdata]).stdout(std::process::Stdio::null()).status().unwrap();
    assert!(status.success(), "pg_ctl {args:?}");
}

fn household(n: u32) -> Value {
    json!({ "lat": IN_NINH_KIEU.1 + f64::from(n) * 2e-5, "lon": IN_NINH_KIEU.0, "accuracy_m": 4.0,
            "house_number": format!("F{n}"), "street": "Đường Sự Cố (synthetic)",
            "captured_at": "2026-11-20T08:00:00Z" })
}

#[tokio::test]
async fn with_the_database_stopped_reads_answer_writes_get_503_and_no_acknowledged_write_is_lost() {
    let dir = DataDir::new();
    let server = Server::start(&["--data-dir", dir.path()]);
    let collector = diaba(&["user", "add", "--role", "collector", "--wards", "31135", "--data-dir", dir.path(), "f-c"]);
    let registrar = diaba(&["user", "add", "--role", "registrar", "--wards", "31135", "--data-dir", dir.path(), "f-r"]);
    let client = Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let submit = |n: u32| {
        client
            .post(server.url("/v1/addresses/submissions"))
            .bearer_auth(&collector)
            .header("Idempotency-Key", format!("fault-{n}"))
            .json(&household(n))
            .send()
    };
    let mut acknowledged = Vec::new();
    for n in 0..10 {
        assert_eq!(submit(n).await.unwrap().status(), 201);
        acknowledged.push(n);
    }

    pg_ctl(dir.path(), &["stop", "-m", "fast", "-w"]);
    for n in 10..15 {
        let started = Instant::now();
        let response = submit(n).await.expect("an answer, not a hang");
        assert_eq!(response.status(), 503, "write {n} with the database down");
        assert!(started.elapsed() < Duration::from_secs(10), "answered in {:?}", started.elapsed());
        assert_eq!(response.headers()["retry-after"], "5");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
    }
    // A lookup of the point in Ninh Kiều, with `more` in its query.
    let lookup_here = |more: &str| {
        client.get(server.url(&format!("/v1/lookup?lon={}&lat={}{more}", IN_NINH_KIEU.0, IN_NINH_KIEU.1))).send()
    };
    for _ in 0..20 {
        let lookup = lookup_here("").await.unwrap();
        assert_eq!(lookup.status(), 200, "lookups come from the index");
        assert_eq!(lookup.json::<Value>().await.unwrap()["ward"]["code"], "31135");
    }
    let tile = diaba_tiles::TileCoord::containing(IN_NINH_KIEU.0, IN_NINH_KIEU.1, 12);
    let tile = client.get(server.url(&format!("/tiles/wards/{tile}.mvt"))).send().await.unwrap();
    assert_eq!(tile.status(), 200, "tiles come from the index");
    assert_eq!(client.get(server.url("/health")).send().await.unwrap().status(), 503);
    // A batch of a past day comes from the index too (it keeps the closed versions).
    let points = json!({ "points": [{ "lat": IN_NINH_KIEU.1, "lon": IN_NINH_KIEU.0 }, { "lat": 10.03, "lon": 105.78 }],
                         "at": "2025-01-01" });
    let batch = client.post(server.url("/v1/lookup")).json(&points).send().await.unwrap();
    assert_eq!(batch.status(), 200, "an as-of batch with the database down");
    let single = lookup_here("&at=2025-01-01").await.unwrap();
    assert_eq!(single.status(), 200, "an as-of lookup with the database down");
    let single: Value = single.json().await.unwrap();
    assert_eq!(single["district"]["code"], "916", "{single}");
    assert_eq!(batch.json::<Value>().await.unwrap()["results"][0], single);
    // A read that needs PostgreSQL: one 503 problem, never the driver's or the pool's text.
    let parcel = client.get(server.url("/v1/parcels/1")).send().await.unwrap();
    assert_eq!(parcel.status(), 503, "a parcel read with the database down");
    assert_eq!(parcel.headers()["content-type"], "application/problem+json");
    let text = parcel.text().await.unwrap().to_lowercase();
    for internal in ["pool", "sqlx", "query", "postgres", "connection", "socket"] {
        assert!(!text.contains(internal), "{internal:?} leaked to the client: {text}");
    }

    pg_ctl(dir.path(), &["start", "-w", "-l", &format!("{}/pg/restart.log", dir.path())]);
    // The pool reconnects by itself; the first writes after the restart may still race it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let n = 15;
    loop {
        let status = submit(n).await.unwrap().status();
        if status == 201 {
            acknowledged.push(n);
            break;
        }
        assert_eq!(status, 503, "until it reconnects, writes are 503");
        assert!(Instant::now() < deadline, "no reconnection within 30 s");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The writes refused during the outage are sent again, as a phone's outbox would.
    for n in (10..15).chain(16..20) {
        assert_eq!(submit(n).await.unwrap().status(), 201, "write {n} after the restart");
        acknowledged.push(n);
    }
    let database = diaba(&["db", "url", "--data-dir", dir.path()]);
    let numbers = Command::new("psql")
        .args([
            &database,
            "-AtXc",
            "SELECT house_number FROM address WHERE street = 'Đường Sự Cố (synthetic)' ORDER BY id",
        ])
        .output()
        .unwrap();
    let stored: Vec<String> = String::from_utf8(numbers.stdout).unwrap().lines().map(str::to_owned).collect();
    let mut wanted: Vec<String> = acknowledged.iter().map(|n| format!("F{n}")).collect();
    let mut sorted = stored.clone();
    sorted.sort();
    wanted.sort();
    assert_eq!(sorted, wanted, "every acknowledged write once, nothing else");

    // The index follows the change feed again: a verification shows up in lookups.
    let first = get_json_as(&server.url("/v1/addresses/submissions?ward=31135"), &registrar).await;
    let id = first["submissions"][0]["id"].as_i64().unwrap();
    let verified = client
        .post(server.url(&format!("/v1/addresses/submissions/{id}/verify")))
        .bearer_auth(&registrar)
        .header("If-Match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), 200);
    let (lon, lat) =
        (first["submissions"][0]["lon"].as_f64().unwrap(), first["submissions"][0]["lat"].as_f64().unwrap());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, _, near) = get_json(&server.url(&format!("/v1/addresses/nearby?lon={lon}&lat={lat}&radius_m=1"))).await;
        if near["addresses"].as_array().unwrap().iter().any(|a| a["address"]["id"] == id) {
            break;
        }
        assert!(Instant::now() < deadline, "the index did not catch up within 5 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_import_killed_mid_batch_leaves_all_or_nothing_and_runs_again() {
    let source = demo_database().await;
    let target = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let gpkg = dir.path().join("parcels.gpkg");
    let file = gpkg.to_str().unwrap();
    diaba(&[
        "export",
        "--layer",
        "parcels",
        "--format",
        "gpkg",
        "--crs",
        "EPSG:5897",
        "--database-url",
        &source.url,
        file,
    ]);
    let mut conn = source.connect().await;
    let total: i64 =
        sqlx::query_scalar("SELECT count(*) FROM parcel WHERE retired_at IS NULL").fetch_one(&mut conn).await.unwrap();
    let mut conn = target.connect().await;
    // Once for certain inside its transaction: another session holds the parcels in SHARE
    // mode, so the import waits at its first write there; it is killed while it waits.
    let mut blocker = target.connect().await;
    sqlx::query("BEGIN").execute(&mut blocker).await.unwrap();
    sqlx::query("LOCK TABLE parcel IN SHARE MODE").execute(&mut blocker).await.unwrap();
    let mut import = spawn_import(file, &target.url);
    let waiting = "SELECT count(*) FROM pg_locks WHERE relation = 'parcel'::regclass AND NOT granted";
    let deadline = Instant::now() + Duration::from_secs(120);
    while sqlx::query_scalar::<_, i64>(waiting).fetch_one(&mut conn).await.unwrap() == 0 {
        assert!(Instant::now() < deadline, "the import never reached its first write of parcels");
        assert!(import.try_wait().unwrap().is_none(), "the import ended without writing parcels");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    import.kill().unwrap(); // SIGKILL
    import.wait().unwrap();
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(parcels(&mut conn).await, 0, "an import killed inside its transaction left parcels");
    let mut interrupted = 1;
    for delay_ms in [300, 900, 1_600, 2_500] {
        let mut import = spawn_import(file, &target.url);
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        let finished = import.try_wait().unwrap().is_some();
        import.kill().unwrap(); // SIGKILL
        import.wait().unwrap();
        // PostgreSQL notices the dead client and rolls its transaction back.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = parcels(&mut conn).await;
        assert!(now == 0 || now == total, "after kill -9 at {delay_ms} ms: {now} of {total} parcels");
        if now == total {
            assert!(finished || now == total, "a complete batch");
            break;
        }
        interrupted += 1;
    }
    assert!(interrupted > 0, "at least one import was killed before it committed");
    if parcels(&mut conn).await == 0 {
        diaba(&["import", file, "--layer", "parcels", "--database-url", &target.url]);
    }
    assert_eq!(parcels(&mut conn).await, total, "the import runs again with no clean-up");
    let batches: i64 =
        sqlx::query_scalar("SELECT count(DISTINCT import_batch) FROM parcel_version WHERE import_batch IS NOT NULL")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(batches, 1, "one batch holds every imported parcel");
}

/// `diaba import` of a parcels file, running in the background, quiet.
fn spawn_import(file: &str, database_url: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_diaba"))
        .args(["import", file, "--layer", "parcels", "--database-url", database_url])
        .env("DIABA_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

async fn parcels(conn: &mut sqlx::PgConnection) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM parcel").fetch_one(conn).await.unwrap()
}
