//! The OGC SensorThings API v1.1 as diaba serves it, pure: the entity sets and their links,
//! resource paths, query options (`$top`, `$skip`, `$count`, `$orderby`, `$filter`) turned
//! into SQL over whitelisted columns with bound values, and the checks a reading passes
//! before it is stored. The store runs the SQL; the API shapes the answers.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod create;
mod entity;
mod path;
mod query;
pub mod reading;

pub use create::NewEntity;
pub use entity::{EntitySet, Kind, Navigation, Property};
pub use path::Resource;
pub use query::{Bind, DEFAULT_TOP, MAX_TOP, Query};

/// Why a SensorThings request cannot be answered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StaError {
    /// Malformed path, option or body.
    #[error("{0}")]
    BadRequest(String),
    /// No such set, link or entity.
    #[error("{0}")]
    NotFound(String),
}
