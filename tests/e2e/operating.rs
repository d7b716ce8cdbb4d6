//! The restore drill of README's "Operating diaba": a pg_dump of a live register restored
//! into an empty database serves the same parcels, addresses and history, and migrating it
//! again changes nothing.

use crate::server::Server;
use diaba_test_harness::demo_database;
use serde_json::Value;
use std::process::Command;

#[tokio::test]
async fn a_pg_dump_restored_into_an_empty_database_serves_the_same_register() {
    let source = demo_database().await;
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("diaba.dump");
    let dumped =
        Command::new("pg_dump").args(["--format=custom", "--file"]).arg(&dump).arg(&source.url).status().unwrap();
    assert!(dumped.success(), "pg_dump");

    let restored_name = format!("{}_restored", source.name);
    let mut admin = source.connect().await;
    sqlx::query(&format!("CREATE DATABASE \"{restored_name}\" TEMPLATE template0")).execute(&mut admin).await.unwrap();
    let restored_url = source.url.replacen(&format!("/{}", source.name), &format!("/{restored_name}"), 1);
    let restore = Command::new("pg_restore")
        .args(["--no-owner", "--exit-on-error", "--dbname", &restored_url])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(restore.status.success(), "pg_restore: {}", String::from_utf8_lossy(&restore.stderr));
    let migrate = Command::new(env!("CARGO_BIN_EXE_diaba"))
        .args(["migrate", "--database-url", &restored_url])
        .env("DIABA_LOG", "warn")
        .output()
        .unwrap();
    assert!(migrate.status.success(), "migrate on a restored register: {}", String::from_utf8_lossy(&migrate.stderr));

    let (a, b) = (Server::with_database(&source.url), Server::with_database(&restored_url));
    for path in [
        "/v1/parcels?ward=31135&sheet=1&number=1",
        "/v1/lookup?lat=10.0357&lon=105.778",
        "/v1/addresses?q=ly%20tu%20trong&limit=20",
        "/v1/addresses/stats",
        "/ogc/collections/parcels",
        "/v1/flood/exposure?ward=31135",
    ] {
        // Links name the server they came from; everything else must be equal.
        let get = |server: &Server| {
            let (url, base) = (server.url(path), server.base.clone());
            async move { reqwest::get(url).await.unwrap().text().await.unwrap().replace(&base, "BASE") }
        };
        let (x, y) = (get(&a).await, get(&b).await);
        let (x, y): (Value, Value) = (serde_json::from_str(&x).unwrap(), serde_json::from_str(&y).unwrap());
        assert!(x.as_object().is_some_and(|o| !o.is_empty()), "{path}: {x}");
        assert!(same(&x, &y), "{path} differs after the restore:\n{x}\n{y}");
    }
    let health = |server: &Server| {
        let url = server.url("/health");
        async move { reqwest::get(url).await.unwrap().json::<Value>().await.unwrap() }
    };
    let (x, y) = (health(&a).await, health(&b).await);
    assert_eq!(x["index"], y["index"], "the same index sizes and change-feed position");
    assert_eq!(x["data_version"], y["data_version"]);
}

/// Equal JSON, except that sums of floating-point areas may differ in the last digits:
/// PostgreSQL adds rows in the order it reads them, and a restore may store them in
/// another order.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= 1e-9 * x.abs().max(1.0)
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}
