//! The features of each layer and the [`Index`] that holds the layers.

use crate::layer::{Feature, Layer};
use chrono::NaiveDate;
use diaba_core::{AsOf, PostcodeArea};
use geo::{BoundingRect, Intersects, MultiPolygon, Point};
use rstar::AABB;
use serde::Serialize;

fn envelope_of(shape: &MultiPolygon<f64>) -> AABB<[f64; 2]> {
    shape
        .bounding_rect()
        .map(|r| AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]))
        .unwrap_or_else(|| AABB::from_point([f64::NAN, f64::NAN]))
}

/// A live parcel: public fields only (owners never enter the index).
#[derive(Debug, Clone, Serialize)]
pub struct ParcelFeature {
    /// Database id, also the tile feature id.
    pub id: i64,
    /// National parcel id.
    pub national_id: String,
    /// Ward of the survey.
    pub ward_code: String,
    /// Map sheet.
    pub sheet: i32,
    /// Parcel number.
    pub number: i32,
    /// Live version.
    pub version: i32,
    /// Land-use codes, main first.
    pub land_uses: Vec<String>,
    /// Legal area in m².
    pub legal_area_m2: f64,
    /// Outline, lon/lat.
    #[serde(skip)]
    pub shape: MultiPolygon<f64>,
}

impl Feature for ParcelFeature {
    fn id(&self) -> i64 {
        self.id
    }
    fn envelope(&self) -> AABB<[f64; 2]> {
        envelope_of(&self.shape)
    }
    fn covers(&self, p: [f64; 2]) -> bool {
        self.shape.intersects(&Point::new(p[0], p[1]))
    }
}

/// An administrative unit with a polygon, valid during `[valid_from, valid_to)`.
#[derive(Debug, Clone, Serialize)]
pub struct UnitFeature {
    /// Database id.
    pub id: i64,
    /// GSO code.
    pub code: String,
    /// province, district or ward.
    pub level: String,
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
}

impl UnitFeature {
    /// Valid on that day.
    pub fn valid_on(&self, at: AsOf) -> bool {
        self.valid_from.is_none_or(|from| from <= at.date()) && self.valid_to.is_none_or(|to| at.date() < to)
    }
}

impl Feature for UnitFeature {
    fn id(&self) -> i64 {
        self.id
    }
    fn envelope(&self) -> AABB<[f64; 2]> {
        envelope_of(&self.shape)
    }
    fn covers(&self, p: [f64; 2]) -> bool {
        self.shape.intersects(&Point::new(p[0], p[1]))
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
}

impl Feature for FloodFeature {
    fn id(&self) -> i64 {
        self.id
    }
    fn envelope(&self) -> AABB<[f64; 2]> {
        envelope_of(&self.shape)
    }
    fn covers(&self, p: [f64; 2]) -> bool {
        self.shape.intersects(&Point::new(p[0], p[1]))
    }
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

/// All layers.
pub struct Index {
    /// Administrative units with polygons (current and historical).
    pub units: Layer<UnitFeature>,
    /// Live parcels.
    pub parcels: Layer<ParcelFeature>,
    /// Flood zones in force.
    pub flood: Layer<FloodFeature>,
    /// Verified household addresses.
    pub addresses: Layer<AddressFeature>,
}

/// Metres per degree of latitude (WGS84 mean, good to 0.5 % at Cần Thơ).
const METRES_PER_DEGREE: f64 = 110_600.0;

impl Index {
    /// An index over loaded layers.
    pub fn new(units: Vec<UnitFeature>, parcels: Vec<ParcelFeature>, flood: Vec<FloodFeature>, addresses: Vec<AddressFeature>) -> Self {
        Self { units: Layer::new(units), parcels: Layer::new(parcels), flood: Layer::new(flood), addresses: Layer::new(addresses) }
    }

    /// Units covering a point valid on a day, province first.
    pub fn units_at(&self, p: [f64; 2], at: AsOf) -> Vec<std::sync::Arc<UnitFeature>> {
        let mut units: Vec<_> = self.units.covering(p).into_iter().filter(|u| u.valid_on(at)).collect();
        let rank = |level: &str| match level {
            "province" => 0,
            "district" => 1,
            _ => 2,
        };
        units.sort_by_key(|u| (rank(&u.level), u.id));
        units
    }

    /// The live parcel covering a point; on a shared edge, the lowest id (as the tie-break
    /// of the PostGIS reference query).
    pub fn parcel_at(&self, p: [f64; 2]) -> Option<std::sync::Arc<ParcelFeature>> {
        self.parcels.covering(p).into_iter().next()
    }

    /// The nearest address within `radius_m` metres, with its distance.
    pub fn nearest_address(&self, p: [f64; 2], radius_m: f64) -> Option<(std::sync::Arc<AddressFeature>, f64)> {
        let lon_scale = p[1].to_radians().cos();
        let dlat = radius_m / METRES_PER_DEGREE;
        let dlon = dlat / lon_scale.max(0.01);
        let envelope = AABB::from_corners([p[0] - dlon, p[1] - dlat], [p[0] + dlon, p[1] + dlat]);
        self.addresses
            .in_envelope(&envelope)
            .into_iter()
            .map(|a| {
                let dx = (a.lon - p[0]) * lon_scale * METRES_PER_DEGREE;
                let dy = (a.lat - p[1]) * METRES_PER_DEGREE;
                (a, dx.hypot(dy))
            })
            .filter(|(_, d)| *d <= radius_m)
            .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.id.cmp(&b.0.id)))
    }
}
