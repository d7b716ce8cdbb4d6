//! Point-in-area tests with PostGIS `ST_Covers` semantics: [`covers_like_postgis`] reads
//! every edge (parcels have a handful); [`BandedArea`] files a shape's edges by latitude
//! band first, so a point reads only its band's (wards and flood zones have thousands);
//! [`Outline::covers`] is the plain test on a lot's flat outline.
//!
//! Only an edge whose latitude range holds the point's can change the winding number or
//! carry the point on it, and such an edge is always filed in the point's band, so both
//! answer alike, decision for decision.

use crate::outline::Outline;
use geo::{Coord, MultiPolygon};

/// Edges per band aimed at when choosing how many bands.
const EDGES_PER_BAND: usize = 4;
/// Bands at most (a ward of 10 000 edges gets ~2 500).
const MAX_BANDS: usize = 4096;
/// Winding marker of a ring the point lies on.
const ON_BOUNDARY: i32 = i32::MIN;

/// A multipolygon's edges filed by latitude band, for [`BandedArea::covers`].
#[derive(Clone)]
pub struct BandedArea {
    south: f64,
    band_height: f64,
    /// `edges[starts[b]..starts[b + 1]]` are band `b`'s.
    starts: Vec<u32>,
    edges: Vec<Edge>,
    /// Holes of each polygon, and the index of its exterior among all rings.
    polygons: Vec<(usize, usize)>,
    rings: usize,
}

#[derive(Debug, Clone, Copy)]
struct Edge {
    ring: u32,
    a: Coord<f64>,
    b: Coord<f64>,
}

impl BandedArea {
    /// Files `shape`'s edges.
    pub fn new(shape: &MultiPolygon<f64>) -> Self {
        let mut polygons = Vec::with_capacity(shape.0.len());
        let mut edges = Vec::new();
        let mut rings = 0;
        for polygon in shape {
            polygons.push((polygon.interiors().len(), rings));
            for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                let ring_id = u32::try_from(rings).expect("fewer than 4 billion rings");
                edges.extend(ring.0.windows(2).map(|s| Edge { ring: ring_id, a: s[0], b: s[1] }));
                rings += 1;
            }
        }
        let (south, north) = edges
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(s, n), e| (s.min(e.a.y.min(e.b.y)), n.max(e.a.y.max(e.b.y))));
        let bands = (edges.len() / EDGES_PER_BAND).clamp(1, MAX_BANDS);
        let band_height = if north > south { (north - south) / bands as f64 } else { 0.0 };
        let mut area = Self { south, band_height, starts: vec![0; bands + 1], edges: Vec::new(), polygons, rings };
        // Counting sort by band: count, prefix sums, place.
        let span = |e: &Edge| area.band(e.a.y.min(e.b.y))..=area.band(e.a.y.max(e.b.y));
        let mut counts = vec![0u32; bands];
        for edge in &edges {
            for band in span(edge) {
                counts[band] += 1;
            }
        }
        let mut starts = vec![0u32; bands + 1];
        for band in 0..bands {
            starts[band + 1] = starts[band] + counts[band];
        }
        let mut filed = vec![Edge { ring: 0, a: Coord::zero(), b: Coord::zero() }; starts[bands] as usize];
        let mut next = starts.clone();
        for edge in &edges {
            for band in span(edge) {
                filed[next[band] as usize] = *edge;
                next[band] += 1;
            }
        }
        area.starts = starts;
        area.edges = filed;
        area
    }

    /// The band of latitude `y` (monotonic in `y`; out-of-range and NaN clamp to the ends).
    fn band(&self, y: f64) -> usize {
        let last = self.starts.len() - 2;
        if self.band_height > 0.0 { (((y - self.south) / self.band_height) as usize).min(last) } else { 0 }
    }

    /// True when `p` is in the shape or on its boundary (PostGIS `ST_Covers`).
    pub fn covers(&self, p: [f64; 2]) -> bool {
        let band = self.band(p[1]);
        let (from, to) = (self.starts[band] as usize, self.starts[band + 1] as usize);
        let mut few = [0i32; 32];
        let mut many = Vec::new();
        let winding: &mut [i32] = if self.rings <= few.len() {
            &mut few[..self.rings]
        } else {
            many.resize(self.rings, 0);
            &mut many
        };
        for edge in &self.edges[from..to] {
            let w = &mut winding[edge.ring as usize];
            if *w == ON_BOUNDARY {
                continue;
            }
            match edge_step(edge.a, edge.b, p) {
                Some(step) => *w += step,
                None => *w = ON_BOUNDARY,
            }
        }
        let winding = &*winding;
        covers_by_rings(self.polygons.iter().map(|&(holes, _)| holes), |polygon, ring| {
            match winding[self.polygons[polygon].1 + ring] {
                ON_BOUNDARY => Ring::Boundary,
                0 => Ring::Outside,
                _ => Ring::Inside,
            }
        })
    }
}

