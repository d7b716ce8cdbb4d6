//! Which features a tile holds, taken from the in-memory index, then drawn by the pure
//! tile crate. The one place that knows where each layer's features live, and where each
//! label's text comes from.

use diaba_core::spatial::{ParcelFeature, UnitFeature};
use diaba_core::{AsOf, Layer, UnitLevel};
use diaba_index::{Feature, Index, LayerTree, ParcelsView};
use diaba_tiles::{
    Anchor, BUFFER, Label, LabelSpec, MvtLayer, PARCEL_LABELS, ROAD_LABELS, SHEET_LABELS, Source, TileCoord,
    TileFeature, Value, WARD_LABELS, anchored_in, draw_labels, draw_layer, encode_tile, label_point, long_axis,
    outline_label_point,
};
use geo::BoundingRect;
use rstar::AABB;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

/// Households within this many metres of a road lot name it when the register does not.
const STREET_REACH_M: f64 = 20.0;

/// One map sheet's label anchor: the centre of its lots' extent.
#[derive(Debug, Clone, PartialEq)]
struct SheetAnchor {
    /// Ward of the survey.
    ward_code: String,
    /// Sheet number.
    sheet: i32,
    /// `[lon, lat]`.
    at: [f64; 2],
}

/// The anchors of every map sheet of the live parcels.
fn sheet_anchors(index: &Index) -> Vec<SheetAnchor> {
    let mut extents: BTreeMap<(String, i32), [f64; 4]> = BTreeMap::new();
    for parcel in index.parcels.all() {
        let Some(r) = parcel.outline.bounding_rect() else { continue };
        let e = extents.entry((parcel.ward_code.to_string(), parcel.sheet)).or_insert([
            f64::MAX,
            f64::MAX,
            f64::MIN,
            f64::MIN,
        ]);
        *e = [e[0].min(r.min().x), e[1].min(r.min().y), e[2].max(r.max().x), e[3].max(r.max().y)];
    }
    extents
        .into_iter()
        .map(|((ward_code, sheet), [w, s, e, n])| SheetAnchor { ward_code, sheet, at: [(w + e) / 2.0, (s + n) / 2.0] })
        .collect()
}

/// A line label's two ends, `[lon, lat]`.
type Axis = [[f64; 2]; 2];

/// Label anchors made from whole shapes and kept from one tile to the next until parcels
/// change: a map sheet's from all its lots, a road or water lot's long axis from its whole
/// outline (a road reaches dozens of tiles, and its axis cost more than drawing a z17
/// tile's part of it: 17 % of that tile's drawing when made per tile).
#[derive(Debug)]
pub struct Anchors {
    /// Every map sheet's anchor, sorted by ward and sheet.
    sheets: Vec<SheetAnchor>,
    /// By lot id and version; filled as tiles draw road lots.
    axes: RwLock<HashMap<(i64, i32), Option<Axis>>>,
}

impl Anchors {
    /// The anchors of the live parcels of `index` (a pass over all of them for the sheets:
    /// callers keep the result until parcels change).
    pub fn of(index: &Index) -> Self {
        Self { sheets: sheet_anchors(index), axes: RwLock::default() }
    }

    /// A road or water lot's long axis, made the first time a tile asks for it.
    fn road_axis(&self, parcel: &ParcelFeature) -> Option<Axis> {
        let key = (parcel.id, parcel.version);
        if let Some(axis) = self.axes.read().expect("road axes").get(&key) {
            return *axis;
        }
        let axis = long_axis(&parcel.outline.to_multi_polygon());
        self.axes.write().expect("road axes").insert(key, axis);
        axis
    }
}

