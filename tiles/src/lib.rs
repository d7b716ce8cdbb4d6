//! diaba's vector tiles, pure: Web Mercator tile math, the per-layer contract (what each
//! register layer shows, at which zooms, with which fields), generalisation, clipping and
//! MVT 2.1 encoding over any [`TileFeature`], TileJSON and the MapLibre style (DESIGN §8).
//!
//! Nothing here does I/O or holds state: which features a tile holds, caching and offline
//! packs belong to the service that draws from its index (`diaba-tilecache`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod coord;
mod feature;
mod field;
mod labels;
mod layers;
mod mvt;
mod render;
mod source;
mod tilejson;

pub use coord::{BUFFER, CoordError, EXTENT, MAX_ZOOM, TileCoord};
pub use feature::{Shape, TileFeature, Value};
pub use field::Field;
pub use labels::{
    Anchor, Label, LabelSpec, PARCEL_LABELS, ROAD_LABELS, SHEET_LABELS, WARD_LABELS, anchored_in, draw_labels,
    label_point, long_axis, outline_label_point,
};
pub use layers::{Generalise, LayerSpec, spec};
pub use mvt::{MvtLayer, encode_tile};
pub use render::{DETAIL_ZOOM, MIN_FEATURE_UNITS, draw_layer};
pub use source::Source;
pub use tilejson::{style, tilejson, vector_layers};
