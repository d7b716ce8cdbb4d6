//! A polygon outline stored flat, for the millions of lots the index holds.
//!
//! geo's `MultiPolygon` keeps a `Vec` of polygons, each with a `Vec` per ring: three
//! allocations and three dependent loads for a four-corner lot, ~180 bytes before the
//! corners. [`Outline`] keeps every ring's vertices in one allocation, rings open (the
//! closing point is implied), and the ring structure only when there is one to keep
//! (several polygons or holes, a few lots in a hundred). The coordinates are the same
//! doubles: answers from it are the answers from the `MultiPolygon` it was made from.

use geo::{Coord, LineString, MultiPolygon, Polygon, Rect};

/// Vertices of every ring, each without its closing point.
#[derive(Debug, Clone, PartialEq)]
pub struct Outline {
    points: Box<[Coord<f64>]>,
    /// `None`: one polygon of one ring (nearly every lot).
    layout: Option<Box<Layout>>,
}

#[derive(Debug, Clone, PartialEq)]
struct Layout {
    /// Where each ring ends in `points` (exclusive).
    ring_ends: Box<[u32]>,
    /// Each polygon's first ring (its exterior), then the number of rings.
    first_rings: Box<[u32]>,
}

impl Outline {
    /// Number of polygons.
    pub fn polygon_count(&self) -> usize {
        self.layout.as_ref().map_or(1, |l| l.first_rings.len() - 1)
    }

    /// Number of holes of polygon `polygon`.
    pub fn holes(&self, polygon: usize) -> usize {
        self.layout.as_ref().map_or(0, |l| (l.first_rings[polygon + 1] - l.first_rings[polygon]) as usize - 1)
    }

    /// Ring `ring` of polygon `polygon` (0 the exterior, then the holes), without its
    /// closing point.
    pub fn ring(&self, polygon: usize, ring: usize) -> &[Coord<f64>] {
        match &self.layout {
            None => &self.points,
            Some(layout) => {
                let r = layout.first_rings[polygon] as usize + ring;
                let start = if r == 0 { 0 } else { layout.ring_ends[r - 1] as usize };
                &self.points[start..layout.ring_ends[r] as usize]
            }
        }
    }

    /// The rings of polygon `polygon`, exterior first, each without its closing point.
    pub fn rings(&self, polygon: usize) -> impl Iterator<Item = &[Coord<f64>]> {
        (0..=self.holes(polygon)).map(move |ring| self.ring(polygon, ring))
    }

    /// Every vertex, closing points left out.
    pub fn coords(&self) -> &[Coord<f64>] {
        &self.points
    }

    /// The bounding box; `None` when there is no vertex.
    pub fn bounding_rect(&self) -> Option<Rect<f64>> {
        let first = *self.points.first()?;
        let (min, max) = self.points.iter().fold((first, first), |(min, max), c| {
            (Coord { x: min.x.min(c.x), y: min.y.min(c.y) }, Coord { x: max.x.max(c.x), y: max.y.max(c.y) })
        });
        Some(Rect::new(min, max))
    }

    /// The outline as geo's multipolygon, rings closed again.
    pub fn to_multi_polygon(&self) -> MultiPolygon<f64> {
        let closed = |ring: &[Coord<f64>]| LineString::new(ring.iter().chain(ring.first()).copied().collect());
        MultiPolygon(
            (0..self.polygon_count())
                .map(|p| {
                    let mut rings = self.rings(p).map(closed);
                    let exterior = rings.next().unwrap_or_else(|| LineString::new(Vec::new()));
                    Polygon::new(exterior, rings.collect())
                })
                .collect(),
        )
    }
}

impl From<&MultiPolygon<f64>> for Outline {
    fn from(shape: &MultiPolygon<f64>) -> Self {
        let mut points = Vec::with_capacity(shape.iter().map(|p| 1 + p.interiors().len()).sum::<usize>() * 4);
        let (mut ring_ends, mut first_rings) = (Vec::new(), Vec::with_capacity(shape.0.len() + 1));
        for polygon in shape {
            first_rings.push(to_u32(ring_ends.len()));
            for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                points.extend_from_slice(open(ring));
                ring_ends.push(to_u32(points.len()));
            }
        }
        first_rings.push(to_u32(ring_ends.len()));
        let simple = ring_ends.len() == 1 && first_rings.len() == 2;
        let layout = (!simple).then(|| {
            Box::new(Layout { ring_ends: ring_ends.into_boxed_slice(), first_rings: first_rings.into_boxed_slice() })
        });
        Self { points: points.into_boxed_slice(), layout }
    }
}

/// A closed ring without its closing point (an unclosed one as it is: the closing edge is
/// implied either way).
fn open(ring: &LineString<f64>) -> &[Coord<f64>] {
    match &ring.0[..] {
        [first, rest @ .., last] if first == last && !rest.is_empty() => &ring.0[..ring.0.len() - 1],
        all => all,
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).expect("an outline has fewer than 4 billion vertices")
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn multi() -> MultiPolygon<f64> {
        let holed = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 4.0), (x: 0.0, y: 4.0)],
            interiors: [[(x: 1.0, y: 1.0), (x: 1.0, y: 3.0), (x: 3.0, y: 3.0), (x: 3.0, y: 1.0)]],
        );
        let island = polygon![(x: 6.0, y: 0.0), (x: 7.0, y: 0.0), (x: 7.0, y: 1.0)];
        MultiPolygon(vec![holed, island])
    }

    #[test]
    fn reads_back_as_the_multipolygon_it_was_made_from() {
        for shape in [multi(), MultiPolygon(vec![multi().0[1].clone()]), MultiPolygon(vec![])] {
            let outline = Outline::from(&shape);
            assert_eq!(outline.to_multi_polygon(), shape);
            assert_eq!(outline.polygon_count(), shape.0.len());
        }
    }

    #[test]
    fn rings_are_open_and_in_order() {
        let outline = Outline::from(&multi());
        assert_eq!(outline.holes(0), 1);
        assert_eq!(outline.holes(1), 0);
        assert_eq!(outline.ring(0, 1)[0], Coord { x: 1.0, y: 1.0 });
        assert_eq!(outline.ring(0, 1).len(), 4, "closing point left out");
        assert_eq!(outline.rings(1).map(<[_]>::len).collect::<Vec<_>>(), [3]);
        assert_eq!(outline.coords().len(), 11);
        let r = outline.bounding_rect().expect("vertices");
        assert_eq!((r.min(), r.max()), (Coord { x: 0.0, y: 0.0 }, Coord { x: 7.0, y: 4.0 }));
        assert_eq!(Outline::from(&MultiPolygon(vec![])).bounding_rect(), None);
    }

    #[test]
    fn a_single_ring_keeps_no_layout() {
        let outline = Outline::from(&MultiPolygon(vec![multi().0[1].clone()]));
        assert!(outline.layout.is_none());
        assert_eq!(outline.ring(0, 0).len(), 3);
    }
}
