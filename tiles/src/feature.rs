//! What a tile needs of a feature: an id, a shape, and public attributes. Each layer's
//! implementation sits beside its field list (module `layers`), checked by a test.

use diaba_core::outline::Outline;
use geo::MultiPolygon;

/// The geometry of a feature, in lon/lat.
#[derive(Debug, Clone, Copy)]
pub enum Shape<'a> {
    /// Polygons (units, zones).
    Polygons(&'a MultiPolygon<f64>),
    /// Polygons kept flat (parcels).
    Outline(&'a Outline),
    /// A point (households).
    Point {
        /// Longitude.
        lon: f64,
        /// Latitude.
        lat: f64,
    },
}

/// One attribute value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// Text.
    Text(&'a str),
    /// A whole number.
    Int(i64),
    /// A decimal number.
    Number(f64),
}

/// A feature that can be drawn in a tile. Only public attributes: owners and personal
/// data are not in the features the index holds, and never in a tile.
pub trait TileFeature {
    /// Stable id, also the MVT feature id.
    fn id(&self) -> i64;
    /// Its geometry.
    fn shape(&self) -> Shape<'_>;
    /// Gives `add` its attributes at a zoom with (`detail`) or without full detail, in a
    /// stable order; each key must be one of its layer's fields, with that field's kind.
    /// (A callback rather than a list: no allocation per feature drawn.)
    fn attributes(&self, detail: bool, add: &mut dyn FnMut(&'static str, Value<'_>));
}
