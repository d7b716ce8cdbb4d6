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
        self.place_world(world(lon, lat))
    }

    /// Web Mercator in `[0, 1]²` → position in this tile's units.
    fn place_world(self, [wx, wy]: [f64; 2]) -> [f64; 2] {
        let s = self.scale();
        [(wx * s - f64::from(self.x)) * f64::from(EXTENT), (wy * s - f64::from(self.y)) * f64::from(EXTENT)]
    }

    /// A projection into this tile for drawing many points: the same positions as
    /// [`Self::project`] to within [`Projection::TOLERANCE`] units, at a fraction of the cost.
    pub(crate) fn projection(self) -> Projection {
        Projection::new(self)
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
    [(lon + 180.0) / 360.0, northing_to_world(mercator(lat))]
}

/// A northing on the unit sphere → Web Mercator's y in `[0, 1]`, down.
fn northing_to_world(northing: f64) -> f64 {
    (1.0 - northing / PI) / 2.0
}

/// Web Mercator's northing on the unit sphere of a latitude in radians, ln tan(π/4 + φ/2).
fn mercator(phi: f64) -> f64 {
    phi.tan().asinh()
}

/// Projects into one tile. Longitude maps linearly; the northing's `tan` and `asinh` were
/// a third of a tile's drawing time, so near the tile it is the Taylor polynomial of
/// degree 4 about the tile's middle latitude, exact function beyond. The polynomial is only
/// used where its error bound is under [`Self::TOLERANCE`] (every tile from z10 on at Cần
/// Thơ's latitude); otherwise every point goes through the exact function.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Projection {
    tile: TileCoord,
    /// Middle latitude (radians), and how far from it the polynomial holds.
    middle: f64,
    reach: f64,
    /// Northing at the middle and the polynomial's coefficients, `None` when its error
    /// bound is over the tolerance.
    series: Option<[f64; 5]>,
}

impl Projection {
    /// Most the polynomial may differ from the exact projection, in tile units: a
    /// hundred-thousandth of the grid step that every vertex is rounded to. (At z22 the
    /// exact function's own rounding, a few ulps of `tan` and `asinh`, is ~1e-6 units.)
    pub(crate) const TOLERANCE: f64 = 1e-5;

    fn new(tile: TileCoord) -> Self {
        let [_, south, _, north] = tile.bounds(0);
        let (south, north) = (south.to_radians(), north.to_radians());
        let middle = (south + north) / 2.0;
        // Two tile heights each side: the buffer and the lots that cross the tile's edge.
        let reach = 2.0 * (north - south);
        // Derivatives of ln tan(π/4 + φ/2): sec φ, sec φ tan φ, sec φ (tan² φ + sec² φ),
        // sec φ tan φ (tan² φ + 5 sec² φ); the fifth bounds the error.
        let derivatives = |phi: f64| {
            let (s, t) = (1.0 / phi.cos(), phi.tan());
            [
                s,
                s * t,
                s * (t * t + s * s),
                s * t * (t * t + 5.0 * s * s),
                s * t.powi(4) + 18.0 * s.powi(3) * t * t + 5.0 * s.powi(5),
            ]
        };
        let [d1, d2, d3, d4, _] = derivatives(middle);
        // The fifth derivative grows with |φ|: its value at the far end bounds it.
        let fifth = derivatives((middle.abs() + reach).min(MAX_LATITUDE.to_radians()))[4];
        let units_per_radian = tile.scale() * f64::from(EXTENT) / (2.0 * PI);
        let bound = fifth * reach.powi(5) / 120.0 * units_per_radian;
        let series = (bound <= Self::TOLERANCE && middle.abs() + reach < MAX_LATITUDE.to_radians())
            .then(|| [mercator(middle), d1, d2 / 2.0, d3 / 6.0, d4 / 24.0]);
        Self { tile, middle, reach, series }
    }

    /// `[lon, lat]` → position in the tile's units (y down), unclipped.
    pub(crate) fn project(&self, lon: f64, lat: f64) -> [f64; 2] {
        let Some([m0, c1, c2, c3, c4]) = self.series else { return self.tile.project(lon, lat) };
        let phi = lat.clamp(-MAX_LATITUDE, MAX_LATITUDE).to_radians();
        let d = phi - self.middle;
        if d.abs() > self.reach {
            return self.tile.project(lon, lat);
        }
        let northing = m0 + d * (c1 + d * (c2 + d * (c3 + d * c4)));
        self.tile.place_world([(lon + 180.0) / 360.0, northing_to_world(northing)])
    }
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
    fn the_quick_projection_stays_within_its_tolerance_of_the_exact_one() {
        // Cần Thơ, the equator, mid and high latitudes, south; every zoom; points across
        // three tile heights and widths around each tile (the buffer and beyond).
        let mut used = 0;
        for (lon, lat) in [(105.7876, 10.0341), (0.5, 0.01), (24.94, 60.17), (-70.6, -33.4), (15.6, 78.2), (0.0, 85.0)]
        {
            for z in 0..=MAX_ZOOM {
                let tile = TileCoord::containing(lon, lat, z);
                let quick = tile.projection();
                used += usize::from(quick.series.is_some());
                let [w, s, e, n] = tile.bounds(0);
                for i in 0..=40 {
                    for j in 0..=40 {
                        let lon = w + (e - w) * (f64::from(i) / 10.0 - 1.5);
                        let lat = s + (n - s) * (f64::from(j) / 10.0 - 1.5);
                        let ([x, y], [qx, qy]) = (tile.project(lon, lat), quick.project(lon, lat));
                        assert_eq!(x, qx, "z{z} {lon} {lat}");
                        assert!((y - qy).abs() <= Projection::TOLERANCE, "z{z} {lon} {lat}: {y} vs {qy}");
                    }
                }
            }
        }
        assert!(used > 50, "the polynomial is used at most zooms ({used})");
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
