//! Parcel (thửa đất) values and the validation every incoming parcel geometry goes through.

use crate::UnitCode;
use crate::crs::{Tm3Zone, Vn2000, Vn2000Polygon};
use geo::orient::{Direction, Orient};
use geo::{Coord, LineString, MultiPolygon, Polygon, Validation};
use serde::{Deserialize, Serialize};

/// Default largest number of vertices in one parcel (a surveyed lot rarely has 100).
pub const DEFAULT_MAX_VERTICES: usize = 10_000;

/// Area two parcels may share before they overlap (survey noise), in m²: for edits against
/// the register and between the parcels of an imported file alike.
pub const OVERLAP_TOLERANCE_M2: f64 = 0.5;

/// Land-use codes of TT 25/2014/TT-BTNMT plus those added by TT 08/2024/TT-BTNMT.
pub const LAND_USE_CODES: &[&str] = &[
    "LUC", "LUK", "LUN", "BHK", "NHK", "HNK", "CLN", "RSX", "RPH", "RDD", "NTS", "LMU", "NKH", "ONT", "ODT", "TSC",
    "DTS", "DVH", "DYT", "DGD", "DTT", "DKH", "DXH", "DNG", "DSK", "CQP", "CAN", "SKK", "SKN", "TMD", "SKC", "SKS",
    "SKX", "DGT", "DTL", "DNL", "DBV", "DSH", "DKV", "DCH", "DRA", "TON", "TIN", "NTD", "SON", "MNC", "PNK", "BCS",
    "DCS", "NCS",
];

/// Ward + map sheet (số tờ) + parcel number (số thửa): how a registry names a parcel.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ParcelKey {
    /// Ward of the survey.
    pub ward: UnitCode,
    /// Map sheet number.
    pub sheet: i32,
    /// Parcel number within the sheet.
    pub number: i32,
}

/// One land use of a parcel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LandUse {
    /// Code, e.g. ODT.
    pub code: String,
    /// Code list it comes from, e.g. "TT25/2014".
    #[serde(default = "default_code_list")]
    pub code_list: String,
    /// Area in m² of this use.
    #[serde(default)]
    pub area_m2: Option<f64>,
    /// Term of use as written ("lâu dài", "50 năm", a date).
    #[serde(default)]
    pub term: Option<String>,
}

fn default_code_list() -> String {
    "TT25/2014".into()
}

impl LandUse {
    /// Checks the code against the national list and the area.
    pub fn validate(&self) -> Result<(), GeometryError> {
        if !LAND_USE_CODES.contains(&self.code.as_str()) {
            return Err(GeometryError::new(
                "land_uses",
                format!("{:?} is not a land-use code of TT 25/2014 or TT 08/2024 (e.g. ODT, ONT, LUC, CLN)", self.code),
            ));
        }
        if self.area_m2.is_some_and(|a| !a.is_finite() || a < 0.0) {
            return Err(GeometryError::new(
                "land_uses",
                format!("area of {} must be a non-negative number", self.code),
            ));
        }
        Ok(())
    }
}

/// What is wrong with a submitted parcel: the field and a sentence for the registrar.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {detail}")]
pub struct GeometryError {
    /// The offending field, e.g. `geometry` or `crs`.
    pub field: &'static str,
    /// What is wrong and, where possible, how to fix it.
    pub detail: String,
}

impl GeometryError {
    /// An error about `field`.
    pub fn new(field: &'static str, detail: impl Into<String>) -> Self {
        Self { field, detail: detail.into() }
    }
}

/// A parcel outline that passed validation, in both coordinate systems.
#[derive(Debug, Clone)]
pub struct ParcelGeometry {
    /// WGS84 lon/lat, exterior rings counter-clockwise (RFC 7946).
    pub lonlat: MultiPolygon<f64>,
    /// VN-2000 / TM-3 105° (EPSG:5897) metres: the legal geometry.
    pub vn2000: Vn2000Polygon,
    /// True when rings had to be re-oriented (reported back as a fix).
    pub reoriented: bool,
}

impl ParcelGeometry {
    /// Legal area in m² (planar, EPSG:5897).
    pub fn area_m2(&self) -> f64 {
        self.vn2000.area_m2()
    }
}

