//! Keyset paging: `limit` items after an id, so every page costs the same.

use crate::error::{Error, Result};

/// Keyset paging from `?limit=&after=`: at most [`MAX_PAGE`] items after an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Items per page.
    pub limit: i64,
    /// Only items with a larger id.
    pub after: i64,
}

/// Most items one page may ask for.
pub const MAX_PAGE: i64 = 1_000;
/// Items per page when `limit` is not given.
pub const DEFAULT_PAGE: i64 = 100;

impl Page {
    /// Reads `limit` (1 to [`MAX_PAGE`], default [`DEFAULT_PAGE`]) and `after` (an id, default 0).
    ///
    /// ```
    /// use diaba_register::Page;
    /// assert_eq!(Page::parse(None, None).unwrap(), Page { limit: 100, after: 0 });
    /// assert!(Page::parse(Some("0"), None).is_err());
    /// assert!(Page::parse(None, Some("x")).is_err());
    /// ```
    pub fn parse(limit: Option<&str>, after: Option<&str>) -> Result<Self> {
        let limit = match limit {
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| Error::invalid("limit", format!("limit must be 1 to {MAX_PAGE}")))?,
            None => DEFAULT_PAGE,
        };
        let after = match after {
            Some(text) => text.parse::<i64>().map_err(|_| Error::invalid("after", "after must be an id"))?,
            None => 0,
        };
        Ok(Self { limit, after })
    }

    /// The id to continue after, when this page came back full.
    pub fn next_after(&self, returned: usize, last_id: Option<i64>) -> Option<i64> {
        (returned as i64 == self.limit).then_some(last_id).flatten()
    }
}
