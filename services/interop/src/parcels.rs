//! Importing parcels from the files land offices keep (GeoPackage, Shapefile, GeoJSON …),
//! with the field names they export and the same geometry validation as the API.

use crate::columns::{Columns, FieldNames, ReadOptions};
use crate::open::{CoordinateColumns, Opened, is_dgn};
use crate::raw::{RawParcel, Shape};
use crate::{Error, Rejected};
use diaba_core::crs::Vn2000;
use diaba_core::parcel::{DEFAULT_MAX_VERTICES, LandUse, ParcelGeometry, SubmittedCrs, validate_shape};
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
    /// Holders from the file's holder columns, as the API takes them (`[{name, id_number?,
    /// share?}]`), checked as the API checks them.
    pub owners: Option<serde_json::Value>,
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
    /// How the file was read (coordinate columns of a table …), for the report.
    pub notes: Vec<String>,
}

/// Attributes and the field names offices use for them, first match wins (GDAL matches
/// names without regard to case). The one table of aliases, in this order:
/// - diaba's own export names (`ward_code`, `sheet` …);
/// - the names of the cadastral data standard (TT 25/2014, TT 09/2024: `MaXa`,
///   `SoHieuToBanDo`, `SoThuTuThua`, `MucDichSuDung` …);
/// - the same cut to 10 characters, as a Shapefile's DBF stores them (`SoHieuToBa`,
///   `SoThuTuThu`, `MucDichSuD`, `MaThuaQuoc` …);
/// - the short names of cadastral software exports (VILIS, TMV.LIS, eMap, gCadas: `SHBANDO`,
///   `SHTHUA`, `MALOAIDAT`, `KHLOAIDAT`, `DIENTICH`, `TENCHU` …).
///
/// The report says which field each attribute was read from.
pub const PARCEL_FIELDS: [FieldNames; 11] = [
    ("ward", &["ward_code", "MaXa", "ma_xa", "MaDonViHanhChinh", "MaDonViHan", "MADVHC"]),
    (
        "sheet",
        &["sheet", "SoHieuToBanDo", "SoHieuToBa", "SoTo", "so_to", "SHBANDO", "SHTOBANDO", "SOTOBANDO", "TOBANDO"],
    ),
    ("number", &["number", "SoThuTuThua", "SoThuTuThu", "SoThua", "so_thua", "SHTHUA", "SOHIEUTHUA", "THUA"]),
    (
        "land_use",
        &[
            "land_use",
            "LoaiDat",
            "MucDichSuDung",
            "MucDichSuD",
            "loai_dat",
            "KyHieuMucDich",
            "KyHieuMucD",
            "MALOAIDAT",
            "KHLOAIDAT",
            "MDSD",
            "KHMUCDICH",
        ],
    ),
    ("area", &["legal_area_m2", "legal_area", "DienTich", "dien_tich", "DienTichPhapLy", "DienTichPh", "DTPL"]),
    ("national_id", &["national_id", "national_i", "MaThuaQuocGia", "MaThuaQuoc", "MATHUAQG"]),
    ("address", &["address_text", "address_te", "DiaChi", "dia_chi", "DiaChiThua", "DIACHITHUA"]),
    // Holders (người sử dụng đất): several in one field are separated by ";", their IDs and
    // shares in the same order.
    (
        "holder",
        &["holder", "holder_name", "ChuSuDung", "TenChu", "chu_su_dung", "TenChuSuDung", "TenChuSuDu", "TENCHUSD"],
    ),
    ("holder_id", &["holder_id", "personal_id", "SoDinhDanh", "SoCCCD", "CCCD", "so_dinh_danh", "SoGiayTo"]),
    ("holder_share", &["holder_share", "holder_sha", "TyLeSoHuu", "ty_le", "TYLE"]),
    // Coordinate tables: the order of a corner along the outline.
    ("order", &["order", "STT", "ThuTu", "SoHieuDiem", "Diem", "point"]),
];

