//! WGS84 ↔ VN-2000 / TM-3, with the datum shift pinned to Decision 05/2007/QĐ-BTNMT.
//!
//! Cần Thơ's cadastre uses VN-2000 / TM-3 zone 482 (central meridian 105°00′, EPSG:5897);
//! former Sóc Trăng data uses 105°30′ (EPSG:9209). Two traps (DESIGN §2):
//! - PROJ's `+towgs84` takes position-vector rotations, the opposite signs of the
//!   coordinate-frame rotations published for EPSG:6960. The values below are already in
//!   PROJ's convention: rX = +0.00928836″ here is −0.00928836″ in the decision.
//! - Asking PROJ for `EPSG:4326 → EPSG:5897` may pick EPSG:5194 (≈0.8 m off). We never ask
//!   by code: both ends are explicit PROJ strings, so the transformation is this one.

use crate::LonLat;
use geo::{Area, MapCoords, MultiPolygon};
use proj::Proj;
use std::fmt;

/// The official VN-2000 → WGS84 Helmert parameters (EPSG:6960) in PROJ's sign convention.
pub const VN2000_TOWGS84: &str =
    "-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278";
const WGS84: &str = "+proj=longlat +datum=WGS84 +no_defs +type=crs";

/// A transverse-Mercator grid of VN-2000 (false easting 500 000 m): a TM-3 zone of the
/// cadastre (scale 0.9999) or, for the small-scale maps, a UTM zone (scale 0.9996).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tm3Zone {
    central_meridian: f64,
    scale: f64,
}

/// The scale factor of a TM-3 zone.
pub const TM3_SCALE: f64 = 0.9999;
/// The scale factor of a UTM zone.
pub const UTM_SCALE: f64 = 0.9996;

impl Tm3Zone {
    /// Zone 482, central meridian 105°00′: Cần Thơ's cadastral projection (EPSG:5897).
    pub const CAN_THO: Tm3Zone = Tm3Zone { central_meridian: 105.0, scale: TM3_SCALE };
    /// Central meridian 105°30′: former Sóc Trăng (EPSG:9209).
    pub const SOC_TRANG: Tm3Zone = Tm3Zone { central_meridian: 105.5, scale: TM3_SCALE };

    /// VN-2000 / UTM on central meridian 99° (zone 47N), 105° (48N, EPSG:3405) or 111°
    /// (49N, EPSG:3406): the zones Vietnam spans.
    pub fn utm(central_meridian: f64) -> Result<Self, CrsError> {
        if [99.0, 105.0, 111.0].contains(&central_meridian) {
            Ok(Self { central_meridian, scale: UTM_SCALE })
        } else {
            Err(CrsError::Zone { central_meridian })
        }
    }

    /// Whether this is a UTM zone (else a TM-3 zone).
    pub fn is_utm(&self) -> bool {
        self.scale == UTM_SCALE
    }

    /// A zone by its central meridian in degrees (TM-3 meridians are multiples of 0.25°
    /// within Vietnam, 102° to 109°).
    pub fn with_meridian(central_meridian: f64) -> Result<Self, CrsError> {
        let on_grid = (central_meridian * 4.0).fract() == 0.0;
        if central_meridian.is_finite() && on_grid && (102.0..=109.5).contains(&central_meridian) {
            Ok(Self { central_meridian, scale: TM3_SCALE })
        } else {
            Err(CrsError::Zone { central_meridian })
        }
    }

    /// A zone by EPSG code, for the codes diaba knows.
    pub fn from_epsg(code: u32) -> Option<Self> {
        match code {
            5897 => Some(Self::CAN_THO),
            9209 => Some(Self::SOC_TRANG),
            3405 => Self::utm(105.0).ok(),
            3406 => Self::utm(111.0).ok(),
            _ => None,
        }
    }

    /// The EPSG code of this zone, when it has one diaba knows.
    pub fn epsg(&self) -> Option<u32> {
        [(105.0, TM3_SCALE, 5897), (105.5, TM3_SCALE, 9209), (105.0, UTM_SCALE, 3405), (111.0, UTM_SCALE, 3406)]
            .iter()
            .find(|(m, k, _)| *m == self.central_meridian && *k == self.scale)
            .map(|(_, _, c)| *c)
    }

    /// Central meridian in degrees.
    pub fn central_meridian(&self) -> f64 {
        self.central_meridian
    }

    /// The full PROJ definition, datum shift included.
    pub fn proj_string(&self) -> String {
        format!(
            "+proj=tmerc +lat_0=0 +lon_0={} +k={} +x_0=500000 +y_0=0 +ellps=WGS84 +towgs84={VN2000_TOWGS84} +units=m +no_defs +type=crs",
            self.central_meridian, self.scale
        )
    }
}

/// A position in VN-2000 / TM-3 metres. Not a [`LonLat`]: areas are computed on these.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Vn2000Point {
    easting: f64,
    northing: f64,
}

impl Vn2000Point {
    /// From easting and northing in metres (GIS order).
    pub fn new(easting: f64, northing: f64) -> Result<Self, CrsError> {
        // TM-3 eastings in Vietnam stay within ±200 km of 500 000 m; northings are positive.
        let plausible = (200_000.0..=800_000.0).contains(&easting) && (0.0..=3_000_000.0).contains(&northing);
        if easting.is_finite() && northing.is_finite() && plausible {
            Ok(Self { easting, northing })
        } else {
            Err(CrsError::OutOfZone { easting, northing })
        }
    }

