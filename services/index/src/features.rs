//! How each kind of feature sits in a layer, and the [`Index`] that holds the layers.

use crate::layer::{Feature, LayerTree, View};
use diaba_core::spatial::{
    AddressFeature, FloodFeature, LayerFeature, LayerFeatures, ParcelFeature, PastParcel, UnitFeature,
};
use diaba_core::{AsOf, metres_per_degree};
use geo::{BoundingRect, Rect};
use rstar::AABB;
use std::sync::{Arc, OnceLock};

/// A shape's box (`NaN` corners for an empty shape: it meets no query).
fn envelope_of(bounds: Option<Rect<f64>>) -> AABB<[f64; 2]> {
    bounds.map_or_else(
        || AABB::from_point([f64::NAN, f64::NAN]),
        |r| AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
    )
}

/// Polygon features are indexed by their outline's bounding box and tested exactly by
/// `covers(feature, point)`.
macro_rules! polygon_feature {
    ($kind:ty, $covers:expr) => {
        impl Feature for $kind {
            fn id(&self) -> i64 {
                self.id
            }
            fn envelope(&self) -> AABB<[f64; 2]> {
                envelope_of(self.shape.bounding_rect())
            }
            fn covers(&self, p: [f64; 2]) -> bool {
                $covers(self, p)
            }
        }
    };
}

// Units and flood zones have thousands of vertices: tested through their filed edges.
polygon_feature!(UnitFeature, |f: &UnitFeature, p| f.area.covers(p));
polygon_feature!(FloodFeature, |f: &FloodFeature, p| f.area.covers(p));

impl Feature for ParcelFeature {
    fn id(&self) -> i64 {
        self.id
    }
    fn envelope(&self) -> AABB<[f64; 2]> {
        envelope_of(self.outline.bounding_rect())
    }
    fn covers(&self, p: [f64; 2]) -> bool {
        self.outline.covers(p)
    }
}

impl Feature for PastParcel {
    fn id(&self) -> i64 {
        self.version_id
    }
    fn envelope(&self) -> AABB<[f64; 2]> {
        self.parcel.envelope()
    }
    fn covers(&self, p: [f64; 2]) -> bool {
        self.parcel.covers(p)
    }
}

impl Feature for AddressFeature {
    fn id(&self) -> i64 {
        self.id
    }
    fn envelope(&self) -> AABB<[f64; 2]> {
        AABB::from_point([self.lon, self.lat])
    }
    fn covers(&self, p: [f64; 2]) -> bool {
        p == [self.lon, self.lat]
    }
}

/// Live parcels and past versions, read together (see [`Index::parcels_view`]).
pub struct ParcelsView {
    live: View<ParcelFeature>,
    past: View<PastParcel>,
}

impl ParcelsView {
    /// The parcels meeting `envelope` in force at instant `at` (Unix seconds; `None`: the
    /// live ones), by id: the register as it stood then, from memory.
    pub fn in_force(&self, envelope: &AABB<[f64; 2]>, at: Option<i64>) -> Vec<&ParcelFeature> {
        let mut parcels: Vec<&ParcelFeature> = self.live.in_envelope(envelope).into_iter().map(|p| &**p).collect();
        if let Some(at) = at {
            parcels.retain(|p| p.in_force_at(at));
            let past = self.past.in_envelope(envelope).into_iter();
            parcels.extend(past.filter(|v| v.in_force_at(at)).map(|v| &*v.parcel));
        }
        parcels.sort_unstable_by_key(|p| p.id);
        parcels
    }
}

/// Every layer of the register that has a place in memory, each in its own typed R-tree.
///
/// Whatever is done to "a layer" (loading it, applying a change from the feed, counting,
/// its extent) goes through a [`diaba_core::Layer`] and one exhaustive `match` here, so a
/// new layer has to say where it lives before anything compiles.
#[derive(Default)]
pub struct Index {
    /// Administrative units with polygons (current and historical).
    pub units: LayerTree<UnitFeature>,
    /// Live parcels.
    pub parcels: LayerTree<ParcelFeature>,
    /// Parcel versions no longer in force, for drawing past days.
    pub past_parcels: LayerTree<PastParcel>,
    /// Flood zones in force.
    pub flood: LayerTree<FloodFeature>,
    /// Verified household addresses.
    pub addresses: LayerTree<AddressFeature>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("units", &self.units.len())
            .field("parcels", &self.parcels.len())
            .field("past_parcels", &self.past_parcels.len())
            .field("flood", &self.flood.len())
            .field("addresses", &self.addresses.len())
            .finish()
    }
}

