//! Label layers: where the map writes a parcel's number, a sheet's number, a road's or a
//! ward's name, placed here once per feature so MapLibre shows each label once.
//!
//! Left to the client, a polygon's label is placed in every tile the polygon reaches (a
//! lot on a tile edge gets two half labels), so anchors are computed from the whole shape
//! and each anchor goes into exactly one tile: the one it falls in, buffer excluded.

use crate::coord::{EXTENT, TileCoord};
use crate::feature::Value;
use crate::field::{Field, field};
use crate::mvt::{GeomType, LayerBuilder, MvtLayer};
use diaba_core::outline::Outline;
use geo::{Area, Coord, MinimumRotatedRect, MultiPolygon};

/// One label layer: its MVT name, zooms and fields (the TileJSON contract).
#[derive(Debug)]
pub struct LabelSpec {
    /// MVT layer name.
    pub name: &'static str,
    /// Lowest zoom with labels.
    pub minzoom: u8,
    /// Deepest zoom with labels; beyond it the layer is left out.
    pub maxzoom: u8,
    /// Attributes of its labels (public only).
    pub fields: &'static [Field],
    /// What it holds, for TileJSON.
    pub description: &'static str,
}

impl LabelSpec {
    /// True when tiles at zoom `z` carry this layer.
    pub fn drawn_at(&self, z: u8) -> bool {
        (self.minzoom..=self.maxzoom).contains(&z)
    }
}

/// Each lot's number, legal area and main land use, as on a cadastral map (`125` /
/// `180,5` / `ODT`), from z18 where lots are large enough to hold them.
pub const PARCEL_LABELS: LabelSpec = LabelSpec {
    name: "parcel_labels",
    minzoom: 18,
    maxzoom: crate::coord::MAX_ZOOM,
    fields: &[
        field("number", "Number", "Parcel number (số thửa)"),
        field("legal_area_m2", "Number", "Legal area, m²"),
        field("land_use", "String", "Main land-use code"),
    ],
    description: "One anchor per lot inside it, for its number, area and land use",
};

/// Map sheet numbers (tờ bản đồ), one anchor per sheet at the centre of its lots.
pub const SHEET_LABELS: LabelSpec = LabelSpec {
    name: "sheet_labels",
    minzoom: 15,
    maxzoom: crate::coord::MAX_ZOOM,
    fields: &[field("ward_code", "String", "Ward of the survey"), field("sheet", "Number", "Map sheet (tờ bản đồ)")],
    description: "One anchor per map sheet, at the centre of its lots",
};

/// Road and waterway names along the road (DGT) and water (SON) parcels.
pub const ROAD_LABELS: LabelSpec = LabelSpec {
    name: "road_labels",
    minzoom: 16,
    maxzoom: crate::coord::MAX_ZOOM,
    fields: &[
        field("name", "String", "Road or waterway name, from the register or the households beside it"),
        field("kind", "String", "road (DGT) or water (SON)"),
    ],
    description: "A line along each named road or water parcel, for its name",
};

/// Ward names at city scale.
pub const WARD_LABELS: LabelSpec = LabelSpec {
    name: "ward_labels",
    minzoom: 10,
    maxzoom: 14,
    fields: &[field("code", "String", "GSO unit code"), field("name", "String", "Unit name")],
    description: "One anchor per current ward, inside it",
};

/// Where a label sits, in lon/lat.
#[derive(Debug, Clone, PartialEq)]
pub enum Anchor {
    /// A point label.
    Point([f64; 2]),
    /// A label along a line (at its middle).
    Line(Vec<[f64; 2]>),
}

/// One label: the id of the feature it names, its anchor and attributes.
#[derive(Debug, Clone)]
pub struct Label<'a> {
    /// Id of the labelled feature (the MVT feature id).
    pub id: i64,
    /// Where it sits.
    pub anchor: Anchor,
    /// Attributes; each key one of its layer's fields.
    pub attributes: Vec<(&'static str, Value<'a>)>,
}

