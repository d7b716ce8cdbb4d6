//! Domain types, validation and codecs of diaba.
//!
//! Everything here is pure: no database, no network, no filesystem. The store, the index,
//! the tile encoder and the HTTP API all build on these types, so a coordinate or a code
//! that exists as a value here has already been checked.
//!
//! - [`LonLat`]: a WGS84 position, finite and in range.
//! - [`UnitLevel`], [`UnitCode`], [`AsOf`]: administrative units that change over time
//!   (the 2025 reform removed districts and reused ward codes).
//! - [`olc`]: Open Location Code, exact against the official test vectors.
//! - [`Vpostcode`], [`PostcodeTable`]: household codes `94107 9QCJ+2VX`.
//! - [`NationalParcelId`]: the 12-character GeoHash of a point inside a parcel.
//! - [`crs`]: WGS84 ↔ VN-2000 / TM-3 with the official datum shift, and legal areas.
//! - [`fold`]: Vietnamese text folding for search.
//! - [`PersonalId`], [`Share`], [`CertificateSerial`]: land users, their shares, and the
//!   certificates (LADM parties and rights).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod address;
pub mod application;
pub mod auth;
mod coord;
pub mod covers;
pub mod crs;
mod error;
pub mod interior;
mod layer;
pub mod olc;
pub mod outline;
pub mod parcel;
mod parcel_id;
pub mod party;
pub mod spatial;
mod text;
mod time;
mod unit;
mod vpostcode;
pub mod workdays;

pub use address::AddressStatus;
pub use coord::{LonLat, metres_per_degree};
pub use error::{Error, Result};
pub use layer::Layer;
pub use parcel_id::{NationalParcelId, PackedParcelId, ParcelIdError};
pub use party::{CertificateSerial, PersonalId, Sex, Share};
pub use text::fold;
pub use time::{
    METRES_PER_DEGREE, REFORM_2025, VIETNAM_UTC_OFFSET_SECONDS, end_of_day, today_in_vietnam, vietnam, vietnam_date,
};
pub use unit::{AsOf, UnitCode, UnitLevel};
pub use vpostcode::{Decoded, Postcode, PostcodeArea, PostcodeTable, Vpostcode, VpostcodeError};
