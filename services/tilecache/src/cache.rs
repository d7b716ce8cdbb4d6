//! Encoded tiles kept in memory, and exactly the ones a write touched thrown away.
//!
//! Why a lock next to a concurrent cache: a tile rendered from the index just before a
//! change reached it must not be stored after that change's invalidation ran, or it
//! would stay stale. Renders hold the gate shared from start to insert; an invalidation
//! takes it exclusively, so it waits for renders in flight and removes what they stored.
//! Writes are rare; renders never wait on each other.

use crate::draw::{SheetAnchor, render, sheet_anchors};
use crate::pack::Packs;
use bytes::Bytes;
use diaba_core::{AsOf, Layer};
use diaba_index::Index;
use diaba_tiles::{BUFFER, Source, TileCoord};
use moka::sync::Cache;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

/// One encoded tile with its validator.
#[derive(Debug)]
pub struct EncodedTile {
    /// MVT bytes; empty when the tile has no feature. Cloning shares them (no copy), so a
    /// cached tile is answered without copying its body.
    pub mvt: Bytes,
    /// Weak entity tag (`W/"…"`, ASCII): the same bytes always have the same tag, on every
    /// node. Kept as shared bytes so an answer takes it as a header without a copy.
    pub etag: Bytes,
    gzip: OnceLock<Bytes>,
}

impl EncodedTile {
    fn new(mvt: Vec<u8>) -> Self {
        let digest = Sha256::digest(&mvt);
        let etag = Bytes::from(format!("W/\"{}\"", hex::encode(&digest[..12])));
        Self { etag, mvt: Bytes::from(mvt), gzip: OnceLock::new() }
    }

    /// The entity tag as text.
    pub fn etag_str(&self) -> &str {
        std::str::from_utf8(&self.etag).expect("the tag is ASCII")
    }

    /// True when the tile holds no feature.
    pub fn is_empty(&self) -> bool {
        self.mvt.is_empty()
    }

    /// The tile gzip-compressed, shared (not copied) by every answer. A cached tile has it
    /// made before it is stored; an uncached one makes it here, on demand.
    pub fn gzip(&self) -> Bytes {
        self.gzip
            .get_or_init(|| {
                let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                encoder.write_all(&self.mvt).expect("writing to memory");
                Bytes::from(encoder.finish().expect("writing to memory"))
            })
            .clone()
    }

    /// Bytes the cache holds for this tile: both encodings and the tag, plus bookkeeping.
    fn weight(&self) -> u32 {
        let gzip = self.gzip.get().map_or(0, Bytes::len);
        u32::try_from(self.mvt.len() + gzip + self.etag.len() + 64).unwrap_or(u32::MAX)
    }
}

/// Whether a tile came from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// Served from memory.
    Hit,
    /// Rendered for this request.
    Miss,
}

/// A tile of a source, as the register is now (`None`) or stood at the end of a past day.
type Key = (Source, TileCoord, Option<AsOf>);

/// Renders tiles from the index and caches them.
pub struct TileService {
    index: Arc<Index>,
    cache: Option<Cache<Key, Arc<EncodedTile>>>,
    gate: RwLock<()>,
    /// Map-sheet label anchors, made from every live parcel when first needed and forgotten
    /// when parcels change.
    sheets: RwLock<Option<Arc<Vec<SheetAnchor>>>>,
    packs: Packs,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for TileService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TileService")
            .field("cached", &self.cache.as_ref().map(Cache::entry_count))
            .field("hits", &self.hits)
            .field("misses", &self.misses)
            .finish()
    }
}

impl TileService {
    /// Tiles over `index`, caching up to `cache_bytes` of encoded tiles (0: no cache); an
    /// error when the packs' private directory cannot be made.
    pub fn new(index: Arc<Index>, cache_bytes: u64) -> std::io::Result<Self> {
        let cache = (cache_bytes > 0).then(|| {
            Cache::builder().max_capacity(cache_bytes).weigher(|_: &Key, tile: &Arc<EncodedTile>| tile.weight()).build()
        });
        Ok(Self {
            packs: Packs::new(index.clone())?,
            index,
            cache,
            gate: RwLock::new(()),
            sheets: RwLock::new(None),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })
    }

