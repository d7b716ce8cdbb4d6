//! The national parcel id (DESIGN §4): a 12-character GeoHash of a point inside the parcel.
//!
//! The point is the pole of inaccessibility (the interior point farthest from the edges),
//! never the centroid, which falls outside L-shaped, crescent or hollow parcels. A
//! 12-character GeoHash cell is about 3.7 cm × 1.9 cm, so the decoded centre of the cell is
//! still inside any parcel wider than a few centimetres; encoding checks that it is.

use crate::LonLat;
use geo::{Area, BoundingRect, Contains, MultiPolygon, Point, Polygon};
use std::fmt;

const LENGTH: usize = 12;
const ALPHABET: &str = "0123456789bcdefghjkmnpqrstuvwxyz";
/// Search tolerance of the pole of inaccessibility, as a fraction of the polygon's
/// narrower side. A fixed tolerance makes polylabel crawl along the whole centre line of
/// long strips (every point on it is equally far from the edges); 1/64 of the width keeps
/// the point well inside at a bounded cost.
const TOLERANCE_FRACTION: f64 = 1.0 / 64.0;

/// Why a parcel id cannot be made or read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParcelIdError {
    /// The text is not a 12-character GeoHash.
    #[error("{input:?} is not a national parcel id: 12 characters from 0-9 and b-z without a, i, l, o")]
    Malformed {
        /// the input (truncated)
        input: String,
    },
    /// The polygon has no area or is too thin to hold its own id point.
    #[error("the parcel polygon is empty or too thin (under a few cm) to carry an id point")]
    Degenerate,
}

/// A national parcel id, e.g. `w6w2b5h0s3kq`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct NationalParcelId(String);

