use std::path::PathBuf;
use thiserror::Error;

/// Everything that can go wrong between diaba and PostgreSQL.
#[derive(Debug, Error)]
pub enum Error {
    /// The embedded cluster could not be started, joined or stopped.
    #[error(transparent)]
    Cluster(#[from] diaba_cluster::Error),
    /// Filesystem trouble.
    #[error("{action} {path}: {source}")]
    Io {
        /// what we were doing
        action: &'static str,
        /// the path involved
        path: PathBuf,
        /// the OS error
        source: std::io::Error,
    },
    /// The database could not be reached or a statement failed.
    #[error("database query {query}: {source}")]
    Query {
        /// a short name of the statement
        query: &'static str,
        /// the driver error
        source: sqlx::Error,
    },
    /// Every interior point of a new parcel falls in a cell already issued as a national id.
    #[error("no unused national id could be issued for this parcel outline")]
    NoNationalId,
    /// A stored geometry could not be read.
    #[error("stored geometry: {detail}")]
    Geometry {
        /// what was wrong
        detail: String,
    },
    /// The change-feed listener lost its connection (it reconnects on the next wait).
    #[error("change-feed listener lost its connection")]
    ListenerLost,
    /// Migrations failed.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A shipped geodata file does not parse.
    #[error(transparent)]
    Geodata(#[from] diaba_geodata::Error),
}

impl Error {
    /// True when the database is unreachable rather than the request being wrong:
    /// the API answers 503 with Retry-After for these.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Error::Query { source, .. } => {
                matches!(
                    source,
                    sqlx::Error::Io(_)
                        | sqlx::Error::PoolTimedOut
                        | sqlx::Error::PoolClosed
                        | sqlx::Error::WorkerCrashed
                ) || source
                    .as_database_error()
                    .is_some_and(|e| e.code().is_some_and(|c| c.starts_with("57P") || c.starts_with("08")))
            }
            Error::ListenerLost => true,
            _ => false,
        }
    }
}

/// Result with the store [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches a statement name to a driver error.
pub(crate) trait QueryContext<T> {
    fn query(self, name: &'static str) -> Result<T>;
}

impl<T> QueryContext<T> for std::result::Result<T, sqlx::Error> {
    fn query(self, name: &'static str) -> Result<T> {
        self.map_err(|source| Error::Query { query: name, source })
    }
}
