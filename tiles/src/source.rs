//! Tile sources: one register layer, or all of them in one tile.

use crate::field::Field;
use crate::labels::LabelSpec;
use crate::layers::{LayerSpec, spec};
use diaba_core::Layer;
use std::str::FromStr;

/// A tile source: one register layer drawn as one MVT layer, or `all` with one MVT layer
/// per drawn layer. Made only from layers that have a [`LayerSpec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Source(Option<Layer>);

impl Source {
    /// Every layer in one tile.
    pub const ALL: Source = Source(None);

    /// The source drawing `layer`, if it has tiles.
    pub fn of(layer: Layer) -> Option<Source> {
        spec(layer).map(|_| Source(Some(layer)))
    }

    /// The single-layer sources, in drawing order (bottom first).
    pub fn layers_in_order() -> Vec<Source> {
        let mut layers: Vec<(u8, Source)> =
            Layer::ALL.iter().filter_map(|&l| Some((spec(l)?.draw_order, Source(Some(l))))).collect();
        layers.sort();
        layers.into_iter().map(|(_, source)| source).collect()
    }

    /// The register layer of a single-layer source; `None` for `all`.
    pub fn layer(self) -> Option<Layer> {
        self.0
    }

    fn spec(self) -> Option<&'static LayerSpec> {
        self.0.and_then(spec)
    }

    /// Path and MVT layer name.
    pub fn name(self) -> &'static str {
        self.spec().map_or("all", |s| s.name)
    }

    /// Lowest zoom with features. Below it the layer is left out (tiles are empty).
    pub fn minzoom(self) -> u8 {
        match self.spec() {
            Some(spec) => spec.minzoom,
            None => Self::layers_in_order().iter().map(|s| s.minzoom()).min().unwrap_or(0),
        }
    }

    /// Deepest zoom with new detail; clients overzoom beyond it (tiles are still served
    /// up to [`crate::MAX_ZOOM`]).
    pub fn maxzoom(self) -> u8 {
        18
    }

    /// Public attributes of the layer's features (owners and personal data never).
    pub fn fields(self) -> &'static [Field] {
        self.spec().map_or(&[], |s| s.fields)
    }

    /// What the layer holds, for TileJSON.
    pub fn description(self) -> &'static str {
        self.spec().map_or("Flood zones, wards, parcels and addresses, one MVT layer each", |s| s.description)
    }

    /// The label layers drawn in this source's tiles.
    pub fn labels(self) -> Vec<&'static LabelSpec> {
        self.layers().into_iter().filter_map(Source::spec).flat_map(|s| s.labels.iter().copied()).collect()
    }

    /// The single-layer sources this source draws.
    pub fn layers(self) -> Vec<Source> {
        match self.0 {
            Some(_) => vec![self],
            None => Self::layers_in_order(),
        }
    }

    /// True when a change to `layer` can alter this source's tiles.
    pub fn draws(self, layer: Layer) -> bool {
        self.0.is_none_or(|own| own == layer) && spec(layer).is_some()
    }
}

impl FromStr for Source {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        if s == "all" {
            return Ok(Source::ALL);
        }
        Self::layers_in_order().into_iter().find(|source| source.name() == s).ok_or(())
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
