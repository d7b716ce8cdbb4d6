//! Interior points of areas: a point certainly inside, for a label or a test of which zone a
//! lot lies in.
//!
//! The same points as geo's `InteriorPoint` (JTS's interior point of an area: the middle of
//! the widest section of a horizontal line through the middle of the bounds, moved off any
//! vertex), found with the same steps and arithmetic, but with each candidate tested by a
//! ring-crossing test where geo builds a DE-9IM graph per candidate, and with the line met
//! edge by edge (geo's own `line_intersection`, symmetric in its arguments) where geo
//! sweeps every pair of edges. geo's took 58 % of a z18 parcel tile's drawing.

use crate::outline::Outline;
use geo::coordinate_position::CoordPos;
use geo::line_intersection::{LineIntersection, line_intersection};
use geo::{BoundingRect, Coord, CoordinatePosition, CoordsIter, Line, LineString, LinesIter, MultiPolygon, Polygon};
use std::cell::RefCell;
use std::cmp::Ordering;

/// The point geo's `InteriorPoint` gives for `shape`: of its polygons' points, the one
/// whose section is widest (the first of equals).
pub fn interior_point(shape: &MultiPolygon<f64>) -> Option<Coord<f64>> {
    let mut best: Option<(Coord<f64>, f64)> = None;
    for (point, width) in shape.0.iter().filter_map(polygon_interior_point_and_width) {
        if best.is_none_or(|(_, widest)| width > widest) {
            best = Some((point, width));
        }
    }
    best.map(|(point, _)| point)
}

/// [`interior_point`] of a lot's outline. A lot of one ring (nearly every lot) is copied
/// into a polygon the thread keeps rather than made into a new multipolygon: those
/// allocations were a third of the cost of a z18 tile's parcel labels.
pub fn outline_interior_point(outline: &Outline) -> Option<Coord<f64>> {
    if outline.polygon_count() != 1 || outline.holes(0) != 0 {
        return interior_point(&outline.to_multi_polygon());
    }
    thread_local! {
        static LOT: RefCell<Polygon<f64>> = RefCell::new(Polygon::new(LineString::new(Vec::new()), Vec::new()));
    }
    LOT.with_borrow_mut(|lot| {
        lot.exterior_mut(|exterior| {
            let ring = outline.ring(0, 0);
            // Closed as `Outline::to_multi_polygon` closes it (a one-point ring too).
            exterior.0.clear();
            exterior.0.extend(ring.iter().chain(ring.first()));
        });
        polygon_interior_point(lot)
    })
}

/// The point geo's `InteriorPoint` gives for `polygon`.
pub fn polygon_interior_point(polygon: &Polygon<f64>) -> Option<Coord<f64>> {
    polygon_interior_point_and_width(polygon).map(|(point, _)| point)
}

/// A section of the middle line inside or outside a polygon: its middle and its width.
type Section = (Coord<f64>, f64);

