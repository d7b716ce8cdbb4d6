//! Importing administrative unit boundaries (địa giới hành chính) an office holds: a
//! revised outline of a ward, or a new unit. Each feature names its unit code and the date
//! the outline takes effect; the register keeps the previous version for dates before it.

use crate::columns::{Columns, FieldNames, ReadOptions};
use crate::open::Opened;
use crate::{Error, Rejected};
use chrono::NaiveDate;
use diaba_core::crs::{Vn2000, Vn2000Polygon};
use diaba_core::parcel::SubmittedCrs;
use gdal::vector::LayerAccess;
use geo::{MultiPolygon, Validation};
use std::path::Path;

/// A unit outline read from a file.
#[derive(Debug, Clone)]
pub struct ImportedUnit {
    /// Feature id in the file.
    pub feature: u64,
    /// Unit code (5 digits for a ward or commune).
    pub code: String,
    /// ward, district or province (from the code's length unless the file says).
    pub level: String,
    /// Name, when the file gives one (else the current version's).
    pub name: Option<String>,
    /// Phường, Xã …, when given.
    pub kind: Option<String>,
    /// 5-digit postcode, when given.
    pub postcode: Option<String>,
    /// The date the outline takes effect.
    pub valid_from: NaiveDate,
    /// WGS84 outline.
    pub lonlat: MultiPolygon<f64>,
}

/// The outcome of reading a unit file.
#[derive(Debug, Clone, Default)]
pub struct UnitImport {
    /// Units that passed.
    pub accepted: Vec<ImportedUnit>,
    /// Features that did not, with reasons.
    pub rejected: Vec<Rejected>,
    /// How the file was read.
    pub notes: Vec<String>,
}

/// Attributes of a unit and the field names offices use for them.
pub const UNIT_FIELDS: [FieldNames; 6] = [
    ("code", &["code", "MaXa", "ma_xa", "MAXA", "MaDVHC"]),
    ("name", &["name", "TenXa", "ten_xa", "TenDVHC"]),
    ("level", &["level", "Cap", "cap"]),
    ("kind", &["kind", "Loai", "LoaiDVHC"]),
    ("postcode", &["postcode", "MaBuuChinh", "ma_buu_chinh"]),
    ("valid_from", &["valid_from", "NgayHieuLuc", "ngay_hieu_luc"]),
];

/// Reads unit outlines from the first layer of `path` (see [`crate::read_parcels`]).
pub fn read_units(
    path: &Path,
    source_crs: Option<SubmittedCrs>,
    options: &ReadOptions,
    encoding: Option<&str>,
) -> Result<UnitImport, Error> {
    let shown = path.display().to_string();
    let gdal_error = |source| Error::Gdal { path: shown.clone(), source };
    let opened = Opened::open(path, source_crs, encoding)?;
    let mut layer = opened.dataset.layer(0).map_err(gdal_error)?;
    let columns = Columns::resolve(layer.defn(), &UNIT_FIELDS, options, opened.text.clone(), &shown)?;
    for required in ["code", "valid_from"] {
        if !columns.has(required) {
            return Err(Error::Crs {
                path: shown,
                reason: format!(
                    "no {required} field: looked for {:?}; name it with --map {required}=FIELD or give \
                     one value with --set {required}=…",
                    columns.names(required)
                ),
            });
        }
    }
    let grid = match opened.crs {
        SubmittedCrs::Vn2000(zone) => {
            Some(Vn2000::new(zone).map_err(|e| Error::Crs { path: shown.clone(), reason: e.to_string() })?)
        }
        SubmittedCrs::Wgs84 => None,
    };
    let mut out = UnitImport { notes: opened.notes.clone(), ..Default::default() };
    for (position, feature) in layer.features().enumerate() {
        let fid = feature.fid().unwrap_or(position as u64);
        let text = |attribute: &str| columns.text(&feature, attribute);
        let checked = (|| {
            let code = text("code").ok_or("no unit code")?;
            let level = match (text("level").map(|l| l.to_lowercase()), code.len()) {
                (Some(level), _) if ["ward", "district", "province"].contains(&level.as_str()) => level,
                (Some(level), _) => return Err(format!("level {level:?} is not ward, district or province")),
                (None, 5) => "ward".to_owned(),
                (None, 3) => "district".to_owned(),
                (None, 2) => "province".to_owned(),
                (None, _) => return Err(format!("code {code:?} is not a 2-, 3- or 5-digit unit code")),
            };
            if !code.chars().all(|c| c.is_ascii_digit()) {
                return Err(format!("code {code:?} is not a unit code of digits"));
            }
            let date = text("valid_from").ok_or("no valid_from date")?;
            let valid_from = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
                .or_else(|_| NaiveDate::parse_from_str(&date, "%d/%m/%Y"))
                .or_else(|_| NaiveDate::parse_from_str(date.get(..10).unwrap_or(&date), "%Y/%m/%d"))
                .map_err(|_| format!("valid_from {date:?} is not a date (2026-01-01 or 01/01/2026)"))?;
            // The register's "current" unit is the open version: one dated later would
            // take over before its day. Import it on or after that day.
            let today = diaba_core::today_in_vietnam();
            if valid_from > today {
                return Err(format!(
                    "valid_from {valid_from} is after today ({today}); import it on or after that day"
                ));
            }
            let postcode = text("postcode");
            if let Some(p) = postcode.as_deref().filter(|p| p.len() != 5 || !p.chars().all(|c| c.is_ascii_digit())) {
                return Err(format!("postcode {p:?} is not 5 digits"));
            }
            let wkb = feature.geometry().ok_or("no outline")?.wkb().map_err(|e| e.to_string())?;
            let shape = crate::polygons_from_wkb(&wkb)?;
            let lonlat = match &grid {
                Some(grid) => grid.unproject(&Vn2000Polygon::from_metres(shape)).map_err(|e| e.to_string())?,
                None => shape,
            };
            if let Err(problem) = lonlat.check_validation() {
                return Err(format!("the outline is not valid: {problem}"));
            }
            Ok(ImportedUnit {
                feature: fid,
                code,
                level,
                name: text("name"),
                kind: text("kind"),
                postcode,
                valid_from,
                lonlat,
            })
        })();
        match checked {
            Ok(unit) => out.accepted.push(unit),
            Err(reason) => out.rejected.push(Rejected { feature: fid, reason }),
        }
    }
    // One outline per unit and run: a second part of the same unit would become its next
    // version; a multi-part ward is one MultiPolygon.
    let mut seen = std::collections::HashMap::new();
    for unit in &out.accepted {
        *seen.entry((unit.code.clone(), unit.level.clone())).or_insert(0) += 1;
    }
    let (accepted, twice): (Vec<_>, Vec<_>) =
        out.accepted.into_iter().partition(|u| seen[&(u.code.clone(), u.level.clone())] == 1);
    out.accepted = accepted;
    for unit in twice {
        let reason = format!("unit {} appears more than once in the file; give one (multi)polygon per unit", unit.code);
        out.rejected.push(Rejected { feature: unit.feature, reason });
    }
    out.rejected.sort_by_key(|r| r.feature);
    Ok(out)
}