impl Index {
    /// An index over the given layers (the others start empty).
    pub fn with(layers: impl IntoIterator<Item = LayerFeatures>) -> Self {
        let index = Self::default();
        for features in layers {
            index.replace_all(features);
        }
        index
    }

    /// Replaces every feature of one layer (at start, or after a bulk load).
    pub fn replace_all(&self, features: LayerFeatures) {
        match features {
            LayerFeatures::Units(f) => self.units.replace_all(f),
            LayerFeatures::Parcels(f) => self.parcels.replace_all(f),
            LayerFeatures::Addresses(f) => self.addresses.replace_all(f),
            LayerFeatures::FloodZones(f) => self.flood.replace_all(f),
        }
    }

    /// Puts entity `id` of `layer` in its current state, or takes it out when `current` is
    /// `None`; returns the boxes of its old and new shapes, the area whose tiles changed.
    pub fn put(&self, layer: diaba_core::Layer, id: i64, current: Option<LayerFeature>) -> Vec<AABB<[f64; 2]>> {
        use diaba_core::Layer as L;
        match (layer, current) {
            (_, Some(LayerFeature::Unit(f))) => replace(&self.units, id, Some(*f)),
            (_, Some(LayerFeature::Parcel(f))) => replace(&self.parcels, id, Some(f)),
            (_, Some(LayerFeature::Address(f))) => replace(&self.addresses, id, Some(f)),
            (_, Some(LayerFeature::FloodZone(f))) => replace(&self.flood, id, Some(f)),
            (L::Units, None) => replace(&self.units, id, None),
            (L::Parcels, None) => replace(&self.parcels, id, None),
            (L::Addresses, None) => replace(&self.addresses, id, None),
            (L::FloodZones, None) => replace(&self.flood, id, None),
            // Not spatial: nothing of theirs is in memory.
            (L::Parties | L::Rights | L::Certificates, None) => Vec::new(),
        }
    }

    /// Adds parcel versions that went out of force (already known ones are replaced by the
    /// same version: closed versions never change).
    pub fn add_past_parcels(&self, past: Vec<PastParcel>) {
        for version in past {
            self.past_parcels.upsert(version);
        }
    }

    /// The live parcels and the past versions as they stand now, to read the parcels in
    /// force on any instant by reference ([`ParcelsView::in_force`]).
    pub fn parcels_view(&self) -> ParcelsView {
        ParcelsView { live: self.parcels.view(), past: self.past_parcels.view() }
    }

    /// How many features of `layer` are in memory.
    pub fn len(&self, layer: diaba_core::Layer) -> usize {
        use diaba_core::Layer as L;
        match layer {
            L::Units => self.units.len(),
            L::Parcels => self.parcels.len(),
            L::Addresses => self.addresses.len(),
            L::FloodZones => self.flood.len(),
            L::Parties | L::Rights | L::Certificates => 0,
        }
    }

    /// `[west, south, east, north]` of everything in `layer`, `None` when it is empty.
    pub fn extent(&self, layer: diaba_core::Layer) -> Option<[f64; 4]> {
        use diaba_core::Layer as L;
        fn union<F: Feature>(layer: &LayerTree<F>) -> Option<[f64; 4]> {
            layer.all().iter().map(|f| f.envelope()).filter(|e| e.lower()[0].is_finite()).fold(None, |acc, e| {
                let ([w, s], [east, n]) = (e.lower(), e.upper());
                Some(acc.map_or([w, s, east, n], |[a, b, c, d]: [f64; 4]| [a.min(w), b.min(s), c.max(east), d.max(n)]))
            })
        }
        match layer {
            L::Units => union(&self.units),
            L::Parcels => union(&self.parcels),
            L::Addresses => union(&self.addresses),
            L::FloodZones => union(&self.flood),
            L::Parties | L::Rights | L::Certificates => None,
        }
    }

