//! PostGIS persistence for diaba: every SQL statement and every sqlx type lives here.
//!
//! - [`Store`]: a connection pool over either a server named by URL or the embedded
//!   [`Cluster`] (crate `diaba-cluster`) that diaba runs itself, with migrations and the
//!   shipped reference data.
//! - [`units`]: administrative units valid at a date.
//!
//! Callers get core types back; nothing above this crate sees a `PgRow`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod addresses;
pub mod applications;
mod audit;
pub mod citizens;
pub mod documents;
mod error;
mod failover;
mod feed;
mod flood;
pub mod flood_live;
mod geodata;
mod hosts;
pub mod import;
mod layers;
pub mod ogc;
pub mod outbox;
pub mod parcels;
pub mod parties;
pub mod population;
mod replicas;
mod seed;
pub mod sensors;
pub use flood::{LandUseCount, LevelSummary, NewFloodZone};
mod store;
pub mod units;
mod users;

pub use users::Token;

pub use diaba_cluster::{CLUSTER_SUPERUSER, Cluster, ClusterOptions, DEFAULT_CLUSTER_USER};
pub use error::{Error, Result};
pub use feed::{Change, ChangeListener, ChangeOp, FeedEntry, FeedLag};
pub use replicas::ReplicaStatus;
pub use store::{DatabaseConfig, Health, MIGRATOR, PoolStatus, Store, cluster_connect_options};
