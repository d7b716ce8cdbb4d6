use crate::time::REFORM_2025;
use crate::{Error, Result};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Level of an administrative unit, highest first (the order sorts a province before its
/// districts and wards). Districts exist only before [`REFORM_2025`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnitLevel {
    /// Tỉnh / thành phố trực thuộc trung ương.
    Province,
    /// Quận / huyện (until 2025-06-30).
    District,
    /// Phường / xã / thị trấn.
    Ward,
}

impl UnitLevel {
    /// The name used in the database and in JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            UnitLevel::Province => "province",
            UnitLevel::District => "district",
            UnitLevel::Ward => "ward",
        }
    }

    /// Reads the database/JSON name.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "province" => Ok(UnitLevel::Province),
            "district" => Ok(UnitLevel::District),
            "ward" => Ok(UnitLevel::Ward),
            other => {
                Err(Error::Malformed { field: "level", expected: "province, district or ward", got: other.into() })
            }
        }
    }
}

impl TryFrom<String> for UnitLevel {
    type Error = Error;
    fn try_from(text: String) -> Result<Self> {
        Self::parse(&text)
    }
}

/// A GSO administrative code (2 digits for a province, 3 for a district, 5 for a ward).
///
/// A code alone is ambiguous across the 2025 reform (31135 was Tân An, is now Ninh Kiều):
/// pair it with an [`AsOf`] date to name one unit.
///
/// ```
/// use diaba_core::UnitCode;
/// assert_eq!(UnitCode::parse("31135").unwrap().as_str(), "31135");
/// assert!(UnitCode::parse("3113").is_err());
/// assert!(UnitCode::parse("31135'; drop table x").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct UnitCode(String);

impl UnitCode {
    /// Accepts 2, 3 or 5 ASCII digits.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let digits = text.bytes().all(|b| b.is_ascii_digit());
        if digits && matches!(text.len(), 2 | 3 | 5) {
            Ok(Self(text.to_owned()))
        } else {
            Err(Error::Malformed {
                field: "code",
                expected: "a GSO unit code of 2, 3 or 5 digits (e.g. 31135)",
                got: text.chars().take(32).collect(),
            })
        }
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The level implied by the code's length.
    pub fn level(&self) -> UnitLevel {
        match self.0.len() {
            2 => UnitLevel::Province,
            3 => UnitLevel::District,
            _ => UnitLevel::Ward,
        }
    }
}

impl fmt::Display for UnitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The calendar day a question is asked about (`?at=YYYY-MM-DD`), in Vietnam's time zone.
///
/// ```
/// use diaba_core::AsOf;
/// let d = AsOf::parse("2024-01-01").unwrap();
/// assert!(d.is_before_reform());
/// assert!(AsOf::parse("2024-13-01").is_err());
/// assert!(AsOf::parse("yesterday").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct AsOf(NaiveDate);

impl AsOf {
    /// Parses an ISO 8601 calendar date.
    pub fn parse(text: &str) -> Result<Self> {
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map(Self).map_err(|_| Error::Malformed {
            field: "at",
            expected: "a date as YYYY-MM-DD",
            got: text.chars().take(32).collect(),
        })
    }

    /// Today in Asia/Ho_Chi_Minh (UTC+7 all year, no daylight saving).
    pub fn today() -> Self {
        Self(crate::time::today_in_vietnam())
    }

    /// Wraps a date.
    pub fn from_date(date: NaiveDate) -> Self {
        Self(date)
    }

    /// The date.
    pub fn date(&self) -> NaiveDate {
        self.0
    }

    /// True when the district level still existed on this day.
    pub fn is_before_reform(&self) -> bool {
        self.0 < REFORM_2025
    }
}

impl fmt::Display for AsOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reform_day_belongs_to_the_new_units() {
        assert!(AsOf::parse("2025-06-30").unwrap().is_before_reform());
        assert!(!AsOf::parse("2025-07-01").unwrap().is_before_reform());
    }

    #[test]
    fn code_length_gives_the_level() {
        assert_eq!(UnitCode::parse("92").unwrap().level(), UnitLevel::Province);
        assert_eq!(UnitCode::parse("916").unwrap().level(), UnitLevel::District);
        assert_eq!(UnitCode::parse("31135").unwrap().level(), UnitLevel::Ward);
    }

    #[test]
    fn level_names_round_trip() {
        for level in [UnitLevel::Province, UnitLevel::District, UnitLevel::Ward] {
            assert_eq!(UnitLevel::parse(level.as_str()).unwrap(), level);
        }
    }
}