    /// The index the tiles are drawn from.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// `[west, south, east, north]` of the area served, for TileJSON.
    pub fn bounds(&self) -> [f64; 4] {
        crate::draw::service_area_bounds(&self.index)
    }

    /// The ward packs drawn from these tiles.
    pub fn packs(&self) -> &Packs {
        &self.packs
    }

    /// A tile as the register is now (`at`: `None`) or stood at the end of day `at`, from
    /// the cache when it is there. A day from today on is today's tile.
    pub fn tile(&self, source: Source, coord: TileCoord, at: Option<AsOf>) -> (Arc<EncodedTile>, CacheStatus) {
        if let Some(tile) = self.cached(source, coord, at) {
            return (tile, CacheStatus::Hit);
        }
        let at = at.filter(|day| *day < AsOf::today());
        let key = (source, coord, at);
        self.misses.fetch_add(1, Ordering::Relaxed);
        let _rendering = self.gate.read().expect("tile gate");
        let tile = Arc::new(EncodedTile::new(render(&self.index, &self.sheets(), source, coord, at)));
        if let Some(cache) = &self.cache {
            // Compressed before it is stored: browsers ask for gzip, so a hit never
            // compresses, and the cache weighs the tile with its gzip bytes.
            if !tile.is_empty() {
                tile.gzip();
            }
            cache.insert(key, tile.clone());
        }
        (tile, CacheStatus::Miss)
    }

    /// The tile when the cache has it (rendering nothing): lets a caller render misses
    /// elsewhere, off the thread it answers on.
    pub fn cached(&self, source: Source, coord: TileCoord, at: Option<AsOf>) -> Option<Arc<EncodedTile>> {
        let at = at.filter(|day| *day < AsOf::today());
        let tile = self.cache.as_ref()?.get(&(source, coord, at))?;
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(tile)
    }

    /// A tile rendered now, bypassing the cache (for packs).
    pub fn render(&self, source: Source, coord: TileCoord) -> Vec<u8> {
        render(&self.index, &self.sheets(), source, coord, None)
    }

    fn sheets(&self) -> Arc<Vec<SheetAnchor>> {
        if let Some(sheets) = self.sheets.read().expect("sheet anchors").as_ref() {
            return sheets.clone();
        }
        let sheets = Arc::new(sheet_anchors(&self.index));
        *self.sheets.write().expect("sheet anchors") = Some(sheets.clone());
        sheets
    }

    /// Forgets every cached tile of a source drawing `layer` whose buffered area meets
    /// `bbox` (`[west, south, east, north]`), at every zoom; `None` forgets the whole layer.
    /// Packs over that area are marked for baking again. Returns how many tiles were dropped.
    pub fn invalidate(&self, layer: Layer, bbox: Option<[f64; 4]>) -> usize {
        let Some(drawn) = Source::of(layer) else { return 0 };
        self.packs.touch(bbox);
        let _exclusive = self.gate.write().expect("tile gate");
        if layer == Layer::Parcels {
            *self.sheets.write().expect("sheet anchors") = None;
        }
        let Some(cache) = &self.cache else { return 0 };
        let mut dropped = 0;
        for (key, _) in cache {
            let (source, coord, _) = *key;
            if !source.draws(layer) || coord.z() < drawn.minzoom() {
                continue;
            }
            let touched = bbox.is_none_or(|[w, s, e, n]| {
                let [tw, ts, te, tn] = coord.bounds(BUFFER);
                w <= te && tw <= e && s <= tn && ts <= n
            });
            if touched {
                cache.invalidate(&*key);
                dropped += 1;
            }
        }
        dropped
    }

    /// Tiles served from the cache and rendered, since start.
    pub fn counters(&self) -> (u64, u64) {
        (self.hits.load(Ordering::Relaxed), self.misses.load(Ordering::Relaxed))
    }
}