impl NationalParcelId {
    /// Issues the id of a lon/lat parcel polygon.
    ///
    /// ```
    /// use diaba_core::NationalParcelId;
    /// use geo::{Contains, MultiPolygon, Point, polygon};
    /// // An L-shaped lot whose centroid lies outside it.
    /// let lot = MultiPolygon(vec![polygon![
    ///     (x: 105.780, y: 10.030), (x: 105.781, y: 10.030), (x: 105.781, y: 10.0302),
    ///     (x: 105.7802, y: 10.0302), (x: 105.7802, y: 10.031), (x: 105.780, y: 10.031),
    /// ]]);
    /// let id = NationalParcelId::for_parcel(&lot).unwrap();
    /// let p = id.point();
    /// assert!(lot.contains(&Point::new(p.lon(), p.lat())));
    /// ```
    pub fn for_parcel(parcel: &MultiPolygon<f64>) -> Result<Self, ParcelIdError> {
        let largest: &Polygon<f64> = parcel
            .iter()
            .max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()))
            .ok_or(ParcelIdError::Degenerate)?;
        let bounds = largest.bounding_rect().ok_or(ParcelIdError::Degenerate)?;
        let tolerance = (bounds.width().min(bounds.height()) * TOLERANCE_FRACTION).max(1e-12);
        let pole = polylabel::polylabel(largest, &tolerance).map_err(|_| ParcelIdError::Degenerate)?;
        let hash = geohash::encode(pole.into(), LENGTH).map_err(|_| ParcelIdError::Degenerate)?;
        let id = Self(hash);
        let check = id.point();
        if parcel.contains(&Point::new(check.lon(), check.lat())) { Ok(id) } else { Err(ParcelIdError::Degenerate) }
    }

    /// The id, then fallbacks from other interior points, for when a cell was already
    /// issued (ids are never reused: a split child may share its parent's pole).
    pub fn candidates(parcel: &MultiPolygon<f64>) -> Vec<Self> {
        let mut out: Vec<Self> = Self::for_parcel(parcel).into_iter().collect();
        let Some(bounds) = parcel.bounding_rect() else { return out };
        let mut points: Vec<Point<f64>> =
            crate::interior::interior_point(parcel).map(Point::from).into_iter().collect();
        for (fx, fy) in [(0.25, 0.5), (0.75, 0.5), (0.5, 0.25), (0.5, 0.75), (0.3, 0.3), (0.7, 0.7)] {
            points.push(Point::new(bounds.min().x + fx * bounds.width(), bounds.min().y + fy * bounds.height()));
        }
        for point in points {
            if let Ok(hash) = geohash::encode(point.0, LENGTH) {
                let id = Self(hash);
                let centre = id.point();
                if parcel.contains(&Point::new(centre.lon(), centre.lat())) && !out.contains(&id) {
                    out.push(id);
                }
            }
        }
        out
    }

    /// Reads an id, in either case.
    ///
    /// ```
    /// use diaba_core::NationalParcelId;
    /// assert!(NationalParcelId::parse("w6w2b5h0s3kq").is_ok());
    /// assert!(NationalParcelId::parse("w6w2b5h0s3k").is_err()); // 11 characters
    /// assert!(NationalParcelId::parse("w6w2b5h0s3ka").is_err()); // 'a' is not GeoHash
    /// ```
    pub fn parse(text: &str) -> Result<Self, ParcelIdError> {
        let text = text.trim().to_ascii_lowercase();
        if text.len() == LENGTH && text.chars().all(|c| ALPHABET.contains(c)) {
            Ok(Self(text))
        } else {
            Err(ParcelIdError::Malformed { input: text.chars().take(32).collect() })
        }
    }

    /// The centre of the id's GeoHash cell: a point inside the parcel.
    pub fn point(&self) -> LonLat {
        let (center, _, _) = geohash::decode(&self.0).expect("a parsed id is a valid GeoHash");
        LonLat::new(center.x, center.y).expect("a GeoHash centre is a valid position")
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NationalParcelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A national parcel id as the index holds it: its 12 ASCII bytes inline, no allocation
/// (one per live parcel; the register's column is 12 characters long by constraint).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PackedParcelId([u8; LENGTH]);

impl PackedParcelId {
    /// The id's bytes, when it is 12 ASCII characters.
    ///
    /// ```
    /// use diaba_core::PackedParcelId;
    /// assert_eq!(PackedParcelId::new("w6w2b5h0s3kq").unwrap().as_str(), "w6w2b5h0s3kq");
    /// assert!(PackedParcelId::new("w6w2b5h0s3k").is_none());
    /// assert!(PackedParcelId::new("w6w2b5h0s3kư").is_none());
    /// ```
    pub fn new(text: &str) -> Option<Self> {
        let bytes: [u8; LENGTH] = text.as_bytes().try_into().ok()?;
        bytes.is_ascii().then_some(Self(bytes))
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII by construction")
    }
}

impl std::ops::Deref for PackedParcelId {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for PackedParcelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for PackedParcelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl serde::Serialize for PackedParcelId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Centroid, LineString, polygon};

    #[test]
    fn a_holed_parcel_gets_a_point_in_its_ring_not_in_the_hole() {
        let outer = LineString::from(vec![
            (105.78, 10.03),
            (105.781, 10.03),
            (105.781, 10.031),
            (105.78, 10.031),
            (105.78, 10.03),
        ]);
        let hole = LineString::from(vec![
            (105.7802, 10.0302),
            (105.7808, 10.0302),
            (105.7808, 10.0308),
            (105.7802, 10.0308),
            (105.7802, 10.0302),
        ]);
        let parcel = MultiPolygon(vec![Polygon::new(outer, vec![hole])]);
        let centroid = parcel.centroid().unwrap();
        assert!(!parcel.contains(&centroid), "the test needs a centroid outside the parcel");
        let p = NationalParcelId::for_parcel(&parcel).unwrap().point();
        assert!(parcel.contains(&Point::new(p.lon(), p.lat())));
    }

    #[test]
    fn a_crescent_gets_a_point_inside() {
        let crescent = MultiPolygon(vec![polygon![
            (x: 105.780, y: 10.030), (x: 105.782, y: 10.030), (x: 105.782, y: 10.0303),
            (x: 105.7803, y: 10.0303), (x: 105.7803, y: 10.0317), (x: 105.782, y: 10.0317),
            (x: 105.782, y: 10.032), (x: 105.780, y: 10.032),
        ]]);
        let p = NationalParcelId::for_parcel(&crescent).unwrap().point();
        assert!(crescent.contains(&Point::new(p.lon(), p.lat())));
    }

    #[test]
    fn an_empty_parcel_has_no_id() {
        assert_eq!(NationalParcelId::for_parcel(&MultiPolygon(vec![])), Err(ParcelIdError::Degenerate));
    }
}
