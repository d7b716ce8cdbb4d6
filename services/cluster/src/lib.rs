//! The private PostgreSQL + PostGIS cluster diaba runs itself when no `DATABASE_URL` is
//! given (DESIGN §11): created with `initdb` on first use, reached over a Unix socket
//! only, shared by every diaba process using the same data directory. No SQL here: the
//! store connects to [`Cluster::socket_dir`] as [`CLUSTER_SUPERUSER`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cluster;
mod error;

pub use cluster::{CLUSTER_SUPERUSER, Cluster, ClusterOptions, DEFAULT_CLUSTER_USER, SOCKET_PORT};
pub use error::{Error, Result};
