//! diaba's tiles as served: drawn from the in-memory index by the pure tile crate
//! (`diaba-tiles`), cached with exact invalidation, and baked into PMTiles packs for phones
//! in the field (DESIGN §8).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cache;
mod draw;
mod pack;

pub use cache::{CacheStatus, EncodedTile, TileService};
pub use draw::{Anchors, render, service_area_bounds};
pub use pack::{PACK_ZOOMS, PackError, PackSummary, Packs, bake, bake_file};
