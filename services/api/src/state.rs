use diaba_register::Register;
use diaba_tilecache::TileService;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;

/// What every handler can reach: one pointer, since axum clones the state for every
/// request at every layer that extracts it.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The state itself.
#[derive(Debug)]
pub struct Shared {
    /// The use cases, over the store and the index.
    pub register: Arc<Register>,
    /// Vector tiles drawn from the index, cached until a change touches them.
    pub tiles: Arc<TileService>,
    /// Where tiles missing from the cache are drawn.
    pub render_tiles_on: crate::RenderTilesOn,
    /// Threads that draw tiles missing from the cache, two per core; tiles waiting for one
    /// queue in order. Without a bound tokio's blocking pool grew a thread per waiting
    /// tile and they all shared the cores (p99 0.15–0.56 s at 32 connections). Threads of
    /// their own rather than that pool behind a semaphore: there each tile woke a sleeping
    /// thread and put it back to sleep (futex and context switches, a quarter of the
    /// server's time on z18 tiles), where these take the next tile from the queue.
    pub renderer: Arc<rayon::ThreadPool>,
    /// Last change-feed sequence number reflected in the index.
    pub applied_seq: Arc<AtomicI64>,
    /// Unknown tokens per client address, to slow down guessing.
    pub sign_in_failures: crate::sign_in::SignInFailures,
    /// Where citizens reach the service (links in QR codes); `None`: the request's host.
    pub public_url: Option<Arc<str>>,
    /// Citizens' sign-in (OpenID Connect relying party), when set up.
    pub oidc: Option<Arc<crate::citizen::RelyingParty>>,
    /// Request counts and latencies for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The map's label glyphs.
    pub glyphs: Arc<diaba_glyphs::Glyphs>,
    /// Flood alerts as they are raised on any node, for Server-Sent Events.
    pub alerts: tokio::sync::broadcast::Sender<Arc<serde_json::Value>>,
}

