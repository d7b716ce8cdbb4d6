//! Cadastral maps drawn in MicroStation (DGN v7, read by GDAL's DGN driver): parcel
//! outlines are closed shapes or closed line strings on one level, and each parcel's number
//! and land-use code are text elements placed inside it. A sheet carries neither its ward
//! nor its sheet number, so those come from `--set ward=… --set sheet=…`.

use crate::Rejected;
use crate::columns::ReadOptions;
use crate::raw::{RawParcel, Shape};
use gdal::vector::{Layer, LayerAccess};
use geo::{Contains, Coord, LineString, MultiPolygon, Point, Polygon};

/// DGN element types (MicroStation v7): 6 shape, 14 complex shape, 4 line string,
/// 12 complex chain, 17 text.
const TEXT: i64 = 17;

/// Reads the outlines on `options.dgn_level` and labels them with the texts inside.
pub(crate) fn read_outlines(
    layer: &mut Layer<'_>,
    options: &ReadOptions,
    mut progress: impl FnMut(u64, u64),
) -> (Vec<(u64, RawParcel)>, Vec<Rejected>) {
    let total = layer.feature_count();
    let mut outlines: Vec<(u64, Polygon<f64>)> = Vec::new();
    let mut labels: Vec<(Point<f64>, String)> = Vec::new();
    for (position, feature) in layer.features().enumerate() {
        progress(position as u64 + 1, total);
        let fid = feature.fid().unwrap_or(position as u64);
        let integer = |name: &str| feature.field_as_integer64_by_name(name).ok().flatten();
        let Some(geometry) = feature.geometry() else { continue };
        if integer("Type") == Some(TEXT) {
            if let Some(text) = feature.field_as_string_by_name("Text").ok().flatten() {
                let (x, y, _) = geometry.get_point(0);
                labels.push((Point::new(x, y), text));
            }
            continue;
        }
        if options.dgn_level.is_some_and(|level| integer("Level") != Some(level)) {
            continue;
        }
        let points: Vec<Coord<f64>> = match geometry.geometry_name().as_str() {
            "POLYGON" => match geometry.get_geometry(0).get_point_vec() {
                ring if !ring.is_empty() => ring.iter().map(|&(x, y, _)| Coord { x, y }).collect(),
                _ => continue,
            },
            "LINESTRING" => geometry.get_point_vec().iter().map(|&(x, y, _)| Coord { x, y }).collect(),
            _ => continue,
        };
        // Open line strings are the map's other linework (roads, ditches), not parcels.
        if points.len() >= 4 && points.first() == points.last() {
            outlines.push((fid, Polygon::new(LineString(points), vec![])));
        }
    }
    let value = |attribute: &str| options.values.get(attribute).cloned();
    let mut read = Vec::new();
    let mut rejected = Vec::new();
    for (fid, outline) in outlines {
        let inside: Vec<&str> =
            labels.iter().filter(|(p, _)| outline.contains(p)).map(|(_, text)| text.as_str()).collect();
        match label_parcel(&inside, value("ward"), value("sheet"), value("land_use")) {
            Ok((ward_code, sheet, number, land_use)) => read.push((
                fid,
                RawParcel {
                    ward_code,
                    sheet,
                    number,
                    land_use,
                    area: None,
                    national_id: None,
                    address_text: None,
                    // A drawing names no holders.
                    owners: None,
                    shape: Shape::Wkb(wkb(outline)),
                    problems: Vec::new(),
                },
            )),
            Err(reason) => rejected.push(Rejected { feature: fid, reason }),
        }
    }
    (read, rejected)
}

fn wkb(outline: Polygon<f64>) -> Vec<u8> {
    use geozero::{CoordDimensions, ToWkb};
    geo::Geometry::MultiPolygon(MultiPolygon(vec![outline])).to_wkb(CoordDimensions::xy()).expect("a polygon encodes")
}

/// Ward, sheet, number and land use of an outline from the texts inside it: a whole
/// number is the parcel number, a code of 2–4 capitals (ODT, LUC, CLN) its land use.
fn label_parcel(
    texts: &[&str],
    ward: Option<String>,
    sheet: Option<String>,
    land_use: Option<String>,
) -> Result<(String, i32, i32, String), String> {
    let tokens: Vec<&str> = texts.iter().flat_map(|t| t.split(|c: char| c.is_whitespace() || c == '/')).collect();
    let numbers: Vec<i32> = tokens.iter().filter_map(|t| t.parse::<i32>().ok().filter(|n| *n > 0)).collect();
    let codes: Vec<&str> = tokens
        .iter()
        .copied()
        .filter(|t| (2..=4).contains(&t.len()) && t.chars().all(|c| c.is_ascii_uppercase()))
        .collect();
    let number = match numbers.as_slice() {
        [n] => *n,
        [] => return Err(format!("no parcel number among the texts inside the outline ({texts:?})")),
        many => return Err(format!("several parcel numbers inside one outline: {many:?}")),
    };
    let land_use = match (codes.as_slice(), land_use) {
        ([code], _) => code.to_string(),
        ([], Some(code)) => code,
        ([], None) => return Err(format!("parcel {number}: no land-use code inside the outline; or --set land_use=…")),
        (many, _) => return Err(format!("parcel {number}: several land-use codes inside one outline: {many:?}")),
    };
    let ward = ward.ok_or("a DGN sheet names no ward: pass --set ward=CODE")?;
    let sheet = sheet
        .and_then(|s| s.parse::<i32>().ok().filter(|s| *s > 0))
        .ok_or("a DGN sheet names no sheet number: pass --set sheet=N")?;
    Ok((ward, sheet, number, land_use))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_and_a_code_label_a_parcel() {
        let got = label_parcel(&["125", "ODT"], Some("31135".into()), Some("12".into()), None);
        assert_eq!(got, Ok(("31135".into(), 12, 125, "ODT".into())));
        let got = label_parcel(&["125/ODT"], Some("31135".into()), Some("12".into()), None);
        assert_eq!(got.map(|p| p.2), Ok(125));
    }

    #[test]
    fn missing_or_doubled_labels_are_reasons() {
        let set = || (Some("31135".to_owned()), Some("12".to_owned()));
        assert!(label_parcel(&["ODT"], set().0, set().1, None).unwrap_err().contains("no parcel number"));
        assert!(label_parcel(&["1", "2", "ODT"], set().0, set().1, None).unwrap_err().contains("several"));
        assert!(label_parcel(&["1"], set().0, set().1, None).unwrap_err().contains("land_use"));
        assert!(label_parcel(&["1", "ODT"], None, set().1, None).unwrap_err().contains("--set ward"));
    }
}
