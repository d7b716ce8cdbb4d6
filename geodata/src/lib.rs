//! The real geodata diaba ships: Cần Thơ's administrative units before and after the 2025
//! reform, their postcodes, and which old units formed each new one.
//!
//! The files are compiled into the binary so a service never depends on the working
//! directory; `SOURCES.md` beside them gives origin and license of each.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use diaba_core::UnitLevel;
use serde::Deserialize;
use serde_json::Value;

const WARDS_2025: &str = include_str!("../cantho_wards_2025_sapnhapbando.geojson");
const CITY_2025: &str = include_str!("../cantho_city_2025_boundary_sapnhapbando.geojson");
const DISTRICTS_PRE2025: &str = include_str!("../cantho_districts_pre2025_gischinhphu.geojson");
const UNITS_PRE2025: &str = include_str!("../cantho_admin_units_pre2025_gso_postcodes.csv");
const SCOPE_2025: &str = include_str!("../cantho_wards_2025_scope_postcodes.csv");
const COMPOSITION_2025: &str = include_str!("../cantho_wards_2025_composition.csv");

/// A shipped file that does not parse: a packaging bug, reported with the file's name.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A GeoJSON file is not the FeatureCollection we expect.
    #[error("shipped file {file}: {reason}")]
    Shape {
        /// file name
        file: &'static str,
        /// what is missing
        reason: String,
    },
    /// A CSV row does not parse.
    #[error("shipped file {file}: {source}")]
    Csv {
        /// file name
        file: &'static str,
        /// parser error
        source: csv::Error,
    },
}

/// Result with the geodata [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// A unit with a polygon: GSO code, names and the GeoJSON geometry text (WGS84).
#[derive(Debug, Clone)]
pub struct UnitShape {
    /// GSO code.
    pub code: String,
    /// Full Vietnamese name, e.g. "Phường Ninh Kiều".
    pub full_name: String,
    /// English name where the source has one.
    pub name_en: Option<String>,
    /// GeoJSON geometry (MultiPolygon), as text for PostGIS `ST_GeomFromGeoJSON`.
    pub geometry: String,
    /// Which shipped file it came from (recorded as the unit's source).
    pub source: &'static str,
}

/// A pre-2025 unit from the GSO list with its Vietnam Post postcode (2020).
#[derive(Debug, Clone, Deserialize)]
pub struct Pre2025Unit {
    /// province, district or ward
    pub level: UnitLevel,
    /// GSO code
    pub gso_code: String,
    /// Full Vietnamese name.
    pub name: String,
    /// Phường, Xã, Quận, Huyện, Thị trấn …
    #[serde(rename = "type")]
    pub kind: String,
    /// Code of the parent unit (empty for the province).
    pub parent_gso_code: String,
    /// 1 when the unit was in the GSO list of 2025-03-01 (0: merged away earlier).
    pub in_gso_list_2025_03_01: u8,
    /// Postcode: 2 digits for the province, 3 for a district, 5 for a ward.
    pub postcode_vnpost_2020: String,
}

/// One of the 12 post-2025 units that cover the four former districts, with its postcode.
#[derive(Debug, Clone)]
pub struct ScopeUnit {
    /// New GSO code.
    pub code: String,
    /// New full name.
    pub name: String,
    /// New 5-digit postcode (QĐ 2334/QĐ-BKHCN).
    pub postcode: String,
    /// Pre-2025 units it was formed from; `partial` when only part of the old unit joined.
    pub formed_from: Vec<Predecessor>,
}

/// A pre-2025 unit that (wholly or partly) became part of a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Predecessor {
    /// Pre-2025 GSO code.
    pub code: String,
    /// Only part of the old unit went to this new unit.
    pub partial: bool,
}

/// The 32 wards and communes of the former Cần Thơ city, valid from 2025-07-01.
pub fn wards_2025() -> Result<Vec<UnitShape>> {
    shapes("cantho_wards_2025_sapnhapbando.geojson", WARDS_2025, |props| {
        Some((
            props.get("code")?.as_str()?.to_owned(),
            props.get("fullName")?.as_str()?.to_owned(),
            props.get("fullNameEn").and_then(Value::as_str).map(str::to_owned),
        ))
    })
}

/// The outline of the merged Cần Thơ city (code 92), valid from 2025-07-01.
pub fn city_2025() -> Result<UnitShape> {
    let mut all = shapes("cantho_city_2025_boundary_sapnhapbando.geojson", CITY_2025, |props| {
        Some((
            props.get("code")?.as_str()?.to_owned(),
            props.get("fullName")?.as_str()?.to_owned(),
            props.get("fullNameEn").and_then(Value::as_str).map(str::to_owned),
        ))
    })?;
    all.pop()
        .ok_or(Error::Shape { file: "cantho_city_2025_boundary_sapnhapbando.geojson", reason: "no feature".into() })
}

