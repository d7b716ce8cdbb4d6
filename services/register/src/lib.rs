//! diaba's use cases: what the HTTP API and the CLI ask of the register, and every rule
//! that decides the answer.
//!
//! Edges (axum handlers, CLI subcommands) extract their input, make one call here, and
//! shape the answer; the store below only reads and writes. Here live:
//! - the writes and their rules: parcel registration, correction, split and merge
//!   ([`parcels`]), household submissions and their review ([`addresses`]);
//! - every authorization decision, as one [`diaba_core::auth::Caller::may`];
//! - "as of" dates ([`parse_instant`]), search text ([`search_text`]), paging ([`Page`]);
//! - the reads answered from the in-memory index (lookups, nearby households, zones);
//! - keeping that index current from the change feed ([`load_index`], [`follow_changes`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod addresses;
pub mod applications;
mod at;
pub mod citizens;
pub mod documents;
mod error;
mod export;
pub mod extract;
mod features;
pub mod flood;
pub mod flood_live;
mod json_out;
pub mod lookup;
mod page;
pub mod parcels;
pub mod parties;
pub mod population;
pub mod search;
mod seed;
pub mod service;
pub mod simulator;
mod sync;
mod units;

pub use at::{day_or_today, parse_at, parse_instant};
pub use error::{Error, Result};
pub use export::{ExportRequest, Exported, export_layer};
pub use features::owners_shown;
pub use page::{DEFAULT_PAGE, MAX_PAGE, Page};
pub use search::search_text;
pub use seed::{SeedStep, Seeded, seed_demo};
pub use sync::{ChangeObserver, follow_changes, load_index};

use diaba_core::PostcodeTable;
use diaba_core::auth::Caller;
use diaba_index::Index;
use diaba_store::Store;
use std::sync::Arc;

/// The state of the register, for `/health`.
#[derive(Debug, serde::Serialize)]
pub struct Health {
    /// PostGIS version.
    pub postgis: String,
    /// Fingerprint of the shipped geodata loaded.
    pub data_version: Option<String>,
    /// The synthetic demo profile loaded, if any (pages label synthetic data from it).
    pub demo_profile: Option<String>,
    /// What the index holds.
    pub index: IndexHealth,
}

/// Sizes of the index and the change-feed position it reflects.
#[derive(Debug, serde::Serialize)]
pub struct IndexHealth {
    /// Last change-feed sequence number applied.
    pub feed_seq: i64,
    /// Live parcels.
    pub parcels: usize,
    /// Units with polygons.
    pub units: usize,
    /// Flood zones in force.
    pub flood_zones: usize,
    /// Verified addresses.
    pub addresses: usize,
}

/// Limits on what one request may ask.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest number of vertices in one parcel.
    pub max_vertices: usize,
    /// Most points in one batch lookup.
    pub max_batch: usize,
    /// Worst GPS accuracy (metres) accepted for a household submission.
    pub max_accuracy_m: f32,
    /// Other database reads run at once (OGC pages, exposures, history …);
    /// the rest of the pool stays free for writes.
    pub read_concurrency: usize,
    /// Wards of difficult communes, where a procedure's time limit is the longer one
    /// (a holder change: 14 working days instead of 4; Decree 151/2025).
    pub difficult_wards: Vec<String>,
}

/// Flood exposure answers kept in memory.
const EXPOSURES_KEPT: u64 = 2_000;

/// Batch lookups run one at a time per node: each is thousands of answers (and, for a past
/// day, thousands of index probes in PostgreSQL); two at once already take both cores of a
/// small server from the writes.
const HEAVY_READS: usize = 1;

/// How long a read waits for its turn before it is answered "busy, retry".
const READ_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The register: the store, the index kept current from it, and the limits.
#[derive(Debug)]
pub struct Register {
    store: Arc<Store>,
    index: Arc<Index>,
    limits: Limits,
    postcodes: PostcodeTable,
    read_permits: tokio::sync::Semaphore,
    heavy_permits: tokio::sync::Semaphore,
    /// Sensor readings are stored one batch at a time per node: a burst then takes one
    /// core's worth of the database, and lookups and tiles keep the other.
    ingest_permits: tokio::sync::Semaphore,
    /// Flood exposures (aggregates over every parcel and household of a zone or ward),
    /// kept until a change of parcels, addresses or zones arrives from the feed.
    exposures: moka::sync::Cache<String, std::sync::Arc<serde_json::Value>>,
    /// Where personal IDs are checked (the office's loaded copy unless told otherwise).
    population: Arc<dyn population::PopulationRegister>,
    /// The online service's fees, documents and notifications.
    service: service::Service,
    /// Verified households in the search engine.
    search: Arc<search::AddressSearch>,
}