/// Point in (multi)polygon with PostGIS `ST_Covers` semantics, decision for decision.
///
/// PostGIS answers `ST_Covers(polygon, point)` with a winding-number test whose side test
/// is plain double arithmetic compared with exactly zero (liblwgeom's `determineSide`,
/// `isOnSegment`, `point_in_multipolygon`). A robust predicate (as geo uses) would be
/// "more right" for points a rounding error from an edge, but then the index and the
/// database would disagree on exactly those points. The register's rule is that the index
/// answers as PostGIS does, so this follows its arithmetic: boundary points count as
/// covered, holes exclude their interior, zero-length segments are skipped.
pub fn covers_like_postgis(shape: &MultiPolygon<f64>, p: [f64; 2]) -> bool {
    let holes = shape.iter().map(|polygon| polygon.interiors().len());
    covers_by_rings(holes, |polygon, ring| {
        let polygon = &shape.0[polygon];
        point_in_ring(if ring == 0 { polygon.exterior() } else { &polygon.interiors()[ring - 1] }, p)
    })
}

fn point_in_ring(ring: &geo::LineString<f64>, p: [f64; 2]) -> Ring {
    winding_of(ring.0.windows(2).map(|s| (s[0], s[1])), p)
}

/// The same test on a ring kept open ([`Outline`]): its edges, then the closing one.
fn point_in_open_ring(ring: &[Coord<f64>], p: [f64; 2]) -> Ring {
    let closing = ring.last().zip(ring.first()).map(|(a, b)| (*a, *b));
    winding_of(ring.windows(2).map(|s| (s[0], s[1])).chain(closing), p)
}

fn winding_of(edges: impl Iterator<Item = (Coord<f64>, Coord<f64>)>, p: [f64; 2]) -> Ring {
    let mut winding = 0i32;
    for (a, b) in edges {
        match edge_step(a, b, p) {
            Some(step) => winding += step,
            None => return Ring::Boundary,
        }
    }
    if winding == 0 { Ring::Outside } else { Ring::Inside }
}

impl Outline {
    /// True when `p` is in the outline or on its boundary: [`covers_like_postgis`] on the
    /// multipolygon it was made from, decision for decision (same edges, same order).
    pub fn covers(&self, p: [f64; 2]) -> bool {
        let holes = (0..self.polygon_count()).map(|polygon| self.holes(polygon));
        covers_by_rings(holes, |polygon, ring| point_in_open_ring(self.ring(polygon, ring), p))
    }
}

/// The polygon rule, given each polygon's number of holes and the answer for ring `r` of
/// polygon `n` (`ring(n, r)`, 0 the exterior, then the holes): covered on any boundary
/// asked, or inside an exterior and outside all of its holes.
fn covers_by_rings(holes: impl Iterator<Item = usize>, mut ring: impl FnMut(usize, usize) -> Ring) -> bool {
    for (polygon, holes) in holes.enumerate() {
        match ring(polygon, 0) {
            Ring::Outside => continue,
            Ring::Boundary => return true,
            Ring::Inside => {}
        }
        let mut inside = true;
        for hole in 1..=holes {
            match ring(polygon, hole) {
                Ring::Inside => {
                    inside = false;
                    break;
                }
                Ring::Boundary => return true,
                Ring::Outside => {}
            }
        }
        if inside {
            return true;
        }
    }
    false
}

