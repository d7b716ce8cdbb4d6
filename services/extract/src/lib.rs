//! The parcel extract (trích lục thửa đất) as an A4 PDF, as a Vietnamese land registration
//! office issues it: the parcel drawn to a standard scale among its neighbours (their
//! numbers), north arrow and scale bar, edge lengths on the drawing; the vertex table in
//! VN-2000 (point, X = northing, Y = easting, edge to the next point, 2 decimals); ward,
//! sheet, number, legal area, land uses, certificate, holders (registrars' variant), the
//! date issued; a "DỮ LIỆU TỔNG HỢP" watermark on synthetic parcels.
//!
//! Pure: the data in, the PDF bytes out. Text is set in a TrueType font the caller passes
//! (Debian's DejaVu Sans covers Vietnamese), embedded so every reader shows the same.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod drawing;
mod layout;

use chrono::NaiveDate;

pub use layout::render;

/// Everything an extract shows. Coordinates are VN-2000 / TM-3 metres, `[easting, northing]`.
#[derive(Debug, Clone)]
pub struct Extract {
    /// Ward, as "Phường Ninh Kiều (31135)".
    pub ward: String,
    /// Map sheet (tờ bản đồ).
    pub sheet: i32,
    /// Parcel number (thửa).
    pub number: i32,
    /// National parcel id.
    pub national_id: String,
    /// Legal area, m².
    pub legal_area_m2: f64,
    /// Land uses, e.g. "ODT 120,0 m² (lâu dài)".
    pub land_uses: Vec<String>,
    /// The land-use code drawn on the parcel (the primary use), e.g. "ODT".
    pub primary_use: String,
    /// Address of the parcel.
    pub address: Option<String>,
    /// Certificate serial, when one covers it.
    pub certificate: Option<String>,
    /// Holders with their shares; `None` in the public variant.
    pub holders: Option<Vec<String>>,
    /// Rings of the outline, each closed (last point = first), exteriors then holes.
    pub outline: Vec<Vec<[f64; 2]>>,
    /// A point inside the parcel for its label.
    pub label_at: [f64; 2],
    /// Neighbouring parcels.
    pub neighbours: Vec<Neighbour>,
    /// Date issued.
    pub issued_on: NaiveDate,
    /// Synthetic (demo) data: watermarked.
    pub synthetic: bool,
}

/// A neighbouring parcel: drawn thin, with its number.
#[derive(Debug, Clone)]
pub struct Neighbour {
    /// Its sheet (shown when not the parcel's).
    pub sheet: i32,
    /// Its number.
    pub number: i32,
    /// Its rings, closed.
    pub outline: Vec<Vec<[f64; 2]>>,
    /// A point inside it for its number.
    pub label_at: [f64; 2],
}

/// One row of the vertex table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Vertex {
    /// Point number, from 1, continuing across rings.
    pub number: usize,
    /// X: northing, m.
    pub x: f64,
    /// Y: easting, m.
    pub y: f64,
    /// Length of the edge to the next point of its ring, m.
    pub edge_to_next: f64,
    /// That length as printed, in centimetres: rounded so the printed edges add up to the
    /// perimeter rounded to the centimetre (largest remainders take the spare centimetres),
    /// each within 1 cm of the true length.
    pub edge_cm: i64,
}

/// The vertex table of an outline: each ring's points once (not the closing repeat), with
/// the edge from each to the next of its ring (the last closes the ring).
pub fn vertices(outline: &[Vec<[f64; 2]>]) -> Vec<Vertex> {
    let mut rows = Vec::new();
    for ring in outline {
        let points = match ring.split_last() {
            Some((last, rest)) if Some(last) == ring.first() => rest,
            _ => ring.as_slice(),
        };
        for (i, p) in points.iter().enumerate() {
            let next = points[(i + 1) % points.len()];
            let edge_to_next = (next[0] - p[0]).hypot(next[1] - p[1]);
            rows.push(Vertex { number: rows.len() + 1, x: p[1], y: p[0], edge_to_next, edge_cm: 0 });
        }
    }
    apportion_centimetres(&mut rows);
    rows
}

