//! Opening an office's file through GDAL: its text encoding, its coordinate system, and for
//! CSV coordinate tables, which columns hold the coordinates.

use crate::Error;
use crate::encoding::TextEncoding;
use diaba_core::crs::Tm3Zone;
use diaba_core::parcel::SubmittedCrs;
use gdal::Dataset;
use std::path::Path;

/// A file opened for import, with what was decided about it (for the report).
pub(crate) struct Opened {
    pub dataset: Dataset,
    pub crs: SubmittedCrs,
    /// How its text is decoded.
    pub text: TextEncoding,
    /// For a CSV table, the columns its coordinates are read from.
    pub table: Option<CoordinateColumns>,
    /// How the file was read, e.g. "column X read as northing (survey convention)".
    pub notes: Vec<String>,
}

impl Opened {
    /// Opens `path`: `source_crs` overrides the file's CRS, `encoding` its text encoding.
    pub(crate) fn open(path: &Path, source_crs: Option<SubmittedCrs>, encoding: Option<&str>) -> Result<Self, Error> {
        let shown = path.display().to_string();
        let gdal_error = |source| Error::Gdal { path: shown.clone(), source };
        let mut notes = Vec::new();
        let mut options = Vec::new();
        let text = TextEncoding::of(path, encoding);
        options.extend(text.gdal_option().map(|e| format!("ENCODING={e}")));
        notes.extend(text.note());
        let table = if is_csv(path) { Some(CoordinateColumns::of(path)?) } else { None };
        if let Some(table) = &table {
            notes.push(table.note());
        }
        let options: Vec<&str> = options.iter().map(String::as_str).collect();
        let dataset = Dataset::open_ex(
            path,
            gdal::DatasetOptions { open_options: (!options.is_empty()).then_some(&options[..]), ..Default::default() },
        )
        .map_err(gdal_error)?;
        let crs = match (source_crs, &table) {
            (Some(crs), _) => crs,
            (None, Some(table)) => table.crs,
            (None, None) if is_dgn(path) => {
                notes.push("coordinates: VN-2000 EPSG:5897 (a DGN names no CRS; else pass --src-crs)".into());
                SubmittedCrs::Vn2000(Tm3Zone::CAN_THO)
            }
            (None, None) => {
                let (crs, note) = crate::crs_of(&dataset.layer(0).map_err(gdal_error)?, &shown)?;
                notes.push(note);
                crs
            }
        };
        Ok(Self { dataset, crs, text, table, notes })
    }
}

/// Whether `path` is a MicroStation drawing.
pub(crate) fn is_dgn(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("dgn"))
}

/// Whether `path` is a CSV table (its rows are points: addresses, or parcel corners).
pub(crate) fn is_csv(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// Which columns of a CSV table hold the coordinates.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CoordinateColumns {
    /// Column read as easting or longitude.
    pub x: String,
    /// Column read as northing or latitude.
    pub y: String,
    /// lon/lat columns → WGS84; X/Y → VN-2000, Cần Thơ's zone unless --src-crs.
    pub crs: SubmittedCrs,
    /// Whether the column named X held northings (Vietnamese survey tables).
    pub survey_order: bool,
}

const LONGITUDE: &[&str] = &["lon", "lng", "longitude", "kinhdo", "kinh_do"];
const LATITUDE: &[&str] = &["lat", "latitude", "vido", "vi_do"];
const X: &[&str] = &["x", "toadox", "toa_do_x", "x_vn2000"];
const Y: &[&str] = &["y", "toadoy", "toa_do_y", "y_vn2000"];