    /// Every layer a point is asked about, as it stands now (see [`Reader`]).
    pub fn reader(&self) -> Reader<'_> {
        Reader {
            index: self,
            units: self.units.view(),
            parcels: self.parcels.view(),
            past_parcels: OnceLock::new(),
            flood: self.flood.view(),
            addresses: self.addresses.view(),
        }
    }

    /// Units covering a point valid on a day, province first.
    pub fn units_at(&self, p: [f64; 2], at: AsOf) -> Vec<Arc<UnitFeature>> {
        units_at(&self.units.view(), p, at).into_iter().cloned().collect()
    }

    /// The live parcel covering a point; on a shared edge, the lowest id (as the tie-break
    /// of the PostGIS reference query).
    pub fn parcel_at(&self, p: [f64; 2]) -> Option<Arc<ParcelFeature>> {
        self.parcels.view().covering(p).first().map(|f| Arc::clone(f))
    }

    /// The nearest address within `radius_m` metres, with its distance.
    pub fn nearest_address(&self, p: [f64; 2], radius_m: f64) -> Option<(Arc<AddressFeature>, f64)> {
        nearest_address(&self.addresses.view(), p, radius_m).map(|(a, d)| (a.clone(), d))
    }

    /// Verified addresses within `radius_m` metres of `p`, nearest first (ties by id), with
    /// their distances: what a collector checks for duplicates before adding a household.
    pub fn addresses_within(&self, p: [f64; 2], radius_m: f64) -> Vec<(Arc<AddressFeature>, f64)> {
        let around = Around::new(p, radius_m);
        let mut found = Vec::new();
        self.addresses.for_each_in(&around.envelope, |a| {
            if let Some(d) = around.distance(a) {
                found.push((a.clone(), d));
            }
        });
        found.sort_by(|(a, ad), (b, bd)| nearest_first((a, *ad), (b, *bd)));
        found
    }
}

/// The layers a point is asked about, as they stood when the reader was taken: a batch of
/// points is answered by reference, with no reference count touched per point (two cores
/// counting on the same ward at every point would pass its cache line back and forth).
pub struct Reader<'a> {
    index: &'a Index,
    units: View<UnitFeature>,
    parcels: View<ParcelFeature>,
    /// Taken on the first question about a past instant (most readers ask none), and so
    /// always after the live parcels: a change adds the version it closes to the past
    /// before it takes it out of the live parcels, so the reader sees that version.
    past_parcels: OnceLock<View<PastParcel>>,
    flood: View<FloodFeature>,
    addresses: View<AddressFeature>,
}

impl Reader<'_> {
    /// Units covering a point valid on a day, province first.
    pub fn units_at(&self, p: [f64; 2], at: AsOf) -> Vec<&UnitFeature> {
        units_at(&self.units, p, at).into_iter().map(|u| &**u).collect()
    }

    /// The live parcel covering a point (the lowest id on a shared edge).
    pub fn parcel_at(&self, p: [f64; 2]) -> Option<&ParcelFeature> {
        self.parcels.covering(p).first().map(|f| &***f)
    }

    /// The parcel covering a point in force at the instant `at` (Unix seconds): a live one
    /// registered before it or a closed version in force then, as the store's as-of query
    /// decides (the lowest parcel id on a shared edge).
    pub fn parcel_in_force_at(&self, p: [f64; 2], at: i64) -> Option<&ParcelFeature> {
        let live = self.parcels.covering_where(p, |f| f.in_force_at(at)).into_iter().map(|f| &**f);
        let past = self.past_parcels.get_or_init(|| self.index.past_parcels.view());
        let past = past.covering_where(p, |v| v.in_force_at(at)).into_iter().map(|v| &*v.parcel);
        live.chain(past).min_by_key(|f| f.id)
    }

    /// The nearest address within `radius_m` metres, with its distance.
    pub fn nearest_address(&self, p: [f64; 2], radius_m: f64) -> Option<(&AddressFeature, f64)> {
        nearest_address(&self.addresses, p, radius_m).map(|(a, d)| (&**a, d))
    }

    /// Flood zones in force covering a point, by id.
    pub fn zones_covering(&self, p: [f64; 2]) -> Vec<&FloodFeature> {
        self.flood.covering(p).into_iter().map(|z| &**z).collect()
    }
}

fn units_at(units: &View<UnitFeature>, p: [f64; 2], at: AsOf) -> Vec<&Arc<UnitFeature>> {
    let mut units = units.covering_where(p, |u| u.valid_on(at));
    units.sort_by_key(|u| (u.level, u.id));
    units
}