/// Reads parcels from the first layer of `path`. `source_crs` overrides the file's CRS;
/// `mapping` overrides field names (`attribute → field`, attributes as in [`PARCEL_FIELDS`]);
/// `encoding` is the text encoding of a Shapefile's attributes (see [`shapefile_encoding`]).
/// `progress(done, total)` is called as features are read.
pub fn read_parcels(
    path: &Path,
    source_crs: Option<SubmittedCrs>,
    mapping: &ReadOptions,
    encoding: Option<&str>,
    limits: Limits,
    mut progress: impl FnMut(u64, u64),
) -> Result<ParcelImport, Error> {
    let shown = path.display().to_string();
    let gdal_error = |source| Error::Gdal { path: shown.clone(), source };
    let opened = Opened::open(path, source_crs, encoding)?;
    let (crs, mut layer) = (opened.crs, opened.dataset.layer(0).map_err(gdal_error)?);
    // The legal geometry is always kept in Cần Thơ's zone (EPSG:5897), whatever the file's
    // zone: validate_shape reprojects a 105°30' (EPSG:9209) outline into it.
    Vn2000::can_tho().map_err(|e| Error::Crs { path: shown.clone(), reason: e.to_string() })?;
    let mut out = ParcelImport { notes: opened.notes.clone(), ..Default::default() };
    // GDAL reads on this thread while a second one has every core validate what was read
    // so far, batch by batch in file order: reading is one core's work, and the other used
    // to wait for all of it.
    let checked = std::thread::scope(|scope| {
        let (batches, received) = std::sync::mpsc::sync_channel::<Vec<(u64, RawParcel)>>(4);
        let validating = scope.spawn(move || {
            let mut checked: Vec<Result<ImportedParcel, Vec<Rejected>>> = Vec::new();
            for batch in received {
                let validated = batch
                    .into_par_iter()
                    .map(|(fid, raw)| CAN_THO.with(|vn2000| raw.validate(fid, crs, vn2000, &limits)));
                checked.par_extend(validated);
            }
            checked
        });
        // A send fails only if the validating thread is gone, which its join reports.
        let mut hand_over = move |batch| drop(batches.send(batch));
        let read = if is_dgn(path) {
            let (read, rejected) = crate::dgn::read_outlines(&mut layer, mapping, &mut progress);
            out.rejected = rejected;
            hand_over(read);
            Ok(())
        } else {
            read_features(&mut layer, &opened, path, mapping, &mut out, &mut progress, &mut hand_over)
        };
        drop(hand_over);
        let checked = validating.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        read.map(|()| checked)
    })?;
    for result in checked {
        match result {
            Ok(parcel) => {
                if parcel.geometry.reoriented {
                    out.fixed.push(Rejected { feature: parcel.feature, reason: "rings re-oriented".into() });
                }
                out.accepted.push(parcel);
            }
            Err(rejected) => out.rejected.extend(rejected),
        }
    }
    out.rejected.sort_by_key(|r| r.feature);
    Ok(out)
}

thread_local! {
    /// Each validating thread's transformations (setting one up costs milliseconds; a
    /// batch is split across threads many times).
    static CAN_THO: Vn2000 = Vn2000::can_tho().expect("checked before reading");
}

/// Parcels read per batch handed to validation (a few in tests, so they cross batches).
const READ_BATCH: usize = if cfg!(test) { 3 } else { 8192 };

