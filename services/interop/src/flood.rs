//! Importing real flood-risk zones.

use crate::{Error, Rejected};
use diaba_core::crs::Vn2000;
use diaba_core::parcel::SubmittedCrs;
use gdal::Dataset;
use gdal::vector::LayerAccess;
use geo::{MultiPolygon, Validation};
use std::path::Path;

/// A zone read from a file, in WGS84.
#[derive(Debug, Clone)]
pub struct ImportedZone {
    /// Feature id in the file.
    pub feature: u64,
    /// Name (the file's, or "zone <fid>").
    pub name: String,
    /// 1–5 on the national scale.
    pub risk_level: i16,
    /// Scenario.
    pub scenario: String,
    /// Return period in years, when given.
    pub return_period_years: Option<i32>,
    /// Outline, lon/lat.
    pub lonlat: MultiPolygon<f64>,
}

/// The outcome of reading a file.
#[derive(Debug, Clone, Default)]
pub struct FloodImport {
    /// Zones that passed validation.
    pub accepted: Vec<ImportedZone>,
    /// Features that did not, with reasons.
    pub rejected: Vec<Rejected>,
}

/// Field names accepted for each attribute, first match wins (English, then the
/// Vietnamese names offices use).
const LEVEL_FIELDS: &[&str] = &["risk_level", "level", "MucRuiRo", "CapRuiRo", "muc_rui_ro"];
const SCENARIO_FIELDS: &[&str] = &["scenario", "KichBan", "kich_ban"];
const NAME_FIELDS: &[&str] = &["name", "Ten", "ten"];
const RETURN_FIELDS: &[&str] = &["return_period", "return_period_years", "ChuKyLap"];

/// Reads flood zones from the first layer of `path`.
///
/// The file's CRS comes from its metadata (.prj, GeoPackage SRS) unless `source_crs` is
/// given; only WGS84 and VN-2000 TM-3 zones are accepted, and VN-2000 goes through the
/// pinned transformation. `default_scenario` is used where the file has no scenario field.
pub fn read_flood_zones(
    path: &Path,
    source_crs: Option<SubmittedCrs>,
    default_scenario: &str,
) -> Result<FloodImport, Error> {
    let shown = path.display().to_string();
    let gdal_error = |source| Error::Gdal { path: shown.clone(), source };
    let dataset = Dataset::open(path).map_err(gdal_error)?;
    let mut layer = dataset.layer(0).map_err(gdal_error)?;
    let crs = match source_crs {
        Some(crs) => crs,
        None => crate::crs_of(&layer, &shown)?.0,
    };
    let vn2000 = match crs {
        SubmittedCrs::Wgs84 => None,
        SubmittedCrs::Vn2000(zone) => {
            Some(Vn2000::new(zone).map_err(|e| Error::Crs { path: shown.clone(), reason: e.to_string() })?)
        }
    };
    let mut out = FloodImport::default();
    for (position, feature) in layer.features().enumerate() {
        let fid = feature.fid().unwrap_or(position as u64);
        let text = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| feature.field_as_string_by_name(n).ok().flatten())
                .filter(|v| !v.trim().is_empty())
        };
        let reject = |reason: String| Rejected { feature: fid, reason };
        let Some(level) = text(LEVEL_FIELDS) else {
            out.rejected.push(reject(format!("no risk level (one of the fields {LEVEL_FIELDS:?})")));
            continue;
        };
        let Some(risk_level) = level.trim().parse::<i16>().ok().filter(|l| (1..=5).contains(l)) else {
            out.rejected.push(reject(format!("risk level {level:?} is not 1 to 5 (QĐ 18/2021/QĐ-TTg)")));
            continue;
        };
        let shape = match feature.geometry().map(gdal::vector::Geometry::wkb) {
            Some(Ok(wkb)) => match crate::polygons_from_wkb(&wkb) {
                Ok(shape) => shape,
                Err(reason) => {
                    out.rejected.push(reject(reason));
                    continue;
                }
            },
            _ => {
                out.rejected.push(reject("no geometry".into()));
                continue;
            }
        };
        if let Err(problem) = shape.check_validation() {
            out.rejected.push(reject(format!("invalid polygon: {problem}")));
            continue;
        }
        let lonlat = match &vn2000 {
            None => shape,
            Some(vn2000) => match vn2000.unproject(&diaba_core::crs::Vn2000Polygon::from_metres(shape)) {
                Ok(lonlat) => lonlat,
                Err(e) => {
                    out.rejected.push(reject(e.to_string()));
                    continue;
                }
            },
        };
        out.accepted.push(ImportedZone {
            feature: fid,
            name: text(NAME_FIELDS).unwrap_or_else(|| format!("zone {fid}")),
            risk_level,
            scenario: text(SCENARIO_FIELDS).unwrap_or_else(|| default_scenario.to_owned()),
            return_period_years: text(RETURN_FIELDS).and_then(|r| r.trim().parse().ok()),
            lonlat,
        });
    }
    Ok(out)
}
