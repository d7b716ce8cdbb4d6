//! The mixed workload of `scripts/bench load`: a bounded number of connections, each
//! looping over a weighted mix (tiles at several zooms, lookups, address searches and
//! nearby lists, household submissions) against a running diaba for a fixed time.
//! Reports per endpoint: requests, throughput, p50/p99, 5xx and connection errors, and
//! the Idempotency-Keys of every acknowledged submission (checked in PostGIS afterwards).
//!
//! Environment: DIABA_LOAD_URL, DIABA_LOAD_TOKEN (a collector of 31135), DIABA_LOAD_CONNECTIONS,
//! DIABA_LOAD_SECONDS, DIABA_LOAD_RUN (tags the submissions), DIABA_LOAD_KEYS (file for the keys).
//!
//! With DIABA_LOAD_MIX=batches the mix is the abuse case of the security review instead:
//! DIABA_LOAD_CONNECTIONS anonymous clients each sending 10 000-point batch lookups with
//! `at=` (a day the index cannot answer), while DIABA_LOAD_WRITERS collectors submit
//! households; writes must not fail or slow down. DIABA_LOAD_MIX=batches-today sends the
//! same batches without `at=`: answered from the index, on every core.
// Tests and benchmarks unwrap: a failure there is the report.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The area the load falls on: central Ninh Kiều, where parcels and households are dense.
const AREA: [f64; 4] = [105.745, 10.005, 105.785, 10.045];
const WORDS: [&str; 6] = ["ly tu trong", "nguyen van cu", "hem 12", "ninh kieu", "mau than", "30 thang 4"];

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    server_errors: u64,
    other_non_2xx: u64,
    connection_errors: u64,
}

/// xorshift64*: a seeded, dependency-free stream for reproducible request mixes.
struct Stream(u64);

impl Stream {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn point(&mut self) -> (f64, f64) {
        (AREA[0] + self.next() * (AREA[2] - AREA[0]), AREA[1] + self.next() * (AREA[3] - AREA[1]))
    }
}

