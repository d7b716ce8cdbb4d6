//! Keeps the in-memory index in step with PostGIS through the change feed (DESIGN §7).
//!
//! At start the node notes the feed's last sequence number, then bulk-loads every layer;
//! afterwards it applies changes in sequence order. It is woken by NOTIFY, and also polls
//! every second, so a lost notification or a lost connection only delays it: after any
//! reconnect it catches up from the last sequence it applied. Applying a change re-reads
//! the entity's current state, so applying one twice is harmless. Each applied change
//! then drops the cached tiles its old and new shapes touch, and only those.

use diaba_core::Layer;
use diaba_index::Index;
use diaba_store::{Change, ChangeOp, FeedEntry, Store};
use diaba_tilecache::TileService;
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
    let index = Index::default();
    for &layer in Layer::ALL {
        if let Some(features) = store.layer_features(layer).await? {
            index.replace_all(features);
        }
    }
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
                Ok(entries) => {
                    let full = entries.len() as i64 == BATCH;
                    for entry in entries {
                        match &entry {
                            FeedEntry::Change(change) => {
                                if let Err(error) = apply(&store, index, &tiles, change).await {
                                    tracing::warn!(%error, seq = change.seq, "change not applied yet; will retry");
                                    break;
                                }
                            }
                            FeedEntry::Unknown { seq, what } => {
                                tracing::warn!(seq, what, "change feed entry of a newer diaba passed over");
                            }
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

/// Brings one change into the index, then drops the tiles it made stale: the boxes of the
/// entity's old and new shapes as the index saw them, and the box the writer recorded.
async fn apply(store: &Store, index: &Index, tiles: &TileService, change: &Change) -> diaba_store::Result<()> {
    let touched = match (change.op, change.id) {
        (ChangeOp::Reload, _) | (_, None) => {
            if let Some(features) = store.layer_features(change.layer).await? {
                index.replace_all(features);
            }
            tiles.invalidate(change.layer, None);
            return Ok(());
        }
        (ChangeOp::Upsert | ChangeOp::Retire, Some(id)) => {
            index.put(change.layer, id, store.layer_feature(change.layer, id).await?)
        }
    };
    let boxes = touched.iter().map(|e| {
        let ([w, s], [e, n]) = (e.lower(), e.upper());
        [w, s, e, n]
    });
    for bbox in boxes.chain(change.bbox) {
        let dropped = tiles.invalidate(change.layer, Some(bbox));
        tracing::debug!(layer = %change.layer, dropped, "tiles invalidated");
    }
    Ok(())
}