/// Parcels from a file whose features carry their attributes (all formats but DGN), handed
/// to `hand_over` in file order: in batches as they are read, or, from a coordinate table
/// (whose rows are grouped into parcels), all at the end.
fn read_features(
    layer: &mut gdal::vector::Layer<'_>,
    opened: &Opened,
    path: &Path,
    mapping: &ReadOptions,
    out: &mut ParcelImport,
    progress: &mut impl FnMut(u64, u64),
    hand_over: &mut impl FnMut(Vec<(u64, RawParcel)>),
) -> Result<(), Error> {
    let (total, table) = (layer.feature_count(), opened.table.as_ref());
    let columns =
        Columns::resolve(layer.defn(), &PARCEL_FIELDS, mapping, opened.text.clone(), &path.display().to_string())?;
    out.notes.extend(columns.sources().into_iter().map(|line| format!("field: {line}")));
    for required in ["ward", "sheet", "number", "land_use"] {
        if !columns.has(required) {
            return Err(Error::Crs {
                path: path.display().to_string(),
                reason: format!(
                    "no {required} field: looked for {:?}; name the file's field with --map {required}=FIELD",
                    columns.names(required)
                ),
            });
        }
    }
    let mut read: Vec<(u64, RawParcel)> = Vec::new();
    // A coordinate table lists each parcel's corners on consecutive rows; a parcel with one
    // bad row, or whose rows are not together, is refused whole (never imported misshapen).
    let mut groups: HashMap<Key, usize> = HashMap::new();
    let mut broken: HashMap<Key, (u64, String)> = HashMap::new();
    let mut last: Option<Key> = None;
    for (position, feature) in layer.features().enumerate() {
        progress(position as u64 + 1, total);
        let fid = feature.fid().unwrap_or(position as u64);
        let Some(table) = table else {
            match read_attributes(&feature, &columns, None) {
                Ok(parcel) => read.push((fid, parcel)),
                Err(reason) => out.rejected.push(Rejected { feature: fid, reason }),
            }
            if read.len() == READ_BATCH {
                hand_over(std::mem::take(&mut read));
            }
            continue;
        };
        let key = match key(&feature, &columns) {
            Ok(key) => key,
            Err(reason) => {
                out.rejected.push(Rejected { feature: fid, reason });
                continue;
            }
        };
        if last.as_ref() != Some(&key) && groups.contains_key(&key) {
            broken
                .entry(key.clone())
                .or_insert_with(|| (fid, format!("row {fid} continues it after other parcels' rows")));
        }
        match read_attributes(&feature, &columns, Some(table)) {
            Ok(corner) => match groups.get(&key) {
                Some(&i) => read[i].1.shape.extend(corner.shape),
                None => {
                    groups.insert(key.clone(), read.len());
                    read.push((fid, corner));
                }
            },
            Err(reason) => {
                broken.entry(key.clone()).or_insert_with(|| (fid, format!("row {fid}: {reason}")));
            }
        }
        last = Some(key);
    }
    if !broken.is_empty() {
        read.retain(|(fid, p)| match broken.remove(&(p.ward_code.clone(), p.sheet, p.number)) {
            Some((_, reason)) => {
                let (w, s, n) = (&p.ward_code, p.sheet, p.number);
                out.rejected.push(Rejected { feature: *fid, reason: format!("parcel {w}/{s}/{n}: {reason}") });
                false
            }
            None => true,
        });
        // Parcels whose every row was bad.
        for ((w, s, n), (fid, reason)) in broken {
            out.rejected.push(Rejected { feature: fid, reason: format!("parcel {w}/{s}/{n}: {reason}") });
        }
    }
    hand_over(read);
    Ok(())
}

type Key = (String, i32, i32);

/// A feature's parcel key: ward, sheet, number.
fn key(feature: &gdal::vector::Feature<'_>, columns: &Columns) -> Result<Key, String> {
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
    Ok((ward_code, whole("sheet")?, whole("number")?))
}

