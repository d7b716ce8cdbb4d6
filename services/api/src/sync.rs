//! Keeps the in-memory index in step with PostGIS through the change feed (DESIGN §7).
//!
//! At start the node notes the feed's last sequence number, then bulk-loads every layer;
//! afterwards it applies changes in sequence order. It is woken by NOTIFY, and also polls
//! every second, so a lost notification or a lost connection only delays it: after any
//! reconnect it catches up from the last sequence it applied. Applying a change re-reads
//! the entity's current state, so applying one twice is harmless.

use diaba_index::Index;
use diaba_store::Store;
use diaba_store::spatial::Change;
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
pub fn spawn(store: Arc<Store>, index: Arc<Index>, applied: Arc<AtomicI64>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
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
                        if let Err(error) = apply(&store, &index, &change).await {
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

async fn apply(store: &Store, index: &Index, change: &Change) -> diaba_store::Result<()> {
    match (change.layer.as_str(), change.entity_id) {
        ("parcels", Some(id)) => match store.parcel_feature(id).await? {
            Some(feature) => drop(index.parcels.upsert(feature)),
            None => drop(index.parcels.remove(id)),
        },
        ("parcels", None) => index.parcels.replace_all(store.parcel_features().await?),
        ("flood_zones", Some(id)) => match store.flood_feature(id).await? {
            Some(feature) => drop(index.flood.upsert(feature)),
            None => drop(index.flood.remove(id)),
        },
        ("flood_zones", None) => index.flood.replace_all(store.flood_features().await?),
        ("addresses", Some(id)) => match store.address_feature(id).await? {
            Some(feature) => drop(index.addresses.upsert(feature)),
            None => drop(index.addresses.remove(id)),
        },
        ("addresses", None) => index.addresses.replace_all(store.address_features().await?),
        ("units", _) => index.units.replace_all(store.unit_features().await?),
        (layer, _) => tracing::warn!(layer, seq = change.seq, "unknown layer in the change feed"),
    }
    Ok(())
}
