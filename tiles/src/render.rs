//! One tile from features: project, clip, generalise, encode (MVT 2.1).
//!
//! Geometry goes through the same steps for every layer: project to the tile's integer
//! grid (Web Mercator, y down), drop what would be smaller than [`MIN_FEATURE_UNITS`],
//! clip what crosses the buffered tile edge, simplify where the layer allows, snap to
//! integers, drop repeated points and rings that collapse, and orient rings as MVT wants
//! (exterior positive by the surveyor's formula in tile coordinates, holes negative).
//! Which features a tile holds is the caller's business (an index query); this module
//! only draws what it is given, through [`TileFeature`].

use crate::coord::{BUFFER, EXTENT, Projection, TileCoord};
use crate::feature::{Shape, TileFeature};
use crate::layers::Generalise;
use crate::mvt::{Commands, GeomType, LayerBuilder, MvtLayer};
use crate::source::Source;
use diaba_core::outline::Outline;
use geo::{BooleanOps, BoundingRect, Coord, LineString, MapCoords, MultiPolygon, Polygon, Rect, Simplify};
use std::borrow::Cow;
use std::ops::Deref;

/// Polygons whose projected box is smaller than this on both sides are left out: at
/// 4096 units per tile that is ¼ of a pixel on a 512-pixel tile, invisible.
pub const MIN_FEATURE_UNITS: f64 = 2.0;

/// Below this zoom parcels carry only their land use and households no attribute: the
/// style needs nothing else there, and a click asks `/v1/lookup` for the record. It keeps
/// z14–z15 tiles of the densest wards under 500 KB.
pub const DETAIL_ZOOM: u8 = 16;

/// The buffered tile's edges, in tile units.
const LOW: f64 = -(BUFFER as f64);
const HIGH: f64 = (EXTENT + BUFFER) as f64;

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
    let mut scratch = Scratch::default();
    let projection = tile.projection();
    for feature in features {
        let kind = match feature.shape() {
            Shape::Polygons(shape) => {
                draw_polygons(Polygons::Geo(shape), &projection, rule, &mut scratch, out.geometry());
                GeomType::Polygon
            }
            Shape::Outline(outline) => {
                draw_polygons(Polygons::Flat(outline), &projection, rule, &mut scratch, out.geometry());
                GeomType::Polygon
            }
            Shape::Point { lon, lat } => {
                if let Some(point) = tile_point(lon, lat, &projection) {
                    out.geometry().point(point);
                }
                GeomType::Point
            }
        };
        if out.geometry().is_empty() {
            continue;
        }
        feature.attributes(detail, &mut |key, value| out.attribute(key, value));
        out.push(feature.id(), kind);
    }
    out.finish()
}

/// A point in the tile's grid (buffer included), snapped to integers.
fn tile_point(lon: f64, lat: f64, projection: &Projection) -> Option<[i32; 2]> {
    let [x, y] = projection.project(lon, lat);
    ((LOW..=HIGH).contains(&x) && (LOW..=HIGH).contains(&y)).then(|| [x.round() as i32, y.round() as i32])
}

/// Buffers reused from one feature to the next, so drawing a lot allocates nothing.
#[derive(Default)]
struct Scratch {
    /// Projected vertices of every ring, each ring's closing point included.
    points: Vec<[f64; 2]>,
    /// Each ring's range in `points`, and whether it is an exterior.
    rings: Vec<(usize, usize, bool)>,
    clipped: Vec<[f64; 2]>,
    swap: Vec<[f64; 2]>,
    snapped: Vec<[i32; 2]>,
}