/// The pre-2025 city (92) and its 9 districts, valid until 2025-06-30.
pub fn districts_pre2025() -> Result<Vec<UnitShape>> {
    shapes("cantho_districts_pre2025_gischinhphu.geojson", DISTRICTS_PRE2025, |props| {
        Some((props.get("gso_code")?.as_str()?.to_owned(), props.get("name")?.as_str()?.to_owned(), None))
    })
}

/// The pre-2025 unit list (city, districts, wards) with 2020 postcodes.
pub fn units_pre2025() -> Result<Vec<Pre2025Unit>> {
    let file = "cantho_admin_units_pre2025_gso_postcodes.csv";
    csv::Reader::from_reader(UNITS_PRE2025.as_bytes())
        .deserialize()
        .collect::<std::result::Result<_, _>>()
        .map_err(|source| Error::Csv { file, source })
}

/// The 12 post-2025 units of the service area with their new postcodes and predecessors.
pub fn scope_2025() -> Result<Vec<ScopeUnit>> {
    #[derive(Deserialize)]
    struct Row {
        code_2025: String,
        name_2025: String,
        postcode_2025: String,
        formed_from_pre2025_codes: String,
    }
    let file = "cantho_wards_2025_scope_postcodes.csv";
    let rows: Vec<Row> = csv::Reader::from_reader(SCOPE_2025.as_bytes())
        .deserialize()
        .collect::<std::result::Result<_, _>>()
        .map_err(|source| Error::Csv { file, source })?;
    Ok(rows
        .into_iter()
        .map(|row| ScopeUnit {
            code: row.code_2025,
            name: row.name_2025,
            postcode: row.postcode_2025,
            formed_from: row.formed_from_pre2025_codes.split(';').map(predecessor).collect(),
        })
        .collect())
}

/// For each of the 32 post-2025 wards, the names of the pre-2025 units it was formed from
/// ("giữ nguyên" = unchanged), as published.
pub fn composition_2025() -> Result<Vec<(String, String)>> {
    let file = "cantho_wards_2025_composition.csv";
    let mut reader = csv::Reader::from_reader(COMPOSITION_2025.as_bytes());
    reader
        .records()
        .map(|record| {
            let record = record.map_err(|source| Error::Csv { file, source })?;
            Ok((record[0].to_owned(), record[4].to_owned()))
        })
        .collect()
}

/// Every postcode area diaba can vouch for from the shipped data, for encoding and
/// decoding Vpostcodes without a database (CLI, tests).
///
/// Current areas: the 12 post-2025 units of the service area with their new postcodes.
/// Historical areas (still decodable): the pre-2025 wards of Ninh Kiều, Bình Thủy, Cái Răng
/// and Phong Điền. No licensed polygons of those wards exist, so each stands for the
/// post-2025 wards it became part of, or its district's polygon when it has no successor
/// in the table (DESIGN §3).
pub fn postcode_table() -> Result<diaba_core::PostcodeTable> {
    use diaba_core::{Postcode, PostcodeArea, PostcodeTable};
    let file = "cantho_wards_2025_sapnhapbando.geojson";
    let wards = wards_2025()?;
    let shape_of = |code: &str, shapes: &[UnitShape], file: &'static str| -> Result<Option<geo::MultiPolygon<f64>>> {
        shapes.iter().find(|s| s.code == code).map(|s| multipolygon(file, &s.geometry)).transpose()
    };
    let mut table = PostcodeTable::default();
    let scope = scope_2025()?;
    let mut successors: std::collections::HashMap<String, Vec<geo::Polygon<f64>>> = Default::default();
    for unit in &scope {
        let Some(shape) = shape_of(&unit.code, &wards, file)? else { continue };
        for old in &unit.formed_from {
            successors.entry(old.code.clone()).or_default().extend(shape.0.iter().cloned());
        }
        let postcode = Postcode::parse(&unit.postcode).map_err(|e| Error::Shape { file, reason: e.to_string() })?;
        table.extend(PostcodeArea::new(postcode, &unit.code, &unit.name, true, shape));
    }
    let districts = districts_pre2025()?;
    for ward in units_pre2025()?
        .iter()
        .filter(|u| u.level == UnitLevel::Ward && SERVICE_AREA_DISTRICTS.contains(&u.parent_gso_code.as_str()))
    {
        let Ok(postcode) = Postcode::parse(&ward.postcode_vnpost_2020) else { continue };
        let shape = match successors.get(&ward.gso_code) {
            Some(polygons) => Some(geo::MultiPolygon(polygons.clone())),
            None => shape_of(&ward.parent_gso_code, &districts, "cantho_districts_pre2025_gischinhphu.geojson")?,
        };
        if let Some(shape) = shape {
            table.extend(PostcodeArea::new(postcode, &ward.gso_code, &ward.name, false, shape));
        }
    }
    Ok(table)
}

