//! Spatial features as the index and the tiles see them: public fields only (owners
//! never leave the store) and geometry in lon/lat.

use crate::covers::BandedArea;
pub use crate::covers::covers_like_postgis;
use crate::outline::Outline;
use crate::{AsOf, Layer, PackedParcelId, PostcodeArea, UnitLevel};
use chrono::NaiveDate;
use geo::MultiPolygon;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// A live parcel: public fields only (owners never enter the index).
///
/// Laid out for millions in memory: the id inline, the ward and land-use texts shared
/// among the parcels that have the same ([`Interner`]), the outline flat.
#[derive(Debug, Clone, Serialize)]
pub struct ParcelFeature {
    /// Database id, also the tile feature id.
    pub id: i64,
    /// National parcel id.
    pub national_id: PackedParcelId,
    /// Ward of the survey.
    #[serde(serialize_with = "as_str")]
    pub ward_code: Arc<str>,
    /// Map sheet.
    pub sheet: i32,
    /// Parcel number.
    pub number: i32,
    /// Live version.
    pub version: i32,
    /// Land-use codes, main first.
    pub land_uses: LandUses,
    /// Legal area in m².
    pub legal_area_m2: f64,
    /// When this version came into force, Unix seconds: tiles of an earlier day leave it out.
    #[serde(skip)]
    pub valid_from: i64,
    /// The name of the road or waterway a DGT or SON parcel is, where the register gives it.
    #[serde(skip)]
    pub name: Option<Box<str>>,
    /// Outline, lon/lat.
    #[serde(skip)]
    pub outline: Outline,
}

impl ParcelFeature {
    /// In force at the instant `at` (Unix seconds) as a live version is: from its start
    /// (exclusive) on. Tiles and lookups of a past day both ask this of the live parcels.
    pub fn in_force_at(&self, at: i64) -> bool {
        self.valid_from < at
    }
}

fn as_str<S: serde::Serializer>(text: &Arc<str>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(text)
}

/// A parcel's land-use codes, main first; parcels with the same codes share one list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LandUses(Arc<[Box<str>]>);

impl LandUses {
    /// The main land use; "" when there is none.
    pub fn main(&self) -> &str {
        self.0.first().map_or("", |code| code)
    }
}

impl std::ops::Deref for LandUses {
    type Target = [Box<str>];
    fn deref(&self) -> &[Box<str>] {
        &self.0
    }
}

impl<S: AsRef<str>> FromIterator<S> for LandUses {
    fn from_iter<I: IntoIterator<Item = S>>(codes: I) -> Self {
        Self(codes.into_iter().map(|code| code.as_ref().into()).collect())
    }
}

impl Serialize for LandUses {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter())
    }
}

/// Shares the ward codes and land-use lists of parcels loaded together: a few dozen
/// distinct values among hundreds of thousands of lots.
#[derive(Debug, Default)]
pub struct Interner {
    wards: HashMap<String, Arc<str>>,
    land_uses: HashMap<Vec<String>, LandUses>,
}

impl Interner {
    /// The shared copy of a ward code.
    pub fn ward(&mut self, code: String) -> Arc<str> {
        if let Some(shared) = self.wards.get(&code) {
            return shared.clone();
        }
        let shared: Arc<str> = code.as_str().into();
        self.wards.insert(code, shared.clone());
        shared
    }

    /// The shared copy of a land-use list.
    pub fn land_uses(&mut self, codes: Vec<String>) -> LandUses {
        if let Some(shared) = self.land_uses.get(&codes) {
            return shared.clone();
        }
        let shared: LandUses = codes.iter().collect();
        self.land_uses.insert(codes, shared.clone());
        shared
    }
}

/// A parcel version that is no longer in force, kept so tiles can draw the register as it
/// stood on a past day.
#[derive(Debug, Clone)]
pub struct PastParcel {
    /// Database id of the version (one parcel has several past versions).
    pub version_id: i64,
    /// The version as it was drawn while in force.
    pub parcel: std::sync::Arc<ParcelFeature>,
    /// When it went out of force, Unix seconds.
    pub valid_to: i64,
}

