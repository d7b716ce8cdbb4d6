//! Tile addressing in the Web Mercator (EPSG:3857) XYZ scheme that web maps use.

use std::f64::consts::PI;
use std::fmt;

/// Deepest zoom served. Beyond the data's own detail (TileJSON `maxzoom`) clients overzoom.
pub const MAX_ZOOM: u8 = 22;
/// Integer units across a tile (MVT 2.1 default).
pub const EXTENT: u32 = 4096;
/// Units kept around the tile so strokes and labels do not break at tile edges.
pub const BUFFER: u32 = 64;
/// Web Mercator's latitude limit.
const MAX_LATITUDE: f64 = 85.051_128_779_806_59;

/// One tile, `z/x/y` with `y` counted from the north. Fields are private: a `TileCoord`
/// is always on its zoom's grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileCoord {
    z: u8,
    x: u32,
    y: u32,
}

/// Why a tile address does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoordError {
    /// Zoom beyond what is served.
    #[error("zoom {0} is outside 0..={MAX_ZOOM}")]
    Zoom(u32),
    /// Column or row beyond the zoom's grid.
    #[error("tile {z}/{x}/{y} is outside the zoom's grid (x and y must be below {size})")]
    Outside {
        /// zoom
        z: u8,
        /// column
        x: u32,
        /// row
        y: u32,
        /// tiles per side at that zoom
        size: u64,
    },
}

impl TileCoord {
    /// A tile, checked against the grid of its zoom.
    pub fn new(z: u32, x: u32, y: u32) -> Result<Self, CoordError> {
        if z > u32::from(MAX_ZOOM) {
            return Err(CoordError::Zoom(z));
        }
        let z = z as u8;
        let size = 1u64 << z;
        if u64::from(x) >= size || u64::from(y) >= size {
            return Err(CoordError::Outside { z, x, y, size });
        }
        Ok(Self { z, x, y })
    }

    /// Zoom.
    pub fn z(self) -> u8 {
        self.z
    }

    /// Column from the antimeridian.
    pub fn x(self) -> u32 {
        self.x
    }

    /// Row from the north.
    pub fn y(self) -> u32 {
        self.y
    }

    /// Tiles per side at this zoom.
    fn scale(self) -> f64 {
        (1u64 << self.z) as f64
    }

    /// `[lon, lat]` → position in this tile's units (y down), unclipped.
    pub fn project(self, lon: f64, lat: f64) -> [f64; 2] {
        let [wx, wy] = world(lon, lat);
        let s = self.scale();
        [(wx * s - f64::from(self.x)) * f64::from(EXTENT), (wy * s - f64::from(self.y)) * f64::from(EXTENT)]
    }

    /// The tile's bounds `[west, south, east, north]` in degrees, grown by `margin` units.
    pub fn bounds(self, margin: u32) -> [f64; 4] {
        let s = self.scale();
        let m = f64::from(margin) / f64::from(EXTENT);
        let (x, y) = (f64::from(self.x), f64::from(self.y));
        let [west, north] = unworld((x - m) / s, (y - m) / s);
        let [east, south] = unworld((x + 1.0 + m) / s, (y + 1.0 + m) / s);
        [west, south, east, north]
    }

    /// The tiles at zoom `z` that meet `[west, south, east, north]` grown by `margin` units,
    /// as inclusive column and row ranges.
    pub fn covering(
        bbox: [f64; 4],
        z: u8,
        margin: u32,
    ) -> (std::ops::RangeInclusive<u32>, std::ops::RangeInclusive<u32>) {
        let s = (1u64 << z) as f64;
        let m = f64::from(margin) / f64::from(EXTENT);
        let [west, north] = world(bbox[0], bbox[3]);
        let [east, south] = world(bbox[2], bbox[1]);
        let last = (1u64 << z) as f64 - 1.0;
        let clamp = |v: f64| v.floor().clamp(0.0, last) as u32;
        (clamp(west * s - m)..=clamp(east * s + m), clamp(north * s - m)..=clamp(south * s + m))
    }

    /// Every tile at zoom `z` that meets `[west, south, east, north]` grown by `margin` units.
    pub fn all_covering(bbox: [f64; 4], z: u8, margin: u32) -> impl Iterator<Item = TileCoord> {
        let (xs, ys) = Self::covering(bbox, z, margin);
        xs.flat_map(move |x| ys.clone().map(move |y| TileCoord { z, x, y }))
    }

    /// The tile at zoom `z` holding a point (zooms beyond [`MAX_ZOOM`] are taken as it).
    pub fn containing(lon: f64, lat: f64, z: u8) -> Self {
        let z = z.min(MAX_ZOOM);
        let (xs, ys) = Self::covering([lon, lat, lon, lat], z, 0);
        Self { z, x: *xs.start(), y: *ys.start() }
    }
}

impl fmt::Display for TileCoord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.z, self.x, self.y)
    }
}

/// `[lon, lat]` → Web Mercator in `[0, 1]²`, y down.
fn world(lon: f64, lat: f64) -> [f64; 2] {
    let lat = lat.clamp(-MAX_LATITUDE, MAX_LATITUDE).to_radians();
    [(lon + 180.0) / 360.0, (1.0 - lat.tan().asinh() / PI) / 2.0]
}

fn unworld(wx: f64, wy: f64) -> [f64; 2] {
    [wx * 360.0 - 180.0, (PI * (1.0 - 2.0 * wy)).sinh().atan().to_degrees()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_outside_the_grid_are_refused() {
        assert!(TileCoord::new(22, (1 << 22) - 1, 0).is_ok());
        assert_eq!(TileCoord::new(23, 0, 0), Err(CoordError::Zoom(23)));
        assert!(matches!(TileCoord::new(3, 8, 0), Err(CoordError::Outside { .. })));
        assert!(matches!(TileCoord::new(0, 0, 1), Err(CoordError::Outside { .. })));
    }

    #[test]
    fn a_point_projects_inside_the_tile_that_contains_it() {
        // Ninh Kiều market, and a tile's corners against its bounds.
        let (lon, lat) = (105.7876, 10.0341);
        for z in [0, 8, 14, 18, 22] {
            let tile = TileCoord::containing(lon, lat, z);
            let [px, py] = tile.project(lon, lat);
            assert!((0.0..f64::from(EXTENT)).contains(&px) && (0.0..f64::from(EXTENT)).contains(&py), "z{z}");
            let [w, s, e, n] = tile.bounds(0);
            assert!(w <= lon && lon <= e && s <= lat && lat <= n, "z{z}");
            let [x0, y0] = tile.project(w, n);
            assert!(x0.abs() < 1e-6 && y0.abs() < 1e-6, "north-west corner is the origin at z{z}");
        }
    }

    #[test]
    fn covering_a_box_finds_its_tiles_and_their_buffered_neighbours() {
        let tile = TileCoord::new(16, 52_025, 30_887).unwrap();
        let [w, s, e, n] = tile.bounds(0);
        let inner = [w + (e - w) * 0.4, s + (n - s) * 0.4, w + (e - w) * 0.6, s + (n - s) * 0.6];
        assert_eq!(TileCoord::covering(inner, 16, 0), (52_025..=52_025, 30_887..=30_887));
        // A box touching the east edge also meets the neighbour's buffer.
        let edge = [e - (e - w) * 0.001, inner[1], e - (e - w) * 0.0005, inner[3]];
        assert_eq!(TileCoord::covering(edge, 16, BUFFER), (52_025..=52_026, 30_887..=30_887));
    }
}
