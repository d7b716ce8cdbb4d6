//! Files in, through GDAL: GeoJSON, Shapefile, GeoPackage, FlatGeobuf … whatever the
//! machine's GDAL reads. Each feature is validated and either accepted (possibly with a
//! fix, reported) or rejected with its reason; nothing is silently dropped.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod addresses;
mod columns;
mod dgn;
mod encoding;
mod export;
mod flood;
mod legacy;
mod open;
mod overlaps;
mod parcels;
mod prj;
mod raw;
mod units;

pub use addresses::{ADDRESS_FIELDS, AddressImport, ImportedAddress, read_addresses};
pub use columns::{FieldNames, ReadOptions};
pub use encoding::{TextEncoding, shapefile_encoding};
pub use export::{Format, write_features};
pub use flood::{FloodImport, ImportedZone, read_flood_zones};
pub use legacy::Charset;
pub use overlaps::overlaps_within;
pub use parcels::{DEFAULT_AREA_TOLERANCE_PERCENT, ImportedParcel, Limits, PARCEL_FIELDS, ParcelImport, read_parcels};
pub use units::{ImportedUnit, UNIT_FIELDS, UnitImport, read_units};

/// A feature that was not accepted, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// Feature id in the file (FID), or its position.
    pub feature: u64,
    /// Why, for the person who made the file.
    pub reason: String,
}

/// Why a file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// GDAL could not open or read it.
    #[error("{path}: {source}")]
    Gdal {
        /// the file
        path: String,
        /// GDAL's error
        source: gdal::errors::GdalError,
    },
    /// The file's coordinate system or text encoding is missing or not one diaba can use.
    #[error("{path}: {reason}")]
    Crs {
        /// the file
        path: String,
        /// what is wrong and what to pass
        reason: String,
    },
}

/// The CRS a layer declares (.prj, GeoPackage SRS), if diaba can pin it, with a line for
/// the report saying what was read and why: by its EPSG code when GDAL can name one, else
/// by its parameters (see [`prj`]).
pub(crate) fn crs_of(
    layer: &gdal::vector::Layer<'_>,
    path: &str,
) -> Result<(diaba_core::parcel::SubmittedCrs, String), Error> {
    use gdal::vector::LayerAccess;
    let fail = |reason: String| Error::Crs { path: path.to_owned(), reason };
    let mut srs = layer
        .spatial_ref()
        .ok_or_else(|| fail("the file names no coordinate system; pass --src-crs EPSG:4326 or EPSG:5897".into()))?;
    // A .prj is ESRI WKT without codes: let GDAL match it against the EPSG database first.
    let _ = srs.auto_identify_epsg();
    let code = srs.auth_code().ok().map(|c| format!("EPSG:{c}"));
    if let Some(crs) = code.as_deref().and_then(|c| diaba_core::parcel::SubmittedCrs::parse(c).ok()) {
        return Ok((crs, format!("coordinate system: {} (the file's)", code.unwrap_or_default())));
    }
    let (proj4, wkt) = (srs.to_proj4().unwrap_or_default(), srs.to_wkt().unwrap_or_default());
    match prj::recognise(&proj4, &wkt) {
        Ok(read) => Ok((read.crs, format!("coordinate system: {}", read.why))),
        Err(why) => Err(fail(format!(
            "its coordinate system ({}) is not one diaba takes: {why}. diaba takes WGS84 (EPSG:4326) and VN-2000 \
             (TM-3 or UTM); pass --src-crs to say which",
            code.unwrap_or_else(|| proj4.trim().to_owned())
        ))),
    }
}

/// A feature's WKB geometry as polygons; anything else is a reason to reject it.
pub(crate) fn polygons_from_wkb(wkb: &[u8]) -> Result<geo::MultiPolygon<f64>, String> {
    use geozero::ToGeo;
    match geozero::wkb::Wkb(wkb).to_geo() {
        Ok(geo::Geometry::Polygon(p)) => Ok(geo::MultiPolygon(vec![p])),
        Ok(geo::Geometry::MultiPolygon(m)) => Ok(m),
        Ok(other) => Err(format!("a polygon is needed, not a {}", geometry_name(&other))),
        Err(e) => Err(format!("unreadable geometry: {e}")),
    }
}

fn geometry_name(geometry: &geo::Geometry<f64>) -> &'static str {
    match geometry {
        geo::Geometry::Point(_) => "Point",
        geo::Geometry::Line(_) | geo::Geometry::LineString(_) => "LineString",
        geo::Geometry::MultiPoint(_) => "MultiPoint",
        geo::Geometry::MultiLineString(_) => "MultiLineString",
        geo::Geometry::GeometryCollection(_) => "GeometryCollection",
        _ => "polygon of another kind",
    }
}
