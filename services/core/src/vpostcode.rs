//! Vpostcode-style household codes (DESIGN §5): `94107 9QCJ+2VX`.
//!
//! 5-digit postcode of the unit containing the point, then the 7 significant characters
//! of the point's 11-digit Open Location Code after its first 4 (the 1°×1° square, which
//! the postcode's area implies). The cell is about 2.8 m × 3.5 m.

use crate::LonLat;
use crate::covers::BandedArea;
use crate::olc;
use geo::{BoundingRect, Intersects, MultiPolygon, Point, Rect};
use std::collections::HashMap;
use std::fmt;

const CODE_DIGITS: usize = 11;
const DROPPED: usize = 4;
const LOCAL_CHARS: usize = CODE_DIGITS - DROPPED;

/// What can be wrong with a code or a location, in words a field worker understands.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VpostcodeError {
    /// The text is not shaped like a code.
    #[error("{input:?} is not an address code: {reason}. A code looks like 94107 9QCJ+2VX")]
    Malformed {
        /// the text as received (truncated)
        input: String,
        /// what is wrong with it
        reason: &'static str,
    },
    /// The first five digits are not a postcode diaba knows.
    #[error("postcode {postcode} is not one of Cần Thơ's postcodes known to diaba")]
    UnknownPostcode {
        /// the postcode
        postcode: String,
    },
    /// The location the code names is not in its postcode's area.
    #[error(
        "{code}: the location it names is not in postcode {postcode} ({unit}); \
         the first five digits do not match the rest, check them"
    )]
    OutsideArea {
        /// the code, displayed
        code: String,
        /// its postcode
        postcode: String,
        /// the unit of that postcode
        unit: String,
    },
    /// The point to encode is in no postcode area.
    #[error("lat {lat}, lon {lon} is outside every postcode area diaba covers")]
    NoArea {
        /// latitude
        lat: f64,
        /// longitude
        lon: f64,
    },
}

/// A 5-digit Vietnamese postcode (Vietnam Post / QĐ 2334/QĐ-BKHCN), e.g. `94119`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Postcode(String);

impl Postcode {
    /// Accepts exactly five ASCII digits.
    ///
    /// ```
    /// use diaba_core::Postcode;
    /// assert!(Postcode::parse("94119").is_ok());
    /// assert!(Postcode::parse("941").is_err() && Postcode::parse("9411x").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, VpostcodeError> {
        let text = text.trim();
        if text.len() == 5 && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(text.to_owned()))
        } else {
            Err(VpostcodeError::Malformed {
                input: text.chars().take(32).collect(),
                reason: "a postcode is five digits",
            })
        }
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Postcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Vpostcode-style code, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Vpostcode {
    postcode: Postcode,
    /// The 7 OLC characters, upper case, without "+".
    local: String,
}

impl Vpostcode {
    /// Reads a code written any usual way: with or without the space and the "+", any case.
    ///
    /// ```
    /// use diaba_core::Vpostcode;
    /// let code = Vpostcode::parse("94107 9qcj+2vx").unwrap();
    /// assert_eq!(code.to_string(), "94107 9QCJ+2VX");
    /// assert_eq!(Vpostcode::parse("941079QCJ2VX").unwrap(), code);
    /// assert!(Vpostcode::parse("94107 9QCJ+2V").is_err()); // too short
    /// assert!(Vpostcode::parse("94107 9QCJ+2VA").is_err()); // A is not an OLC character
    /// assert!(Vpostcode::parse("94107 9QC0+2VX").is_err()); // no padding in a full-precision code
    /// ```
    pub fn parse(text: &str) -> Result<Self, VpostcodeError> {
        let malformed = |reason| VpostcodeError::Malformed { input: text.chars().take(40).collect(), reason };
        let compact: String = text.chars().filter(|c| !c.is_whitespace() && *c != '+').collect();
        if !compact.is_ascii() {
            return Err(malformed("it may only contain digits and the letters 23456789CFGHJMPQRVWX"));
        }
        if compact.len() != 5 + LOCAL_CHARS {
            return Err(malformed("it has 12 characters: 5 postcode digits and 7 location characters"));
        }
        let (postcode, local) = compact.split_at(5);
        let postcode = Postcode::parse(postcode).map_err(|_| malformed("the first five characters must be digits"))?;
        let local = local.to_ascii_uppercase();
        if !olc::is_valid(&format!("{}+{}", &local[..4], &local[4..])) || local.contains('0') {
            return Err(malformed("the last seven characters are not a location code (letters 23456789CFGHJMPQRVWX)"));
        }
        Ok(Self { postcode, local })
    }