impl Register {
    /// Use cases over `store` and `index` (already loaded).
    pub fn new(store: Arc<Store>, index: Arc<Index>, limits: Limits) -> Self {
        let mut postcodes = PostcodeTable::default();
        for unit in index.units.all() {
            postcodes.extend(unit.postcode_area.clone());
        }
        let read_permits = tokio::sync::Semaphore::new(limits.read_concurrency.max(1));
        let exposures = moka::sync::Cache::new(EXPOSURES_KEPT);
        let heavy_permits = tokio::sync::Semaphore::new(HEAVY_READS);
        let population = Arc::new(population::OfficeCopy::new(store.clone()));
        let service = service::Service::default();
        let search = Arc::new(search::AddressSearch::empty().expect("an empty in-memory index"));
        let ingest_permits = tokio::sync::Semaphore::new(1);
        Self {
            store,
            index,
            limits,
            postcodes,
            read_permits,
            heavy_permits,
            ingest_permits,
            exposures,
            population,
            service,
            search,
        }
    }

    /// The address search engine (loaded by [`search::AddressSearch::load`], kept current by
    /// [`follow_changes`]).
    pub fn address_search(&self) -> Arc<search::AddressSearch> {
        self.search.clone()
    }

    /// The same with the online service set up as `service` says.
    pub fn with_service(mut self, service: service::Service) -> Self {
        self.service = service;
        self
    }

    /// A turn to read from the database: at most [`Limits::read_concurrency`] at once, the
    /// others queue for [`READ_WAIT`] and are then told to retry.
    pub(crate) async fn read_turn(&self) -> Result<tokio::sync::SemaphorePermit<'_>> {
        match tokio::time::timeout(READ_WAIT, self.read_permits.acquire()).await {
            Ok(permit) => Ok(permit.expect("the semaphore is never closed")),
            Err(_) => Err(Error::Busy { detail: "the register is busy answering other reads; retry shortly".into() }),
        }
    }

    /// A change reached the index: forget the answers it may have changed. Exposures are
    /// aggregates over parcels, households and zones; recomputing them after an unrelated
    /// change is cheap, and a stale one after a related change would be wrong.
    pub fn changed(&self, _layer: diaba_core::Layer) {
        self.exposures.invalidate_all();
    }

    /// A turn for a heavy read (a batch lookup): one at a time, the others wait up to 5 s.
    pub(crate) async fn heavy_turn(&self) -> Result<tokio::sync::SemaphorePermit<'_>> {
        match tokio::time::timeout(READ_WAIT, self.heavy_permits.acquire()).await {
            Ok(permit) => Ok(permit.expect("the semaphore is never closed")),
            Err(_) => Err(Error::Busy { detail: "the register is busy answering other reads; retry shortly".into() }),
        }
    }

    /// The store (for health checks and the change feed).
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The in-memory index.
    pub fn index(&self) -> &Arc<Index> {
        &self.index
    }

    /// Features in the index, by spatial layer.
    pub fn index_sizes(&self) -> impl Iterator<Item = (diaba_core::Layer, usize)> + '_ {
        use diaba_core::Layer as L;
        [L::Units, L::Parcels, L::Addresses, L::FloodZones].into_iter().map(|layer| (layer, self.index.len(layer)))
    }

    /// How far this node's index is behind the change feed's head (on the primary).
    pub async fn feed_lag(&self, applied: i64) -> Result<diaba_store::FeedLag> {
        Ok(self.store.feed_lag(applied).await?)
    }

    /// What the database holds and the index reflects, for `/health`; an error when the
    /// database does not answer.
    pub async fn health(&self, feed_seq: i64) -> Result<Health> {
        let health = self.store.health().await?;
        Ok(Health {
            postgis: health.postgis,
            data_version: health.data_version,
            demo_profile: self.store.demo_profile().await.ok().flatten(),
            index: IndexHealth {
                feed_seq,
                parcels: self.index.parcels.len(),
                units: self.index.units.len(),
                flood_zones: self.index.flood.len(),
                addresses: self.index.addresses.len(),
            },
        })
    }

    /// The caller a bearer token names: `None` for an unknown or revoked token.
    pub async fn caller_for_token(&self, token: &str) -> Result<Option<Caller>> {
        Ok(self.store.caller_for_token(token).await?)
    }
}

/// A `ward` filter of a listing, checked to be a ward code before it reaches SQL (a query
/// string can carry anything, NUL bytes included).
pub(crate) fn ward_filter(ward: Option<&str>) -> Result<Option<&str>, Error> {
    match ward {
        Some(code) => match diaba_core::UnitCode::parse(code) {
            Ok(_) => Ok(Some(code)),
            Err(e) => Err(Error::invalid("ward", e.to_string())),
        },
        None => Ok(None),
    }
}
