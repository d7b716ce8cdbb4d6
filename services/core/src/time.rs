//! Vietnam's clock and the dates the register turns on.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// Asia/Ho_Chi_Minh is UTC+7 all year (no daylight saving), in seconds east of UTC.
pub const VIETNAM_UTC_OFFSET_SECONDS: i32 = 7 * 3600;

/// 1 July 2025: Vietnam abolished the district level and merged wards (NQ 1668/NQ-UBTVQH15
/// for Cần Thơ). Units before this date are historical; some of their codes were reused.
pub const REFORM_2025: NaiveDate = match NaiveDate::from_ymd_opt(2025, 7, 1) {
    Some(d) => d,
    None => panic!("valid date"),
};

/// Vietnam's time zone as a chrono offset.
pub fn vietnam() -> FixedOffset {
    FixedOffset::east_opt(VIETNAM_UTC_OFFSET_SECONDS).expect("UTC+7 is a valid offset")
}

/// Today's date in Vietnam.
pub fn today_in_vietnam() -> NaiveDate {
    Utc::now().with_timezone(&vietnam()).date_naive()
}

/// The instant that stands for "on date D" in Vietnam: the end of that day.
///
/// ```
/// use chrono::NaiveDate;
/// let d = NaiveDate::from_ymd_opt(2025, 7, 1).unwrap();
/// assert_eq!(diaba_core::end_of_day(d).to_rfc3339(), "2025-07-01T17:00:00+00:00");
/// ```
pub fn end_of_day(date: NaiveDate) -> DateTime<Utc> {
    let next = date.succ_opt().unwrap_or(date).and_hms_opt(0, 0, 0).expect("midnight exists");
    let local_midnight = next.and_local_timezone(vietnam()).single().expect("a fixed offset has no gaps");
    local_midnight.with_timezone(&Utc)
}

/// The calendar day of an instant in Vietnam.
pub fn vietnam_date(instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&vietnam()).date_naive()
}

/// Metres per degree of latitude (WGS84 mean, good to 0.5 % at Cần Thơ's latitude): for
/// search radii and tolerances only, never for legal areas (those are computed in EPSG:5897).
pub const METRES_PER_DEGREE: f64 = 110_600.0;
