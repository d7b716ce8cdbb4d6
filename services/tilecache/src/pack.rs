//! Offline packs: one ward's tiles baked into a PMTiles v3 archive, for phones in the
//! field with poor connectivity (DESIGN §8), and the served packs kept current.

use crate::draw::{Anchors, render};
use diaba_core::{AsOf, UnitLevel};
use diaba_index::Index;
use diaba_tiles::{MAX_ZOOM, Source, TileCoord};
use geo::{BoundingRect, Intersects, MultiPolygon, Rect};
use pmtiles::{PmTilesWriter, TileType};
use std::collections::HashMap;
use std::io::{BufWriter, Seek, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Zooms of the packs the service serves: the whole ward from city overview to lot detail.
pub const PACK_ZOOMS: (u8, u8) = (12, 18);

/// Why a pack could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// No current ward with that code in the service area.
    #[error("no current ward {0} in the service area")]
    UnknownWard(String),
    /// Zooms out of order or beyond what is served.
    #[error("zooms {0}..={1} are not a range within 0..={max}", max = MAX_ZOOM)]
    Zooms(u8, u8),
    /// Writing the archive failed.
    #[error("writing the pack: {0}")]
    Io(#[from] std::io::Error),
    /// The PMTiles writer refused.
    #[error("writing the pack: {0}")]
    Pmtiles(#[from] pmtiles::PmtError),
}

/// What a bake produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackSummary {
    /// Tiles looked at (every tile meeting the ward at each zoom).
    pub tiles: u64,
    /// Tiles with features, written to the archive.
    pub written: u64,
    /// Archive size in bytes.
    pub bytes: u64,
}

/// A current ward of the service area: its name and outline.
fn ward(index: &Index, code: &str) -> Result<(String, MultiPolygon<f64>), PackError> {
    let today = AsOf::today();
    index
        .units
        .all()
        .into_iter()
        .find(|u| u.code == code && u.level == UnitLevel::Ward && u.in_service_area && u.valid_on(today))
        .map(|u| (u.name.clone(), u.shape.clone()))
        .ok_or_else(|| PackError::UnknownWard(code.to_string()))
}

/// The tiles at zooms `minzoom..=maxzoom` that meet `shape`, in PMTiles (Hilbert) order so
/// the archive is clustered.
fn tiles_over(shape: &MultiPolygon<f64>, minzoom: u8, maxzoom: u8) -> Vec<TileCoord> {
    let Some(bbox) = shape.bounding_rect() else { return Vec::new() };
    let bbox = [bbox.min().x, bbox.min().y, bbox.max().x, bbox.max().y];
    let mut out: Vec<TileCoord> = (minzoom..=maxzoom)
        .flat_map(|z| TileCoord::all_covering(bbox, z, 0))
        .filter(|tile| {
            let [w, s, e, n] = tile.bounds(0);
            Rect::new((w, s), (e, n)).intersects(shape)
        })
        .collect();
    out.sort_by_key(|t| pmtiles_coord(*t).map_or(u64::MAX, |c| pmtiles::TileId::from(c).value()));
    out
}

fn pmtiles_coord(tile: TileCoord) -> Result<pmtiles::TileCoord, pmtiles::PmtError> {
    pmtiles::TileCoord::new(tile.z(), tile.x(), tile.y())
}

/// Bakes ward `code`'s tiles (`all` layers, as `index` holds them now) at
/// `minzoom..=maxzoom` into a PMTiles v3 archive written to `out`; `progress(done, total)`
/// is called as tiles are drawn.
pub fn bake<W: Write + Seek>(
    index: &Index,
    code: &str,
    minzoom: u8,
    maxzoom: u8,
    out: W,
    mut progress: impl FnMut(u64, u64),
) -> Result<PackSummary, PackError> {
    if minzoom > maxzoom || maxzoom > MAX_ZOOM {
        return Err(PackError::Zooms(minzoom, maxzoom));
    }
    let (name, shape) = ward(index, code)?;
    let coords = tiles_over(&shape, minzoom, maxzoom);
    let bbox = shape.bounding_rect().expect("a ward has an outline");
    let centre = bbox.center();
    let metadata = serde_json::json!({
        "name": format!("diaba {code} {name}"),
        "description": format!("Offline pack of {name} ({code}), zooms {minzoom}–{maxzoom}"),
        "attribution": "diaba — Cần Thơ; parcels, households and flood zones of the demo are synthetic",
        "vector_layers": diaba_tiles::vector_layers(Source::ALL),
        // The labels' glyphs: the field page fetches these with the pack and keeps them.
        "diaba:glyphs": {
            "fontstacks": diaba_glyphs::STYLE_FONTSTACKS,
            "ranges": diaba_glyphs::VIETNAMESE_RANGES,
        },
    });
    let mut counting = CountingWriter { inner: out, written: 0 };
    let mut writer = PmTilesWriter::new(TileType::Mvt)
        .min_zoom(minzoom)
        .max_zoom(maxzoom)
        .bounds(bbox.min().x, bbox.min().y, bbox.max().x, bbox.max().y)
        .center(centre.x, centre.y)
        .center_zoom(minzoom.max(14).min(maxzoom))
        .metadata(metadata.to_string())
        .create(&mut counting)?;
    let total = coords.len() as u64;
    let mut written = 0;
    let anchors = Anchors::of(index);
    for (done, coord) in coords.iter().enumerate() {
        let mvt = render(index, &anchors, Source::ALL, *coord, None);
        if !mvt.is_empty() {
            writer.add_tile(pmtiles_coord(*coord)?, &mvt)?;
            written += 1;
        }
        progress(done as u64 + 1, total);
    }
    writer.finalize()?;
    counting.flush()?;
    Ok(PackSummary { tiles: total, written, bytes: counting.written })
}

/// Bakes ward `code`'s pack (zooms `minzoom..=maxzoom`) into the file `out`: written beside
/// it first and renamed into place, so a failed bake never leaves a broken pack.
pub fn bake_file(
    index: &Index,
    code: &str,
    (minzoom, maxzoom): (u8, u8),
    out: &std::path::Path,
    progress: impl FnMut(u64, u64),
) -> Result<PackSummary, PackError> {
    let partial = out.with_extension("pmtiles.partial");
    let file = BufWriter::new(std::fs::File::create(&partial)?);
    match bake(index, code, minzoom, maxzoom, file, progress) {
        Ok(summary) => {
            std::fs::rename(&partial, out)?;
            Ok(summary)
        }
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            Err(error)
        }
    }
}

