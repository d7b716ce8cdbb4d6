use std::path::PathBuf;
use thiserror::Error;

/// What can go wrong starting, joining or stopping the embedded cluster.
#[derive(Debug, Error)]
pub enum Error {
    /// No PostgreSQL server binaries were found for the embedded cluster.
    #[error(
        "no PostgreSQL binaries found (looked at `pg_config --bindir` and /usr/lib/postgresql/*/bin); \
         install postgresql-15 and postgresql-15-postgis-3, or pass --pg-bin-dir"
    )]
    NoPostgresBinaries,
    /// A cluster command (initdb, pg_ctl) failed.
    #[error("`{command}` failed for cluster {data_dir}: {detail}")]
    ClusterCommand {
        /// the command line, without secrets
        command: String,
        /// cluster data directory
        data_dir: PathBuf,
        /// its exit status and last lines of output
        detail: String,
    },
    /// The OS user that must own the cluster (PostgreSQL refuses root) is unusable.
    #[error("cluster user {user:?}: {reason}")]
    ClusterUser {
        /// the configured user name
        user: String,
        /// what is wrong
        reason: String,
    },
    /// Filesystem trouble around the data directory.
    #[error("{action} {path}: {source}")]
    Io {
        /// what we were doing
        action: &'static str,
        /// the path involved
        path: PathBuf,
        /// the OS error
        source: std::io::Error,
    },
}

/// Result with the cluster [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
