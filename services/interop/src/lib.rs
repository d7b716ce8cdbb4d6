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
mod open;
mod overlaps;
mod parcels;
mod raw;
mod units;

pub use addresses::{ADDRESS_FIELDS, AddressImport, ImportedAddress, read_addresses};
pub use columns::{FieldNames, ReadOptions};
pub use encoding::{TextEncoding, shapefile_encoding};
pub use export::{Format, write_features};
pub use flood::{FloodImport, ImportedZone, read_flood_zones};
pub use overlaps::overlaps_within;
pub use parcels::{ImportedParcel, PARCEL_FIELDS, ParcelImport, read_parcels};
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

/// The CRS a layer declares (.prj, GeoPackage SRS), if diaba can pin it.
pub(crate) fn crs_of(layer: &gdal::vector::Layer<'_>, path: &str) -> Result<diaba_core::parcel::SubmittedCrs, Error> {
    use gdal::vector::LayerAccess;
    let mut srs = layer.spatial_ref().ok_or_else(|| Error::Crs {
        path: path.to_owned(),
        reason: "the file names no coordinate system; pass --src-crs EPSG:4326 or EPSG:5897".into(),
    })?;
    // A .prj is ESRI WKT without codes: let GDAL match it against the EPSG database first.
    let _ = srs.auto_identify_epsg();
    let code = srs.auth_code().ok().map_or_else(|| "unknown".into(), |c| format!("EPSG:{c}"));
    diaba_core::parcel::SubmittedCrs::parse(&code).map_err(|_| Error::Crs {
        path: path.to_owned(),
        reason: format!(
            "its coordinate system is {code}; diaba takes EPSG:4326, EPSG:5897 or EPSG:9209 (or pass --src-crs)"
        ),
    })
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
