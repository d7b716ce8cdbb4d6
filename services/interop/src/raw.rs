//! A parcel as read from a file, before validation: shared by the readers of tables and
//! of DGN sheets, and validated in one place (`parcels`).

/// A feature's attributes, read and checked; its geometry still as the file gave it.
pub(crate) struct RawParcel {
    pub(crate) ward_code: String,
    pub(crate) sheet: i32,
    pub(crate) number: i32,
    pub(crate) land_use: String,
    pub(crate) area: Option<f64>,
    pub(crate) national_id: Option<String>,
    pub(crate) address_text: Option<String>,
    pub(crate) owners: Option<serde_json::Value>,
    pub(crate) shape: Shape,
    /// What is wrong with its attributes (an unknown land-use code, a bad area …): reported
    /// with whatever is wrong with its geometry, so one run names every problem.
    pub(crate) problems: Vec<String>,
}

/// An outline as read: a feature's WKB, or the corners of a coordinate table's rows.
pub(crate) enum Shape {
    Wkb(Vec<u8>),
    /// (point order, easting or longitude, northing or latitude) of each row.
    Corners(Vec<(f64, f64, f64)>),
}

impl Shape {
    pub(crate) fn extend(&mut self, other: Shape) {
        if let (Shape::Corners(mine), Shape::Corners(more)) = (self, other) {
            mine.extend(more);
        }
    }

    /// The polygons; a table's corners in point order, closed if the table did not repeat
    /// the first corner.
    pub(crate) fn polygons(self) -> Result<geo::MultiPolygon<f64>, String> {
        match self {
            Shape::Wkb(wkb) => crate::polygons_from_wkb(&wkb),
            Shape::Corners(mut corners) => {
                corners.sort_by(|a, b| a.0.total_cmp(&b.0));
                let ring: Vec<geo::Coord<f64>> = corners.iter().map(|&(_, x, y)| geo::coord! { x: x, y: y }).collect();
                if ring.len() < 3 {
                    return Err(format!("{} corner(s) in the table; a parcel needs at least 3", ring.len()));
                }
                Ok(geo::MultiPolygon(vec![geo::Polygon::new(geo::LineString(ring), vec![])]))
            }
        }
    }
}