/// The coordinate systems a parcel may be submitted in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SubmittedCrs {
    /// EPSG:4326 / OGC CRS84, lon/lat as GeoJSON requires.
    Wgs84,
    /// A VN-2000 / TM-3 zone, metres.
    Vn2000(Tm3Zone),
}

impl SubmittedCrs {
    /// Reads `EPSG:4326`, `CRS84`, `EPSG:5897`, `EPSG:9209` (also as OGC URIs).
    pub fn parse(text: &str) -> Result<Self, GeometryError> {
        let upper = text.trim().to_ascii_uppercase();
        let code = upper
            .trim_start_matches("HTTP://WWW.OPENGIS.NET/DEF/CRS/EPSG/0/")
            .trim_start_matches("URN:OGC:DEF:CRS:EPSG::")
            .trim_start_matches("EPSG:");
        match code {
            "4326" | "CRS84" | "OGC:CRS84" | "HTTP://WWW.OPENGIS.NET/DEF/CRS/OGC/1.3/CRS84" => Ok(SubmittedCrs::Wgs84),
            other => {
                other.parse::<u32>().ok().and_then(Tm3Zone::from_epsg).map(SubmittedCrs::Vn2000).ok_or_else(|| {
                    GeometryError::new(
                        "crs",
                        format!(
                            "{text:?} is not supported; use EPSG:4326 (lon/lat) or EPSG:5897 (VN-2000 / TM-3 105°)"
                        ),
                    )
                })
            }
        }
    }
}

/// Validates a GeoJSON geometry submitted for a parcel and returns it in both systems.
///
/// Rejected with a reason: not GeoJSON, not a (Multi)Polygon, unclosed rings, too many
/// vertices, lat/lon swapped, coordinates outside Vietnam's plausible range, invalid or
/// self-intersecting polygons. Fixed and reported: ring orientation (clockwise exteriors
/// are re-oriented, which changes nothing else).
pub fn validate_geometry(
    geometry: &serde_json::Value,
    crs: SubmittedCrs,
    max_vertices: usize,
    vn2000: &Vn2000,
) -> Result<ParcelGeometry, GeometryError> {
    let err = |detail: String| GeometryError::new("geometry", detail);
    let parsed: geojson::Geometry =
        serde_json::from_value(geometry.clone()).map_err(|e| err(format!("not a GeoJSON geometry: {e}")))?;
    let polygons: Vec<Vec<Vec<Vec<f64>>>> = match parsed.value {
        geojson::Value::Polygon(rings) => vec![rings],
        geojson::Value::MultiPolygon(polygons) => polygons,
        other => return Err(err(format!("a parcel is a Polygon or MultiPolygon, not a {}", other.type_name()))),
    };
    if polygons.is_empty() {
        return Err(err("the MultiPolygon has no polygon".into()));
    }
    let vertices: usize = polygons.iter().flatten().map(Vec::len).sum();
    if vertices > max_vertices {
        return Err(err(format!("{vertices} vertices is more than the limit of {max_vertices}")));
    }
    let mut shapes = Vec::with_capacity(polygons.len());
    for (p, rings) in polygons.iter().enumerate() {
        let mut lines = Vec::with_capacity(rings.len());
        for (r, ring) in rings.iter().enumerate() {
            let coords: Vec<Coord<f64>> = ring
                .iter()
                .map(|position| match position.as_slice() {
                    [x, y, ..] if x.is_finite() && y.is_finite() => Ok(Coord { x: *x, y: *y }),
                    _ => Err(err(format!("polygon {p}, ring {r}: every position needs two finite numbers"))),
                })
                .collect::<Result<_, _>>()?;
            if coords.len() < 4 {
                return Err(err(format!(
                    "polygon {p}, ring {r} has {} positions; a ring needs at least 4",
                    coords.len()
                )));
            }
            if coords.first() != coords.last() {
                return Err(err(format!(
                    "polygon {p}, ring {r} is not closed: its last position must repeat its first (RFC 7946)"
                )));
            }
            lines.push(LineString::new(coords));
        }
        let exterior = lines.remove(0);
        shapes.push(Polygon::new(exterior, lines));
    }
    validate_shape(MultiPolygon(shapes), crs, max_vertices, vn2000)
}