    /// The postcode part.
    pub fn postcode(&self) -> &Postcode {
        &self.postcode
    }

    /// Compact form for storage and URLs: `941079QCJ2VX`.
    pub fn compact(&self) -> String {
        format!("{}{}", self.postcode, self.local)
    }

    /// The OLC short code part, e.g. `9QCJ+2VX`.
    pub fn short_code(&self) -> String {
        format!("{}+{}", &self.local[..4], &self.local[4..])
    }

    /// Encodes `point`, which must lie in `area` (boundary included).
    pub fn encode(point: LonLat, area: &PostcodeArea) -> Result<Self, VpostcodeError> {
        if !area.covers(point) {
            return Err(VpostcodeError::NoArea { lat: point.lat(), lon: point.lon() });
        }
        let full = olc::encode(point.lat(), point.lon(), CODE_DIGITS).expect("11 digits is a valid length");
        let local: String = full.chars().filter(|c| *c != '+').skip(DROPPED).collect();
        Ok(Self { postcode: area.postcode.clone(), local })
    }

    /// Recovers the cell from `area`'s reference point and checks it lies in that area.
    ///
    /// The check is on the cell, not its centre: a point encoded 1 m inside the boundary
    /// has a cell centre that may fall just outside, and that code is still right.
    pub fn decode(&self, area: &PostcodeArea) -> Result<olc::CodeArea, VpostcodeError> {
        let reference = area.reference;
        let full = olc::recover_nearest(&self.short_code(), reference.lat(), reference.lon())
            .expect("a parsed code is a valid short code and the reference is finite");
        let cell = olc::decode(&full).expect("a recovered code is a full code");
        let rect =
            Rect::new(geo::coord! { x: cell.lng_lo, y: cell.lat_lo }, geo::coord! { x: cell.lng_hi, y: cell.lat_hi });
        if area.bounds.intersects(&rect) && area.shape.intersects(&rect) {
            Ok(cell)
        } else {
            Err(VpostcodeError::OutsideArea {
                code: self.to_string(),
                postcode: self.postcode.to_string(),
                unit: area.unit_name.clone(),
            })
        }
    }
}

impl fmt::Display for Vpostcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}+{}", self.postcode, &self.local[..4], &self.local[4..])
    }
}

/// The area a postcode stands for, in one era.
#[derive(Debug, Clone)]
pub struct PostcodeArea {
    postcode: Postcode,
    unit_code: String,
    unit_name: String,
    current: bool,
    shape: MultiPolygon<f64>,
    /// `shape` filed for point tests (thousands of vertices).
    area: BandedArea,
    /// Cheap rejection before the exact test.
    bounds: Rect<f64>,
    reference: LonLat,
}

impl PostcodeArea {
    /// An area with its unit. `current` areas are used to encode; all are used to decode
    /// (codes made before the 2025 reform stay readable).
    pub fn new(
        postcode: Postcode,
        unit_code: impl Into<String>,
        unit_name: impl Into<String>,
        current: bool,
        shape: MultiPolygon<f64>,
    ) -> Option<Self> {
        let inside = crate::interior::interior_point(&shape)?;
        let reference = LonLat::new(inside.x, inside.y).ok()?;
        let bounds = shape.bounding_rect()?;
        Some(Self {
            postcode,
            unit_code: unit_code.into(),
            unit_name: unit_name.into(),
            current,
            area: BandedArea::new(&shape),
            shape,
            bounds,
            reference,
        })
    }

    /// True when the point is in the area, boundary included.
    pub fn covers(&self, point: LonLat) -> bool {
        let p = Point::new(point.lon(), point.lat());
        self.bounds.intersects(&p) && self.area.covers([point.lon(), point.lat()])
    }

    /// The postcode.
    pub fn postcode(&self) -> &Postcode {
        &self.postcode
    }

    /// GSO code of the unit.
    pub fn unit_code(&self) -> &str {
        &self.unit_code
    }

    /// Name of the unit.
    pub fn unit_name(&self) -> &str {
        &self.unit_name
    }

    /// Whether the unit is valid today.
    pub fn is_current(&self) -> bool {
        self.current
    }

    /// The area's polygons (lon/lat).
    pub fn shape(&self) -> &MultiPolygon<f64> {
        &self.shape
    }
}

/// Every postcode area diaba knows, current and historical.
#[derive(Debug, Clone, Default)]
pub struct PostcodeTable {
    areas: HashMap<Postcode, Vec<PostcodeArea>>,
}