fn polygon_interior_point_and_width(polygon: &Polygon<f64>) -> Option<Section> {
    if let [only] = polygon.exterior().0[..] {
        return Some((only, 0.0));
    }
    let bounds = polygon.bounding_rect()?;
    let mut y_mid = (bounds.min().y + bounds.max().y) / 2.0;
    if polygon.coords_iter().any(|c| c.y == y_mid) {
        let nearest = polygon
            .coords_iter()
            .filter(|c| c.y != y_mid)
            .min_by(|a, b| (a.y - y_mid).abs().partial_cmp(&(b.y - y_mid).abs()).unwrap_or(Ordering::Less));
        if let Some(nearest) = nearest {
            y_mid = (y_mid + nearest.y) / 2.0;
        }
    }
    let scan = Line::new(Coord { x: bounds.min().x, y: y_mid }, Coord { x: bounds.max().x, y: y_mid });
    thread_local! {
        // Crossings and sections of the last polygon: a lot's label needs no allocation.
        static SCRATCH: RefCell<(Vec<f64>, Vec<Section>)> = const { RefCell::new((Vec::new(), Vec::new())) };
    }
    SCRATCH.with_borrow_mut(|(crossings, sections)| {
        crossings.clear();
        // An edge wholly above or below the line is the first thing geo's
        // `line_intersection` rules out (their boxes do not meet; the line spans the bounds
        // east–west): skipped here without the call, the rest met exactly as geo meets them.
        let apart = |a: f64, b: f64| (a > y_mid && b > y_mid) || (a < y_mid && b < y_mid);
        for edge in polygon.lines_iter().filter(|e| !apart(e.start.y, e.end.y)) {
            match line_intersection(edge, scan) {
                Some(LineIntersection::SinglePoint { intersection, .. }) => crossings.push(intersection.x),
                Some(LineIntersection::Collinear { intersection }) => {
                    crossings.extend([intersection.start.x, intersection.end.x]);
                }
                None => {}
            }
        }
        crossings.sort_by(f64::total_cmp);
        sections.clear();
        sections.extend(crossings.windows(2).map(|w| (Coord { x: (w[0] + w[1]) / 2.0, y: y_mid }, w[1] - w[0])));
        sections.sort_by(|a, b| b.1.total_cmp(&a.1));
        // Sections alternate inside and outside; the widest one inside wins. A middle on the
        // boundary (a polygon of no area) counts as no width, as in geo.
        let inside = sections.iter().find_map(|&(middle, width)| match polygon.coordinate_position(&middle) {
            CoordPos::Inside => Some((middle, width)),
            CoordPos::OnBoundary => Some((middle, 0.0)),
            CoordPos::Outside => None,
        });
        inside.or_else(|| polygon.coords_iter().next().map(|c| (c, 0.0)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, LineString, Point, polygon};

    #[test]
    fn interior_points_are_the_points_geo_gives() {
        use geo::InteriorPoint;
        // Synthetic star-shaped lots (simple by construction) around Cần Thơ, some with a
        // hole, from a fixed xorshift sequence; then shapes that take the edge paths: a
        // diamond with vertices on the middle line, a U whose middle sections alternate, a
        // flat ring, a single point.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut shapes: Vec<Polygon<f64>> = Vec::new();
        for i in 0..3000 {
            let (cx, cy) = (105.70 + next() * 0.1, 9.98 + next() * 0.1);
            let n = 3 + (next() * 14.0) as usize;
            let star = |r_min: f64, r_max: f64, next: &mut dyn FnMut() -> f64| -> LineString<f64> {
                (0..n)
                    .map(|k| {
                        let angle = (k as f64 + next() * 0.8) / n as f64 * std::f64::consts::TAU;
                        let r = r_min + next() * (r_max - r_min);
                        (cx + r * angle.cos(), cy + r * angle.sin())
                    })
                    .collect()
            };
            let outer = star(1e-4, 4e-4, &mut next);
            let holes = if i % 4 == 0 { vec![star(1e-5, 5e-5, &mut next)] } else { vec![] };
            shapes.push(Polygon::new(outer, holes));
        }
        shapes.push(
            polygon![(x: 105.0, y: 10.0), (x: 105.001, y: 10.001), (x: 105.002, y: 10.0), (x: 105.001, y: 9.999)],
        );
        shapes.push(polygon![
            (x: 0.0, y: 0.0), (x: 3.0, y: 0.0), (x: 3.0, y: 3.0), (x: 2.0, y: 3.0),
            (x: 2.0, y: 1.0), (x: 1.0, y: 1.0), (x: 1.0, y: 3.0), (x: 0.0, y: 3.0)
        ]);
        shapes.push(polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 2.0, y: 0.0)]);
        shapes.push(Polygon::new(LineString::from(vec![(105.5, 10.1)]), vec![]));
        for shape in &shapes {
            let ours = polygon_interior_point(shape);
            assert_eq!(ours, shape.interior_point().map(|p| p.0), "{shape:?}");
            let inside = MultiPolygon(vec![shape.clone()]);
            assert_eq!(interior_point(&inside), ours, "{shape:?}");
            // The same from the lot's outline, one lot after another on the kept polygon.
            assert_eq!(outline_interior_point(&Outline::from(&inside)), ours, "{shape:?}");
            if shape.unsigned_area() > 0.0 {
                assert!(geo::Contains::contains(&inside, &Point::from(ours.unwrap())), "{shape:?}");
            }
        }
        // Then as multipolygons: in pairs, and two lots of the same width (the first wins).
        let twin = |x: f64| polygon![(x: x, y: 0.0), (x: x + 1.0, y: 0.0), (x: x + 1.0, y: 1.0), (x: x, y: 1.0)];
        shapes.extend([twin(5.0), twin(3.0)]);
        for pair in shapes.chunks(2) {
            let shape = MultiPolygon(pair.to_vec());
            assert_eq!(interior_point(&shape), shape.interior_point().map(|p| p.0), "{shape:?}");
        }
        // A flat ring's middle lies on its boundary: no width against a real lot after it.
        let flat_then_lot =
            MultiPolygon(vec![polygon![(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 8.0, y: 0.0)], twin(20.0)]);
        let expected = flat_then_lot.interior_point().map(|p| p.0);
        assert_eq!(interior_point(&flat_then_lot), expected);
        assert_eq!(expected, Some(Coord { x: 20.5, y: 0.5 }));
    }
}
