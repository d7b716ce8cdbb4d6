//! One tile from features: project, clip, generalise, encode (MVT 2.1).
//!
//! Geometry goes through the same steps for every layer: project to the tile's integer
//! grid (Web Mercator, y down), drop what would be smaller than [`MIN_FEATURE_UNITS`],
//! clip what crosses the buffered tile edge, simplify where the layer allows, snap to
//! integers, drop repeated points and rings that collapse, and orient rings as MVT wants
//! (exterior positive by the surveyor's formula in tile coordinates, holes negative).
//! Which features a tile holds is the caller's business (an index query); this module
//! only draws what it is given, through [`TileFeature`].

use crate::coord::{BUFFER, EXTENT, TileCoord};
use crate::feature::{Shape, TileFeature};
use crate::layers::Generalise;
use crate::mvt::{LayerBuilder, MvtLayer};
use crate::source::Source;
use geo::{BooleanOps, BoundingRect, Coord, LineString, MapCoords, MultiPolygon, Point, Polygon, Rect, Simplify};
use std::ops::Deref;

/// Polygons whose projected box is smaller than this on both sides are left out: at
/// 4096 units per tile that is ¼ of a pixel on a 512-pixel tile, invisible.
pub const MIN_FEATURE_UNITS: f64 = 2.0;

/// Below this zoom parcels carry only their land use and households no attribute: the
/// style needs nothing else there, and a click asks `/v1/lookup` for the record. It keeps
/// z14–z15 tiles of the densest wards under 500 KB.
pub const DETAIL_ZOOM: u8 = 16;

/// Draws `features` (in the order given; callers sort by id for stable tiles) as the MVT
/// layer of `source` at `tile`. `None` when the source has no layer at that zoom or
/// nothing of the features is visible.
pub fn draw_layer<F, R>(source: Source, tile: TileCoord, features: impl IntoIterator<Item = R>) -> Option<MvtLayer>
where
    F: TileFeature + ?Sized,
    R: Deref<Target = F>,
{
    let layer = source.layer()?;
    if tile.z() < source.minzoom() {
        return None;
    }
    let rule = Generalise::of(layer, tile.z());
    let detail = tile.z() >= DETAIL_ZOOM;
    let mut out = LayerBuilder::new(source.name());
    for feature in features {
        let geometry: geo::Geometry<f64> = match feature.shape() {
            Shape::Polygons(shape) => match tile_polygons(shape, tile, rule) {
                Some(shape) => shape.into(),
                None => continue,
            },
            Shape::Point { lon, lat } => match tile_point(lon, lat, tile) {
                Some(point) => point.into(),
                None => continue,
            },
        };
        out.push(feature.id(), geometry, feature.attributes(detail));
    }
    out.finish().map(MvtLayer)
}

/// A point in the tile's grid (buffer included), snapped to integers.
fn tile_point(lon: f64, lat: f64, tile: TileCoord) -> Option<Point<f64>> {
    let [x, y] = tile.project(lon, lat);
    let (low, high) = (-f64::from(BUFFER), f64::from(EXTENT + BUFFER));
    ((low..=high).contains(&x) && (low..=high).contains(&y)).then(|| Point::new(x.round(), y.round()))
}

/// A (multi)polygon in lon/lat → the tile's integer grid, or `None` when nothing of it
/// is left to draw.
pub fn tile_polygons(shape: &MultiPolygon<f64>, tile: TileCoord, rule: Generalise) -> Option<MultiPolygon<f64>> {
    let projected = shape.map_coords(|c| {
        let [x, y] = tile.project(c.x, c.y);
        Coord { x, y }
    });
    let bbox = projected.bounding_rect()?;
    if bbox.width() < MIN_FEATURE_UNITS && bbox.height() < MIN_FEATURE_UNITS
        || bbox.width() * bbox.height() < rule.min_box_area
    {
        return None;
    }
    let (low, high) = (-f64::from(BUFFER), f64::from(EXTENT + BUFFER));
    if bbox.max().x < low || bbox.min().x > high || bbox.max().y < low || bbox.min().y > high {
        return None;
    }
    let inside = bbox.min().x >= low && bbox.min().y >= low && bbox.max().x <= high && bbox.max().y <= high;
    let clipped = if inside {
        projected
    } else {
        let window = Rect::new(Coord { x: low, y: low }, Coord { x: high, y: high }).to_polygon();
        projected.intersection(&MultiPolygon(vec![window]))
    };
    let simplified = if rule.tolerance > 0.0 { clipped.simplify(rule.tolerance) } else { clipped };
    let polygons: Vec<Polygon<f64>> = simplified.0.iter().filter_map(snap_polygon).collect();
    (!polygons.is_empty()).then_some(MultiPolygon(polygons))
}