/// Rounds each edge to the centimetre so that together they make the perimeter rounded to
/// the centimetre (the largest-remainder method).
#[allow(clippy::cast_possible_truncation)] // lengths of parcels: far below i64::MAX cm
fn apportion_centimetres(rows: &mut [Vertex]) {
    let total = (rows.iter().map(|r| r.edge_to_next).sum::<f64>() * 100.0).round() as i64;
    for row in rows.iter_mut() {
        row.edge_cm = (row.edge_to_next * 100.0).floor() as i64;
    }
    let spare = total - rows.iter().map(|r| r.edge_cm).sum::<i64>();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let remainder = |r: &Vertex| r.edge_to_next * 100.0 - r.edge_cm as f64;
    order.sort_by(|a, b| remainder(&rows[*b]).total_cmp(&remainder(&rows[*a])));
    for i in order.into_iter().take(usize::try_from(spare).unwrap_or(0)) {
        rows[i].edge_cm += 1;
    }
}

/// Centimetres as printed: `1234` → "12,34".
pub fn vn_centimetres(cm: i64) -> String {
    format!("{},{:02}", cm / 100, cm % 100)
}

/// The fonts an extract is set in: TrueType files with Vietnamese coverage.
#[derive(Debug, Clone)]
pub struct Fonts {
    /// Regular weight.
    pub regular: Vec<u8>,
    /// Bold weight.
    pub bold: Vec<u8>,
}

impl Fonts {
    /// Debian's DejaVu Sans (package fonts-dejavu-core), from `dir`.
    pub fn dejavu(dir: &std::path::Path) -> Result<Self, Error> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path)
                .map_err(|e| Error::Font(format!("{}: {e} (install fonts-dejavu-core)", path.display())))
        };
        Ok(Self { regular: read("DejaVuSans.ttf")?, bold: read("DejaVuSans-Bold.ttf")? })
    }
}

/// Where Debian installs DejaVu Sans.
pub const DEBIAN_FONT_DIR: &str = "/usr/share/fonts/truetype/dejavu";

/// Why no PDF was made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The font could not be read or embedded.
    #[error("font: {0}")]
    Font(String),
    /// The outline has no points.
    #[error("the parcel has no outline to draw")]
    NoOutline,
    /// The PDF writer failed.
    #[error("pdf: {0}")]
    Pdf(String),
}

/// A number as Vietnamese documents print it: a decimal comma, `decimals` places.
///
/// ```
/// assert_eq!(diaba_extract::vn_number(180.456, 2), "180,46");
/// assert_eq!(diaba_extract::vn_number(1_100_123.4, 1), "1100123,4");
/// ```
pub fn vn_number(value: f64, decimals: usize) -> String {
    format!("{value:.decimals$}").replace('.', ",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vertex_table_lists_each_point_once_with_the_edge_to_the_next() {
        let square = vec![vec![
            [500_000.0, 1_100_000.0],
            [500_010.0, 1_100_000.0],
            [500_010.0, 1_100_020.0],
            [500_000.0, 1_100_020.0],
            [500_000.0, 1_100_000.0],
        ]];
        let rows = vertices(&square);
        assert_eq!(rows.len(), 4);
        assert_eq!((rows[0].x, rows[0].y), (1_100_000.0, 500_000.0), "X is the northing");
        let edges: Vec<f64> = rows.iter().map(|r| r.edge_to_next).collect();
        assert_eq!(edges, [10.0, 20.0, 10.0, 20.0]);
        assert_eq!(rows[3].number, 4);
        assert_eq!(rows.iter().map(|r| r.edge_cm).collect::<Vec<_>>(), [1000, 2000, 1000, 2000]);
    }

    #[test]
    fn printed_edges_add_up_to_the_perimeter_each_within_a_centimetre() {
        // Seven edges of 1.004 m: rounded one by one they would print 7,00 for 7,03.
        let ring: Vec<[f64; 2]> = (0..8).map(|i| [f64::from(i) * 1.004, 0.0]).collect();
        let rows = vertices(&[ring]);
        let perimeter: f64 = rows.iter().map(|r| r.edge_to_next).sum();
        assert_eq!(rows.iter().map(|r| r.edge_cm).sum::<i64>(), (perimeter * 100.0).round() as i64);
        for r in &rows {
            assert!((r.edge_cm as f64 / 100.0 - r.edge_to_next).abs() < 0.01, "{r:?}");
        }
    }
}
