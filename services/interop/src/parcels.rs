//! Importing parcels from the files land offices keep (GeoPackage, Shapefile, GeoJSON …),
//! with the field names they export and the same geometry validation as the API.

use crate::columns::{Columns, FieldNames};
use crate::{Error, Rejected};
use diaba_core::crs::Vn2000;
use diaba_core::parcel::{DEFAULT_MAX_VERTICES, ParcelGeometry, SubmittedCrs, validate_shape};
use gdal::Dataset;
use gdal::vector::LayerAccess;
use rayon::prelude::*;
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
pub const PARCEL_FIELDS: [FieldNames; 7] = [
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
    let columns = Columns::resolve(layer.defn(), &PARCEL_FIELDS, mapping, &shown)?;
    for required in ["ward", "sheet", "number", "land_use"] {
        if !columns.has(required) {
            return Err(Error::Crs {
                path: shown.clone(),
                reason: format!(
                    "no {required} field: looked for {:?}; name the file's field with --map {required}=FIELD",
                    columns.names(required)
                ),
            });
        }
    }
    // GDAL's features are read on this thread; their geometries are validated on every core.
    let mut out = ParcelImport::default();
    let mut read = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for (position, feature) in layer.features().enumerate() {
        progress(position as u64 + 1, total);
        let fid = feature.fid().unwrap_or(position as u64);
        match read_attributes(&feature, &columns) {
            Ok(parcel) => read.push((fid, parcel)),
            Err(reason) => out.rejected.push(Rejected { feature: fid, reason }),
        }
    }
    let zone = vn2000.zone();
    let checked: Vec<Result<ImportedParcel, Rejected>> = read
        .into_par_iter()
        .map_init(
            || Vn2000::new(zone).expect("the zone was set up above"),
            |vn2000, (fid, raw)| raw.validate(fid, crs, vn2000),
        )
        .collect();
    for result in checked {
        match result {
            Ok(parcel) => {
                if parcel.geometry.reoriented {
                    out.fixed.push(Rejected { feature: parcel.feature, reason: "rings re-oriented".into() });
                }
                out.accepted.push(parcel);
            }
            Err(rejected) => out.rejected.push(rejected),
        }
    }
    out.rejected.sort_by_key(|r| r.feature);
    Ok(out)
}

/// A feature's attributes, read and checked; its geometry still WKB.
struct RawParcel {
    ward_code: String,
    sheet: i32,
    number: i32,
    land_use: String,
    area: Option<f64>,
    national_id: Option<String>,
    address_text: Option<String>,
    wkb: Vec<u8>,
}

fn read_attributes(feature: &gdal::vector::Feature<'_>, columns: &Columns) -> Result<RawParcel, String> {
    let text = |attribute: &str| columns.text(feature, attribute);
    let names = |attribute: &str| columns.names(attribute).to_vec();
    let whole = |attribute: &str| -> Result<i32, String> {
        let value = text(attribute).ok_or_else(|| format!("no {attribute} (fields {:?})", names(attribute)))?;
        value
            .parse::<f64>()
            .ok()
            .filter(|v| v.fract() == 0.0 && *v >= 1.0 && *v <= f64::from(i32::MAX))
            .map(|v| v as i32)
            .ok_or_else(|| format!("{attribute} {value:?} is not a positive whole number"))
    };
    let ward_code = text("ward").ok_or_else(|| format!("no ward code (fields {:?})", names("ward")))?;
    let (sheet, number) = (whole("sheet")?, whole("number")?);
    let land_use = text("land_use")
        .map(|u| u.to_uppercase())
        .ok_or_else(|| format!("no land-use code (fields {:?})", names("land_use")))?;
    if !(2..=4).contains(&land_use.len()) || !land_use.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(format!("land use {land_use:?} is not a code such as ODT, LUC or CLN"));
    }
    let wkb = match feature.geometry().map(|g| g.wkb()) {
        Some(Ok(wkb)) => wkb,
        _ => return Err("no geometry".into()),
    };
    let exact_area = columns.real(feature, "area");
    let area = match (exact_area, text("area")) {
        (Some(area), _) if area > 0.0 && area.is_finite() => Some(area),
        (_, Some(area)) => Some(
            area.replace(',', ".")
                .parse::<f64>()
                .ok()
                .filter(|a| *a > 0.0 && a.is_finite())
                .ok_or_else(|| format!("area {area:?} is not a positive number of m²"))?,
        ),
        (_, None) => None,
    };
    Ok(RawParcel {
        ward_code,
        sheet,
        number,
        land_use,
        area,
        national_id: text("national_id"),
        address_text: text("address"),
        wkb,
    })
}

impl RawParcel {
    /// The geometry checked as the API checks it; the legal area defaults to the planar
    /// VN-2000 area when the file has none.
    fn validate(self, feature: u64, crs: SubmittedCrs, vn2000: &Vn2000) -> Result<ImportedParcel, Rejected> {
        let reject = |reason: String| Rejected { feature, reason };
        let shape = crate::polygons_from_wkb(&self.wkb).map_err(reject)?;
        let geometry = validate_shape(shape, crs, DEFAULT_MAX_VERTICES, vn2000)
            .map_err(|e| reject(format!("{}: {}", e.field, e.detail)))?;
        Ok(ImportedParcel {
            feature,
            ward_code: self.ward_code,
            sheet: self.sheet,
            number: self.number,
            land_use: self.land_use,
            legal_area_m2: self.area.unwrap_or_else(|| geometry.area_m2()),
            national_id: self.national_id,
            address_text: self.address_text,
            geometry,
        })
    }
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
