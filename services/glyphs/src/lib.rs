//! Map glyphs served by diaba itself, so labels need nothing from outside the service:
//! MapLibre asks `/fonts/{fontstack}/{start}-{end}.pbf` for the signed-distance-field
//! glyphs of 256 code points, made here from TrueType fonts on the machine (Debian's
//! Noto Sans, which covers every Vietnamese letter) the first time a range is asked for,
//! then kept.
//!
//! A fontstack names one font as "Family Style" ("Noto Sans Bold"), found as the file
//! `FamilyStyle` without spaces, dash, style (`NotoSans-Bold.ttf`) in the fonts directory.
//! A stack of several fonts ("A,B") is answered by its first font that is there.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use bytes::Bytes;
use glyphore_core::FontFace;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Where Debian's `fonts-noto-core` puts Noto Sans.
pub const DEFAULT_FONTS_DIR: &str = "/usr/share/fonts/truetype/noto";

/// The fontstacks diaba's own style uses (regular for most labels, bold for ward and sheet
/// names, italic for waterways), with the ranges Vietnamese text needs: Basic Latin and
/// Latin-1, Latin Extended-A and -B (ă, đ, ơ, ư), combining marks, Latin Extended
/// Additional (ạ, ả, ấ, … ỹ).
pub const STYLE_FONTSTACKS: [&str; 3] = ["Noto Sans Regular", "Noto Sans Bold", "Noto Sans Italic"];

/// The glyph ranges Vietnamese labels draw from: Basic Latin and Latin-1 (digits, most
/// letters), Latin Extended-A and -B (ă, đ, ĩ, ơ, ư), combining marks, and Latin Extended
/// Additional (ạ … ỹ). Offline packs name them so phones keep them with the tiles.
pub const VIETNAMESE_RANGES: [&str; 4] = ["0-255", "256-511", "768-1023", "7680-7935"];

/// Why a glyph range cannot be answered.
#[derive(Debug, thiserror::Error)]
pub enum GlyphError {
    /// No font of the stack is installed.
    #[error("no font of fontstack '{0}' is installed (fonts are looked for in {1})")]
    UnknownFontstack(String, String),
    /// Not a MapLibre range name.
    #[error("'{0}' is not a glyph range; ranges are {{start}}-{{start+255}} with start a multiple of 256, e.g. 0-255")]
    BadRange(String),
    /// The font file is there but cannot be used.
    #[error("font {path}: {reason}")]
    BadFont {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Glyph ranges made from the fonts in one directory, each made once.
pub struct Glyphs {
    dir: PathBuf,
    faces: Mutex<HashMap<String, Option<Arc<FontFace>>>>,
    ranges: Mutex<HashMap<(String, u32), Bytes>>,
}

impl std::fmt::Debug for Glyphs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let made = self.ranges.lock().map_or(0, |r| r.len());
        f.debug_struct("Glyphs").field("dir", &self.dir).field("ranges_made", &made).finish()
    }
}

impl Glyphs {
    /// Glyphs from the fonts in `dir` (read when first asked for).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into(), faces: Mutex::default(), ranges: Mutex::default() }
    }

    /// The directory fonts are read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The glyph PBF of `fontstack` for `range` (`"0-255"`, `"7680-7935"` …).
    pub fn range(&self, fontstack: &str, range: &str) -> Result<Bytes, GlyphError> {
        let start = parse_range(range)?;
        let (name, face) = self.face_of(fontstack)?;
        let key = (name, start);
        if let Some(pbf) = self.ranges.lock().expect("glyph ranges").get(&key) {
            return Ok(pbf.clone());
        }
        // Made outside the lock: two first requests for one range both make it, harmlessly.
        let pbf = glyphore_core::generate_range(&face, start)
            .map_err(|e| GlyphError::BadFont { path: key.0.clone(), reason: e.to_string() })?;
        let pbf = Bytes::from(pbf);
        self.ranges.lock().expect("glyph ranges").insert(key, pbf.clone());
        Ok(pbf)
    }

    /// The first font of the stack that is installed, by name.
    fn face_of(&self, fontstack: &str) -> Result<(String, Arc<FontFace>), GlyphError> {
        for name in fontstack.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if let Some(face) = self.face(name)? {
                return Ok((name.to_string(), face));
            }
        }
        Err(GlyphError::UnknownFontstack(fontstack.chars().take(120).collect(), self.dir.display().to_string()))
    }

    fn face(&self, name: &str) -> Result<Option<Arc<FontFace>>, GlyphError> {
        if let Some(known) = self.faces.lock().expect("font faces").get(name) {
            return Ok(known.clone());
        }
        let face = match font_file(&self.dir, name) {
            None => None,
            Some(path) => {
                let bad = |reason: String| GlyphError::BadFont { path: path.display().to_string(), reason };
                let bytes = std::fs::read(&path).map_err(|e| bad(e.to_string()))?;
                Some(Arc::new(FontFace::parse(&bytes).map_err(|e| bad(e.to_string()))?))
            }
        };
        self.faces.lock().expect("font faces").insert(name.to_string(), face.clone());
        Ok(face)
    }
}

/// `"Noto Sans Bold"` → `dir/NotoSans-Bold.ttf` (or `.otf`), if that file is there. Only
/// letters, digits and spaces make a name: nothing else reaches the file system.
fn font_file(dir: &Path, name: &str) -> Option<PathBuf> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ') {
        return None;
    }
    let (family, style) = name.rsplit_once(' ')?;
    let stem = format!("{}-{style}", family.replace(' ', ""));
    ["ttf", "otf"].iter().map(|ext| dir.join(format!("{stem}.{ext}"))).find(|path| path.is_file())
}

/// `"256-511"` → 256.
fn parse_range(range: &str) -> Result<u32, GlyphError> {
    let bad = || GlyphError::BadRange(range.chars().take(40).collect());
    let (start, end) = range.split_once('-').ok_or_else(bad)?;
    let (start, end): (u32, u32) = (start.parse().map_err(|_| bad())?, end.parse().map_err(|_| bad())?);
    if start % 256 != 0 || end != start + 255 || start > 0xFFFF {
        return Err(bad());
    }
    Ok(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_256_code_points_on_a_256_boundary() {
        assert_eq!(parse_range("0-255").unwrap(), 0);
        assert_eq!(parse_range("7680-7935").unwrap(), 7680);
        for bad in ["1-256", "0-254", "0", "a-b", "-255", "65536-65791"] {
            assert!(matches!(parse_range(bad), Err(GlyphError::BadRange(_))), "{bad}");
        }
    }

    #[test]
    fn a_fontstack_name_never_leaves_the_fonts_directory() {
        let dir = Path::new(DEFAULT_FONTS_DIR);
        for name in ["../../etc/passwd x", "Noto/Sans Regular", "NotoSans", ""] {
            assert_eq!(font_file(dir, name), None, "{name}");
        }
    }
}
