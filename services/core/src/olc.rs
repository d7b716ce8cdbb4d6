//! Open Location Code ("plus codes"), as specified by Google's reference implementations.
//!
//! A full code such as `7P28QXHJ+2VX` names a cell: 10 characters of lat/lng pairs (down to
//! 1/8000°), then up to 5 grid characters (each dividing the cell 5 rows × 4 columns).
//! The 11-character cell is about 2.8 m × 3.5 m at Cần Thơ's latitude.
//! Encoding works on integers so that no floating-point error accumulates between digits.

use std::fmt;

const ALPHABET: &[u8; 20] = b"23456789CFGHJMPQRVWX";
const SEPARATOR: u8 = b'+';
const SEPARATOR_POSITION: usize = 8;
const PADDING: u8 = b'0';
const ENCODING_BASE: i64 = 20;
const LATITUDE_MAX: i64 = 90;
const LONGITUDE_MAX: i64 = 180;
const MIN_DIGITS: usize = 2;
const MAX_DIGITS: usize = 15;
const PAIR_DIGITS: usize = 10;
const GRID_DIGITS: usize = MAX_DIGITS - PAIR_DIGITS;
const GRID_COLUMNS: i64 = 4;
const GRID_ROWS: i64 = 5;
/// 20³: the pair section's smallest step is 1/8000°.
const PAIR_PRECISION: i64 = 8000;
const PAIR_FIRST_PLACE_VALUE: i64 = 20i64.pow(4);
const GRID_LAT_FIRST_PLACE_VALUE: i64 = GRID_ROWS.pow(GRID_DIGITS as u32 - 1);
const GRID_LNG_FIRST_PLACE_VALUE: i64 = GRID_COLUMNS.pow(GRID_DIGITS as u32 - 1);
/// Latitude × this is an integer number of the finest cells (2.5e7 per degree).
const FINAL_LAT_PRECISION: i64 = PAIR_PRECISION * GRID_ROWS.pow(GRID_DIGITS as u32);
/// Longitude × this is an integer number of the finest cells (8.192e6 per degree).
const FINAL_LNG_PRECISION: i64 = PAIR_PRECISION * GRID_COLUMNS.pow(GRID_DIGITS as u32);
const PAIR_RESOLUTIONS: [f64; 5] = [20.0, 1.0, 0.05, 0.0025, 0.000125];
const MIN_TRIMMABLE_LENGTH: usize = 6;

/// Why a code or a request could not be handled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OlcError {
    /// The text is not a plus code at all.
    #[error("{code:?} is not a valid plus code")]
    Invalid {
        /// the input
        code: String,
    },
    /// A short code was given where a full one is needed, or the reverse.
    #[error("{code:?} is a valid plus code but not a {expected} one")]
    WrongKind {
        /// the input
        code: String,
        /// "full", "short" or "unpadded"
        expected: &'static str,
    },
    /// Code lengths are 2, 4, 6, 8, 10 or 11–15 digits.
    #[error("a plus code cannot have {length} digits (2, 4, 6, 8, or 10 to 15)")]
    Length {
        /// the requested length
        length: usize,
    },
    /// Latitude or longitude is NaN or infinite.
    #[error("coordinates must be finite numbers")]
    NotFinite,
}

/// The cell a full code names.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CodeArea {
    /// South edge.
    pub lat_lo: f64,
    /// West edge.
    pub lng_lo: f64,
    /// North edge.
    pub lat_hi: f64,
    /// East edge.
    pub lng_hi: f64,
    /// Significant digits of the code.
    pub code_length: usize,
}

impl CodeArea {
    /// Centre latitude, clamped to 90 like the reference implementations.
    pub fn center_lat(&self) -> f64 {
        ((self.lat_lo + self.lat_hi) / 2.0).min(LATITUDE_MAX as f64)
    }

    /// Centre longitude, clamped to 180.
    pub fn center_lng(&self) -> f64 {
        ((self.lng_lo + self.lng_hi) / 2.0).min(LONGITUDE_MAX as f64)
    }

    /// True when the point lies in the cell (south/west edges inclusive).
    pub fn contains(&self, lat: f64, lng: f64) -> bool {
        (self.lat_lo..self.lat_hi).contains(&lat) && (self.lng_lo..self.lng_hi).contains(&lng)
    }
}

impl fmt::Display for CodeArea {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}]–[{}, {}]", self.lat_lo, self.lng_lo, self.lat_hi, self.lng_hi)
    }
}