/// Relays the flood alerts announced by any node (NOTIFY) to this node's event streams;
/// listens again after a lost connection.
fn relay_alerts(store: Arc<diaba_store::Store>) -> tokio::sync::broadcast::Sender<Arc<serde_json::Value>> {
    let (sender, _) = tokio::sync::broadcast::channel(256);
    let relay = sender.clone();
    tokio::spawn(async move {
        loop {
            let mut listener = match store.alert_listener().await {
                Ok(listener) => listener,
                Err(error) => {
                    tracing::warn!(%error, "flood alerts: cannot listen; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
            };
            while let Ok(notification) = listener.recv().await {
                let Ok(id) = notification.payload().parse::<i64>() else { continue };
                match store.flood_alert(id).await {
                    Ok(Some(alert)) => {
                        // No receiver (no page open) is fine.
                        let _ = relay.send(Arc::new(alert));
                    }
                    Ok(None) => {}
                    Err(error) => tracing::warn!(%error, id, "flood alert not read"),
                }
            }
        }
    });
    sender
}

/// Drops sensor observations past the retention, at start and every six hours (whole
/// monthly partitions, so dropping is instant and leaves no bloat).
fn keep_observations(store: Arc<diaba_store::Store>, months: u32) {
    tokio::spawn(async move {
        loop {
            let cutoff = chrono::Utc::now() - chrono::Months::new(months);
            match store.sta_drop_partitions_before(cutoff).await {
                Ok(dropped) if !dropped.is_empty() => {
                    tracing::info!(?dropped, "observations past the retention dropped");
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "dropping old observations; will retry"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(6 * 3600)).await;
        }
    });
}

/// Drops the tiles (and marks the packs) each applied change touched, and the register's
/// answers it may have changed.
struct Invalidate {
    tiles: Arc<TileService>,
    register: Arc<Register>,
}

impl diaba_register::ChangeObserver for Invalidate {
    fn changed(&self, layer: diaba_core::Layer, bbox: Option<[f64; 4]>) {
        let dropped = self.tiles.invalidate(layer, bbox);
        self.register.changed(layer);
        tracing::debug!(%layer, dropped, "tiles invalidated");
    }
}

/// The threads tiles are drawn on (rayon's pool: a queue its threads drain without going
/// to sleep while tiles wait).
fn render_threads(count: usize) -> diaba_store::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new().num_threads(count).thread_name(|i| format!("diaba-render-{i}")).build().map_err(
        |e| diaba_store::Error::Io {
            action: "start",
            path: "the tile render threads".into(),
            source: std::io::Error::other(e),
        },
    )
}

impl AppState {
    /// Loads the index from the store and starts following the change feed.
    pub async fn start(store: Arc<diaba_store::Store>, config: &crate::Config) -> diaba_store::Result<Self> {
        let started = std::time::Instant::now();
        // From a replica when one is current: a replica replays the primary's order, so the
        // feed position it shows is consistent with the layers it then returns.
        let (index, seq) = store.on_replica(|reads| async move { diaba_register::load_index(&reads).await }).await?;
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
        let tiles =
            TileService::new(index.clone(), config.tile_cache_bytes).map_err(|source| diaba_store::Error::Io {
                action: "create the packs' private directory in",
                path: std::env::temp_dir(),
                source,
            })?;
        let tiles = Arc::new(tiles);
        let limits = diaba_register::Limits {
            max_vertices: config.max_vertices,
            max_batch: config.max_batch,
            max_accuracy_m: config.max_accuracy_m,
            read_concurrency: config.read_concurrency,
            difficult_wards: config.difficult_wards.clone(),
        };
        let mut service = config.service.clone();
        service.max_document_bytes = config.max_document_bytes;
        service.public_url = service.public_url.or_else(|| config.public_url.clone());
        let register = Arc::new(Register::new(store.clone(), index.clone(), limits).with_service(service));
        let oidc = match &config.oidc {
            Some(oidc) => {
                Some(Arc::new(crate::citizen::RelyingParty::new(oidc.clone()).map_err(|e| diaba_store::Error::Io {
                    action: "set up the OpenID client for",
                    path: oidc.issuer.clone().into(),
                    source: std::io::Error::other(e),
                })?))
            }
            None => None,
        };
        let started = std::time::Instant::now();
        // Households as of at least `seq` (the feed replays anything after it): from a
        // replica too, since a replica that served the index at `seq` has not gone back.
        let search = register.address_search();
        let search = &search;
        store.on_replica(|reads| async move { search.load(&reads).await }).await?;
        tracing::info!(
            households = register.address_search().len(),
            seconds = started.elapsed().as_secs_f32(),
            "search index loaded"
        );
        keep_observations(store.clone(), config.observation_retention_months);
        let alerts = relay_alerts(store.clone());
        if let Some(url) = &config.mqtt_url {
            diaba_mqtt::follow(url, register.clone()).map_err(|e| diaba_store::Error::Io {
                action: "subscribe to the MQTT broker at",
                path: url.into(),
                source: std::io::Error::other(e),
            })?;
        }
        let invalidate = Arc::new(Invalidate { tiles: tiles.clone(), register: register.clone() });
        diaba_register::follow_changes(store, index, register.address_search(), invalidate, applied_seq.clone());
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Ok(Self(Arc::new(Shared {
            register,
            tiles,
            render_tiles_on: config.render_tiles_on,
            renderer: Arc::new(render_threads(2 * cores)?),
            applied_seq,
            sign_in_failures: crate::sign_in::SignInFailures::new(config.auth_failures_per_minute),
            public_url: config.public_url.as_deref().map(|u| Arc::from(u.trim_end_matches('/'))),
            oidc,
            metrics: Default::default(),
            glyphs: Arc::new(diaba_glyphs::Glyphs::new(&config.fonts_dir)),
            alerts,
        })))
    }
}
