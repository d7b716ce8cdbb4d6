//! Which features a tile holds, taken from the in-memory index, then drawn by the pure
//! tile crate. The one place that knows where each layer's features live.

use diaba_core::spatial::UnitFeature;
use diaba_core::{AsOf, Layer, UnitLevel};
use diaba_index::{Feature, Index, LayerTree};
use diaba_tiles::{BUFFER, MvtLayer, Source, TileCoord, TileFeature, draw_layer, encode_tile};
use rstar::AABB;
use std::sync::Arc;

/// The MVT bytes of `source` at `tile`, as the index holds the register now; empty when
/// the tile has no feature.
pub fn render(index: &Index, source: Source, tile: TileCoord) -> Vec<u8> {
    let layers: Vec<MvtLayer> =
        source.layers().into_iter().filter_map(|layer| draw_from_index(index, layer, tile)).collect();
    encode_tile(layers)
}

fn draw_from_index(index: &Index, source: Source, tile: TileCoord) -> Option<MvtLayer> {
    if tile.z() < source.minzoom() {
        return None;
    }
    let [w, s, e, n] = tile.bounds(BUFFER);
    let query = AABB::from_corners([w, s], [e, n]);
    match source.layer()? {
        Layer::Units => {
            let today = AsOf::today();
            let shown =
                |u: &Arc<UnitFeature>| u.valid_on(today) && matches!(u.level, UnitLevel::Ward | UnitLevel::Province);
            let mut units: Vec<_> = index.units.in_envelope(&query).into_iter().filter(shown).collect();
            units.sort_unstable_by_key(|u| u.id);
            draw_layer(source, tile, units)
        }
        Layer::Parcels => draw_layer(source, tile, by_id(&index.parcels, &query)),
        Layer::Addresses => draw_layer(source, tile, by_id(&index.addresses, &query)),
        Layer::FloodZones => draw_layer(source, tile, by_id(&index.flood, &query)),
        Layer::Parties | Layer::Rights | Layer::Certificates => None,
    }
}

/// The features meeting `query`, by id: the same tile always lists them in the same order.
fn by_id<F: Feature + TileFeature>(layer: &LayerTree<F>, query: &AABB<[f64; 2]>) -> Vec<Arc<F>> {
    let mut features = layer.in_envelope(query);
    features.sort_unstable_by_key(|f| Feature::id(&**f));
    features
}

/// `[west, south, east, north]` of the units diaba serves (Cần Thơ's four districts as of
/// 2024, the twelve wards since 2025).
pub fn service_area_bounds(index: &Index) -> [f64; 4] {
    use geo::BoundingRect;
    index
        .units
        .all()
        .iter()
        .filter(|u| u.in_service_area)
        .filter_map(|u| u.shape.bounding_rect())
        .fold(None, |acc: Option<[f64; 4]>, r| {
            let [w, s, e, n] = acc.unwrap_or([f64::MAX, f64::MAX, f64::MIN, f64::MIN]);
            Some([w.min(r.min().x), s.min(r.min().y), e.max(r.max().x), n.max(r.max().y)])
        })
        .unwrap_or([105.5, 9.9, 105.9, 10.2])
}