impl PastParcel {
    /// In force at the instant `at` (Unix seconds), as the store's as-of queries decide:
    /// from its start (exclusive) up to and including its end.
    pub fn in_force_at(&self, at: i64) -> bool {
        self.parcel.in_force_at(at) && at <= self.valid_to
    }
}

/// A feature's JSON as an answer writes it, made once by the answer's writer on first use.
/// Units and flood zones are few and in nearly every lookup: their names are escaped once,
/// not per request. (Features never change in place: a change is a new feature, with an
/// empty slot.)
pub type AnswerJson = std::sync::OnceLock<Box<serde_json::value::RawValue>>;

/// An administrative unit with a polygon, valid during `[valid_from, valid_to)`.
#[derive(Debug, Clone, Serialize)]
pub struct UnitFeature {
    /// Database id.
    pub id: i64,
    /// GSO code.
    pub code: String,
    /// province, district or ward.
    pub level: UnitLevel,
    /// Full name.
    pub name: String,
    /// Postcode when known.
    pub postcode: Option<String>,
    /// First valid day (`None`: before our records).
    pub valid_from: Option<NaiveDate>,
    /// First day no longer valid.
    pub valid_to: Option<NaiveDate>,
    /// One of the 12 units diaba covers.
    pub in_service_area: bool,
    /// Outline, lon/lat.
    #[serde(skip)]
    pub shape: MultiPolygon<f64>,
    /// The area its postcode stands for, for Vpostcodes.
    #[serde(skip)]
    pub postcode_area: Option<PostcodeArea>,
    /// `shape` filed for point tests (a ward has thousands of vertices).
    #[serde(skip)]
    pub area: BandedArea,
    /// The unit as answers write it, made on first use.
    #[serde(skip)]
    pub answer_json: AnswerJson,
}

impl UnitFeature {
    /// Valid on that day.
    pub fn valid_on(&self, at: AsOf) -> bool {
        self.valid_from.is_none_or(|from| from <= at.date()) && self.valid_to.is_none_or(|to| at.date() < to)
    }
}

/// A flood-risk zone on the national 5-level scale.
#[derive(Debug, Clone, Serialize)]
pub struct FloodFeature {
    /// Database id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// 1 (low) to 5 (very high), QĐ 18/2021/QĐ-TTg.
    pub risk_level: i16,
    /// Scenario, e.g. tidal peak or a return period.
    pub scenario: String,
    /// Source; "synthetic-demo…" for demo zones.
    pub source: String,
    /// Outline, lon/lat.
    #[serde(skip)]
    pub shape: MultiPolygon<f64>,
    /// `shape` filed for point tests.
    #[serde(skip)]
    pub area: BandedArea,
    /// The zone as answers write it, made on first use.
    #[serde(skip)]
    pub answer_json: AnswerJson,
}

/// A verified household address (public fields only).
#[derive(Debug, Clone, Serialize)]
pub struct AddressFeature {
    /// Database id.
    pub id: i64,
    /// Vpostcode, display form.
    pub vpostcode: String,
    /// House number.
    pub house_number: Option<String>,
    /// Street.
    pub street: Option<String>,
    /// Hamlet (ấp / khu vực).
    pub hamlet: Option<String>,
    /// Ward.
    pub ward_code: String,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
}

/// Every feature of one layer, as loaded for the in-memory index.
#[derive(Debug, Clone)]
pub enum LayerFeatures {
    /// Administrative units with polygons.
    Units(Vec<UnitFeature>),
    /// Live parcels.
    Parcels(Vec<ParcelFeature>),
    /// Verified addresses.
    Addresses(Vec<AddressFeature>),
    /// Flood zones in force.
    FloodZones(Vec<FloodFeature>),
}