/// A feature's attributes; for a row of a coordinate table (`table`), its corner.
fn read_attributes(
    feature: &gdal::vector::Feature<'_>,
    columns: &Columns,
    table: Option<&CoordinateColumns>,
) -> Result<RawParcel, String> {
    let text = |attribute: &str| columns.text(feature, attribute);
    let names = |attribute: &str| columns.names(attribute).to_vec();
    let (ward_code, sheet, number) = key(feature, columns)?;
    let mut problems = Vec::new();
    let land_use = text("land_use").map(|u| u.to_uppercase()).unwrap_or_default();
    if land_use.is_empty() {
        problems.push(format!("no land-use code (fields {:?})", names("land_use")));
    }
    let shape = match (table, feature.geometry()) {
        (Some(table), _) => {
            let order = match text("order") {
                Some(o) => {
                    o.replace(',', ".").parse::<f64>().map_err(|_| format!("corner order {o:?} is not a number"))?
                }
                None => feature.fid().unwrap_or(0) as f64,
            };
            let (x, y) = table.point(feature)?;
            Shape::Corners(vec![(order, x, y)])
        }
        (None, Some(geometry)) => Shape::Wkb(geometry.wkb().map_err(|e| format!("unreadable geometry: {e}"))?),
        (None, None) => return Err("no geometry".into()),
    };
    let exact_area = columns.real(feature, "area");
    let area = match (exact_area, text("area")) {
        (Some(area), _) if area > 0.0 && area.is_finite() => Some(area),
        (_, Some(area)) => {
            let parsed = area.replace(',', ".").parse::<f64>().ok().filter(|a| *a > 0.0 && a.is_finite());
            if parsed.is_none() {
                problems.push(format!("area {area:?} is not a positive number of m²"));
            }
            parsed
        }
        (_, None) => None,
    };
    let owners = holders(text("holder"), text("holder_id"), text("holder_share")).unwrap_or_else(|e| {
        problems.push(e);
        None
    });
    Ok(RawParcel {
        ward_code,
        sheet,
        number,
        land_use,
        area,
        national_id: text("national_id"),
        address_text: text("address"),
        owners,
        shape,
        problems,
    })
}

/// The holders a feature names: names, IDs and shares, each list separated by ";" and in
/// the same order.
fn holders(
    names: Option<String>,
    ids: Option<String>,
    shares: Option<String>,
) -> Result<Option<serde_json::Value>, String> {
    let split = |list: &Option<String>| -> Vec<String> {
        list.as_deref().map(|l| l.split(';').map(|v| v.trim().to_owned()).collect()).unwrap_or_default()
    };
    let (names, ids, shares) = (split(&names), split(&ids), split(&shares));
    if names.is_empty() {
        return if ids.is_empty() && shares.is_empty() {
            Ok(None)
        } else {
            Err("holder IDs or shares without holder names".into())
        };
    }
    for (what, list) in [("IDs", &ids), ("shares", &shares)] {
        if !list.is_empty() && list.len() != names.len() {
            return Err(format!("{} holder names but {} holder {what}", names.len(), list.len()));
        }
    }
    let list = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut holder = serde_json::json!({ "name": name });
            if let Some(id) = ids.get(i).filter(|id| !id.is_empty()) {
                holder["id_number"] = serde_json::json!(id);
            }
            if let Some(share) = shares.get(i).filter(|s| !s.is_empty()) {
                holder["share"] = serde_json::json!(share);
            }
            holder
        })
        .collect();
    Ok(Some(serde_json::Value::Array(list)))
}

impl RawParcel {
    /// The parcel checked as the API checks it, every problem named (its attributes' and its
    /// geometry's); the legal area defaults to the planar VN-2000 area when the file has none.
    fn validate(
        self,
        feature: u64,
        crs: SubmittedCrs,
        vn2000: &Vn2000,
        limits: &Limits,
    ) -> Result<ImportedParcel, Vec<Rejected>> {
        let mut problems = self.problems;
        // The API's rule, by the same function: a code of the national lists.
        let code = LandUse { code: self.land_use.clone(), code_list: "TT25/2014".into(), area_m2: None, term: None };
        if let (false, Err(e)) = (self.land_use.is_empty(), code.validate()) {
            problems.push(format!("land use: {}", e.detail));
        }
        let geometry = match self.shape.polygons() {
            Ok(shape) => match validate_shape(shape, crs, limits.max_vertices, vn2000) {
                Ok(geometry) => Some(geometry),
                Err(e) => {
                    problems.push(format!("{}: {}", e.field, e.detail));
                    None
                }
            },
            Err(reason) => {
                problems.push(reason);
                None
            }
        };
        if let Some(owners) = &self.owners
            && let Err(e) = diaba_core::party::check_owners(owners)
        {
            problems.push(format!("holders: {e}"));
        }
        if let (Some(declared), Some(geometry)) = (self.area, &geometry) {
            let drawn = geometry.area_m2();
            let off = (declared - drawn).abs() / drawn.max(f64::MIN_POSITIVE) * 100.0;
            if off > limits.area_tolerance_percent {
                problems.push(format!(
                    "declared area {declared:.1} m² differs from the outline's {drawn:.1} m² by {off:.1} % \
                     (more than --area-tolerance {} %)",
                    limits.area_tolerance_percent
                ));
            }
        }
        match geometry {
            Some(geometry) if problems.is_empty() => Ok(ImportedParcel {
                feature,
                ward_code: self.ward_code,
                sheet: self.sheet,
                number: self.number,
                land_use: self.land_use,
                legal_area_m2: self.area.unwrap_or_else(|| geometry.area_m2()),
                national_id: self.national_id,
                address_text: self.address_text,
                geometry,
                owners: self.owners,
            }),
            _ => Err(problems.into_iter().map(|reason| Rejected { feature, reason }).collect()),
        }
    }
}