/// The 12 post-2025 units of the service area with their outlines (lon/lat), in code order.
pub fn service_wards() -> Result<Vec<(String, geo::MultiPolygon<f64>)>> {
    let scope = scope_2025()?;
    let mut wards: Vec<(String, geo::MultiPolygon<f64>)> = wards_2025()?
        .into_iter()
        .filter(|w| scope.iter().any(|s| s.code == w.code))
        .map(|w| Ok((w.code, multipolygon("cantho_wards_2025_sapnhapbando.geojson", &w.geometry)?)))
        .collect::<Result<_>>()?;
    wards.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(wards)
}

/// Ninh Kiều, Bình Thủy, Cái Răng, Phong Điền: the former districts diaba covers.
pub const SERVICE_AREA_DISTRICTS: [&str; 4] = ["916", "918", "919", "926"];

/// Parses a shipped GeoJSON geometry (Polygon or MultiPolygon) into lon/lat polygons.
pub fn multipolygon(file: &'static str, geometry: &str) -> Result<geo::MultiPolygon<f64>> {
    let shape_error = |reason: String| Error::Shape { file, reason };
    let geometry: geojson::Geometry = geometry.parse().map_err(|e: geojson::Error| shape_error(e.to_string()))?;
    match geo::Geometry::<f64>::try_from(geometry).map_err(|e| shape_error(e.to_string()))? {
        geo::Geometry::MultiPolygon(m) => Ok(m),
        geo::Geometry::Polygon(p) => Ok(geo::MultiPolygon(vec![p])),
        other => Err(shape_error(format!("expected a polygon, got {other:?}"))),
    }
}

/// A fingerprint of every shipped file, reported by `/health` as the data version.
pub fn fingerprint() -> String {
    // FNV-1a: stable across Rust releases, unlike std's DefaultHasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in [WARDS_2025, CITY_2025, DISTRICTS_PRE2025, UNITS_PRE2025, SCOPE_2025, COMPOSITION_2025] {
        for byte in file.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

fn predecessor(text: &str) -> Predecessor {
    let text = text.trim();
    match text.split_once('(') {
        Some((code, _)) => Predecessor { code: code.trim().to_owned(), partial: true },
        None => Predecessor { code: text.to_owned(), partial: false },
    }
}

type Names = (String, String, Option<String>);

fn shapes(
    file: &'static str,
    text: &str,
    names: impl Fn(&serde_json::Map<String, Value>) -> Option<Names>,
) -> Result<Vec<UnitShape>> {
    let shape_error = |reason: &str| Error::Shape { file, reason: reason.into() };
    let collection: Value = serde_json::from_str(text).map_err(|e| shape_error(&e.to_string()))?;
    let features = collection["features"].as_array().ok_or_else(|| shape_error("no features array"))?;
    features
        .iter()
        .map(|feature| {
            let props = feature["properties"].as_object().ok_or_else(|| shape_error("feature without properties"))?;
            let (code, full_name, name_en) = names(props).ok_or_else(|| shape_error("feature without code or name"))?;
            let geometry = feature
                .get("geometry")
                .filter(|g| g.is_object())
                .ok_or_else(|| shape_error("feature without geometry"))?;
            Ok(UnitShape { code, full_name, name_en, geometry: geometry.to_string(), source: file })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_file_parses_with_the_expected_counts() {
        assert_eq!(wards_2025().unwrap().len(), 32);
        assert_eq!(districts_pre2025().unwrap().len(), 10);
        assert_eq!(city_2025().unwrap().code, "92");
        assert_eq!(units_pre2025().unwrap().len(), 93);
        assert_eq!(scope_2025().unwrap().len(), 12);
        assert_eq!(composition_2025().unwrap().len(), 32);
    }

    #[test]
    fn partial_predecessors_are_marked() {
        let cai_khe = scope_2025().unwrap().into_iter().find(|u| u.code == "31120").unwrap();
        assert_eq!(cai_khe.postcode, "94107");
        assert!(cai_khe.formed_from.contains(&Predecessor { code: "31178".into(), partial: true }));
        assert!(cai_khe.formed_from.contains(&Predecessor { code: "31117".into(), partial: false }));
    }

    #[test]
    fn the_scope_units_all_have_polygons() {
        let wards = wards_2025().unwrap();
        for unit in scope_2025().unwrap() {
            assert!(wards.iter().any(|w| w.code == unit.code), "{} has no polygon", unit.code);
        }
    }
}
