//! diaba's vector tiles: Mapbox Vector Tiles (MVT 2.1) drawn from the in-memory index,
//! not from SQL, cached with exact invalidation, and baked into PMTiles packs for phones
//! (DESIGN §8).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cache;
mod coord;
mod pack;
mod render;
mod source;
mod tilejson;

pub use cache::{CacheStatus, EncodedTile, TileService};
pub use coord::{BUFFER, CoordError, EXTENT, MAX_ZOOM, TileCoord};
pub use pack::{PACK_ZOOMS, PackError, PackSummary, Packs, bake};
pub use render::{DETAIL_ZOOM, Generalise, MIN_FEATURE_UNITS, render, tile_polygons};
pub use source::{Field, LayerSpec, Source, spec};
pub use tilejson::{style, tilejson, vector_layers};