/// The MVT bytes of `source` at `tile`, as the index holds the register now (`at`: `None`)
/// or held it at the end of a past day; empty when the tile has no feature. Parcels and
/// wards follow `at`; households and flood zones are drawn as they are now.
pub fn render(index: &Index, anchors: &Anchors, source: Source, tile: TileCoord, at: Option<AsOf>) -> Vec<u8> {
    let parcels = index.parcels_view();
    let mut layers = Vec::new();
    for layer in source.layers() {
        if tile.z() < layer.minzoom() {
            continue;
        }
        let drawn = Drawn::from_index(index, &parcels, layer, tile, at);
        layers.extend(drawn.shapes(layer, tile));
        for spec in layer.labels() {
            layers.extend(drawn.labels(index, anchors, spec, tile));
        }
    }
    encode_tile(layers)
}

/// The features of one layer that a tile holds.
enum Drawn<'a> {
    Units(Vec<Arc<UnitFeature>>),
    Parcels(Vec<&'a ParcelFeature>),
    Other(Option<MvtLayer>),
}

impl<'a> Drawn<'a> {
    fn from_index(index: &Index, parcels: &'a ParcelsView, source: Source, tile: TileCoord, at: Option<AsOf>) -> Self {
        let [w, s, e, n] = tile.bounds(BUFFER);
        let query = AABB::from_corners([w, s], [e, n]);
        match source.layer() {
            Some(Layer::Units) => {
                let day = at.unwrap_or_else(AsOf::today);
                let shown =
                    |u: &Arc<UnitFeature>| u.valid_on(day) && matches!(u.level, UnitLevel::Ward | UnitLevel::Province);
                let mut units: Vec<_> = index.units.in_envelope(&query).into_iter().filter(shown).collect();
                units.sort_unstable_by_key(|u| u.id);
                Drawn::Units(units)
            }
            Some(Layer::Parcels) => {
                let instant = at.map(|day| diaba_core::end_of_day(day.date()).timestamp());
                Drawn::Parcels(parcels.in_force(&query, instant))
            }
            Some(Layer::Addresses) => Drawn::Other(draw_layer(source, tile, by_id(&index.addresses, &query))),
            Some(Layer::FloodZones) => Drawn::Other(draw_layer(source, tile, by_id(&index.flood, &query))),
            Some(Layer::Parties | Layer::Rights | Layer::Certificates) | None => Drawn::Other(None),
        }
    }

    fn shapes(&self, source: Source, tile: TileCoord) -> Option<MvtLayer> {
        match self {
            Drawn::Units(units) => draw_layer(source, tile, units.iter().cloned()),
            Drawn::Parcels(parcels) => draw_layer(source, tile, parcels.iter().copied()),
            Drawn::Other(layer) => layer.clone(),
        }
    }