/// Where a point is relative to one ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ring {
    Outside,
    Boundary,
    Inside,
}

/// One edge's part in the winding number of `p`: `None` when `p` lies on the edge.
/// An edge adds something only when its latitude range holds `p`'s (what lets
/// [`BandedArea`] skip the others).
#[inline]
fn edge_step(a: geo::Coord<f64>, b: geo::Coord<f64>, p: [f64; 2]) -> Option<i32> {
    // An edge whose latitude range misses the point's neither crosses its ray nor carries
    // it: the answer below would be 0, without the products (most edges of a ring).
    if a == b || p[1] < a.y.min(b.y) || p[1] > a.y.max(b.y) {
        return Some(0);
    }
    // Same operand order as liblwgeom, so the rounding is the same.
    let side = (b.x - a.x) * (p[1] - a.y) - (p[0] - a.x) * (b.y - a.y);
    if side == 0.0 && a.x.max(b.x) >= p[0] && a.x.min(b.x) <= p[0] && a.y.max(b.y) >= p[1] && a.y.min(b.y) <= p[1] {
        return None;
    }
    Some(if a.y <= p[1] && p[1] < b.y && side > 0.0 {
        1
    } else if b.y <= p[1] && p[1] < a.y && side < 0.0 {
        -1
    } else {
        0
    })
}

impl std::fmt::Debug for BandedArea {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BandedArea")
            .field("rings", &self.rings)
            .field("bands", &(self.starts.len() - 1))
            .field("filed_edges", &self.edges.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Polygon};
    use proptest::prelude::RngExt;
    use proptest::test_runner::{RngAlgorithm, TestRng};

