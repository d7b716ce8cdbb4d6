//! Failed sign-ins (unknown tokens) per client address, to slow down guessing.

use std::net::IpAddr;
use std::time::Duration;

/// Failed sign-ins per client address, forgotten a minute after the last one.
#[derive(Debug, Clone)]
pub struct SignInFailures {
    counts: moka::sync::Cache<IpAddr, u32>,
    limit: u32,
}

impl SignInFailures {
    /// Allows `limit` failures a minute per address (0: no limit).
    pub fn new(limit: u32) -> Self {
        let counts = moka::sync::Cache::builder().max_capacity(100_000).time_to_live(Duration::from_secs(60)).build();
        Self { counts, limit }
    }

    pub(crate) fn blocked(&self, ip: IpAddr) -> bool {
        self.limit > 0 && self.counts.get(&ip).is_some_and(|n| n >= self.limit)
    }

    pub(crate) fn record(&self, ip: IpAddr) {
        self.counts.entry(ip).and_upsert_with(|n| n.map_or(1, |e| e.into_value().saturating_add(1)));
    }
}