/// Latitude and longitude as integer counts of the finest cells from (-90, -180).
///
/// ```
/// assert_eq!(diaba_core::olc::location_to_integers(20.375, 2.775), (2759375000, 1497292800));
/// ```
pub fn location_to_integers(lat: f64, lng: f64) -> (i64, i64) {
    let lat_span = 2 * LATITUDE_MAX * FINAL_LAT_PRECISION;
    let lng_span = 2 * LONGITUDE_MAX * FINAL_LNG_PRECISION;
    let lat_val = (cells(lat, FINAL_LAT_PRECISION) + LATITUDE_MAX * FINAL_LAT_PRECISION)
        // 90° itself would encode a cell north of the pole: use the one just below.
        .clamp(0, lat_span - 1);
    let lng_val = (cells(lng, FINAL_LNG_PRECISION) + LONGITUDE_MAX * FINAL_LNG_PRECISION).rem_euclid(lng_span);
    (lat_val, lng_val)
}

/// `floor(degrees × precision)`, after snapping the product to 1e-6 of a cell.
///
/// The reference implementations floor the raw product, so 40.6° (stored as
/// 40.599999999999998°) lands one cell low, and their test suite tolerates that. Decimal
/// degrees are what people and GPS fixes give us, so we snap away the binary
/// representation error first; every row of the official vectors then comes out exact.
/// The snap moves no real position by more than ~4e-14°.
fn cells(degrees: f64, precision: i64) -> i64 {
    // For valid degrees |scaled| < 2.3e9, so × 1e6 stays below 2^53 and the rounding is exact.
    let scaled = degrees * precision as f64;
    ((scaled * 1e6).round() / 1e6).floor() as i64
}

/// Encodes a position with `length` significant digits (10 ≈ 14 m, 11 ≈ 3 m).
///
/// ```
/// use diaba_core::olc;
/// assert_eq!(olc::encode(20.3701125, 2.782234375, 11).unwrap(), "7FG49QCJ+2VX");
/// assert_eq!(olc::encode(20.375, 2.775, 6).unwrap(), "7FG49Q00+");
/// assert!(olc::encode(20.0, 2.0, 7).is_err()); // odd lengths below 10 do not exist
/// assert!(olc::encode(f64::NAN, 2.0, 10).is_err());
/// ```
pub fn encode(lat: f64, lng: f64, length: usize) -> Result<String, OlcError> {
    if !lat.is_finite() || !lng.is_finite() {
        return Err(OlcError::NotFinite);
    }
    let (lat_val, lng_val) = location_to_integers(lat, lng);
    encode_integers(lat_val, lng_val, length)
}

/// Encodes integer cell counts (see [`location_to_integers`]).
pub fn encode_integers(mut lat_val: i64, mut lng_val: i64, length: usize) -> Result<String, OlcError> {
    if length < MIN_DIGITS || (length < PAIR_DIGITS && length % 2 == 1) {
        return Err(OlcError::Length { length });
    }
    let length = length.min(MAX_DIGITS);
    // Digits are produced least significant first, into a fixed buffer.
    let mut digits = [0u8; MAX_DIGITS];
    if length > PAIR_DIGITS {
        for slot in (PAIR_DIGITS..MAX_DIGITS).rev() {
            let row = lat_val % GRID_ROWS;
            let column = lng_val % GRID_COLUMNS;
            digits[slot] = ALPHABET[(row * GRID_COLUMNS + column) as usize];
            lat_val /= GRID_ROWS;
            lng_val /= GRID_COLUMNS;
        }
    } else {
        lat_val /= GRID_ROWS.pow(GRID_DIGITS as u32);
        lng_val /= GRID_COLUMNS.pow(GRID_DIGITS as u32);
    }
    for pair in (0..PAIR_DIGITS / 2).rev() {
        digits[pair * 2 + 1] = ALPHABET[(lng_val % ENCODING_BASE) as usize];
        digits[pair * 2] = ALPHABET[(lat_val % ENCODING_BASE) as usize];
        lat_val /= ENCODING_BASE;
        lng_val /= ENCODING_BASE;
    }
    let mut code = String::with_capacity(MAX_DIGITS + 1);
    for (i, digit) in digits.iter().enumerate().take(length.max(SEPARATOR_POSITION)) {
        if i == SEPARATOR_POSITION {
            code.push(SEPARATOR as char);
        }
        code.push(if i < length { *digit as char } else { PADDING as char });
    }
    if length <= SEPARATOR_POSITION {
        code.push(SEPARATOR as char);
    }
    Ok(code)
}