/// The rules an office may tune for an import (the API's defaults otherwise).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most vertices in one parcel (`--max-vertices`, as the API's).
    pub max_vertices: usize,
    /// Largest difference, in percent of the outline's area, between a declared (legal)
    /// area and the outline's before the feature is refused (`--area-tolerance`).
    pub area_tolerance_percent: f64,
}

/// Default largest difference between a declared area and the outline's: 10 %.
pub const DEFAULT_AREA_TOLERANCE_PERCENT: f64 = 10.0;

impl Default for Limits {
    fn default() -> Self {
        Self { max_vertices: DEFAULT_MAX_VERTICES, area_tolerance_percent: DEFAULT_AREA_TOLERANCE_PERCENT }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic 20 m square lot in Cần Thơ's VN-2000 zone, or a bow tie (self-intersecting).
    fn lot(number: i32, bow_tie: bool) -> String {
        let (x, y) = (585_000.0 + f64::from(number) * 20.0, 1_110_000.0);
        let ring = if bow_tie {
            format!("[[{x},{y}],[{},{}],[{},{y}],[{x},{}],[{x},{y}]]", x + 20.0, y + 20.0, x + 20.0, y + 20.0)
        } else {
            format!("[[{x},{y}],[{},{y}],[{},{}],[{x},{}],[{x},{y}]]", x + 20.0, x + 20.0, y + 20.0, y + 20.0)
        };
        format!(
            r#"{{"type":"Feature","properties":{{"MaXa":"31135","SoTo":7,"SoThua":{number},"land_use":"ODT"}},
               "geometry":{{"type":"Polygon","coordinates":[{ring}]}}}}"#
        )
    }

    #[test]
    fn parcels_read_in_batches_come_out_in_file_order_with_bad_ones_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lots.geojson");
        // Eleven lots (READ_BATCH is 3 in tests: four batches), the sixth self-intersecting.
        let lots: Vec<String> = (1..=11).map(|n| lot(n, n == 6)).collect();
        let crs = r#"{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::5897"}}"#;
        let file = format!(r#"{{"type":"FeatureCollection","crs":{crs},"features":[{}]}}"#, lots.join(","));
        std::fs::write(&path, file).unwrap();
        let read =
            read_parcels(&path, None, &ReadOptions::default(), None, Limits::default(), |_, _| {}).expect("readable");
        let numbers: Vec<i32> = read.accepted.iter().map(|p| p.number).collect();
        assert_eq!(numbers, [1, 2, 3, 4, 5, 7, 8, 9, 10, 11]);
        let features: Vec<u64> = read.accepted.iter().map(|p| p.feature).collect();
        assert!(features.windows(2).all(|w| w[0] < w[1]), "file order: {features:?}");
        assert_eq!(read.rejected.len(), 1, "{:?}", read.rejected);
        assert!(!features.contains(&read.rejected[0].feature), "the bow tie is the one refused");
    }
}
