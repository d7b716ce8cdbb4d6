//! MVT 2.1 encoding: features with their attribute table into layers, layers into a tile.

use crate::coord::EXTENT;
use crate::feature::Value;
use geozero::ToMvt;
use geozero::mvt::{Message, TagsBuilder, Tile, TileValue, tile};

/// One encoded MVT layer, ready to go into a tile with [`encode_tile`].
#[derive(Debug, Clone)]
pub struct MvtLayer(pub(crate) tile::Layer);

/// The MVT bytes of a tile made of `layers` (drawing order kept); empty when there is none.
pub fn encode_tile(layers: Vec<MvtLayer>) -> Vec<u8> {
    if layers.is_empty() {
        return Vec::new();
    }
    Tile { layers: layers.into_iter().map(|l| l.0).collect() }.encode_to_vec()
}

/// Collects one MVT layer's features and their attribute table.
pub(crate) struct LayerBuilder {
    name: &'static str,
    features: Vec<tile::Feature>,
    tags: TagsBuilder,
}

impl LayerBuilder {
    pub(crate) fn new(name: &'static str) -> Self {
        Self { name, features: Vec::new(), tags: TagsBuilder::new() }
    }

    pub(crate) fn push(&mut self, id: i64, geometry: geo::Geometry<f64>, attributes: Vec<(&'static str, Value<'_>)>) {
        let Ok(mut feature) = geometry.to_mvt_unscaled() else { return };
        feature.id = u64::try_from(id).ok();
        for (key, value) in attributes {
            let value = match value {
                Value::Text(text) => TileValue::Str(text.to_owned()),
                Value::Int(n) => TileValue::Int(n),
                Value::Number(x) => TileValue::Double(x),
            };
            let (k, v) = self.tags.insert_ref(key, value);
            feature.tags.extend([k, v]);
        }
        self.features.push(feature);
    }

    pub(crate) fn finish(self) -> Option<tile::Layer> {
        if self.features.is_empty() {
            return None;
        }
        let (keys, values) = self.tags.into_tags();
        Some(tile::Layer {
            version: 2,
            name: self.name.to_string(),
            features: self.features,
            keys,
            values: values.into_iter().map(Into::into).collect(),
            extent: Some(EXTENT),
        })
    }
}