/// True for any well-formed code, full or short, in any case.
///
/// ```
/// use diaba_core::olc::is_valid;
/// assert!(is_valid("8FWC2345+G6") && is_valid("8fwc2345+") && is_valid("+G6"));
/// assert!(!is_valid("8FWC2345+G") && !is_valid("8FWC2300+G6") && !is_valid("G+"));
/// ```
pub fn is_valid(code: &str) -> bool {
    if !code.is_ascii() {
        return false;
    }
    let bytes = code.as_bytes();
    let Some(separator) = bytes.iter().position(|&b| b == SEPARATOR) else {
        return false;
    };
    if bytes.iter().filter(|&&b| b == SEPARATOR).count() > 1
        || bytes.len() == 1
        || separator > SEPARATOR_POSITION
        || separator % 2 == 1
    {
        return false;
    }
    if let Some(first_pad) = bytes.iter().position(|&b| b == PADDING) {
        // Padding: only in full codes, never first, one even-length group, then "+" last.
        let last_pad = bytes.iter().rposition(|&b| b == PADDING).expect("a first implies a last");
        let group = &bytes[first_pad..=last_pad];
        if separator < SEPARATOR_POSITION
            || first_pad == 0
            || group.len() % 2 == 1
            || group.iter().any(|&b| b != PADDING)
            || bytes.last() != Some(&SEPARATOR)
        {
            return false;
        }
    }
    if bytes.len() - separator - 1 == 1 {
        return false;
    }
    bytes.iter().all(|&b| b == SEPARATOR || b == PADDING || ALPHABET.contains(&b.to_ascii_uppercase()))
}

/// True for a valid code with fewer than 8 digits before the separator.
pub fn is_short(code: &str) -> bool {
    is_valid(code) && code.find(SEPARATOR as char).is_some_and(|s| s < SEPARATOR_POSITION)
}

/// True for a valid code that is not short and names a real latitude and longitude.
pub fn is_full(code: &str) -> bool {
    if !is_valid(code) || is_short(code) {
        return false;
    }
    let bytes = code.as_bytes();
    alphabet_value(bytes[0]) * ENCODING_BASE < LATITUDE_MAX * 2
        && alphabet_value(bytes[1]) * ENCODING_BASE < LONGITUDE_MAX * 2
}

/// Decodes a full code into its cell.
///
/// ```
/// use diaba_core::olc;
/// let area = olc::decode("7FG49QCJ+2VX").unwrap();
/// assert!((area.lat_lo - 20.3701).abs() < 1e-10 && area.code_length == 11);
/// assert!(olc::decode("QCJ+2VX").is_err()); // short codes need a reference point
/// ```
pub fn decode(code: &str) -> Result<CodeArea, OlcError> {
    if !is_full(code) {
        return Err(if is_valid(code) {
            OlcError::WrongKind { code: code.into(), expected: "full" }
        } else {
            OlcError::Invalid { code: code.into() }
        });
    }
    // Validated above: every byte is a separator, padding or alphabet character.
    let mut digits = [0i64; MAX_DIGITS];
    let mut count = 0;
    for byte in code.bytes().filter(|&b| b != SEPARATOR && b != PADDING).take(MAX_DIGITS) {
        digits[count] = alphabet_value(byte);
        count += 1;
    }
    let digits = &digits[..count];
    let mut lat = -LATITUDE_MAX * PAIR_PRECISION;
    let mut lng = -LONGITUDE_MAX * PAIR_PRECISION;
    let pair_digits = digits.len().min(PAIR_DIGITS);
    let mut place = PAIR_FIRST_PLACE_VALUE;
    for i in (0..pair_digits).step_by(2) {
        lat += digits[i] * place;
        lng += digits[i + 1] * place;
        if i < pair_digits - 2 {
            place /= ENCODING_BASE;
        }
    }
    let mut lat_precision = place as f64 / PAIR_PRECISION as f64;
    let mut lng_precision = place as f64 / PAIR_PRECISION as f64;
    let (mut grid_lat, mut grid_lng) = (0i64, 0i64);
    if digits.len() > PAIR_DIGITS {
        let mut row_place = GRID_LAT_FIRST_PLACE_VALUE;
        let mut column_place = GRID_LNG_FIRST_PLACE_VALUE;
        for (i, digit) in digits.iter().enumerate().skip(PAIR_DIGITS) {
            grid_lat += digit / GRID_COLUMNS * row_place;
            grid_lng += digit % GRID_COLUMNS * column_place;
            if i < digits.len() - 1 {
                row_place /= GRID_ROWS;
                column_place /= GRID_COLUMNS;
            }
        }
        lat_precision = row_place as f64 / FINAL_LAT_PRECISION as f64;
        lng_precision = column_place as f64 / FINAL_LNG_PRECISION as f64;
    }
    let lat_lo = lat as f64 / PAIR_PRECISION as f64 + grid_lat as f64 / FINAL_LAT_PRECISION as f64;
    let lng_lo = lng as f64 / PAIR_PRECISION as f64 + grid_lng as f64 / FINAL_LNG_PRECISION as f64;
    Ok(CodeArea {
        lat_lo: round14(lat_lo),
        lng_lo: round14(lng_lo),
        lat_hi: round14(lat_lo + lat_precision),
        lng_hi: round14(lng_lo + lng_precision),
        code_length: digits.len(),
    })
}

