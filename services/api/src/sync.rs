//! Keeps the in-memory index in step with PostGIS through the change feed (DESIGN §7).
//!
//! At start the node notes the feed's last sequence number, then bulk-loads every layer;
//! afterwards it applies changes in sequence order. It is woken by NOTIFY, and also polls
//! every second, so a lost notification or a lost connection only delays it: after any
//! reconnect it catches up from the last sequence it applied. Applying a change re-reads
//! the entity's current state, so applying one twice is harmless. Each applied change
//! then drops the cached tiles its old and new shapes touch, and only those.

use diaba_index::{Feature, Index, Layer};
use diaba_store::Store;
use diaba_store::spatial::Change;
use diaba_tiles::{Source, TileService};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Changes read per round trip.
const BATCH: i64 = 500;
/// Longest wait between catch-ups when no notification arrives.
const POLL: Duration = Duration::from_secs(1);

/// Loads every layer; returns the index and the feed position it reflects.
pub async fn load(store: &Store) -> diaba_store::Result<(Index, i64)> {
    // Read the position first: changes committed during the load are applied again
    // afterwards, which is harmless, rather than missed.
    let seq = store.last_change().await?;
    let index = Index::new(
        store.unit_features().await?,
        store.parcel_features().await?,
        store.flood_features().await?,
        store.address_features().await?,
    );
    Ok((index, seq))
}

/// Runs the feed loop until the process ends; `applied` always holds the last sequence
/// number reflected in the index.
pub fn spawn(store: Arc<Store>, tiles: Arc<TileService>, applied: Arc<AtomicI64>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let index = tiles.index();
        let mut listener = None;
        loop {
            if listener.is_none() {
                listener = store.change_listener().await.ok();
            }
            let from = applied.load(Ordering::Acquire);
            match store.changes_after(from, BATCH).await {
                Ok(changes) => {
                    let full = changes.len() as i64 == BATCH;
                    for change in changes {
                        if let Err(error) = apply(&store, index, &tiles, &change).await {
                            tracing::warn!(%error, seq = change.seq, "change not applied yet; will retry");
                            break;
                        }
                        applied.store(change.seq, Ordering::Release);
                    }
                    if full {
                        continue;
                    }
                }
                Err(error) => tracing::warn!(%error, "change feed unreachable; retrying"),
            }
            match listener.as_mut() {
                Some(l) => {
                    if l.wait(POLL).await.is_err() {
                        listener = None;
                    }
                }
                None => tokio::time::sleep(POLL).await,
            }
        }
    })
}

async fn apply(store: &Store, index: &Index, tiles: &TileService, change: &Change) -> diaba_store::Result<()> {
    match (change.layer.as_str(), change.entity_id) {
        ("parcels", Some(id)) => {
            let touched = replace(&index.parcels, id, store.parcel_feature(id).await?);
            invalidate(tiles, Source::Parcels, touched);
        }
        ("parcels", None) => {
            index.parcels.replace_all(store.parcel_features().await?);
            tiles.invalidate(Source::Parcels, None);
        }
        ("flood_zones", Some(id)) => {
            let touched = replace(&index.flood, id, store.flood_feature(id).await?);
            invalidate(tiles, Source::Flood, touched);
        }
        ("flood_zones", None) => {
            index.flood.replace_all(store.flood_features().await?);
            tiles.invalidate(Source::Flood, None);
        }
        ("addresses", Some(id)) => {
            let touched = replace(&index.addresses, id, store.address_feature(id).await?);
            invalidate(tiles, Source::Addresses, touched);
        }
        ("addresses", None) => {
            index.addresses.replace_all(store.address_features().await?);
            tiles.invalidate(Source::Addresses, None);
        }
        ("units", _) => {
            index.units.replace_all(store.unit_features().await?);
            tiles.invalidate(Source::Wards, None);
        }
        (layer, _) => tracing::warn!(layer, seq = change.seq, "unknown layer in the change feed"),
    }
    Ok(())
}

/// Puts an entity's current state (or its absence) in a layer; returns the boxes of its
/// old and new shapes, the area whose tiles changed.
fn replace<F: Feature>(layer: &Layer<F>, id: i64, current: Option<F>) -> Vec<rstar::AABB<[f64; 2]>> {
    let mut touched: Vec<_> = current.iter().map(Feature::envelope).collect();
    let old = match current {
        Some(feature) => layer.upsert(feature),
        None => layer.remove(id),
    };
    touched.extend(old.map(|f| f.envelope()));
    touched
}

fn invalidate(tiles: &TileService, layer: Source, touched: Vec<rstar::AABB<[f64; 2]>>) {
    for envelope in touched {
        let ([w, s], [e, n]) = (envelope.lower(), envelope.upper());
        let dropped = tiles.invalidate(layer, Some([w, s, e, n]));
        tracing::debug!(layer = layer.name(), dropped, "tiles invalidated");
    }
}
