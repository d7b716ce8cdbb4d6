use crate::{Error, Result};
use serde::Serialize;

/// A WGS84 (EPSG:4326) position: finite, latitude in [-90, 90], longitude in [-180, 180].
///
/// Fields are private so a `LonLat` is always valid. GeoJSON order (lon, lat) is kept
/// everywhere, as RFC 7946 requires.
///
/// ```
/// use diaba_core::LonLat;
/// let p = LonLat::new(105.7830, 10.0325).unwrap();
/// assert_eq!((p.lon(), p.lat()), (105.7830, 10.0325));
/// assert!(LonLat::new(f64::NAN, 10.0).is_err());
/// assert!(LonLat::new(105.0, 91.0).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LonLat {
    lon: f64,
    lat: f64,
}

impl LonLat {
    /// Validates a longitude/latitude pair.
    pub fn new(lon: f64, lat: f64) -> Result<Self> {
        Ok(Self { lon: check_range("lon", lon, 180.0)?, lat: check_range("lat", lat, 90.0)? })
    }

    /// Parses the `lat` and `lon` text of a query string, naming the parameter at fault.
    ///
    /// ```
    /// use diaba_core::LonLat;
    /// assert!(LonLat::parse(Some("10.03"), Some("105.78")).is_ok());
    /// let err = LonLat::parse(Some("abc"), Some("105.78")).unwrap_err();
    /// assert_eq!(err.field(), "lat");
    /// assert_eq!(LonLat::parse(Some("10"), None).unwrap_err().field(), "lon");
    /// assert_eq!(LonLat::parse(Some("NaN"), Some("105")).unwrap_err().field(), "lat");
    /// ```
    pub fn parse(lat: Option<&str>, lon: Option<&str>) -> Result<Self> {
        let lat = parse_number("lat", lat)?;
        let lon = parse_number("lon", lon)?;
        Self::new(lon, lat)
    }

    /// Longitude in degrees.
    pub fn lon(&self) -> f64 {
        self.lon
    }

    /// Latitude in degrees.
    pub fn lat(&self) -> f64 {
        self.lat
    }
}

/// Metres per degree of longitude and of latitude at latitude `lat` on the WGS 84
/// ellipsoid (its prime-vertical and meridian radii of curvature).
///
/// On the plane these scales give around a point, distances of tens of metres agree with
/// PostGIS's distances on the spheroid (`geography`) to well under a millimetre; one scale
/// for both axes, as a sphere has, is 0.7 % off east–west at Cần Thơ.
pub fn metres_per_degree(lat: f64) -> [f64; 2] {
    const A: f64 = 6_378_137.0;
    const F: f64 = 1.0 / 298.257_223_563;
    let e2 = F * (2.0 - F);
    let (sin, cos) = lat.to_radians().sin_cos();
    let w = 1.0 - e2 * sin * sin;
    let radian = std::f64::consts::PI / 180.0;
    [A / w.sqrt() * cos * radian, A * (1.0 - e2) / (w * w.sqrt()) * radian]
}

fn parse_number(field: &'static str, text: Option<&str>) -> Result<f64> {
    let text = text.map(str::trim).filter(|t| !t.is_empty()).ok_or(Error::Missing { field })?;
    let value: f64 = text.parse().map_err(|_| Error::Malformed {
        field,
        expected: "a decimal number of degrees",
        got: text.chars().take(64).collect(),
    })?;
    Ok(value)
}

fn check_range(field: &'static str, value: f64, limit: f64) -> Result<f64> {
    if !value.is_finite() {
        return Err(Error::Malformed { field, expected: "a finite number of degrees", got: value.to_string() });
    }
    if !(-limit..=limit).contains(&value) {
        return Err(Error::OutOfRange { field, min: -limit, max: limit, got: value });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degrees_measure_as_the_published_wgs84_table() {
        // Wikipedia, "Latitude", length of a degree on WGS 84: 0° 110.574 / 111.320 km,
        // 15° 110.649 / 107.551 km (latitude / longitude).
        for (lat, [lon_m, lat_m]) in [(0.0, [111_320.0, 110_574.0]), (15.0, [107_551.0, 110_649.0])] {
            let [lon_got, lat_got] = metres_per_degree(lat);
            assert!((lon_got - lon_m).abs() < 1.0 && (lat_got - lat_m).abs() < 1.0, "{lat}: {lon_got} {lat_got}");
        }
    }

    #[test]
    fn infinities_and_out_of_range_values_are_rejected() {
        assert!(matches!(LonLat::new(f64::INFINITY, 0.0), Err(Error::Malformed { field: "lon", .. })));
        assert!(matches!(LonLat::new(181.0, 0.0), Err(Error::OutOfRange { field: "lon", .. })));
        assert!(matches!(LonLat::new(0.0, -90.5), Err(Error::OutOfRange { field: "lat", .. })));
        assert!(LonLat::new(-180.0, 90.0).is_ok());
    }

    #[test]
    fn blank_text_counts_as_missing() {
        assert_eq!(LonLat::parse(Some("  "), Some("1")), Err(Error::Missing { field: "lat" }));
    }

    #[test]
    fn rust_specific_spellings_like_inf_are_not_numbers_we_accept() {
        assert!(LonLat::parse(Some("inf"), Some("105")).is_err());
        assert!(LonLat::parse(Some("10"), Some("-infinity")).is_err());
    }
}