fn nearest_address(
    addresses: &View<AddressFeature>,
    p: [f64; 2],
    radius_m: f64,
) -> Option<(&Arc<AddressFeature>, f64)> {
    let around = Around::new(p, radius_m);
    // Squared metres throughout (no square root per neighbour), the root of the best one
    // at the end.
    let mut best: Option<(&Arc<AddressFeature>, f64)> = None;
    let mut reach = (radius_m + TREE_ROUNDING_M).powi(2);
    // A dense quarter has dozens of households in the box, each a cache miss to read:
    // those whose point in the tree is already out of reach are not read.
    addresses.for_each_in_with_corner(&around.envelope, |a, corner| {
        if around.squared_metres_to(corner) > reach {
            return;
        }
        let d2 = around.squared_metres_to([a.lon, a.lat]);
        // Squared distances order as the distances do.
        if d2 <= radius_m * radius_m && best.is_none_or(|(b, bd2)| nearest_first((a, d2), (b, bd2)).is_lt()) {
            best = Some((a, d2));
            reach = (d2.sqrt() + TREE_ROUNDING_M).powi(2);
        }
    });
    best.map(|(a, d2)| (a, d2.sqrt()))
}

/// How far a point as the layer's tree holds it may be from the point itself: `f32` from
/// an origin in the city keeps ~2 mm at half a degree; ten times that, to be sure.
const TREE_ROUNDING_M: f64 = 0.02;

/// A circle of `radius_m` metres around a `[lon, lat]` point, on the plane tangent to the
/// WGS 84 ellipsoid there: distances as PostGIS measures them on the spheroid.
struct Around {
    p: [f64; 2],
    radius_m: f64,
    /// Metres per degree of longitude and of latitude at the point.
    scale: [f64; 2],
    envelope: AABB<[f64; 2]>,
}

impl Around {
    fn new(p: [f64; 2], radius_m: f64) -> Self {
        let scale = metres_per_degree(p[1]);
        let (dlon, dlat) = (radius_m / scale[0].max(1000.0), radius_m / scale[1]);
        let envelope = AABB::from_corners([p[0] - dlon, p[1] - dlat], [p[0] + dlon, p[1] + dlat]);
        Self { p, radius_m, scale, envelope }
    }

    /// Metres to `a` when within the radius.
    fn distance(&self, a: &AddressFeature) -> Option<f64> {
        Some(self.squared_metres_to([a.lon, a.lat]).sqrt()).filter(|d| *d <= self.radius_m)
    }

    fn squared_metres_to(&self, [lon, lat]: [f64; 2]) -> f64 {
        let dx = (lon - self.p[0]) * self.scale[0];
        let dy = (lat - self.p[1]) * self.scale[1];
        dx * dx + dy * dy
    }
}

/// Puts an entity's current state (or its absence) in a layer; returns the boxes of its
/// old and new shapes.
fn replace<F: Feature>(layer: &LayerTree<F>, id: i64, current: Option<F>) -> Vec<AABB<[f64; 2]>> {
    let mut touched: Vec<_> = current.iter().map(Feature::envelope).collect();
    let old = match current {
        Some(feature) => layer.upsert(feature),
        None => layer.remove(id),
    };
    touched.extend(old.map(|f| f.envelope()));
    touched
}

