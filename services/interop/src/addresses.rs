//! Importing household addresses an office or a team already holds (GeoPackage, Shapefile,
//! GeoJSON, CSV with lon/lat or VN-2000 X/Y), checked as a field submission is: the point
//! must fall in a ward diaba serves, its Vpostcode is computed (and a code the file carries
//! must agree), a house number and a street or hamlet are required.

use crate::columns::{Columns, FieldNames, ReadOptions};
use crate::open::Opened;
use crate::{Error, Rejected};
use diaba_core::crs::{Vn2000, Vn2000Point};
use diaba_core::parcel::SubmittedCrs;
use diaba_core::{LonLat, PostcodeTable, Vpostcode};
use gdal::vector::LayerAccess;
use std::path::Path;

/// An address read from a file, placed and coded.
#[derive(Debug, Clone)]
pub struct ImportedAddress {
    /// Feature id in the file.
    pub feature: u64,
    /// WGS84 location.
    pub location: LonLat,
    /// Vpostcode of the location (compact, 12 characters).
    pub vpostcode: String,
    /// Current ward containing the location.
    pub ward_code: String,
    /// Số nhà, e.g. 12/3A.
    pub house_number: String,
    /// Street (đường) or alley.
    pub street: Option<String>,
    /// Hamlet (ấp) or area (khu vực).
    pub hamlet: Option<String>,
    /// Head of household (personal data).
    pub head_name: Option<String>,
}

/// The outcome of reading an address file.
#[derive(Debug, Clone, Default)]
pub struct AddressImport {
    /// Addresses that passed.
    pub accepted: Vec<ImportedAddress>,
    /// Features that did not, with reasons.
    pub rejected: Vec<Rejected>,
    /// How the file was read.
    pub notes: Vec<String>,
}

/// Attributes of an address and the field names offices and teams use for them.
pub const ADDRESS_FIELDS: [FieldNames; 6] = [
    ("house_number", &["house_number", "house_numb", "SoNha", "so_nha", "SONHA"]),
    ("street", &["street", "TenDuong", "Duong", "ten_duong", "TENDUONG"]),
    ("hamlet", &["hamlet", "Ap", "KhuVuc", "ToDanPho", "ap", "khu_vuc"]),
    ("ward", &["ward_code", "MaXa", "ma_xa", "MAXA"]),
    ("head_name", &["head_name", "ChuHo", "TenChuHo", "chu_ho"]),
    ("vpostcode", &["vpostcode", "Vpostcode", "MaDiaChi"]),
];

/// Reads addresses (points) from the first layer of `path`; see [`crate::read_parcels`] for
/// `source_crs`, `mapping` and `encoding`. `postcodes` are the current wards' areas.
pub fn read_addresses(
    path: &Path,
    source_crs: Option<SubmittedCrs>,
    mapping: &ReadOptions,
    encoding: Option<&str>,
    postcodes: &PostcodeTable,
    mut progress: impl FnMut(u64, u64),
) -> Result<AddressImport, Error> {
    let shown = path.display().to_string();
    let gdal_error = |source| Error::Gdal { path: shown.clone(), source };
    let opened = Opened::open(path, source_crs, encoding)?;
    let mut layer = opened.dataset.layer(0).map_err(gdal_error)?;
    let total = layer.feature_count();
    let columns = Columns::resolve(layer.defn(), &ADDRESS_FIELDS, mapping, opened.text.clone(), &shown)?;
    if !columns.has("house_number") {
        return Err(Error::Crs {
            path: shown,
            reason: format!(
                "no house number field: looked for {:?}; name it with --map house_number=FIELD",
                columns.names("house_number")
            ),
        });
    }
    let grid = match opened.crs {
        SubmittedCrs::Vn2000(zone) => {
            Some(Vn2000::new(zone).map_err(|e| Error::Crs { path: shown.clone(), reason: e.to_string() })?)
        }
        SubmittedCrs::Wgs84 => None,
    };
    let mut out = AddressImport { notes: opened.notes.clone(), ..Default::default() };
    for (position, feature) in layer.features().enumerate() {
        progress(position as u64 + 1, total);
        let fid = feature.fid().unwrap_or(position as u64);
        let text = |attribute: &str| columns.text(&feature, attribute);
        let checked = (|| {
            let (x, y) = match &opened.table {
                Some(table) => table.point(&feature)?,
                None => {
                    let geometry = feature.geometry().ok_or("no location")?;
                    if !geometry.geometry_name().eq_ignore_ascii_case("POINT") {
                        return Err(format!("an address is a point, not a {}", geometry.geometry_name()));
                    }
                    let (x, y, _) = geometry.get_point(0);
                    (x, y)
                }
            };
            let location = match &grid {
                Some(grid) => {
                    Vn2000Point::new(x, y).and_then(|p| grid.to_wgs84(p)).map_err(|e| format!("[{x}, {y}]: {e}"))?
                }
                None => LonLat::new(x, y).map_err(|e| format!("[{x}, {y}]: {e}"))?,
            };
            let area = postcodes.area_containing(location).ok_or_else(|| {
                format!("lat {:.6}, lon {:.6} is outside the 12 wards diaba serves", location.lat(), location.lon())
            })?;
            let code = Vpostcode::encode(location, area).map_err(|e| e.to_string())?;
            let ward_code = area.unit_code().to_owned();
            if let Some(ward) = text("ward").filter(|w| *w != ward_code) {
                return Err(format!("the file says ward {ward}, but the point is in ward {ward_code}"));
            }
            if let Some(given) = text("vpostcode") {
                let given = Vpostcode::parse(&given).map_err(|e| format!("vpostcode: {e}"))?;
                if given != code {
                    return Err(format!("the file's Vpostcode {given} does not name its point, whose code is {code}"));
                }
            }
            let house_number = text("house_number").ok_or("no house number")?;
            let (street, hamlet) = (text("street"), text("hamlet"));
            if street.is_none() && hamlet.is_none() {
                return Err("give the street (urban wards) or the hamlet, ấp (rural communes)".into());
            }
            Ok(ImportedAddress {
                feature: fid,
                location,
                vpostcode: code.compact(),
                ward_code,
                house_number,
                street,
                hamlet,
                head_name: text("head_name"),
            })
        })();
        match checked {
            Ok(address) => out.accepted.push(address),
            Err(reason) => out.rejected.push(Rejected { feature: fid, reason }),
        }
    }
    Ok(out)
}
