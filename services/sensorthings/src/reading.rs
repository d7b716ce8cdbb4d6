//! One reading as a gauge sends it, checked before it may be stored: a faulty reading is
//! refused with its reason, counted, and never stored.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

/// Readings stamped further ahead than this are refused (a gateway's clock gone wrong).
pub const MAX_CLOCK_AHEAD: Duration = Duration::minutes(5);

/// Why a reading is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Fault {
    /// The result is not a finite number.
    #[error("the result is not a number (NaN, infinite, or not numeric)")]
    NotANumber,
    /// Outside what the sensor can measure.
    #[error("the result {result} is outside the sensor's range {min} … {max}")]
    OutOfRange {
        /// The value sent.
        result: f64,
        /// Lowest measurable.
        min: f64,
        /// Highest measurable.
        max: f64,
    },
    /// Stamped more than [`MAX_CLOCK_AHEAD`] in the future.
    #[error("phenomenonTime {0} is more than 5 minutes in the future")]
    FromTheFuture(DateTime<Utc>),
    /// No datastream with that id (or none the token may write to).
    #[error("no datastream {0} to write to")]
    UnknownDatastream(i64),
    /// Missing or malformed fields.
    #[error("{0}")]
    Malformed(String),
}

impl Fault {
    /// The short name it is counted under.
    pub fn reason(&self) -> &'static str {
        match self {
            Fault::NotANumber => "not_a_number",
            Fault::OutOfRange { .. } => "out_of_range",
            Fault::FromTheFuture(_) => "future_time",
            Fault::UnknownDatastream(_) => "unknown_datastream",
            Fault::Malformed(_) => "malformed",
        }
    }
}

/// A reading: as read from its JSON by [`observation`], then as passed by [`check`].
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// Datastream it belongs to.
    pub datastream: i64,
    /// When the water was at that level.
    pub phenomenon_time: DateTime<Utc>,
    /// When the result was produced, if said.
    pub result_time: Option<DateTime<Utc>>,
    /// The value.
    pub result: f64,
}

/// The parts of a SensorThings Observation in JSON: `datastream` from the path
/// (`Datastreams(1)/Observations`) or the body's `Datastream: {"@iot.id": 1}`.
pub fn observation(body: &Value, datastream: Option<i64>) -> Result<Reading, Fault> {
    let datastream = datastream
        .or_else(|| body.get("Datastream").and_then(|d| d.get("@iot.id")).and_then(Value::as_i64))
        .ok_or_else(|| {
            Fault::Malformed("an Observation names its Datastream: {\"Datastream\": {\"@iot.id\": 1}}".into())
        })?;
    let time = |key: &str| -> Result<Option<DateTime<Utc>>, Fault> {
        match body.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => DateTime::parse_from_rfc3339(text)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|_| Fault::Malformed(format!("{key} '{text}' is not an ISO 8601 instant"))),
            Some(other) => Err(Fault::Malformed(format!("{key} is an ISO 8601 instant, not {other}"))),
        }
    };
    let phenomenon_time = time("phenomenonTime")?.unwrap_or_else(Utc::now);
    let result = match body.get("result") {
        Some(Value::Number(n)) => n.as_f64().ok_or(Fault::NotANumber)?,
        // JSON has no NaN: gateways send it as text.
        Some(Value::String(text)) => text.trim().parse::<f64>().map_err(|_| Fault::NotANumber)?,
        Some(_) => return Err(Fault::NotANumber),
        None => return Err(Fault::Malformed("an Observation has a result".into())),
    };
    Ok(Reading { datastream, phenomenon_time, result_time: time("resultTime")?, result })
}

/// Checks a reading against its sensor's range and the clock.
///
/// ```
/// use chrono::{Duration, Utc};
/// use diaba_sensorthings::reading::{check, Fault, Reading};
/// let now = Utc::now();
/// let at = |phenomenon_time, result| Reading { datastream: 1, phenomenon_time, result_time: None, result };
/// assert!(check(at(now, 1.93), (Some(-1.0), Some(4.0)), now).is_ok());
/// assert_eq!(check(at(now, f64::NAN), (None, None), now).unwrap_err(), Fault::NotANumber);
/// assert!(matches!(check(at(now, 9.0), (Some(-1.0), Some(4.0)), now), Err(Fault::OutOfRange { .. })));
/// let later = now + Duration::minutes(6);
/// assert_eq!(check(at(later, 1.0), (None, None), now).unwrap_err(), Fault::FromTheFuture(later));
/// ```
pub fn check(reading: Reading, (min, max): (Option<f64>, Option<f64>), now: DateTime<Utc>) -> Result<Reading, Fault> {
    let Reading { phenomenon_time, result, .. } = reading;
    if !result.is_finite() {
        return Err(Fault::NotANumber);
    }
    let (low, high) = (min.unwrap_or(f64::MIN), max.unwrap_or(f64::MAX));
    if result < low || result > high {
        return Err(Fault::OutOfRange { result, min: low, max: high });
    }
    if phenomenon_time > now + MAX_CLOCK_AHEAD {
        return Err(Fault::FromTheFuture(phenomenon_time));
    }
    Ok(reading)
}