/// Draws the labels of `spec` anchored inside `tile` (buffer excluded, so each lands in one
/// tile); `None` when the layer is not drawn at this zoom or none falls inside.
pub fn draw_labels<'a>(
    spec: &LabelSpec,
    tile: TileCoord,
    labels: impl IntoIterator<Item = Label<'a>>,
) -> Option<MvtLayer> {
    if !spec.drawn_at(tile.z()) {
        return None;
    }
    let mut out = LayerBuilder::new(spec.name);
    let snap = |p: [f64; 2]| [p[0].round() as i32, p[1].round() as i32];
    for label in labels {
        let Some(projected) = anchored(tile, &label.anchor) else { continue };
        let kind = match projected {
            Projected::Point(point) => {
                out.geometry().point(snap(point));
                GeomType::Point
            }
            Projected::Line(line) => {
                let line: Vec<[i32; 2]> = line.into_iter().map(snap).collect();
                out.geometry().line(&line);
                GeomType::LineString
            }
        };
        for (key, value) in label.attributes {
            out.attribute(key, value);
        }
        out.push(label.id, kind);
    }
    out.finish()
}

/// True when `anchor` falls in `tile` (buffer excluded): the label is drawn there. Lets a
/// caller skip the work of a label (its text, its attributes) that another tile draws.
pub fn anchored_in(tile: TileCoord, anchor: &Anchor) -> bool {
    anchored(tile, anchor).is_some()
}

/// An anchor in tile units.
enum Projected {
    Point([f64; 2]),
    Line(Vec<[f64; 2]>),
}

/// The anchor in tile units when it falls in `tile`: a point, or a line whose middle does.
/// A point is not put in a `Vec`: a z18 tile labels every lot in it.
fn anchored(tile: TileCoord, anchor: &Anchor) -> Option<Projected> {
    let inside = |[x, y]: [f64; 2]| (0.0..f64::from(EXTENT)).contains(&x) && (0.0..f64::from(EXTENT)).contains(&y);
    match anchor {
        Anchor::Point([lon, lat]) => {
            let p = tile.project(*lon, *lat);
            inside(p).then_some(Projected::Point(p))
        }
        Anchor::Line(points) => {
            let projected: Vec<[f64; 2]> = points.iter().map(|&[lon, lat]| tile.project(lon, lat)).collect();
            let (first, last) = (projected.first()?, projected.last()?);
            (projected.len() >= 2 && inside([(first[0] + last[0]) / 2.0, (first[1] + last[1]) / 2.0]))
                .then_some(Projected::Line(projected))
        }
    }
}

/// A point inside the largest polygon of `shape`, for its label.
pub fn label_point(shape: &MultiPolygon<f64>) -> Option<[f64; 2]> {
    let largest = shape.0.iter().max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()))?;
    diaba_core::interior::polygon_interior_point(largest).map(|c| [c.x, c.y])
}

/// [`label_point`] of a lot's outline. A lot of one polygon (nearly every lot) is its own
/// largest: its interior point is the label's, found without a new multipolygon.
pub fn outline_label_point(outline: &Outline) -> Option<[f64; 2]> {
    if outline.polygon_count() != 1 {
        return label_point(&outline.to_multi_polygon());
    }
    diaba_core::interior::outline_interior_point(outline).map(|c| [c.x, c.y])
}

