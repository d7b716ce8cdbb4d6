//! Household address values shared by the store, the rules and the API.

use serde::Serialize;
use std::fmt;

/// Where a household address stands in review (DESIGN §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressStatus {
    /// Sent from the field, waiting for a registrar.
    Submitted,
    /// Checked by a registrar (or imported from the office's own records): public.
    Verified,
    /// Refused by a registrar, with a reason for the collector.
    Rejected,
}

impl AddressStatus {
    /// The database/JSON name.
    pub const fn as_str(self) -> &'static str {
        match self {
            AddressStatus::Submitted => "submitted",
            AddressStatus::Verified => "verified",
            AddressStatus::Rejected => "rejected",
        }
    }

    /// Reads the database/JSON name; `pending` is accepted for `submitted`, as the review
    /// page says it.
    ///
    /// ```
    /// use diaba_core::AddressStatus;
    /// assert_eq!(AddressStatus::parse("pending"), Some(AddressStatus::Submitted));
    /// assert_eq!(AddressStatus::parse("verified"), Some(AddressStatus::Verified));
    /// assert_eq!(AddressStatus::parse("lost"), None);
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "submitted" | "pending" => Some(AddressStatus::Submitted),
            "verified" => Some(AddressStatus::Verified),
            "rejected" => Some(AddressStatus::Rejected),
            _ => None,
        }
    }
}

impl fmt::Display for AddressStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for AddressStatus {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text).ok_or_else(|| format!("unknown address status {text:?}"))
    }
}