fn nearest_first(a: (&AddressFeature, f64), b: (&AddressFeature, f64)) -> std::cmp::Ordering {
    a.1.total_cmp(&b.1).then(a.0.id.cmp(&b.0.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn address(id: i64, lon: f64, lat: f64) -> AddressFeature {
        AddressFeature {
            id,
            vpostcode: format!("94119 TEST+{id}"),
            house_number: Some(id.to_string()),
            street: Some("Đường thử (synthetic)".into()),
            hamlet: None,
            ward_code: "31135".into(),
            lon,
            lat,
        }
    }

    #[test]
    fn the_nearest_address_within_the_radius_wins_and_farther_ones_are_ignored() {
        // 1e-4° of latitude ≈ 11 m at Cần Thơ.
        let index = Index::with([LayerFeatures::Addresses(vec![
            address(1, 105.78, 10.0302),
            address(2, 105.78, 10.0301),
            address(3, 105.78, 10.0310),
        ])]);
        let (nearest, distance) = index.nearest_address([105.78, 10.03], 30.0).unwrap();
        assert_eq!(nearest.id, 2);
        assert!((10.0..12.5).contains(&distance), "{distance}");
        assert!(index.nearest_address([105.78, 10.0299], 30.0).is_some(), "22 m away");
        assert!(index.nearest_address([105.79, 10.03], 30.0).is_none(), "1.1 km away");
        index.addresses.remove(2);
        assert_eq!(index.nearest_address([105.78, 10.03], 30.0).unwrap().0.id, 1);
    }

    #[test]
    fn a_reader_answers_from_the_layers_as_they_stood_when_it_was_taken() {
        // A batch is answered through one reader: a change arriving from the feed meanwhile
        // must not show in half of its points.
        let index = Index::with([LayerFeatures::Addresses(vec![address(1, 105.78, 10.0302)])]);
        let reader = index.reader();
        index.addresses.upsert(address(2, 105.78, 10.0301));
        index.addresses.remove(1);
        let (seen, _) = reader.nearest_address([105.78, 10.03], 30.0).unwrap();
        assert_eq!(seen.id, 1, "the reader keeps the household removed after it was taken");
        assert_eq!(index.nearest_address([105.78, 10.03], 30.0).unwrap().0.id, 2);
        assert_eq!(
            index.reader().nearest_address([105.78, 10.03], 30.0).unwrap().0.id,
            2,
            "a new reader sees the change"
        );
    }

    /// A 10 m square lot (synthetic) with its south-west corner at `lon`, `lat`.
    fn lot(id: i64, version: i32, lon: f64, lat: f64, valid_from: i64) -> ParcelFeature {
        let d = 1e-4;
        ParcelFeature {
            id,
            national_id: diaba_core::PackedParcelId::new(&format!("{id:012}")).expect("12 digits"),
            ward_code: "31135".into(),
            sheet: 1,
            number: id as i32,
            version,
            land_uses: ["ODT"].into_iter().collect(),
            legal_area_m2: 100.0,
            valid_from,
            name: None,
            outline: diaba_core::outline::Outline::from(&geo::MultiPolygon(vec![polygon![
                (x: lon, y: lat), (x: lon + d, y: lat), (x: lon + d, y: lat + d), (x: lon, y: lat + d)
            ]])),
        }
    }

    #[test]
    fn a_past_instant_is_answered_by_the_version_in_force_then_as_the_store_decides() {
        // Lot 7 drawn at t=100, redrawn at t=200 (version 2 live since); lot 3 registered at
        // t=150 on the same ground, so from then on the lowest id, 3, is the answer.
        let index =
            Index::with([LayerFeatures::Parcels(vec![lot(7, 2, 105.78, 10.03, 200), lot(3, 1, 105.78, 10.03, 150)])]);
        index.add_past_parcels(vec![PastParcel {
            version_id: 70,
            parcel: Arc::new(lot(7, 1, 105.78, 10.03, 100)),
            valid_to: 200,
        }]);
        let reader = index.reader();
        let p = [105.78005, 10.03005];
        let at = |t| reader.parcel_in_force_at(p, t).map(|f| (f.id, f.version));
        assert_eq!(at(100), None, "a version is not in force at its own start");
        assert_eq!(at(101), Some((7, 1)));
        assert_eq!(at(150), Some((7, 1)), "lot 3 starts at 150, exclusive");
        assert_eq!(at(151), Some((3, 1)), "the lowest id on shared ground");
        assert_eq!(at(200), Some((3, 1)), "version 1 of lot 7 is still in force at its end");
        index.parcels.remove(3);
        assert_eq!(index.reader().parcel_in_force_at(p, 200).map(|f| (f.id, f.version)), Some((7, 1)));
        assert_eq!(index.reader().parcel_in_force_at(p, 201).map(|f| (f.id, f.version)), Some((7, 2)));
        assert!(index.reader().parcel_in_force_at([105.79, 10.03], 201).is_none(), "off the lot");
    }

    #[test]
    fn the_nearest_address_agrees_with_a_brute_force_search_in_a_dense_quarter() {
        // 3 000 households in 300 m × 300 m (synthetic), some on the same spot, so ties
        // by id are met too; the tree holds them in f32, the answer must not notice.
        let mut state = 7u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let step = 300.0 / diaba_core::METRES_PER_DEGREE;
        let mut all: Vec<AddressFeature> = Vec::new();
        for id in 0..3000 {
            let (lon, lat) = match id % 10 {
                9 => (all[id as usize - 1].lon, all[id as usize - 1].lat),
                _ => (105.77 + next() * step, 10.03 + next() * step),
            };
            all.push(address(id, lon, lat));
        }
        let index = Index::with([LayerFeatures::Addresses(all.clone())]);
        let around = |p: [f64; 2]| Around::new(p, 30.0);
        for _ in 0..2000 {
            let p = [105.77 + next() * step, 10.03 + next() * step];
            let want = all
                .iter()
                .filter_map(|a| around(p).distance(a).map(|d| (a, d)))
                .min_by(|a, b| nearest_first(*a, *b))
                .map(|(a, d)| (a.id, d));
            let got = index.nearest_address(p, 30.0).map(|(a, d)| (a.id, d));
            assert_eq!(got, want, "at {p:?}");
        }
    }
}
