use diaba_core::PostcodeTable;
use diaba_index::Index;
use diaba_store::Store;
use diaba_tilecache::TileService;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Arc<Store>,
    /// The in-memory index, kept current by [`crate::sync`].
    pub index: Arc<Index>,
    /// Vector tiles drawn from the index, cached until a change touches them.
    pub tiles: Arc<TileService>,
    /// Last change-feed sequence number reflected in the index.
    pub applied_seq: Arc<AtomicI64>,
    /// Largest number of vertices accepted in one parcel.
    pub max_vertices: usize,
    /// Most points in one batch lookup.
    pub max_batch: usize,
    /// Worst GPS accuracy (metres) accepted for a household submission.
    pub max_accuracy_m: f32,
    /// Every postcode area (current and pre-2025), for Vpostcodes.
    pub postcodes: Arc<PostcodeTable>,
    /// Unknown tokens per client address, to slow down guessing.
    pub sign_in_failures: crate::sign_in::SignInFailures,
    /// Turns for address searches (see [`crate::Config::search_concurrency`]).
    pub search_permits: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    /// Loads the index from the store and starts following the change feed.
    pub async fn start(store: Arc<Store>, config: &crate::Config) -> diaba_store::Result<Self> {
        let started = std::time::Instant::now();
        let (index, seq) = crate::sync::load(&store).await?;
        tracing::info!(
            parcels = index.parcels.len(),
            units = index.units.len(),
            flood_zones = index.flood.len(),
            addresses = index.addresses.len(),
            seconds = started.elapsed().as_secs_f32(),
            "index loaded"
        );
        let index = Arc::new(index);
        let applied_seq = Arc::new(AtomicI64::new(seq));
        let tiles = Arc::new(TileService::new(index.clone(), config.tile_cache_bytes));
        crate::sync::spawn(store.clone(), tiles.clone(), applied_seq.clone());
        let mut postcodes = PostcodeTable::default();
        for unit in index.units.all() {
            postcodes.extend(unit.postcode_area.clone());
        }
        Ok(Self {
            store,
            index,
            tiles,
            applied_seq,
            max_vertices: config.max_vertices,
            max_batch: config.max_batch,
            max_accuracy_m: config.max_accuracy_m,
            postcodes: Arc::new(postcodes),
            sign_in_failures: crate::sign_in::SignInFailures::new(config.auth_failures_per_minute),
            search_permits: Arc::new(tokio::sync::Semaphore::new(config.search_concurrency.max(1))),
        })
    }
}
