//! Domain types, validation and codecs of diaba.
//!
//! Everything here is pure: no database, no network, no filesystem. The store, the index,
//! the tile encoder and the HTTP API all build on these types, so a coordinate or a code
//! that exists as a value here has already been checked.
//!
//! - [`LonLat`]: a WGS84 position, finite and in range.
//! - [`UnitLevel`], [`UnitCode`], [`AsOf`]: administrative units that change over time
//!   (the 2025 reform removed districts and reused ward codes).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod coord;
mod error;
pub mod olc;
mod unit;

pub use coord::LonLat;
pub use error::{Error, Result};
pub use unit::{AsOf, REFORM_2025, UnitCode, UnitLevel};
