//! Files in, through GDAL: GeoJSON, Shapefile, GeoPackage, FlatGeobuf … whatever the
//! machine's GDAL reads. Each feature is validated and either accepted (possibly with a
//! fix, reported) or rejected with its reason; nothing is silently dropped.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod export;
mod flood;

pub use export::{Format, write_features};
pub use flood::{FloodImport, ImportedZone, read_flood_zones};

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
    /// The file's coordinate system is missing or not one diaba can pin.
    #[error("{path}: {reason}")]
    Crs {
        /// the file
        path: String,
        /// what is wrong and what to pass
        reason: String,
    },
}