impl CoordinateColumns {
    /// Reads the header and first row. Vietnamese survey tables write X = northing,
    /// Y = easting (the opposite of GIS); in VN-2000 a northing (≈ 1 100 000 m in Cần Thơ)
    /// is always larger than an easting (≈ 500 000 ± 200 000 m), so the first row tells
    /// which convention the table follows.
    pub(crate) fn of(path: &Path) -> Result<Self, Error> {
        let shown = path.display().to_string();
        let fail = |reason: String| Error::Crs { path: shown.clone(), reason };
        let text = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
        let first_line = text.split(|b| *b == b'\n').next().unwrap_or_default();
        let delimiter = [b';', b'\t', b','].into_iter().max_by_key(|d| first_line.iter().filter(|b| *b == d).count());
        let mut reader = csv::ReaderBuilder::new().delimiter(delimiter.unwrap_or(b',')).from_reader(&text[..]);
        let headers: Vec<String> =
            reader.headers().map_err(|e| fail(e.to_string()))?.iter().map(|h| h.trim().to_owned()).collect();
        let find = |names: &[&str]| headers.iter().position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)));
        if let (Some(lon), Some(lat)) = (find(LONGITUDE), find(LATITUDE)) {
            return Ok(Self {
                x: headers[lon].clone(),
                y: headers[lat].clone(),
                crs: SubmittedCrs::Wgs84,
                survey_order: false,
            });
        }
        let (Some(x), Some(y)) = (find(X), find(Y)) else {
            return Err(fail(format!(
                "a coordinate table needs columns X and Y (VN-2000 metres, X = northing as surveyors write it) \
                 or lon and lat; its columns are {headers:?}"
            )));
        };
        let first = reader.records().next().and_then(Result::ok);
        let number = |i: usize| first.as_ref()?.get(i)?.trim().replace(',', ".").parse::<f64>().ok();
        let (Some(x_value), Some(y_value)) = (number(x), number(y)) else {
            return Err(fail(format!("the first row has no numbers in columns {} and {}", headers[x], headers[y])));
        };
        // Degrees under columns named X/Y: a GIS export in lon/lat, whichever way round.
        let lon_lat = |lon: f64, lat: f64| (100.0..=112.0).contains(&lon) && (6.0..=25.0).contains(&lat);
        if lon_lat(x_value, y_value) || lon_lat(y_value, x_value) {
            let (lon, lat) = if lon_lat(x_value, y_value) { (x, y) } else { (y, x) };
            return Ok(Self {
                x: headers[lon].clone(),
                y: headers[lat].clone(),
                crs: SubmittedCrs::Wgs84,
                survey_order: false,
            });
        }
        let survey_order = x_value > y_value;
        let (easting, northing) = if survey_order { (y, x) } else { (x, y) };
        Ok(Self {
            x: headers[easting].clone(),
            y: headers[northing].clone(),
            crs: SubmittedCrs::Vn2000(Tm3Zone::CAN_THO),
            survey_order,
        })
    }

    /// A row's point (easting/longitude, northing/latitude), read from the columns' text
    /// by diaba: GDAL's CSV driver would cut a decimal comma ("1109876,12" → 1109876).
    pub(crate) fn point(&self, feature: &gdal::vector::Feature<'_>) -> Result<(f64, f64), String> {
        let number = |column: &str| {
            let text = feature.field_as_string_by_name(column).ok().flatten().unwrap_or_default();
            let text = text.trim();
            if text.is_empty() {
                return Err(format!("no coordinate in column {column}"));
            }
            text.replace(',', ".")
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("{column} {text:?} is not a number"))
        };
        Ok((number(&self.x)?, number(&self.y)?))
    }

    fn note(&self) -> String {
        match (self.crs, self.survey_order) {
            (SubmittedCrs::Wgs84, _) => format!("coordinates: {} = longitude, {} = latitude", self.x, self.y),
            (_, true) => {
                format!("coordinates: {} = northing, {} = easting (survey order, X = northing)", self.y, self.x)
            }
            (_, false) => format!("coordinates: {} = easting, {} = northing", self.x, self.y),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> CoordinateColumns {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).unwrap();
        CoordinateColumns::of(&path).unwrap()
    }

    #[test]
    fn survey_tables_put_the_northing_in_x() {
        let t = table("MaXa;SoTo;SoThua;STT;X;Y\n31135;1;1;1;1109876.12;587654.32\n");
        assert_eq!((t.x.as_str(), t.y.as_str(), t.survey_order), ("Y", "X", true));
        assert_eq!(t.crs, SubmittedCrs::Vn2000(Tm3Zone::CAN_THO));
    }

    #[test]
    fn gis_order_tables_are_recognised_by_their_values() {
        let t = table("x,y,SoNha\n587654.32,1109876.12,12\n");
        assert_eq!((t.x.as_str(), t.y.as_str(), t.survey_order), ("x", "y", false));
    }

    #[test]
    fn degrees_under_x_and_y_are_lon_lat_whichever_way_round() {
        let t = table("X;Y\n10,0335;105,7831\n");
        assert_eq!((t.x.as_str(), t.y.as_str(), t.crs), ("Y", "X", SubmittedCrs::Wgs84));
    }

    #[test]
    fn lon_lat_tables_are_wgs84() {
        let t = table("SoNha,KinhDo,ViDo\n12,105.78,10.03\n");
        assert_eq!((t.x.as_str(), t.y.as_str(), t.crs), ("KinhDo", "ViDo", SubmittedCrs::Wgs84));
    }

    #[test]
    fn a_table_without_coordinates_names_its_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "a,b\n1,2\n").unwrap();
        let error = CoordinateColumns::of(&path).unwrap_err().to_string();
        assert!(error.contains("X and Y") && error.contains("[\"a\", \"b\"]"), "{error}");
    }
}
