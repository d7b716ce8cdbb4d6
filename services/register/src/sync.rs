//! Keeps the in-memory index in step with PostGIS through the change feed (DESIGN §7).
//!
//! At start the node notes the feed's last sequence number, then bulk-loads every layer;
//! afterwards it applies changes in sequence order. It is woken by NOTIFY, and also polls
//! every second, so a lost notification or a lost connection only delays it: after any
//! reconnect it catches up from the last sequence it applied. Applying a change re-reads
//! the entity's current state, so applying one twice is harmless. Each applied change is
//! then reported with the boxes it touched (the entity's old and new shapes, and the box
//! its writer recorded), so the tiles drawn from the index can drop exactly those.

use diaba_core::Layer;
use diaba_index::Index;
use diaba_store::{Change, ChangeOp, FeedEntry, Store};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Changes read per round trip.
const BATCH: i64 = 500;
/// Longest wait between catch-ups when no notification arrives.
const POLL: Duration = Duration::from_secs(1);

/// Told of every change applied to the index: the layer and the boxes
/// (`[west, south, east, north]`) it touched; `None` when the whole layer changed.
pub trait ChangeObserver: Send + Sync + 'static {
    /// A change of `layer` over `bbox` is now in the index.
    fn changed(&self, layer: Layer, bbox: Option<[f64; 4]>);
}

/// Loads every layer; returns the index and the feed position it reflects.
pub async fn load_index(store: &Store) -> diaba_store::Result<(Index, i64)> {
    // Read the position first: changes committed during the load are applied again
    // afterwards, which is harmless, rather than missed.
    let seq = store.last_change().await?;
    let index = Index::default();
    for &layer in Layer::ALL {
        if let Some(features) = store.layer_features(layer).await? {
            index.replace_all(features);
        }
    }
    index.past_parcels.replace_all(store.past_parcels(None).await?);
    Ok((index, seq))
}

/// Runs the feed loop until the process ends; `applied` always holds the last sequence
/// number reflected in the index.
pub fn follow_changes(
    store: Arc<Store>,
    index: Arc<Index>,
    search: Arc<crate::search::AddressSearch>,
    observer: Arc<dyn ChangeObserver>,
    applied: Arc<AtomicI64>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut listener = None;
        loop {
            if listener.is_none() {
                listener = store.change_listener().await.ok();
            }
            let from = applied.load(Ordering::Acquire);
            match store.changes_after(from, BATCH).await {
                Ok(entries) => {
                    let full = entries.len() as i64 == BATCH;
                    for entry in entries {
                        if let FeedEntry::Change(change) = &entry
                            && let Err(error) = apply(&store, &index, &search, observer.as_ref(), change).await
                        {
                            tracing::warn!(%error, seq = change.seq, "change not applied yet; will retry");
                            break;
                        }
                        if let FeedEntry::Unknown { seq, what } = &entry {
                            tracing::warn!(seq, what, "change feed entry of a newer diaba passed over");
                        }
                        applied.store(entry.seq(), Ordering::Release);
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

async fn apply(
    store: &Store,
    index: &Index,
    search: &crate::search::AddressSearch,
    observer: &dyn ChangeObserver,
    change: &Change,
) -> diaba_store::Result<()> {
    search.apply(store, change).await?;
    let id = match (change.op, change.id) {
        (ChangeOp::Reload, _) | (_, None) => {
            // Closed versions before live ones (as a single change does): a reader taken
            // between the two sees a version this reload closed twice, never not at all.
            if change.layer == Layer::Parcels {
                index.past_parcels.replace_all(store.past_parcels(None).await?);
            }
            if let Some(features) = store.layer_features(change.layer).await? {
                index.replace_all(features);
            }
            observer.changed(change.layer, None);
            return Ok(());
        }
        (ChangeOp::Upsert | ChangeOp::Retire, Some(id)) => id,
    };
    if change.layer == Layer::Parcels {
        // The version this change closed, for tiles of the days it was in force.
        index.add_past_parcels(store.past_parcels(Some(id)).await?);
    }
    let touched = index.put(change.layer, id, store.layer_feature(change.layer, id).await?);
    let boxes = touched.iter().map(|e| {
        let ([w, s], [e, n]) = (e.lower(), e.upper());
        [w, s, e, n]
    });
    for bbox in boxes.chain(change.bbox) {
        observer.changed(change.layer, Some(bbox));
    }
    Ok(())
}