struct CountingWriter<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Seek> Seek for CountingWriter<W> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// The packs the service hands to phones, baked on first demand and baked again after a
/// change touches their ward. They live in a private directory of this process: made
/// fresh with an unguessable name and mode 0700 (so nobody else can plant a file or a link
/// in it, even when diaba runs as root), removed when it ends; packs are cheap to bake and
/// two nodes must never serve each other's.
pub struct Packs {
    index: Arc<Index>,
    dir: tempfile::TempDir,
    /// Ward code → the box of its pack, and whether a change has touched it since.
    baked: Mutex<HashMap<String, ([f64; 4], bool)>>,
    baking: tokio::sync::Mutex<()>,
}

impl Packs {
    /// Packs of `index`'s wards, kept in a fresh private directory under the system's
    /// temporary directory.
    pub fn new(index: Arc<Index>) -> std::io::Result<Self> {
        let dir = tempfile::Builder::new().prefix("diaba-packs-").tempdir()?;
        Ok(Self { index, dir, baked: Mutex::new(HashMap::new()), baking: tokio::sync::Mutex::new(()) })
    }

    /// Marks packs whose ward box meets `bbox` as out of date.
    pub fn touch(&self, bbox: Option<[f64; 4]>) {
        let mut baked = self.baked.lock().expect("packs lock");
        for (pack, stale) in baked.values_mut() {
            let [w, s, e, n] = *pack;
            if bbox.is_none_or(|[bw, bs, be, bn]| bw <= e && w <= be && bs <= n && s <= bn) {
                *stale = true;
            }
        }
    }

    /// The path of ward `code`'s current pack, baking it first if there is none or a
    /// change touched it.
    pub async fn current(&self, code: &str) -> Result<PathBuf, PackError> {
        let (_, shape) = ward(&self.index, code)?;
        let path = self.dir.path().join(format!("{code}.pmtiles"));
        let fresh = |packs: &Self| packs.baked.lock().expect("packs lock").get(code).is_some_and(|(_, stale)| !stale);
        if fresh(self) && path.exists() {
            return Ok(path);
        }
        let _one_bake_at_a_time = self.baking.lock().await;
        if fresh(self) && path.exists() {
            return Ok(path);
        }
        let bbox = shape.bounding_rect().expect("a ward has an outline");
        // Marked fresh before drawing: a change arriving during the bake marks it stale again.
        self.baked
            .lock()
            .expect("packs lock")
            .insert(code.to_string(), ([bbox.min().x, bbox.min().y, bbox.max().x, bbox.max().y], false));
        let (index, dir, code_owned, target) =
            (self.index.clone(), self.dir.path().to_owned(), code.to_string(), path.clone());
        let baked = tokio::task::spawn_blocking(move || -> Result<(), PackError> {
            let partial = dir.join(format!(".{code_owned}.pmtiles.partial"));
            // Left by a bake that failed: removed, then made anew exclusively (O_EXCL never
            // follows a link), and renamed over the pack, which replaces the entry itself.
            match std::fs::remove_file(&partial) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
            let file = BufWriter::new(std::fs::OpenOptions::new().write(true).create_new(true).open(&partial)?);
            bake(&index, &code_owned, PACK_ZOOMS.0, PACK_ZOOMS.1, file, |_, _| {})?;
            std::fs::rename(&partial, &target)?;
            Ok(())
        })
        .await
        .expect("pack baking does not panic");
        if baked.is_err() {
            self.baked.lock().expect("packs lock").remove(code);
        }
        baked.map(|()| path)
    }
}

impl std::fmt::Debug for Packs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packs").field("dir", &self.dir.path()).field("baked", &self.baked).finish()
    }
}