/// The long centre line of a strip (a road or canal lot): from the middle of one short side
/// of its minimum rotated rectangle to the middle of the other, west end first so the
/// label reads left to right.
pub fn long_axis(shape: &MultiPolygon<f64>) -> Option<[[f64; 2]; 2]> {
    let rect = shape.minimum_rotated_rect()?;
    let c = &rect.exterior().0;
    if c.len() < 4 {
        return None;
    }
    let mid = |a: Coord<f64>, b: Coord<f64>| [(a.x + b.x) / 2.0, (a.y + b.y) / 2.0];
    let length = |a: Coord<f64>, b: Coord<f64>| (a.x - b.x).hypot(a.y - b.y);
    // Sides 0–1 and 2–3 face each other, as do 1–2 and 3–0: the axis joins the short pair.
    let [mut a, mut b] = if length(c[0], c[1]) < length(c[1], c[2]) {
        [mid(c[0], c[1]), mid(c[2], c[3])]
    } else {
        [mid(c[1], c[2]), mid(c[3], c[0])]
    };
    if a[0] > b[0] {
        std::mem::swap(&mut a, &mut b);
    }
    Some([a, b])
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Point, Polygon, polygon};

    fn tile() -> TileCoord {
        TileCoord::containing(105.7876, 10.0341, 18)
    }

    /// A rectangle of `fx`..`gx` by `fy`..`gy`, as fractions of the tile's bounds.
    fn lot(fx: f64, fy: f64, gx: f64, gy: f64) -> MultiPolygon<f64> {
        let [w, s, e, n] = tile().bounds(0);
        let (x0, x1, y0, y1) = (w + (e - w) * fx, w + (e - w) * gx, s + (n - s) * fy, s + (n - s) * gy);
        MultiPolygon(vec![polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1)]])
    }

    fn count(layer: Option<MvtLayer>) -> usize {
        layer.map_or(0, |l| l.len())
    }

    #[test]
    fn a_label_lands_in_exactly_one_of_the_tiles_its_lot_reaches() {
        // A lot across the tile's east edge: its anchor is in one of the two tiles only.
        let shape = lot(0.9, 0.4, 1.3, 0.5);
        let anchor = label_point(&shape).unwrap();
        let east = TileCoord::new(u32::from(tile().z()), tile().x() + 1, tile().y()).unwrap();
        let drawn: usize = [tile(), east]
            .into_iter()
            .map(|t| {
                count(draw_labels(
                    &PARCEL_LABELS,
                    t,
                    [Label { id: 1, anchor: Anchor::Point(anchor), attributes: vec![] }],
                ))
            })
            .sum();
        assert_eq!(drawn, 1);
        assert!(geo::Contains::contains(&shape, &Point::new(anchor[0], anchor[1])));
    }

    #[test]
    fn label_layers_keep_to_their_zooms() {
        let label = || Label {
            id: 1,
            anchor: Anchor::Point(label_point(&lot(0.4, 0.4, 0.6, 0.6)).unwrap()),
            attributes: vec![],
        };
        assert_eq!(count(draw_labels(&PARCEL_LABELS, tile(), [label()])), 1);
        assert_eq!(count(draw_labels(&WARD_LABELS, tile(), [label()])), 0, "ward names stop at z14");
    }

    #[test]
    fn a_lots_outline_is_labelled_where_its_multipolygon_is() {
        use geo::{LineString, Polygon, polygon};
        // Synthetic lots, each labelled right after the last on the thread's kept polygon: a
        // long ring then shorter ones (nothing left of the last), a one-point ring, a lot
        // with a hole, two polygons (the larger labelled), none at all.
        let fan = |n: usize| {
            let ring: Vec<(f64, f64)> = (0..n)
                .map(|k| {
                    let a = k as f64 / n as f64 * std::f64::consts::TAU;
                    (105.75 + (1.0 + (k % 3) as f64) * 1e-4 * a.cos(), 10.03 + 2e-4 * a.sin())
                })
                .collect();
            MultiPolygon(vec![Polygon::new(LineString::from(ring), vec![])])
        };
        let holed = MultiPolygon(vec![polygon![
            exterior: [(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 4.0), (x: 0.0, y: 4.0)],
            interiors: [[(x: 1.0, y: 1.0), (x: 3.0, y: 1.0), (x: 3.0, y: 3.0), (x: 1.0, y: 3.0)]],
        ]]);
        let mut pair = lot(0.1, 0.1, 0.2, 0.2);
        pair.0.extend(lot(0.5, 0.5, 0.9, 0.9).0);
        let point = MultiPolygon(vec![Polygon::new(LineString::from(vec![(105.7, 10.0)]), vec![])]);
        let shapes = [fan(40), fan(7), lot(0.1, 0.2, 0.3, 0.9), fan(3), point, holed, pair, MultiPolygon(vec![])];
        for shape in &shapes {
            let outline = Outline::from(shape);
            assert_eq!(outline_label_point(&outline), label_point(&outline.to_multi_polygon()), "{shape:?}");
        }
        assert!(outline_label_point(&Outline::from(&shapes[0])).is_some());
    }

    #[test]
    fn a_strip_is_labelled_along_its_length_west_to_east() {
        // 60 m × 8 m east–west, then the same turned to run north–south.
        let east_west = lot(0.2, 0.5, 0.6, 0.55);
        let [a, b] = long_axis(&east_west).unwrap();
        assert!(a[0] < b[0] && (a[1] - b[1]).abs() < 1e-9, "{a:?} → {b:?}");
        let north_south = lot(0.5, 0.2, 0.55, 0.6);
        let [a, b] = long_axis(&north_south).unwrap();
        assert!((a[0] - b[0]).abs() < 1e-9 && (a[1] - b[1]).abs() > 1e-4, "{a:?} → {b:?}");
        let empty: MultiPolygon<f64> = MultiPolygon(Vec::<Polygon<f64>>::new());
        assert!(long_axis(&empty).is_none() && label_point(&empty).is_none());
    }
}
