//! Prometheus metrics at `/metrics`, in the OpenMetrics text format.
//!
//! Requests are counted by route template (never the raw path, which may hold a code or
//! an id) and status, and timed by route. The rest is read when scraped: index sizes,
//! change-feed lag, tile cache hits, connection pools, replica lag. Nothing personal is
//! in any label.

use axum::extract::MatchedPath;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// The OpenMetrics content type Prometheus negotiates.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: Route,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: Route,
}

/// A route template as the router matched it (`None`: no route matched). Keeps the
/// router's shared text, so counting a request copies no string.
#[derive(Clone, Debug)]
struct Route(Option<MatchedPath>);

impl Route {
    fn as_str(&self) -> &str {
        self.0.as_ref().map_or("unmatched", MatchedPath::as_str)
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Route {}

impl std::hash::Hash for Route {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LayerLabel {
    layer: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabel {
    pool: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolStateLabels {
    pool: String,
    state: String,
}

/// Replicas are numbered in the order given (their host names stay out of public answers).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReplicaLabel {
    replica: String,
}

/// What is counted as requests arrive.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("diaba");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests by route template, method and status", requests.clone());
        // 0.25 ms to about 8 s, doubling: lookups sit at the bottom, exports at the top.
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.00025, 2.0, 16))
        });
        registry.register_with_unit(
            "http_request_duration",
            "Time from request to response head, by route template",
            Unit::Seconds,
            latency.clone(),
        );
        Self { registry, requests, latency }
    }
}

impl Metrics {
    /// Counts and times one answered request.
    pub(crate) fn record(&self, method: &Method, route: Option<MatchedPath>, status: StatusCode, took: Duration) {
        let route = RouteLabels { method: method_label(method), route: Route(route) };
        self.latency.get_or_create(&route).observe(took.as_secs_f64());
        let status = status.as_u16();
        self.requests.get_or_create(&RequestLabels { method: route.method, route: route.route, status }).inc();
    }
}

/// Known methods by name; anything else as one label, so labels stay few.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// What is read when scraped, gathered by the route from the node's state.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    /// Features in the index by layer name.
    pub index: Vec<(String, usize)>,
    /// Households in the search engine.
    pub households: usize,
    /// Last change-feed entry applied.
    pub applied: i64,
    /// The feed's head and the age of the oldest unapplied entry; `None` when the primary
    /// does not answer (left out rather than reported as zero).
    pub feed: Option<diaba_store::FeedLag>,
    /// Tiles served from the cache, and drawn.
    pub tile_cache: (u64, u64),
    /// Connection pools.
    pub pools: Vec<diaba_store::PoolStatus>,
    /// Read replicas, in the order given.
    pub replicas: Vec<diaba_store::ReplicaStatus>,
}

impl Metrics {
    /// The OpenMetrics exposition: the request counters, then `now`.
    pub(crate) fn exposition(&self, now: Snapshot) -> Response {
        let now = registry_of(now);
        let mut text = String::new();
        let encoded = encode_registry(&mut text, &self.registry)
            .and_then(|()| encode_registry(&mut text, &now))
            .and_then(|()| encode_eof(&mut text));
        match encoded {
            Ok(()) => ([(header::CONTENT_TYPE, OPENMETRICS)], text).into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
}

/// The values read at scrape time, as a registry of their own.
fn registry_of(now: Snapshot) -> Registry {
    let mut registry = Registry::with_prefix("diaba");
    let features = Family::<LayerLabel, Gauge>::default();
    for (layer, count) in now.index {
        features.get_or_create(&LayerLabel { layer }).set(count as i64);
    }
    registry.register("index_features", "Features in the in-memory index, by layer", features);
    registry.register("search_households", "Households in the address search engine", gauge(now.households as i64));

    registry.register("feed_applied_seq", "Last change-feed entry reflected in this node's index", gauge(now.applied));
    if let Some(lag) = now.feed {
        registry.register("feed_latest_seq", "Newest change-feed entry in the database", gauge(lag.latest));
        registry.register(
            "feed_lag_entries",
            "Change-feed entries not yet in this node's index",
            gauge(lag.latest - now.applied),
        );
        registry.register_with_unit(
            "feed_lag",
            "Age of the oldest change-feed entry not yet in this node's index (0 when none)",
            Unit::Seconds,
            float_gauge(lag.oldest_unapplied_seconds),
        );
    }

    let (hits, misses) = now.tile_cache;
    registry.register("tile_cache_hits", "Tiles served from the cache", ConstCounter::new(hits));
    registry.register(
        "tile_cache_misses",
        "Tiles drawn because the cache did not hold them",
        ConstCounter::new(misses),
    );

    let connections = Family::<PoolStateLabels, Gauge>::default();
    let max = Family::<PoolLabel, Gauge>::default();
    for pool in now.pools {
        let idle = pool.idle as i64;
        connections.get_or_create(&PoolStateLabels { pool: pool.name.clone(), state: "idle".into() }).set(idle);
        connections
            .get_or_create(&PoolStateLabels { pool: pool.name.clone(), state: "in_use".into() })
            .set(i64::from(pool.open) - idle);
        max.get_or_create(&PoolLabel { pool: pool.name }).set(i64::from(pool.max));
    }
    registry.register("db_pool_connections", "Open database connections by pool and state", connections);
    registry.register("db_pool_max_connections", "Most connections each pool may open", max);

    if !now.replicas.is_empty() {
        let up = Family::<ReplicaLabel, Gauge>::default();
        let lag = Family::<ReplicaLabel, Gauge<f64, AtomicU64>>::default();
        let in_use = Family::<ReplicaLabel, Gauge>::default();
        for (i, replica) in now.replicas.into_iter().enumerate() {
            let name = ReplicaLabel { replica: format!("replica-{}", i + 1) };
            up.get_or_create(&name).set(i64::from(replica.up));
            in_use.get_or_create(&name).set(i64::from(replica.in_use));
            if let Some(seconds) = replica.lag_seconds {
                lag.get_or_create(&name).set(seconds);
            }
        }
        registry.register("db_replica_up", "1 when the read replica answered its last lag check", up);
        registry.register_with_unit(
            "db_replica_lag",
            "How far the replica's replay is behind the primary",
            Unit::Seconds,
            lag,
        );
        registry.register(
            "db_replica_in_use",
            "1 when reads go to the replica (up and within --max-replica-lag)",
            in_use,
        );
    }
    registry
}

fn gauge(value: i64) -> Gauge {
    let gauge = Gauge::default();
    gauge.set(value);
    gauge
}

fn float_gauge(value: f64) -> Gauge<f64, AtomicU64> {
    let gauge = Gauge::<f64, AtomicU64>::default();
    gauge.set(value);
    gauge
}