fn snap_polygon(polygon: &Polygon<f64>) -> Option<Polygon<f64>> {
    let exterior = snap_ring(polygon.exterior(), true)?;
    let holes = polygon.interiors().iter().filter_map(|hole| snap_ring(hole, false)).collect();
    Some(Polygon::new(exterior, holes))
}

/// Snaps a ring to integers, drops repeated points, and orients it: positive area (in
/// y-down tile units) for an exterior, negative for a hole. `None` if it collapsed.
fn snap_ring(ring: &LineString<f64>, exterior: bool) -> Option<LineString<f64>> {
    let mut points: Vec<Coord<f64>> = Vec::with_capacity(ring.0.len());
    for c in &ring.0 {
        let snapped = Coord { x: c.x.round(), y: c.y.round() };
        if points.last() != Some(&snapped) {
            points.push(snapped);
        }
    }
    if points.len() > 1 && points.first() == points.last() {
        points.pop();
    }
    if points.len() < 3 {
        return None;
    }
    let twice_area: f64 = (0..points.len())
        .map(|i| {
            let (a, b) = (points[i], points[(i + 1) % points.len()]);
            a.x * b.y - b.x * a.y
        })
        .sum();
    if twice_area == 0.0 {
        return None;
    }
    if (twice_area > 0.0) != exterior {
        points.reverse();
    }
    points.push(points[0]);
    Some(LineString(points))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNAP_ONLY: Generalise = Generalise { tolerance: 0.0, min_box_area: 0.0 };

    fn square(x0: f64, y0: f64, size: f64) -> MultiPolygon<f64> {
        let ring = LineString::from(vec![(x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size), (x0, y0)]);
        MultiPolygon(vec![Polygon::new(ring, vec![])])
    }

    fn twice_area(ring: &LineString<f64>) -> f64 {
        ring.0.windows(2).map(|w| w[0].x * w[1].y - w[1].x * w[0].y).sum()
    }

    #[test]
    fn a_lot_crossing_the_tile_edge_is_clipped_to_the_buffer_and_oriented() {
        let tile = TileCoord::containing(105.7876, 10.0341, 18);
        let [w, s, e, n] = tile.bounds(0);
        // A lot straddling the west edge, as wide as half the tile.
        let lot = square(w - (e - w) * 0.25, s + (n - s) * 0.25, (e - w) * 0.5);
        let out = tile_polygons(&lot, tile, SNAP_ONLY).expect("visible");
        let ring = out.0[0].exterior();
        assert!(ring.0.iter().all(|c| c.x >= -f64::from(BUFFER) && c.x <= f64::from(EXTENT + BUFFER)));
        assert_eq!(ring.0.iter().map(|c| c.x as i64).min(), Some(-i64::from(BUFFER)), "cut at the buffer");
        assert!(twice_area(ring) > 0.0, "exterior positive in tile units");
        assert!(ring.0.iter().all(|c| c.x.fract() == 0.0 && c.y.fract() == 0.0));
    }

    #[test]
    fn specks_and_far_away_shapes_are_left_out() {
        let tile = TileCoord::containing(105.7876, 10.0341, 14);
        let [w, s, e, _] = tile.bounds(0);
        let speck = square(w + (e - w) / 2.0, s + 1e-6, (e - w) / 100_000.0);
        assert!(tile_polygons(&speck, tile, SNAP_ONLY).is_none());
        let far = square(e + (e - w), s, (e - w) / 4.0);
        assert!(tile_polygons(&far, tile, SNAP_ONLY).is_none());
    }

    #[test]
    fn holes_are_oriented_against_their_exterior() {
        let tile = TileCoord::containing(105.7876, 10.0341, 16);
        let [w, s, e, n] = tile.bounds(0);
        let (dx, dy) = (e - w, n - s);
        let outer = LineString::from(vec![
            (w + dx * 0.1, s + dy * 0.1),
            (w + dx * 0.9, s + dy * 0.1),
            (w + dx * 0.9, s + dy * 0.9),
            (w + dx * 0.1, s + dy * 0.9),
            (w + dx * 0.1, s + dy * 0.1),
        ]);
        // Same orientation as the exterior on purpose: the output must flip it.
        let hole = LineString::from(vec![
            (w + dx * 0.4, s + dy * 0.4),
            (w + dx * 0.6, s + dy * 0.4),
            (w + dx * 0.6, s + dy * 0.6),
            (w + dx * 0.4, s + dy * 0.6),
            (w + dx * 0.4, s + dy * 0.4),
        ]);
        let out = tile_polygons(&MultiPolygon(vec![Polygon::new(outer, vec![hole])]), tile, SNAP_ONLY).unwrap();
        assert!(twice_area(out.0[0].exterior()) > 0.0);
        assert!(twice_area(&out.0[0].interiors()[0]) < 0.0);
    }
}