/// Draws a (multi)polygon in lon/lat into `out`, as [`projected_polygons`] would make it;
/// nothing when nothing of it is left to draw.
///
/// Most lots need far less than the general path: a lot wholly inside the buffered tile
/// needs no clipping, and a convex lot without holes (nearly all of them) is clipped by
/// cutting it along the four edges in turn, exact for convex shapes. Only simplified
/// layers and concave or holed lots across the edge go through `geo`'s polygon overlay.
fn draw_polygons(shape: Polygons<'_>, projection: &Projection, rule: Generalise, s: &mut Scratch, out: &mut Commands) {
    // Where a zoom leaves small shapes out (most lots at z14), they are rejected from
    // their box, before projecting every vertex; the margin keeps borderline shapes for
    // the exact test below.
    if rule.min_box_area > 0.0 {
        let lonlat = match shape {
            Polygons::Geo(shape) => shape.bounding_rect(),
            Polygons::Flat(outline) => outline.bounding_rect(),
        };
        let Some(lonlat) = lonlat else { return };
        let [west, north] = projection.project(lonlat.min().x, lonlat.max().y);
        let [east, south] = projection.project(lonlat.max().x, lonlat.min().y);
        let (width, height, margin) = (east - west, south - north, 1e-6);
        if width < MIN_FEATURE_UNITS - margin && height < MIN_FEATURE_UNITS - margin
            || (width + margin) * (height + margin) < rule.min_box_area
        {
            return;
        }
    }
    s.points.clear();
    s.rings.clear();
    let mut bbox = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
    let mut holes = false;
    let mut project_ring = |ring: &mut dyn Iterator<Item = &Coord<f64>>, exterior: bool| {
        let start = s.points.len();
        for c in ring {
            let [x, y] = projection.project(c.x, c.y);
            bbox = [bbox[0].min(x), bbox[1].min(y), bbox[2].max(x), bbox[3].max(y)];
            s.points.push([x, y]);
        }
        s.rings.push((start, s.points.len(), exterior));
    };
    match shape {
        Polygons::Geo(shape) => {
            for polygon in &shape.0 {
                holes |= !polygon.interiors().is_empty();
                for (i, ring) in std::iter::once(polygon.exterior()).chain(polygon.interiors()).enumerate() {
                    project_ring(&mut ring.0.iter(), i == 0);
                }
            }
        }
        // Rings closed again, so both kinds draw through the same steps.
        Polygons::Flat(outline) => {
            for polygon in 0..outline.polygon_count() {
                holes |= outline.holes(polygon) > 0;
                for (i, ring) in outline.rings(polygon).enumerate() {
                    project_ring(&mut ring.iter().chain(ring.first()), i == 0);
                }
            }
        }
    }
    if s.points.is_empty() {
        return;
    }
    let (width, height) = (bbox[2] - bbox[0], bbox[3] - bbox[1]);
    if width < MIN_FEATURE_UNITS && height < MIN_FEATURE_UNITS || width * height < rule.min_box_area {
        return;
    }
    if bbox[2] < LOW || bbox[0] > HIGH || bbox[3] < LOW || bbox[1] > HIGH {
        return;
    }
    let inside = bbox[0] >= LOW && bbox[1] >= LOW && bbox[2] <= HIGH && bbox[3] <= HIGH;
    let cut = !inside && !holes && s.rings.iter().all(|&(a, b, _)| convex(open(&s.points[a..b])));
    if rule.tolerance > 0.0 || !inside && !cut {
        let shape = match shape {
            Polygons::Geo(shape) => Cow::Borrowed(shape),
            Polygons::Flat(outline) => Cow::Owned(outline.to_multi_polygon()),
        };
        for polygon in projected_polygons(&shape, projection, rule).into_iter().flatten() {
            for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                s.snapped.clear();
                s.snapped.extend(open(&ring.0).iter().map(|c| [c.x as i32, c.y as i32]));
                out.ring(&s.snapped);
            }
        }
        return;
    }
    // A hole is drawn only after its exterior.
    let mut exterior_drawn = false;
    for &(a, b, exterior) in &s.rings {
        let drawn = if exterior {
            let mut ring = open(&s.points[a..b]);
            if cut {
                clip_convex(ring, &mut s.clipped, &mut s.swap);
                ring = &s.clipped;
            }
            exterior_drawn = snap(ring, true, &mut s.snapped);
            exterior_drawn
        } else {
            exterior_drawn && snap(&s.points[a..b], false, &mut s.snapped)
        };
        if drawn {
            out.ring(&s.snapped);
        }
    }
}

