//! Importing parcels from the files land offices keep (GeoPackage, Shapefile, GeoJSON …),
//! with the field names they export and the same geometry validation as the API.

use crate::{Error, Rejected};
use diaba_core::crs::Vn2000;
use diaba_core::parcel::{DEFAULT_MAX_VERTICES, ParcelGeometry, SubmittedCrs, validate_geometry};
use gdal::Dataset;
use gdal::vector::LayerAccess;
use std::collections::HashMap;
use std::path::Path;

/// A parcel read from a file.
#[derive(Debug, Clone)]
pub struct ImportedParcel {
    /// Feature id in the file.
    pub feature: u64,
    /// Current ward code.
    pub ward_code: String,
    /// Map sheet (số tờ).
    pub sheet: i32,
    /// Parcel number (số thửa).
    pub number: i32,
    /// Main land-use code.
    pub land_use: String,
    /// Legal area: the file's, or the planar VN-2000 area when it has none.
    pub legal_area_m2: f64,
    /// National parcel id when the file carries one.
    pub national_id: Option<String>,
    /// Address text.
    pub address_text: Option<String>,
    /// Validated geometry, both CRSs.
    pub geometry: ParcelGeometry,
}

/// The outcome of reading a parcel file.
#[derive(Debug, Clone, Default)]
pub struct ParcelImport {
    /// Parcels that passed validation.
    pub accepted: Vec<ImportedParcel>,
    /// Features that did not, with reasons.
    pub rejected: Vec<Rejected>,
    /// Fixes applied (e.g. rings re-oriented), by feature.
    pub fixed: Vec<Rejected>,
}

/// Attributes and the field names offices use for them, first match wins: diaba's own
/// export names, then the Vietnamese cadastral names (MaXa, SoHieuToBanDo …).
pub const PARCEL_FIELDS: [(&str, &[&str]); 7] = [
    ("ward", &["ward_code", "MaXa", "ma_xa", "MAXA"]),
    ("sheet", &["sheet", "SoHieuToBanDo", "SoTo", "so_to", "SHBANDO"]),
    ("number", &["number", "SoThuTuThua", "SoThua", "so_thua", "SOTHUTUTHUA"]),
    ("land_use", &["land_use", "LoaiDat", "MucDichSuDung", "loai_dat", "KYHIEUMUCDICH"]),
    ("area", &["legal_area_m2", "legal_area", "DienTich", "dien_tich", "DIENTICH"]),
    ("national_id", &["national_id", "national_i", "MaThuaQuocGia"]),
    ("address", &["address_text", "address_te", "DiaChi", "dia_chi"]),
];