/// A decoded code: its cell and the area that vouched for it.
#[derive(Debug, Clone)]
pub struct Decoded<'a> {
    /// The ≈3 m cell.
    pub cell: olc::CodeArea,
    /// The postcode area the cell lies in.
    pub area: &'a PostcodeArea,
}

impl PostcodeTable {
    /// Adds an area; current areas are tried first when decoding.
    pub fn insert(&mut self, area: PostcodeArea) {
        let list = self.areas.entry(area.postcode.clone()).or_default();
        list.push(area);
        list.sort_by_key(|a| !a.current);
    }

    /// Adds an area if there is one (see [`PostcodeArea::new`]).
    pub fn extend(&mut self, area: Option<PostcodeArea>) {
        if let Some(area) = area {
            self.insert(area);
        }
    }

    /// The current area containing a point.
    pub fn area_containing(&self, point: LonLat) -> Option<&PostcodeArea> {
        self.areas.values().flatten().filter(|a| a.current).find(|a| a.covers(point))
    }

    /// The current area of a unit, by its code.
    pub fn current_area_of(&self, unit_code: &str) -> Option<&PostcodeArea> {
        self.areas.values().flatten().find(|a| a.current && a.unit_code() == unit_code)
    }

    /// Encodes a point with the postcode of the current unit containing it.
    pub fn encode(&self, point: LonLat) -> Result<Vpostcode, VpostcodeError> {
        let area = self.area_containing(point).ok_or(VpostcodeError::NoArea { lat: point.lat(), lon: point.lon() })?;
        Vpostcode::encode(point, area)
    }

    /// Decodes a code against its postcode's areas (current first, then historical).
    pub fn decode(&self, code: &Vpostcode) -> Result<Decoded<'_>, VpostcodeError> {
        let areas = self
            .areas
            .get(code.postcode())
            .ok_or_else(|| VpostcodeError::UnknownPostcode { postcode: code.postcode().to_string() })?;
        let mut first_error = None;
        for area in areas {
            match code.decode(area) {
                Ok(cell) => return Ok(Decoded { cell, area }),
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        Err(first_error.expect("a postcode in the table has at least one area"))
    }

    /// Number of areas.
    pub fn len(&self) -> usize {
        self.areas.values().map(Vec::len).sum()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn square_area(postcode: &str, lon: f64, lat: f64, size: f64) -> PostcodeArea {
        let shape = MultiPolygon(vec![polygon![
            (x: lon, y: lat), (x: lon + size, y: lat), (x: lon + size, y: lat + size), (x: lon, y: lat + size), (x: lon, y: lat)
        ]]);
        PostcodeArea::new(Postcode::parse(postcode).unwrap(), "00000", "test area (synthetic)", true, shape).unwrap()
    }

    #[test]
    fn encode_then_decode_lands_in_the_same_cell() {
        let area = square_area("94119", 105.77, 10.02, 0.03);
        let point = LonLat::new(105.7830, 10.0325).unwrap();
        let code = Vpostcode::encode(point, &area).unwrap();
        assert!(code.to_string().starts_with("94119 "));
        let cell = code.decode(&area).unwrap();
        assert!(cell.contains(point.lat(), point.lon()), "{cell}");
    }

    #[test]
    fn a_code_under_a_wrong_postcode_is_rejected_with_the_reason() {
        let home = square_area("94119", 105.77, 10.02, 0.03);
        let elsewhere = square_area("94811", 105.60, 9.95, 0.03);
        let code = Vpostcode::encode(LonLat::new(105.7830, 10.0325).unwrap(), &home).unwrap();
        let forged = Vpostcode::parse(&format!("94811{}", code.short_code())).unwrap();
        let error = forged.decode(&elsewhere).unwrap_err();
        assert!(matches!(error, VpostcodeError::OutsideArea { .. }));
        assert!(error.to_string().contains("94811"));
    }

    #[test]
    fn unknown_postcodes_are_named() {
        let mut table = PostcodeTable::default();
        table.insert(square_area("94119", 105.77, 10.02, 0.03));
        let code = Vpostcode::parse("10000 9QCJ+2VX").unwrap();
        assert_eq!(table.decode(&code).unwrap_err(), VpostcodeError::UnknownPostcode { postcode: "10000".into() });
    }

    #[test]
    fn points_outside_every_area_cannot_be_encoded() {
        let mut table = PostcodeTable::default();
        table.insert(square_area("94119", 105.77, 10.02, 0.03));
        assert!(matches!(table.encode(LonLat::new(105.0, 21.0).unwrap()), Err(VpostcodeError::NoArea { .. })));
    }
}