    /// A jagged star of `n` vertices around `centre`, radius between `r / 2` and `r`.
    fn star(random: &mut TestRng, centre: (f64, f64), r: f64, n: usize, clockwise: bool) -> LineString<f64> {
        let mut points: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                let angle = i as f64 / n as f64 * std::f64::consts::TAU;
                let radius = r * (0.5 + 0.5 * random.random::<f64>());
                (centre.0 + radius * angle.cos(), centre.1 + radius * angle.sin())
            })
            .collect();
        if clockwise {
            points.reverse();
        }
        points.push(points[0]);
        LineString::from(points)
    }

    #[test]
    fn answers_as_the_plain_test_everywhere() {
        // proptest's generator, seeded: the same points every run.
        let mut random = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
        let with_hole = Polygon::new(
            star(&mut random, (105.77, 10.03), 0.02, 3000, false),
            vec![star(&mut random, (105.77, 10.03), 0.004, 400, true)],
        );
        let island = Polygon::new(star(&mut random, (105.82, 10.05), 0.01, 500, false), vec![]);
        let square = Polygon::new(
            LineString::from(vec![(105.70, 10.0), (105.72, 10.0), (105.72, 10.02), (105.70, 10.02), (105.70, 10.0)]),
            vec![],
        );
        let shape = MultiPolygon(vec![with_hole, island, square]);
        let banded = BandedArea::new(&shape);
        let mut points: Vec<[f64; 2]> = (0..50_000)
            .map(|_| [105.68 + random.random::<f64>() * 0.16, 9.99 + random.random::<f64>() * 0.08])
            .collect();
        // Vertices, points on the square's edges, a vertical edge's end, and beyond the ends.
        points.extend(shape.iter().flat_map(|p| p.exterior().0.iter().take(200).map(|c| [c.x, c.y])));
        points.extend(shape.iter().flat_map(|p| p.interiors()[..].iter().flat_map(|h| h.0.iter().map(|c| [c.x, c.y]))));
        points.extend([
            [105.71, 10.0],
            [105.72, 10.01],
            [105.70, 10.02],
            [105.71, 10.07],
            [105.71, 9.9],
            [f64::NAN, 10.0],
        ]);
        let outline = Outline::from(&shape);
        let mut inside = 0;
        for p in &points {
            let expected = covers_like_postgis(&shape, *p);
            assert_eq!(banded.covers(*p), expected, "point {p:?}");
            assert_eq!(outline.covers(*p), expected, "outline, point {p:?}");
            inside += usize::from(expected);
        }
        assert!(inside > 5_000 && inside < points.len() - 5_000, "both answers exercised: {inside}");
    }

    /// liblwgeom's order of work, literally: the side first, then the range tests.
    fn edge_step_as_liblwgeom(a: Coord<f64>, b: Coord<f64>, p: [f64; 2]) -> Option<i32> {
        if a == b {
            return Some(0);
        }
        let side = (b.x - a.x) * (p[1] - a.y) - (p[0] - a.x) * (b.y - a.y);
        let on = a.x.max(b.x) >= p[0] && a.x.min(b.x) <= p[0] && a.y.max(b.y) >= p[1] && a.y.min(b.y) <= p[1];
        if side == 0.0 && on {
            return None;
        }
        Some(if a.y <= p[1] && p[1] < b.y && side > 0.0 {
            1
        } else if b.y <= p[1] && p[1] < a.y && side < 0.0 {
            -1
        } else {
            0
        })
    }

    #[test]
    fn skipping_edges_out_of_the_point_s_latitude_decides_as_liblwgeom() {
        let mut random = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
        // Small integers: many points on edges, on vertices and level with them.
        let mut grid = || random.random_range(0..6) as f64;
        for _ in 0..200_000 {
            let (a, b) = (Coord { x: grid(), y: grid() }, Coord { x: grid(), y: grid() });
            let p = [grid(), grid()];
            assert_eq!(edge_step(a, b, p), edge_step_as_liblwgeom(a, b, p), "{a:?} {b:?} {p:?}");
        }
        let nan = [f64::NAN, 1.0];
        let (a, b) = (Coord { x: 0.0, y: 0.0 }, Coord { x: 2.0, y: 2.0 });
        assert_eq!(edge_step(a, b, nan), edge_step_as_liblwgeom(a, b, nan));
        assert_eq!(edge_step(a, b, [1.0, f64::NAN]), edge_step_as_liblwgeom(a, b, [1.0, f64::NAN]));
    }

    #[test]
    fn boundary_hole_and_degenerate_shapes() {
        let outer = LineString::from(vec![(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0), (0.0, 0.0)]);
        let hole = LineString::from(vec![(1.0, 1.0), (1.0, 3.0), (3.0, 3.0), (3.0, 1.0), (1.0, 1.0)]);
        let shape = MultiPolygon(vec![Polygon::new(outer, vec![hole])]);
        let (banded, outline) = (BandedArea::new(&shape), Outline::from(&shape));
        for p in [[0.5, 0.5], [0.0, 2.0], [4.0, 4.0], [2.0, 0.0], [1.0, 2.0], [2.0, 2.0], [5.0, 2.0], [2.0, 4.5]] {
            assert_eq!(outline.covers(p), banded.covers(p), "outline at {p:?}");
        }
        assert!(banded.covers([0.5, 0.5]));
        assert!(banded.covers([0.0, 2.0]), "outer edge");
        assert!(banded.covers([4.0, 4.0]), "top vertex");
        assert!(banded.covers([2.0, 0.0]), "bottom edge");
        assert!(banded.covers([1.0, 2.0]), "hole edge is the polygon's boundary");
        assert!(!banded.covers([2.0, 2.0]), "inside the hole");
        assert!(!banded.covers([5.0, 2.0]));
        assert!(!banded.covers([2.0, 4.5]));
        assert!(!BandedArea::new(&MultiPolygon(vec![])).covers([0.0, 0.0]));
        assert!(!Outline::from(&MultiPolygon(vec![])).covers([0.0, 0.0]));
        let flat = LineString::from(vec![(0.0, 1.0), (2.0, 1.0), (0.0, 1.0)]);
        let flat = MultiPolygon(vec![Polygon::new(flat, vec![])]);
        for p in [[1.0, 1.0], [1.0, 2.0]] {
            assert_eq!(Outline::from(&flat).covers(p), covers_like_postgis(&flat, p), "flat outline at {p:?}");
        }
        let flat = BandedArea::new(&flat);
        assert!(flat.covers([1.0, 1.0]), "on a zero-height shape's edge, as PostGIS");
        assert!(!flat.covers([1.0, 2.0]));
    }
}
