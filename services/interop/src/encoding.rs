//! Text encodings of Shapefile attribute tables. Vietnamese offices' files are UTF-8 or
//! Windows Vietnamese (CP1258), often without the .cpg that would say which.
//!
//! CP1258 is decoded here, not by GDAL: glibc's iconv holds back the last character of
//! every CP1258 string waiting for a combining mark, so "DGT" arrived as "DG". GDAL reads
//! such files as ISO-8859-1 (one character per byte, nothing lost), and the bytes are
//! decoded as CP1258 and composed (NFC), as every other text diaba stores.

use std::path::Path;
use unicode_normalization::UnicodeNormalization;

/// How a file's text is read.
#[derive(Debug, Clone, PartialEq)]
pub enum TextEncoding {
    /// GDAL decodes it (UTF-8, or the encoding named by a .cpg or `--encoding`).
    Gdal(Option<String>),
    /// Windows Vietnamese, decoded by diaba; `detected` when no .cpg or flag said so.
    Cp1258 {
        /// Whether this was inferred from the bytes.
        detected: bool,
    },
}

impl TextEncoding {
    /// The encoding of `path`'s text: `given` (--encoding) first, else a Shapefile's .cpg,
    /// else, for a .dbf without one, UTF-8 when its records are valid UTF-8 and CP1258 when
    /// they are not. Other formats: GDAL's own handling (GeoPackage and GeoJSON are UTF-8).
    pub fn of(path: &Path, given: Option<&str>) -> Self {
        // Only the Shapefile driver takes an encoding; other formats are UTF-8 by definition
        // (GeoPackage, GeoJSON, FlatGeobuf) or read as such (CSV).
        if !path.extension().is_some_and(|e| e.eq_ignore_ascii_case("shp")) {
            return Self::Gdal(None);
        }
        if let Some(given) = given {
            return if is_cp1258(given) { Self::Cp1258 { detected: false } } else { Self::Gdal(Some(given.into())) };
        }
        let cpg = std::fs::read_to_string(path.with_extension("cpg"))
            .or_else(|_| std::fs::read_to_string(path.with_extension("CPG")))
            .ok();
        if let Some(cpg) = cpg {
            return if is_cp1258(cpg.trim()) { Self::Cp1258 { detected: false } } else { Self::Gdal(None) };
        }
        let dbf = std::fs::read(path.with_extension("dbf")).or_else(|_| std::fs::read(path.with_extension("DBF")));
        let Ok(dbf) = dbf else { return Self::Gdal(None) };
        let header = match dbf.get(8..10) {
            Some(h) => usize::from(u16::from_le_bytes([h[0], h[1]])),
            None => return Self::Gdal(None),
        };
        match dbf.get(header..).map(std::str::from_utf8) {
            Some(Ok(_)) => Self::Gdal(Some("UTF-8".into())),
            Some(Err(_)) => Self::Cp1258 { detected: true },
            None => Self::Gdal(None),
        }
    }

    /// The ENCODING open option GDAL gets.
    pub(crate) fn gdal_option(&self) -> Option<String> {
        match self {
            Self::Gdal(e) => e.clone(),
            Self::Cp1258 { .. } => Some("ISO-8859-1".into()),
        }
    }

    /// A line for the import report.
    pub(crate) fn note(&self) -> Option<String> {
        match self {
            Self::Cp1258 { detected: true } => {
                Some("text: read as CP1258 (Windows Vietnamese): not UTF-8 and no .cpg; else pass --encoding".into())
            }
            Self::Cp1258 { detected: false } => Some("text: CP1258 (Windows Vietnamese)".into()),
            Self::Gdal(_) => None,
        }
    }

    /// A value as GDAL returned it, decoded.
    pub(crate) fn decode(&self, value: String) -> String {
        match self {
            Self::Gdal(_) => value,
            Self::Cp1258 { .. } => {
                // ISO-8859-1 gave one char per byte (U+0000–U+00FF): take the bytes back.
                let bytes: Vec<u8> = value.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect();
                let (text, _) = encoding_rs::WINDOWS_1258.decode_without_bom_handling(&bytes);
                text.nfc().collect()
            }
        }
    }
}

fn is_cp1258(name: &str) -> bool {
    let e = name.to_ascii_uppercase().replace(['-', '_', ' '], "");
    matches!(e.as_str(), "CP1258" | "WINDOWS1258" | "1258" | "ANSI1258")
}

/// The encoding GDAL should be told for a Shapefile without a .cpg whose records are valid
/// UTF-8 (else GDAL reads them as ISO-8859-1 and garbles every Vietnamese letter).
pub fn shapefile_encoding(path: &Path) -> Option<String> {
    match TextEncoding::of(path, None) {
        TextEncoding::Gdal(e) => e,
        TextEncoding::Cp1258 { .. } => Some("CP1258".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp1258_bytes_read_through_latin1_compose_to_vietnamese() {
        // "Xã Phong Điền" as GDAL writes it in CP1258: base letters and combining tones.
        let bytes = b"Xa\xde Phong \xd0i\xea\xccn";
        let latin1: String = bytes.iter().map(|&b| char::from(b)).collect();
        let text = TextEncoding::Cp1258 { detected: true }.decode(latin1);
        assert_eq!(text, "Xã Phong Điền");
        assert_eq!(text.chars().count(), 13, "composed (NFC)");
    }

    #[test]
    fn the_last_letter_survives() {
        let latin1: String = b"DGT".iter().map(|&b| char::from(b)).collect();
        assert_eq!(TextEncoding::Cp1258 { detected: false }.decode(latin1), "DGT");
    }

    #[test]
    fn names_of_the_code_page() {
        assert!(is_cp1258("cp1258") && is_cp1258("windows-1258") && is_cp1258("1258"));
        assert!(!is_cp1258("UTF-8"));
    }
}
