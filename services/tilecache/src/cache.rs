//! Encoded tiles kept in memory, and exactly the ones a write touched thrown away.
//!
//! Why a lock next to a concurrent cache: a tile rendered from the index just before a
//! change reached it must not be stored after that change's invalidation ran, or it
//! would stay stale. Renders hold the gate shared from start to insert; an invalidation
//! takes it exclusively, so it waits for renders in flight and removes what they stored.
//! Writes are rare; renders never wait on each other.

use crate::draw::{Anchors, render};
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
    /// Label anchors of sheets and road lots, made when first needed and forgotten when
    /// parcels change.
    anchors: RwLock<Option<Arc<Anchors>>>,
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
            anchors: RwLock::new(None),
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
        let tile = Arc::new(EncodedTile::new(render(&self.index, &self.anchors(), source, coord, at)));
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
        render(&self.index, &self.anchors(), source, coord, None)
    }

    fn anchors(&self) -> Arc<Anchors> {
        if let Some(anchors) = self.anchors.read().expect("label anchors").as_ref() {
            return anchors.clone();
        }
        let anchors = Arc::new(Anchors::of(&self.index));
        *self.anchors.write().expect("label anchors") = Some(anchors.clone());
        anchors
    }

    /// Forgets every cached tile of a source drawing `layer` whose buffered area meets
    /// `bbox` (`[west, south, east, north]`), at every zoom; `None` forgets the whole layer.
    /// Packs over that area are marked for baking again. Returns how many tiles were dropped.
    pub fn invalidate(&self, layer: Layer, bbox: Option<[f64; 4]>) -> usize {
        let Some(drawn) = Source::of(layer) else { return 0 };
        self.packs.touch(bbox);
        let _exclusive = self.gate.write().expect("tile gate");
        if layer == Layer::Parcels {
            *self.anchors.write().expect("label anchors") = None;
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

#[cfg(test)]
mod tests {
    use super::*;
    use diaba_core::PackedParcelId;
    use diaba_core::outline::Outline;
    use diaba_core::spatial::{Interner, LayerFeature, LayerFeatures, ParcelFeature};
    use geo::{MultiPolygon, polygon};

    /// A synthetic named road lot, 120 m by 10 m, centred on a Ninh Kiều point, east–west or
    /// north–south.
    fn road(east_west: bool) -> ParcelFeature {
        let (x, y) = (105.7876, 10.0341);
        let (dx, dy) = if east_west { (0.00055, 0.000045) } else { (0.000045, 0.00055) };
        let shape =
            polygon![(x: x - dx, y: y - dy), (x: x + dx, y: y - dy), (x: x + dx, y: y + dy), (x: x - dx, y: y + dy)];
        let mut shared = Interner::default();
        ParcelFeature {
            id: 7,
            national_id: PackedParcelId::new("w6u000000007").expect("12 ASCII characters"),
            ward_code: shared.ward("31117".into()),
            sheet: 12,
            number: 40,
            version: 1,
            land_uses: shared.land_uses(vec!["DGT".into()]),
            legal_area_m2: 1200.0,
            valid_from: 0,
            name: Some("Đường Hòa Bình".into()),
            outline: Outline::from(&MultiPolygon(vec![shape])),
        }
    }

    #[test]
    fn a_road_lots_label_follows_its_new_shape_once_parcels_change() {
        let index = Arc::new(Index::with([LayerFeatures::Parcels(vec![road(true)])]));
        let tiles = TileService::new(index.clone(), 0).expect("tile service");
        let (source, tile) = (Source::ALL, TileCoord::containing(105.7876, 10.0341, 17));
        let before = tiles.render(source, tile);
        // The same lot and version turned north–south (as a correction in place would):
        // the axis kept for it must go with the change, not only the outline.
        index.put(Layer::Parcels, 7, Some(LayerFeature::Parcel(road(false))));
        tiles.invalidate(Layer::Parcels, None);
        let after = tiles.render(source, tile);
        let fresh = TileService::new(index, 0).expect("tile service").render(source, tile);
        assert_ne!(before, after);
        assert_eq!(after, fresh, "the road's label is drawn from its old shape");
    }
}