/// The two ways polygons come: geo's (units, zones) and flat outlines (parcels).
#[derive(Clone, Copy)]
enum Polygons<'a> {
    Geo(&'a MultiPolygon<f64>),
    Flat(&'a Outline),
}

/// A ring without its closing point.
fn open<T: PartialEq>(ring: &[T]) -> &[T] {
    match ring {
        [first, .., last] if first == last => &ring[..ring.len() - 1],
        _ => ring,
    }
}

/// True when the ring (closing point left out) is convex: it turns one way only, and goes
/// round once (its x and its y each change direction at most twice).
fn convex(ring: &[[f64; 2]]) -> bool {
    let n = ring.len();
    if n < 3 {
        return false;
    }
    let (mut turn, mut last, mut flips) = (0.0, [0.0, 0.0], [0, 0]);
    for i in 0..n {
        let (a, b, c) = (ring[i], ring[(i + 1) % n], ring[(i + 2) % n]);
        let d = [b[0] - a[0], b[1] - a[1]];
        let cross = d[0] * (c[1] - b[1]) - d[1] * (c[0] - b[0]);
        if cross * turn < 0.0 {
            return false;
        }
        if cross != 0.0 {
            turn = cross;
        }
        for axis in 0..2 {
            if d[axis] * last[axis] < 0.0 {
                flips[axis] += 1;
            }
            if d[axis] != 0.0 {
                last[axis] = d[axis];
            }
        }
    }
    flips[0] <= 2 && flips[1] <= 2
}

/// Cuts a convex ring to the buffered tile, one edge after the other (Sutherland–Hodgman).
fn clip_convex(ring: &[[f64; 2]], out: &mut Vec<[f64; 2]>, swap: &mut Vec<[f64; 2]>) {
    out.clear();
    out.extend_from_slice(ring);
    // (axis, edge, keep the side above it)
    for (axis, edge, above) in [(0, LOW, true), (0, HIGH, false), (1, LOW, true), (1, HIGH, false)] {
        std::mem::swap(out, swap);
        out.clear();
        let keep = |p: [f64; 2]| if above { p[axis] >= edge } else { p[axis] <= edge };
        let cross = |a: [f64; 2], b: [f64; 2]| {
            let t = (edge - a[axis]) / (b[axis] - a[axis]);
            let other = 1 - axis;
            let mut p = [0.0; 2];
            p[axis] = edge;
            p[other] = a[other] + t * (b[other] - a[other]);
            p
        };
        for (i, &b) in swap.iter().enumerate() {
            let a = swap[(i + swap.len() - 1) % swap.len()];
            match (keep(a), keep(b)) {
                (true, true) => out.push(b),
                (true, false) => out.push(cross(a, b)),
                (false, true) => out.extend([cross(a, b), b]),
                (false, false) => {}
            }
        }
        if out.is_empty() {
            return;
        }
    }
}

/// Snaps a ring to integers into `out`, drops repeated points, and orients it: positive
/// area (in y-down tile units) for an exterior, negative for a hole. False if it collapsed.
fn snap(ring: &[[f64; 2]], exterior: bool, out: &mut Vec<[i32; 2]>) -> bool {
    out.clear();
    for &[x, y] in ring {
        let p = [x.round() as i32, y.round() as i32];
        if out.last() != Some(&p) {
            out.push(p);
        }
    }
    if out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    if out.len() < 3 {
        return false;
    }
    let twice_area: i64 = (0..out.len())
        .map(|i| {
            let (a, b) = (out[i], out[(i + 1) % out.len()]);
            i64::from(a[0]) * i64::from(b[1]) - i64::from(b[0]) * i64::from(a[1])
        })
        .sum();
    if twice_area == 0 {
        return false;
    }
    if (twice_area > 0) != exterior {
        out.reverse();
    }
    true
}

/// A (multi)polygon in lon/lat → the tile's integer grid, or `None` when nothing of it
/// is left to draw: the general path, through `geo`, for any shape and generalisation.
fn projected_polygons(
    shape: &MultiPolygon<f64>,
    projection: &Projection,
    rule: Generalise,
) -> Option<MultiPolygon<f64>> {
    let projected = shape.map_coords(|c| {
        let [x, y] = projection.project(c.x, c.y);
        Coord { x, y }
    });
    let bbox = projected.bounding_rect()?;
    if bbox.width() < MIN_FEATURE_UNITS && bbox.height() < MIN_FEATURE_UNITS
        || bbox.width() * bbox.height() < rule.min_box_area
    {
        return None;
    }
    if bbox.max().x < LOW || bbox.min().x > HIGH || bbox.max().y < LOW || bbox.min().y > HIGH {
        return None;
    }
    let inside = bbox.min().x >= LOW && bbox.min().y >= LOW && bbox.max().x <= HIGH && bbox.max().y <= HIGH;
    let clipped = if inside {
        projected
    } else {
        let window = Rect::new(Coord { x: LOW, y: LOW }, Coord { x: HIGH, y: HIGH }).to_polygon();
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

fn snap_ring(ring: &LineString<f64>, exterior: bool) -> Option<LineString<f64>> {
    let points: Vec<[f64; 2]> = ring.0.iter().map(|c| [c.x, c.y]).collect();
    let mut snapped = Vec::new();
    if !snap(&points, exterior, &mut snapped) {
        return None;
    }
    snapped.push(snapped[0]);
    Some(snapped.into_iter().map(|[x, y]| Coord { x: f64::from(x), y: f64::from(y) }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The general path into `tile`.
    fn tile_polygons(shape: &MultiPolygon<f64>, tile: TileCoord, rule: Generalise) -> Option<MultiPolygon<f64>> {
        projected_polygons(shape, &tile.projection(), rule)
    }

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

    /// Twice the area of a ring, closed or not.
    fn twice_area_of(ring: &[[i32; 2]]) -> i64 {
        (0..ring.len())
            .map(|i| {
                let (a, b) = (ring[i], ring[(i + 1) % ring.len()]);
                i64::from(a[0]) * i64::from(b[1]) - i64::from(b[0]) * i64::from(a[1])
            })
            .sum()
    }

    /// The rings drawn from `shape`, checked to be the same from its flat outline.
    fn drawn(shape: &MultiPolygon<f64>, tile: TileCoord) -> Vec<Vec<[i32; 2]>> {
        let (mut geo, mut flat) = (Commands::default(), Commands::default());
        draw_polygons(Polygons::Geo(shape), &tile.projection(), SNAP_ONLY, &mut Scratch::default(), &mut geo);
        let outline = Outline::from(shape);
        draw_polygons(Polygons::Flat(&outline), &tile.projection(), SNAP_ONLY, &mut Scratch::default(), &mut flat);
        assert_eq!(geo.rings(), flat.rings(), "a flat outline draws as its multipolygon");
        geo.rings()
    }

    fn general(shape: &MultiPolygon<f64>, tile: TileCoord) -> Vec<Vec<[i32; 2]>> {
        let rings = tile_polygons(shape, tile, SNAP_ONLY).into_iter().flatten().flat_map(|p| {
            let rings: Vec<_> = std::iter::once(p.exterior().clone()).chain(p.interiors().iter().cloned()).collect();
            rings.into_iter().map(|r| open(&r.0).iter().map(|c| [c.x as i32, c.y as i32]).collect::<Vec<_>>())
        });
        rings.collect()
    }

    #[test]
    fn convex_lots_cut_at_the_edge_cover_what_the_general_overlay_gives() {
        // Turned quadrilaterals of many sizes around the tile's edges and corners.
        let tile = TileCoord::containing(105.7876, 10.0341, 17);
        let [w, s, e, n] = tile.bounds(0);
        let (dx, dy) = (e - w, n - s);
        let mut seed = 7u64;
        let mut random = || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut cut = 0;
        for _ in 0..2000 {
            let (cx, cy) = (w + dx * (random() * 1.4 - 0.2), s + dy * (random() * 1.4 - 0.2));
            let (a, b, turn) = (dx * random() * 0.3, dy * random() * 0.05, random() * std::f64::consts::PI);
            let (sin, cos) = turn.sin_cos();
            let corner = |u: f64, v: f64| (cx + u * a * cos - v * b * sin, cy + u * a * sin + v * b * cos);
            let ring = LineString::from(vec![
                corner(-1., -1.),
                corner(1., -1.),
                corner(1., 1.),
                corner(-1., 1.),
                corner(-1., -1.),
            ]);
            let lot = MultiPolygon(vec![Polygon::new(ring, vec![])]);
            let (fast, reference) = (drawn(&lot, tile), general(&lot, tile));
            assert_eq!(fast.len(), reference.len(), "{lot:?}");
            for (f, r) in fast.iter().zip(&reference) {
                assert!(f.iter().all(|p| p.iter().all(|&v| (-64..=4160).contains(&v))));
                assert!(twice_area_of(f) > 0);
                // Each may round a cut vertex the other way: half a unit along each edge.
                let perimeter: f64 = (0..r.len())
                    .map(|i| {
                        let (p, q) = (r[i], r[(i + 1) % r.len()]);
                        f64::from(p[0] - q[0]).hypot(f64::from(p[1] - q[1]))
                    })
                    .sum();
                let difference = (twice_area_of(f) - twice_area_of(r)).abs() as f64 / 2.0;
                assert!(difference <= perimeter + 4.0, "{difference} for {f:?} and {r:?}");
            }
            cut += usize::from(!fast.is_empty());
        }
        assert!(cut > 500, "enough lots drawn to mean something: {cut}");
    }

    #[test]
    fn concave_lots_across_the_edge_take_the_general_path() {
        let tile = TileCoord::containing(105.7876, 10.0341, 18);
        let [w, s, e, n] = tile.bounds(0);
        let (dx, dy) = (e - w, n - s);
        // An L across the west edge: its two arms come back into the tile separately.
        let ring = LineString::from(vec![
            (w - dx * 0.2, s + dy * 0.2),
            (w + dx * 0.3, s + dy * 0.2),
            (w + dx * 0.3, s + dy * 0.3),
            (w - dx * 0.1, s + dy * 0.3),
            (w - dx * 0.1, s + dy * 0.6),
            (w + dx * 0.3, s + dy * 0.6),
            (w + dx * 0.3, s + dy * 0.7),
            (w - dx * 0.2, s + dy * 0.7),
            (w - dx * 0.2, s + dy * 0.2),
        ]);
        let lot = MultiPolygon(vec![Polygon::new(ring, vec![])]);
        let fast = drawn(&lot, tile);
        assert_eq!(fast, general(&lot, tile));
        assert_eq!(fast.len(), 2, "two pieces");
    }

    #[test]
    fn convexity_is_told_apart() {
        let square = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
        assert!(convex(&square));
        assert!(convex(&[[0.0, 0.0], [0.5, 0.0], [1.0, 0.0], [1.0, 1.0]]), "collinear points are fine");
        assert!(!convex(&[[0.0, 0.0], [2.0, 0.0], [1.0, 0.5], [2.0, 2.0], [0.0, 2.0]]), "a notch");
        // A pentagram turns one way only but goes round twice.
        let star: Vec<[f64; 2]> = (0..5)
            .map(|i| {
                let a = f64::from(i * 2) * std::f64::consts::TAU / 5.0;
                [a.cos(), a.sin()]
            })
            .collect();
        assert!(!convex(&star));
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