/// Removes as many leading digits as a reference point nearby allows (at least 4).
///
/// ```
/// use diaba_core::olc;
/// assert_eq!(olc::shorten("9C3W9QCJ+2VX", 51.3708675, -1.217765625).unwrap(), "CJ+2VX");
/// ```
pub fn shorten(code: &str, ref_lat: f64, ref_lng: f64) -> Result<String, OlcError> {
    if !ref_lat.is_finite() || !ref_lng.is_finite() {
        return Err(OlcError::NotFinite);
    }
    if !is_full(code) {
        return Err(OlcError::WrongKind { code: code.into(), expected: "full" });
    }
    if code.contains(PADDING as char) {
        return Err(OlcError::WrongKind { code: code.into(), expected: "unpadded" });
    }
    let code = code.to_ascii_uppercase();
    let area = decode(&code)?;
    if area.code_length < MIN_TRIMMABLE_LENGTH {
        return Err(OlcError::Length { length: area.code_length });
    }
    let range = (area.center_lat() - clip_latitude(ref_lat))
        .abs()
        .max((area.center_lng() - normalize_longitude(ref_lng)).abs());
    for i in (1..PAIR_RESOLUTIONS.len() - 1).rev() {
        // Within 0.3 of a cell (not 0.5) so a slightly different reference still recovers.
        if range < PAIR_RESOLUTIONS[i] * 0.3 {
            return Ok(code[(i + 1) * 2..].to_owned());
        }
    }
    Ok(code)
}

/// Recovers the full code nearest to a reference point from a short code.
/// A full code is returned upper-cased.
///
/// ```
/// use diaba_core::olc;
/// assert_eq!(olc::recover_nearest("9QCJ+2VX", 51.3852125, -1.217765625).unwrap(), "9C3W9QCJ+2VX");
/// assert!(olc::recover_nearest("9QCJ+2", 51.38, -1.21).is_err()); // one digit after "+"
/// ```
pub fn recover_nearest(code: &str, ref_lat: f64, ref_lng: f64) -> Result<String, OlcError> {
    if !ref_lat.is_finite() || !ref_lng.is_finite() {
        return Err(OlcError::NotFinite);
    }
    if is_full(code) {
        return Ok(code.to_ascii_uppercase());
    }
    if !is_short(code) {
        return Err(OlcError::Invalid { code: code.into() });
    }
    let ref_lat = clip_latitude(ref_lat);
    let ref_lng = normalize_longitude(ref_lng);
    let code = code.to_ascii_uppercase();
    let padding = SEPARATOR_POSITION - code.find(SEPARATOR as char).expect("short codes have one");
    let resolution = 20f64.powf(2.0 - padding as f64 / 2.0);
    let half = resolution / 2.0;
    let prefix = encode(ref_lat, ref_lng, PAIR_DIGITS)?;
    let area = decode(&format!("{}{}", &prefix[..padding], code))?;
    let mut lat = area.center_lat();
    let mut lng = area.center_lng();
    if ref_lat + half < lat && lat - resolution >= -(LATITUDE_MAX as f64) {
        lat -= resolution;
    } else if ref_lat - half > lat && lat + resolution <= LATITUDE_MAX as f64 {
        lat += resolution;
    }
    if ref_lng + half < lng {
        lng -= resolution;
    } else if ref_lng - half > lng {
        lng += resolution;
    }
    encode(lat, lng, area.code_length)
}

/// Index of a code character in the alphabet (0 for anything else; callers validate first).
fn alphabet_value(byte: u8) -> i64 {
    const TABLE: [i8; 128] = {
        let mut table = [-1i8; 128];
        let mut i = 0;
        while i < ALPHABET.len() {
            table[ALPHABET[i] as usize] = i as i8;
            table[ALPHABET[i].to_ascii_lowercase() as usize] = i as i8;
            i += 1;
        }
        table
    };
    TABLE.get(byte as usize).copied().unwrap_or(-1).max(0) as i64
}

fn clip_latitude(lat: f64) -> f64 {
    lat.clamp(-(LATITUDE_MAX as f64), LATITUDE_MAX as f64)
}

fn normalize_longitude(lng: f64) -> f64 {
    (lng + 180.0).rem_euclid(360.0) - 180.0
}

fn round14(value: f64) -> f64 {
    (value * 1e14).round() / 1e14
}