impl LayerFeatures {
    /// The layer these features belong to.
    pub fn layer(&self) -> Layer {
        match self {
            LayerFeatures::Units(_) => Layer::Units,
            LayerFeatures::Parcels(_) => Layer::Parcels,
            LayerFeatures::Addresses(_) => Layer::Addresses,
            LayerFeatures::FloodZones(_) => Layer::FloodZones,
        }
    }

    /// How many features there are.
    pub fn len(&self) -> usize {
        match self {
            LayerFeatures::Units(f) => f.len(),
            LayerFeatures::Parcels(f) => f.len(),
            LayerFeatures::Addresses(f) => f.len(),
            LayerFeatures::FloodZones(f) => f.len(),
        }
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One feature's current state, as the change feed asks the index to hold it.
#[derive(Debug, Clone)]
pub enum LayerFeature {
    /// An administrative unit (boxed: its outline and filed edges make it the largest).
    Unit(Box<UnitFeature>),
    /// A live parcel.
    Parcel(ParcelFeature),
    /// A verified address.
    Address(AddressFeature),
    /// A flood zone in force.
    FloodZone(FloodFeature),
}

/// The road or waterway named by the address of a road (DGT) or water (SON) parcel: its
/// first part, when that is a name rather than a house number or an administrative unit.
///
/// ```
/// use diaba_core::spatial::road_or_water_name;
/// assert_eq!(road_or_water_name("Đường Lý Tự Trọng, Phường Ninh Kiều").as_deref(), Some("Đường Lý Tự Trọng"));
/// assert_eq!(road_or_water_name("Rạch Cái Khế").as_deref(), Some("Rạch Cái Khế"));
/// assert_eq!(road_or_water_name("Số 12, Đường 30/4, Phường Ninh Kiều"), None);
/// assert_eq!(road_or_water_name("Phường Cái Răng"), None);
/// assert_eq!(road_or_water_name("  "), None);
/// ```
pub fn road_or_water_name(address: &str) -> Option<Box<str>> {
    const NOT_A_NAME: [&str; 9] = ["số ", "phường ", "xã ", "thị trấn ", "ấp ", "khu vực ", "tổ ", "thành phố ", "tp."];
    let first = address.split(',').next()?.trim();
    let lower = first.to_lowercase();
    let named = !first.is_empty()
        && !first.starts_with(|c: char| c.is_ascii_digit())
        && !NOT_A_NAME.iter().any(|prefix| lower.starts_with(prefix));
    named.then(|| first.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Polygon};

    fn square_with_hole() -> MultiPolygon<f64> {
        let outer = LineString::from(vec![(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0), (0.0, 0.0)]);
        let hole = LineString::from(vec![(1.0, 1.0), (1.0, 3.0), (3.0, 3.0), (3.0, 1.0), (1.0, 1.0)]);
        MultiPolygon(vec![Polygon::new(outer, vec![hole])])
    }

    #[test]
    fn a_parcel_stays_small_in_memory() {
        // The index holds millions (bench/results/scale.md: ~300 bytes each with the R-tree
        // leaf and the outline's vertices); a field that grows this is a decision to take
        // with that bench, not by accident.
        let size = std::mem::size_of::<ParcelFeature>();
        assert!(size <= 120, "ParcelFeature takes {size} bytes");
        assert_eq!(std::mem::size_of::<Outline>(), 24, "vertices and an optional ring layout");
    }

    #[test]
    fn inside_boundary_hole_and_outside() {
        let shape = square_with_hole();
        assert!(covers_like_postgis(&shape, [0.5, 0.5]));
        assert!(covers_like_postgis(&shape, [0.0, 2.0]), "outer edge");
        assert!(covers_like_postgis(&shape, [4.0, 4.0]), "vertex");
        assert!(covers_like_postgis(&shape, [1.0, 2.0]), "hole edge is the polygon's boundary");
        assert!(!covers_like_postgis(&shape, [2.0, 2.0]), "inside the hole");
        assert!(!covers_like_postgis(&shape, [5.0, 2.0]));
    }
}