    /// From a Vietnamese survey table, which writes X = northing and Y = easting.
    ///
    /// ```
    /// use diaba_core::crs::Vn2000Point;
    /// let p = Vn2000Point::from_survey_xy(1_109_000.0, 586_000.0).unwrap();
    /// assert_eq!((p.easting(), p.northing()), (586_000.0, 1_109_000.0));
    /// ```
    pub fn from_survey_xy(x_northing: f64, y_easting: f64) -> Result<Self, CrsError> {
        Self::new(y_easting, x_northing)
    }

    /// Easting in metres.
    pub fn easting(&self) -> f64 {
        self.easting
    }

    /// Northing in metres.
    pub fn northing(&self) -> f64 {
        self.northing
    }
}

impl fmt::Display for Vn2000Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E {:.3} N {:.3}", self.easting, self.northing)
    }
}

/// A polygon in VN-2000 metres, where legal areas are measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Vn2000Polygon(MultiPolygon<f64>);

impl Vn2000Polygon {
    /// Wraps planar coordinates that are already VN-2000 metres (e.g. from a survey file).
    pub fn from_metres(polygon: MultiPolygon<f64>) -> Self {
        Self(polygon)
    }

    /// Area in square metres on the TM-3 grid plane, as the cadastre measures it.
    pub fn area_m2(&self) -> f64 {
        self.0.unsigned_area()
    }

    /// The coordinates.
    pub fn geometry(&self) -> &MultiPolygon<f64> {
        &self.0
    }
}

/// What can fail in a coordinate transformation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CrsError {
    /// Not a TM-3 zone of VN-2000.
    #[error("{central_meridian}° is not a VN-2000 TM-3 central meridian (102°–109.5° in steps of 0.25°)")]
    Zone {
        /// the meridian given
        central_meridian: f64,
    },
    /// Coordinates that cannot be VN-2000 / TM-3 metres in Vietnam.
    #[error(
        "easting {easting}, northing {northing} are not VN-2000 / TM-3 metres in Vietnam \
         (easting ≈ 500 000 ± 200 000); were X (northing) and Y (easting) swapped?"
    )]
    OutOfZone {
        /// easting given
        easting: f64,
        /// northing given
        northing: f64,
    },
    /// PROJ could not set up or run the transformation.
    #[error("PROJ: {0}")]
    Proj(String),
}

/// A pinned WGS84 ↔ VN-2000 transformation for one TM-3 zone.
///
/// Holds two PROJ objects; create one per thread (PROJ contexts are not shared).
pub struct Vn2000 {
    zone: Tm3Zone,
    to_grid: Proj,
    to_wgs84: Proj,
}

impl fmt::Debug for Vn2000 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vn2000").field("zone", &self.zone).finish_non_exhaustive()
    }
}

impl Vn2000 {
    /// Sets up the transformation for `zone`.
    pub fn new(zone: Tm3Zone) -> Result<Self, CrsError> {
        let grid = zone.proj_string();
        let create =
            |from: &str, to: &str| Proj::new_known_crs(from, to, None).map_err(|e| CrsError::Proj(e.to_string()));
        Ok(Self { zone, to_grid: create(WGS84, &grid)?, to_wgs84: create(&grid, WGS84)? })
    }

    /// Cần Thơ's cadastral zone (EPSG:5897).
    pub fn can_tho() -> Result<Self, CrsError> {
        Self::new(Tm3Zone::CAN_THO)
    }

    /// The zone.
    pub fn zone(&self) -> Tm3Zone {
        self.zone
    }

    /// WGS84 → VN-2000 metres.
    pub fn to_vn2000(&self, point: LonLat) -> Result<Vn2000Point, CrsError> {
        let (easting, northing) =
            self.to_grid.convert((point.lon(), point.lat())).map_err(|e| CrsError::Proj(e.to_string()))?;
        Vn2000Point::new(easting, northing)
    }

    /// VN-2000 metres → WGS84.
    pub fn to_wgs84(&self, point: Vn2000Point) -> Result<LonLat, CrsError> {
        let (lon, lat) =
            self.to_wgs84.convert((point.easting(), point.northing())).map_err(|e| CrsError::Proj(e.to_string()))?;
        LonLat::new(lon, lat).map_err(|e| CrsError::Proj(e.to_string()))
    }

    /// A lon/lat polygon in VN-2000 metres.
    pub fn project(&self, polygon: &MultiPolygon<f64>) -> Result<Vn2000Polygon, CrsError> {
        polygon
            .try_map_coords(|c| self.to_grid.convert((c.x, c.y)).map(|(x, y)| geo::coord! { x: x, y: y }))
            .map(Vn2000Polygon)
            .map_err(|e| CrsError::Proj(e.to_string()))
    }

    /// A VN-2000 polygon in lon/lat.
    pub fn unproject(&self, polygon: &Vn2000Polygon) -> Result<MultiPolygon<f64>, CrsError> {
        polygon
            .0
            .try_map_coords(|c| self.to_wgs84.convert((c.x, c.y)).map(|(x, y)| geo::coord! { x: x, y: y }))
            .map_err(|e| CrsError::Proj(e.to_string()))
    }

    /// Legal area (m²) of a lon/lat polygon: projected to the zone, measured on the plane.
    pub fn area_m2(&self, polygon: &MultiPolygon<f64>) -> Result<f64, CrsError> {
        Ok(self.project(polygon)?.area_m2())
    }
}
