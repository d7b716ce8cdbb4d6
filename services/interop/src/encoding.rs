//! Text encodings of Shapefile attribute tables. Vietnamese offices' files are UTF-8,
//! Windows Vietnamese (CP1258), or, for older ones, the font encodings TCVN3 (ABC) and VNI,
//! often without the .cpg that would say which.
//!
//! Legacy encodings are decoded here, not by GDAL: GDAL knows neither TCVN3 nor VNI, and
//! glibc's iconv holds back the last character of every CP1258 string waiting for a
//! combining mark, so "DGT" arrived as "DG". GDAL reads such files as ISO-8859-1 (one
//! character per byte, nothing lost), and the bytes are decoded by [`crate::legacy`] and
//! composed (NFC), as every other text diaba stores.

use crate::legacy::{self, Charset};
use std::path::Path;

/// How a file's text is read.
#[derive(Debug, Clone, PartialEq)]
pub enum TextEncoding {
    /// GDAL decodes it (UTF-8, or the encoding named by a .cpg or `--encoding`).
    Gdal(Option<String>),
    /// A Vietnamese 8-bit encoding, decoded by diaba; `detected` when no .cpg or flag said so.
    Legacy {
        /// Which one.
        charset: Charset,
        /// Whether this was inferred from the bytes.
        detected: bool,
    },
}

impl TextEncoding {
    /// The encoding of `path`'s text: `given` (--encoding) first, else a Shapefile's .cpg,
    /// else, for a .dbf without one, UTF-8 when its records are valid UTF-8, and otherwise
    /// the legacy encoding (CP1258, TCVN3 or VNI) whose reading holds the most Vietnamese
    /// words. Other formats: GDAL's own handling (GeoPackage and GeoJSON are UTF-8).
    pub fn of(path: &Path, given: Option<&str>) -> Self {
        // Only the Shapefile driver takes an encoding; other formats are UTF-8 by definition
        // (GeoPackage, GeoJSON, FlatGeobuf) or read as such (CSV).
        if !path.extension().is_some_and(|e| e.eq_ignore_ascii_case("shp")) {
            return Self::Gdal(None);
        }
        if let Some(given) = given {
            return match Charset::named(given) {
                Some(charset) => Self::Legacy { charset, detected: false },
                None => Self::Gdal(Some(given.into())),
            };
        }
        let cpg = std::fs::read_to_string(path.with_extension("cpg"))
            .or_else(|_| std::fs::read_to_string(path.with_extension("CPG")))
            .ok();
        if let Some(cpg) = cpg {
            return match Charset::named(cpg.trim()) {
                Some(charset) => Self::Legacy { charset, detected: false },
                None => Self::Gdal(None),
            };
        }
        let dbf = std::fs::read(path.with_extension("dbf")).or_else(|_| std::fs::read(path.with_extension("DBF")));
        let Ok(dbf) = dbf else { return Self::Gdal(None) };
        let header = match dbf.get(8..10) {
            Some(h) => usize::from(u16::from_le_bytes([h[0], h[1]])),
            None => return Self::Gdal(None),
        };
        match dbf.get(header..) {
            Some(records) if std::str::from_utf8(records).is_ok() => Self::Gdal(Some("UTF-8".into())),
            Some(records) => {
                Self::Legacy { charset: legacy::guess(records).unwrap_or(Charset::Cp1258), detected: true }
            }
            None => Self::Gdal(None),
        }
    }

    /// The ENCODING open option GDAL gets.
    pub(crate) fn gdal_option(&self) -> Option<String> {
        match self {
            Self::Gdal(e) => e.clone(),
            Self::Legacy { .. } => Some("ISO-8859-1".into()),
        }
    }

    /// A line for the import report.
    pub(crate) fn note(&self) -> Option<String> {
        match self {
            Self::Legacy { charset, detected: true } => Some(format!(
                "text: read as {}: not UTF-8, no .cpg, and its words read as Vietnamese that way; else pass --encoding",
                charset.label()
            )),
            Self::Legacy { charset, detected: false } => Some(format!("text: {}", charset.label())),
            Self::Gdal(_) => None,
        }
    }

    /// A value as GDAL returned it, decoded.
    pub(crate) fn decode(&self, value: String) -> String {
        match self {
            Self::Gdal(_) => value,
            Self::Legacy { charset, .. } => {
                // ISO-8859-1 gave one char per byte (U+0000–U+00FF): take the bytes back.
                let bytes: Vec<u8> = value.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect();
                charset.decode(&bytes)
            }
        }
    }
}

/// The encoding GDAL should be told for a Shapefile without a .cpg whose records are valid
/// UTF-8 (else GDAL reads them as ISO-8859-1 and garbles every Vietnamese letter); for a
/// legacy encoding, ISO-8859-1, and the bytes are decoded afterwards.
pub fn shapefile_encoding(path: &Path) -> Option<String> {
    TextEncoding::of(path, None).gdal_option()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp1258(detected: bool) -> TextEncoding {
        TextEncoding::Legacy { charset: Charset::Cp1258, detected }
    }

    #[test]
    fn cp1258_bytes_read_through_latin1_compose_to_vietnamese() {
        // "Xã Phong Điền" as GDAL writes it in CP1258: base letters and combining tones.
        let bytes = b"Xa\xde Phong \xd0i\xea\xccn";
        let latin1: String = bytes.iter().map(|&b| char::from(b)).collect();
        let text = cp1258(true).decode(latin1);
        assert_eq!(text, "Xã Phong Điền");
        assert_eq!(text.chars().count(), 13, "composed (NFC)");
    }

    #[test]
    fn the_last_letter_survives() {
        let latin1: String = b"DGT".iter().map(|&b| char::from(b)).collect();
        assert_eq!(cp1258(false).decode(latin1), "DGT");
    }

    #[test]
    fn tcvn3_and_vni_read_through_latin1() {
        // "Bảo Thắng" in TCVN3 and "Xin chào các bạn" in VNI, as the converters show them.
        let tcvn3 = TextEncoding::Legacy { charset: Charset::Tcvn3, detected: false };
        assert_eq!(tcvn3.decode("B¶o Th¾ng".into()), "Bảo Thắng");
        let vni = TextEncoding::Legacy { charset: Charset::Vni, detected: false };
        assert_eq!(vni.decode("Xin chaøo caùc baïn".into()), "Xin chào các bạn");
    }
}
