//! "As of" in requests: `at=YYYY-MM-DD` (the end of that day in Vietnam) or an RFC 3339
//! instant; and plain days for questions about units.

use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use diaba_core::AsOf;

/// Reads an instant: a date stands for the end of that day in Vietnam (so "on 2025-06-30"
/// includes everything registered that day), an RFC 3339 text for itself.
///
/// ```
/// use diaba_register::parse_instant;
/// assert_eq!(parse_instant("at", "2025-06-30").unwrap().to_rfc3339(), "2025-06-30T17:00:00+00:00");
/// assert_eq!(parse_instant("at", "2025-06-30T08:00:00+07:00").unwrap().to_rfc3339(), "2025-06-30T01:00:00+00:00");
/// assert!(parse_instant("at", "yesterday").is_err());
/// ```
pub fn parse_instant(field: &str, text: &str) -> Result<DateTime<Utc>> {
    if let Ok(instant) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(instant.with_timezone(&Utc));
    }
    AsOf::parse(text)
        .map(|day| diaba_core::end_of_day(day.date()))
        .map_err(|_| Error::invalid(field, format!("{field} must be YYYY-MM-DD or an RFC 3339 instant, got {text:?}")))
}

/// An optional `at` as an instant.
pub fn parse_at(text: Option<&str>) -> Result<Option<DateTime<Utc>>> {
    text.map(|t| parse_instant("at", t)).transpose()
}

/// An optional `at` as a day, today in Vietnam when absent.
pub fn day_or_today(text: Option<&str>) -> Result<AsOf> {
    Ok(text.map(AsOf::parse).transpose()?.unwrap_or_else(AsOf::today))
}