fn tile(lon: f64, lat: f64, z: u32) -> (u32, u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let y = ((1.0 - lat.to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n) as u32;
    (z, x, y)
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is required (see scripts/bench load)"))
}

#[tokio::main]
async fn main() {
    let base = env("DIABA_LOAD_URL");
    let token = env("DIABA_LOAD_TOKEN");
    let connections: u64 = env("DIABA_LOAD_CONNECTIONS").parse().unwrap();
    let seconds: u64 = env("DIABA_LOAD_SECONDS").parse().unwrap();
    let run = env("DIABA_LOAD_RUN");
    let mix = std::env::var("DIABA_LOAD_MIX").unwrap_or_default();
    let (batches, batches_today) = (mix.starts_with("batches"), mix == "batches-today");
    let writers: u64 = std::env::var("DIABA_LOAD_WRITERS").ok().and_then(|w| w.parse().ok()).unwrap_or(8);
    let tallies: Arc<Mutex<BTreeMap<&'static str, Tally>>> = Arc::default();
    let keys: Arc<Mutex<Vec<String>>> = Arc::default();
    let end = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    let workers_total = if batches { connections + writers } else { connections };
    for worker in 0..workers_total {
        let (base, token, run, tallies, keys) =
            (base.clone(), token.clone(), run.clone(), tallies.clone(), keys.clone());
        workers.push(tokio::spawn(async move {
            // One client per worker, one connection each: the bound is the connection count.
            let client =
                reqwest::Client::builder().pool_max_idle_per_host(1).timeout(Duration::from_secs(30)).build().unwrap();
            let mut stream = Stream(0x9E37_79B9_7F4A_7C15 ^ (worker + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
            let mut local: BTreeMap<&'static str, Tally> = BTreeMap::new();
            let mut acknowledged = Vec::new();
            let mut n = 0u64;
            while Instant::now() < end {
                n += 1;
                let (lon, lat) = stream.point();
                let pick = if batches { if worker < connections { -1.0 } else { 2.0 } } else { stream.next() };
                // A map view asks for a dozen tiles per pan; searches and submissions are rarer.
                let (name, request) = if pick < 0.0 {
                    let points: Vec<serde_json::Value> = (0..10_000)
                        .map(|_| {
                            let (lon, lat) = stream.point();
                            serde_json::json!({ "lat": lat, "lon": lon })
                        })
                        .collect();
                    if batches_today {
                        let body = serde_json::json!({ "points": points });
                        ("POST /v1/lookup (10 000 points, today)", client.post(format!("{base}/v1/lookup")).json(&body))
                    } else {
                        let body = serde_json::json!({ "points": points, "at": "2025-01-01" });
                        ("POST /v1/lookup (10 000 points, at=)", client.post(format!("{base}/v1/lookup")).json(&body))
                    }
                } else if pick < 0.60 {
                    let z = 12 + (stream.next() * 7.0) as u32; // z12–z18
                    let (z, x, y) = tile(lon, lat, z);
                    ("GET /tiles/all/{z}/{x}/{y}", client.get(format!("{base}/tiles/all/{z}/{x}/{y}.mvt")))
                } else if pick < 0.82 {
                    ("GET /v1/lookup", client.get(format!("{base}/v1/lookup?lat={lat:.6}&lon={lon:.6}")))
                } else if pick < 0.87 {
                    let q = WORDS[(stream.next() * WORDS.len() as f64) as usize];
                    (
                        "GET /v1/addresses?q=",
                        client.get(format!("{base}/v1/addresses?q={}&limit=10", q.replace(' ', "%20"))),
                    )
                } else if pick < 0.97 {
                    (
                        "GET /v1/addresses/nearby",
                        client.get(format!("{base}/v1/addresses/nearby?lat={lat:.6}&lon={lon:.6}&radius_m=30")),
                    )
                } else {
                    let key = format!("{run}-{worker}-{n}");
                    let body = serde_json::json!({
                        "lat": lat, "lon": lon, "accuracy_m": 5.0, "house_number": format!("{n}"),
                        "street": "Đường Tải Thử (synthetic)", "device_id": run,
                        "captured_at": "2026-11-26T08:00:00Z",
                    });
                    acknowledged.push(key.clone());
                    let request = client
                        .post(format!("{base}/v1/addresses/submissions"))
                        .bearer_auth(&token)
                        .header("Idempotency-Key", key)
                        .json(&body);
                    ("POST /v1/addresses/submissions", request)
                };
                let sent = Instant::now();
                let outcome = request.send().await;
                let tally = local.entry(name).or_default();
                match outcome {
                    Ok(response) => {
                        let status = response.status();
                        let _ = response.bytes().await;
                        tally.latencies_us.push(sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                        if status == 503 && name.starts_with("POST /v1/lookup") {
                            // A read told to retry: the queue doing its job, counted apart.
                            tally.other_non_2xx += 1;
                        } else if status.is_server_error() {
                            tally.server_errors += 1;
                        } else if !status.is_success() && status != 404 && status != 503 {
                            tally.other_non_2xx += 1; // 404: a point outside every unit, by design
                        }
                        if name.starts_with("POST") && status != 201 && status != 200 {
                            acknowledged.pop(); // not acknowledged: not expected in the database
                        }
                    }
                    Err(_) => {
                        tally.connection_errors += 1;
                        if name.starts_with("POST") {
                            acknowledged.pop();
                        }
                    }
                }
            }
            let mut all = tallies.lock().await;
            for (name, tally) in local {
                let total = all.entry(name).or_default();
                total.latencies_us.extend(tally.latencies_us);
                total.server_errors += tally.server_errors;
                total.other_non_2xx += tally.other_non_2xx;
                total.connection_errors += tally.connection_errors;
            }
            keys.lock().await.extend(acknowledged);
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut tallies = tallies.lock().await;
    println!("| endpoint | requests | req/s | p50 ms | p99 ms | 5xx | other non-2xx | connection errors |");
    println!("|---|---|---|---|---|---|---|---|");
    let (mut requests, mut errors5, mut errors_conn) = (0usize, 0u64, 0u64);
    for (name, tally) in tallies.iter_mut() {
        tally.latencies_us.sort_unstable();
        let at = |q: f64| {
            let v = &tally.latencies_us;
            if v.is_empty() { 0.0 } else { f64::from(v[((v.len() - 1) as f64 * q) as usize]) / 1000.0 }
        };
        let count = tally.latencies_us.len();
        requests += count;
        errors5 += tally.server_errors;
        errors_conn += tally.connection_errors;
        println!(
            "| {name} | {count} | {:.0} | {:.1} | {:.1} | {} | {} | {} |",
            count as f64 / elapsed,
            at(0.5),
            at(0.99),
            tally.server_errors,
            tally.other_non_2xx,
            tally.connection_errors
        );
    }
    println!("| **all** | {requests} | {:.0} | | | {errors5} | | {errors_conn} |", requests as f64 / elapsed);
    let keys = keys.lock().await;
    std::fs::write(env("DIABA_LOAD_KEYS"), keys.join("\n")).unwrap();
    println!();
    println!("{} connections, {elapsed:.1} s; {} submissions acknowledged.", connections, keys.len());
}