/// Reads parcels from the first layer of `path`. `source_crs` overrides the file's CRS;
/// `mapping` overrides field names (`attribute → field`, attributes as in [`PARCEL_FIELDS`]);
/// `encoding` is the text encoding of a Shapefile's attributes (see [`shapefile_encoding`]).
/// `progress(done, total)` is called as features are read.
pub fn read_parcels(
    path: &Path,
    source_crs: Option<SubmittedCrs>,
    mapping: &HashMap<String, String>,
    encoding: Option<&str>,
    mut progress: impl FnMut(u64, u64),
) -> Result<ParcelImport, Error> {
    let shown = path.display().to_string();
    let gdal_error = |source| Error::Gdal { path: shown.clone(), source };
    let encoding = encoding.map(str::to_owned).or_else(|| shapefile_encoding(path));
    if let Some(e) = encoding.as_deref().filter(|e| unusable_encoding(e)) {
        return Err(Error::Crs {
            path: shown.clone(),
            reason: format!(
                "{e} text cannot be read faithfully through GDAL here (the last letter of each value is lost); \
                 convert the .dbf to UTF-8 first (e.g. ogr2ogr -lco ENCODING=UTF-8 out.shp in.shp in a GDAL built \
                 with a complete iconv, or QGIS: Save As… UTF-8)"
            ),
        });
    }
    let option = encoding.map(|e| format!("ENCODING={e}"));
    let options: Vec<&str> = option.iter().map(String::as_str).collect();
    let dataset = Dataset::open_ex(
        path,
        gdal::DatasetOptions { open_options: (!options.is_empty()).then_some(&options[..]), ..Default::default() },
    )
    .map_err(gdal_error)?;
    let mut layer = dataset.layer(0).map_err(gdal_error)?;
    let total = layer.feature_count();
    let crs = match source_crs {
        Some(crs) => crs,
        None => crate::crs_of(&layer, &shown)?,
    };
    let vn2000 = Vn2000::new(match crs {
        SubmittedCrs::Vn2000(zone) => zone,
        SubmittedCrs::Wgs84 => diaba_core::crs::Tm3Zone::CAN_THO,
    })
    .map_err(|e| Error::Crs { path: shown.clone(), reason: e.to_string() })?;
    let names = |attribute: &str| -> Vec<String> {
        match mapping.get(attribute) {
            Some(field) => vec![field.clone()],
            None => PARCEL_FIELDS
                .iter()
                .find(|(a, _)| *a == attribute)
                .map(|(_, fields)| fields.iter().map(|f| f.to_string()).collect())
                .unwrap_or_default(),
        }
    };
    let mut out = ParcelImport::default();
    for (position, feature) in layer.features().enumerate() {
        progress(position as u64 + 1, total);
        let fid = feature.fid().unwrap_or(position as u64);
        let text = |attribute: &str| {
            names(attribute)
                .iter()
                .find_map(|n| feature.field_as_string_by_name(n).ok().flatten())
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let reject = |reason: String| Rejected { feature: fid, reason };
        let whole = |attribute: &str| -> Result<i32, String> {
            let value = text(attribute).ok_or_else(|| format!("no {attribute} (fields {:?})", names(attribute)))?;
            value
                .parse::<f64>()
                .ok()
                .filter(|v| v.fract() == 0.0 && *v >= 1.0 && *v <= f64::from(i32::MAX))
                .map(|v| v as i32)
                .ok_or_else(|| format!("{attribute} {value:?} is not a positive whole number"))
        };
        let (ward, sheet, number) = match (text("ward"), whole("sheet"), whole("number")) {
            (Some(ward), Ok(sheet), Ok(number)) => (ward, sheet, number),
            (None, _, _) => {
                out.rejected.push(reject(format!("no ward code (fields {:?})", names("ward"))));
                continue;
            }
            (_, Err(e), _) | (_, _, Err(e)) => {
                out.rejected.push(reject(e));
                continue;
            }
        };
        let Some(land_use) = text("land_use").map(|u| u.to_uppercase()) else {
            out.rejected.push(reject(format!("no land-use code (fields {:?})", names("land_use"))));
            continue;
        };
        if !(2..=4).contains(&land_use.len()) || !land_use.chars().all(|c| c.is_ascii_uppercase()) {
            out.rejected.push(reject(format!("land use {land_use:?} is not a code such as ODT, LUC or CLN")));
            continue;
        }
        let geojson = match feature.geometry().map(|g| g.json()) {
            Some(Ok(json)) => json,
            _ => {
                out.rejected.push(reject("no geometry".into()));
                continue;
            }
        };
        let value: serde_json::Value = serde_json::from_str(&geojson).unwrap_or_default();
        let geometry = match validate_geometry(&value, crs, DEFAULT_MAX_VERTICES, &vn2000) {
            Ok(geometry) => geometry,
            Err(e) => {
                out.rejected.push(reject(format!("{}: {}", e.field, e.detail)));
                continue;
            }
        };
        if geometry.reoriented {
            out.fixed.push(Rejected { feature: fid, reason: "rings re-oriented".into() });
        }
        // Read as a double where the field is one: text would round it to 15 digits.
        let exact_area = names("area").iter().find_map(|n| {
            feature.fields().find(|(name, _)| name == n).and_then(|(_, value)| match value {
                Some(gdal::vector::FieldValue::RealValue(area)) => Some(area),
                _ => None,
            })
        });
        let legal_area_m2 = match (exact_area, text("area")) {
            (Some(area), _) if area > 0.0 && area.is_finite() => area,
            (_, Some(area)) => match area.replace(',', ".").parse::<f64>().ok().filter(|a| *a > 0.0 && a.is_finite()) {
                Some(area) => area,
                None => {
                    out.rejected.push(reject(format!("area {area:?} is not a positive number of m²")));
                    continue;
                }
            },
            (_, None) => geometry.area_m2(),
        };
        out.accepted.push(ImportedParcel {
            feature: fid,
            ward_code: ward,
            sheet,
            number,
            land_use,
            legal_area_m2,
            national_id: text("national_id"),
            address_text: text("address"),
            geometry,
        });
    }
    Ok(out)
}

/// The encoding of a Shapefile's attribute table when no .cpg names it and its records are
/// valid UTF-8: `UTF-8` (GDAL would otherwise read them as ISO-8859-1 and garble every
/// Vietnamese letter). `None` for other formats, when a .cpg is present (GDAL follows it),
/// or when the bytes are not UTF-8 (give `--encoding`).
pub fn shapefile_encoding(path: &Path) -> Option<String> {
    let is_shp = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("shp"));
    if !is_shp || path.with_extension("cpg").exists() || path.with_extension("CPG").exists() {
        return None;
    }
    let dbf = std::fs::read(path.with_extension("dbf")).or_else(|_| std::fs::read(path.with_extension("DBF"))).ok()?;
    let header = usize::from(u16::from_le_bytes([*dbf.get(8)?, *dbf.get(9)?]));
    std::str::from_utf8(dbf.get(header..)?).is_ok().then(|| "UTF-8".to_owned())
}

/// Encodings GDAL cannot read correctly here: glibc's iconv holds back the last character
/// of every CP1258 string waiting for a combining mark, so "DGT" arrives as "DG". Refused
/// rather than imported wrong.
pub fn unusable_encoding(encoding: &str) -> bool {
    let e = encoding.to_ascii_uppercase().replace(['-', '_'], "");
    e == "CP1258" || e == "WINDOWS1258" || e == "1258"
}