    fn labels(&self, index: &Index, anchors: &Anchors, spec: &LabelSpec, tile: TileCoord) -> Option<MvtLayer> {
        if !spec.drawn_at(tile.z()) {
            return None;
        }
        match self {
            Drawn::Units(units) if spec.name == WARD_LABELS.name => {
                let wards = units.iter().filter(|u| u.level == UnitLevel::Ward);
                draw_labels(spec, tile, wards.filter_map(|u| ward_label(u)))
            }
            Drawn::Parcels(parcels) if spec.name == PARCEL_LABELS.name => {
                // A lot's anchor is inside it: lots outside the tile proper (in its buffer)
                // are skipped before the anchor, the costly part, is computed.
                let [w, s, e, n] = tile.bounds(0);
                let meets = |p: &&&ParcelFeature| {
                    p.outline
                        .bounding_rect()
                        .is_some_and(|r| r.min().x <= e && w <= r.max().x && r.min().y <= n && s <= r.max().y)
                };
                draw_labels(spec, tile, parcels.iter().filter(meets).filter_map(|p| parcel_label(p)))
            }
            Drawn::Parcels(parcels) if spec.name == SHEET_LABELS.name => {
                // Only sheets with a lot drawn here: a past day's tile names no sheet of later lots.
                // Anchors are sorted by (ward, sheet), so each is found by bisection, in order.
                let mut present: Vec<(&str, i32)> = parcels.iter().map(|p| (&*p.ward_code, p.sheet)).collect();
                present.sort_unstable();
                present.dedup();
                let sheets = &anchors.sheets;
                let shown = present.into_iter().filter_map(|key| {
                    let i = sheets.binary_search_by(|s| (s.ward_code.as_str(), s.sheet).cmp(&key)).ok()?;
                    Some(sheet_label(i, &sheets[i]))
                });
                draw_labels(spec, tile, shown)
            }
            Drawn::Parcels(parcels) if spec.name == ROAD_LABELS.name => {
                // The name (a query of the households beside the lot) only for lots whose
                // label this tile draws.
                let named: Vec<(i64, Anchor, &'static str, Cow<str>)> = parcels
                    .iter()
                    .filter(|p| road_kind(p).is_some())
                    .filter_map(|parcel| {
                        let anchor = Anchor::Line(anchors.road_axis(parcel)?.to_vec());
                        if !anchored_in(tile, &anchor) {
                            return None;
                        }
                        let (kind, name) = road_name(index, parcel)?;
                        Some((parcel.id, anchor, kind, name))
                    })
                    .collect();
                let labels = named.iter().map(|(id, anchor, kind, name)| {
                    let attributes = vec![("name", Value::Text(name)), ("kind", Value::Text(kind))];
                    Label { id: *id, anchor: anchor.clone(), attributes }
                });
                draw_labels(spec, tile, labels)
            }
            _ => None,
        }
    }
}

fn ward_label(unit: &UnitFeature) -> Option<Label<'_>> {
    let attributes = vec![("code", Value::Text(&unit.code)), ("name", Value::Text(&unit.name))];
    Some(Label { id: unit.id, anchor: Anchor::Point(label_point(&unit.shape)?), attributes })
}

fn parcel_label(parcel: &ParcelFeature) -> Option<Label<'_>> {
    let attributes = vec![
        ("number", Value::Int(parcel.number.into())),
        ("legal_area_m2", Value::Number(parcel.legal_area_m2)),
        ("land_use", Value::Text(parcel.land_uses.main())),
    ];
    Some(Label { id: parcel.id, anchor: Anchor::Point(outline_label_point(&parcel.outline)?), attributes })
}

fn sheet_label(i: usize, sheet: &SheetAnchor) -> Label<'_> {
    let attributes = vec![("ward_code", Value::Text(&sheet.ward_code)), ("sheet", Value::Int(sheet.sheet.into()))];
    Label { id: i as i64 + 1, anchor: Anchor::Point(sheet.at), attributes }
}

/// "road" for a road (DGT) lot, "water" for a water (SON) lot.
fn road_kind(parcel: &ParcelFeature) -> Option<&'static str> {
    match parcel.land_uses.main() {
        "DGT" => Some("road"),
        "SON" => Some("water"),
        _ => None,
    }
}

/// A road (DGT) or water (SON) lot's kind and name: the register's own name for it, else,
/// for a road, the street most of the households beside it give.
fn road_name<'a>(index: &'a Index, parcel: &'a ParcelFeature) -> Option<(&'static str, Cow<'a, str>)> {
    let kind = road_kind(parcel)?;
    if let Some(name) = &parcel.name {
        return Some((kind, Cow::Borrowed(name)));
    }
    if kind != "road" {
        return None;
    }
    let r = parcel.outline.bounding_rect()?;
    let (dx, dy) = (
        STREET_REACH_M / diaba_core::METRES_PER_DEGREE / r.min().y.to_radians().cos(),
        STREET_REACH_M / diaba_core::METRES_PER_DEGREE,
    );
    let beside = AABB::from_corners([r.min().x - dx, r.min().y - dy], [r.max().x + dx, r.max().y + dy]);
    let mut votes: HashMap<&str, usize> = HashMap::new();
    let households = index.addresses.in_envelope(&beside);
    for street in households.iter().filter_map(|a| a.street.as_deref()) {
        *votes.entry(street).or_default() += 1;
    }
    // Most households first, then the name itself, so ties always break the same way.
    let best = votes.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))?;
    Some((kind, Cow::Owned(best.0.to_string())))
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