/// Validates a parcel outline already read into geo types (from a file, through GDAL's
/// WKB), as [`validate_geometry`] does after parsing GeoJSON.
pub fn validate_shape(
    submitted: MultiPolygon<f64>,
    crs: SubmittedCrs,
    max_vertices: usize,
    vn2000: &Vn2000,
) -> Result<ParcelGeometry, GeometryError> {
    use geo::CoordsIter;
    let err = |detail: String| GeometryError::new("geometry", detail);
    if submitted.0.is_empty() {
        return Err(err("the MultiPolygon has no polygon".into()));
    }
    let vertices = submitted.coords_count();
    if vertices > max_vertices {
        return Err(err(format!("{vertices} vertices is more than the limit of {max_vertices}")));
    }
    if submitted.coords_iter().any(|c| !c.x.is_finite() || !c.y.is_finite()) {
        return Err(err("every position needs two finite numbers".into()));
    }
    let (lonlat, metres) = match crs {
        SubmittedCrs::Wgs84 => {
            check_lonlat_range(&submitted)?;
            let metres = vn2000.project(&submitted).map_err(|e| err(e.to_string()))?;
            (submitted, metres)
        }
        SubmittedCrs::Vn2000(zone) => {
            check_metre_range(&submitted)?;
            let grid = Vn2000Polygon::from_metres(submitted);
            if zone == vn2000.zone() {
                // Already Cần Thơ's zone: the submitted metres are the legal geometry, exactly.
                let lonlat = vn2000.unproject(&grid).map_err(|e| err(e.to_string()))?;
                (lonlat, grid)
            } else {
                let lonlat = Vn2000::new(zone).and_then(|z| z.unproject(&grid)).map_err(|e| err(e.to_string()))?;
                // Legal geometry is always kept in Cần Thơ's zone (EPSG:5897).
                let metres = vn2000.project(&lonlat).map_err(|e| err(e.to_string()))?;
                (lonlat, metres)
            }
        }
    };
    if let Err(problem) = metres.geometry().check_validation() {
        return Err(err(format!("the polygon is not valid: {problem}")));
    }
    let oriented = lonlat.orient(Direction::Default);
    let reoriented = oriented != lonlat;
    let metres = Vn2000Polygon::from_metres(metres.geometry().orient(Direction::Default));
    Ok(ParcelGeometry { lonlat: oriented, vn2000: metres, reoriented })
}

fn check_lonlat_range(shape: &MultiPolygon<f64>) -> Result<(), GeometryError> {
    use geo::CoordsIter;
    let err = |detail: String| GeometryError::new("geometry", detail);
    let looks_swapped = shape.coords_iter().all(|c| (8.0..=24.0).contains(&c.x) && (102.0..=110.0).contains(&c.y));
    if looks_swapped {
        return Err(err(
            "coordinates look like latitude, longitude; GeoJSON positions are longitude first (e.g. [105.78, 10.03])"
                .into(),
        ));
    }
    if let Some(c) = shape.coords_iter().find(|c| !(-180.0..=180.0).contains(&c.x) || !(-90.0..=90.0).contains(&c.y)) {
        let hint = if c.x.abs() > 1000.0 { "; metres? then send \"crs\": \"EPSG:5897\"" } else { "" };
        return Err(err(format!("position [{}, {}] is not a longitude/latitude{hint}", c.x, c.y)));
    }
    if shape.coords_iter().any(|c| !in_vietnam(c)) {
        return Err(err("coordinates are far outside Vietnam; diaba covers Cần Thơ".into()));
    }
    Ok(())
}

/// Vietnam with a margin; the exact service-area check happens against the wards.
fn in_vietnam(c: Coord<f64>) -> bool {
    (100.0..=112.0).contains(&c.x) && (6.0..=25.0).contains(&c.y)
}

fn check_metre_range(shape: &MultiPolygon<f64>) -> Result<(), GeometryError> {
    use geo::CoordsIter;
    if let Some(c) = shape.coords_iter().find(|c| crate::crs::Vn2000Point::new(c.x, c.y).is_err()) {
        return Err(GeometryError::new(
            "geometry",
            format!(
                "[{}, {}] is not VN-2000 / TM-3 easting, northing in metres (easting ≈ 500 000 ± 200 000); \
                 survey tables write X = northing first: swap them",
                c.x, c.y
            ),
        ));
    }
    Ok(())
}
