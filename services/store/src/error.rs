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
    /// A write met a unique constraint: another record holds the key (often one written at
    /// the same moment). Answered 409, never 500.
    #[error("{what} is already taken ({constraint})")]
    Taken {
        /// the constraint, e.g. parcel_version_live_key_idx
        constraint: String,
        /// what it protects, in words
        what: &'static str,
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
    /// A new record links to one that does not exist (a foreign key found nothing).
    #[error("a linked entity does not exist: {detail}")]
    UnknownLink {
        /// what PostgreSQL found missing
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
        self.map_err(|source| match source.as_database_error() {
            Some(db) if db.code().as_deref() == Some("23505") => {
                let constraint = db.constraint().unwrap_or("unique").to_owned();
                Error::Taken { what: protected(&constraint), constraint }
            }
            _ => Error::Query { query: name, source },
        })
    }
}

/// What a unique constraint of the schema protects, in words for a 409.
fn protected(constraint: &str) -> &'static str {
    match constraint {
        "parcel_version_live_key_idx" => "the parcel key (ward, sheet, number)",
        "parcel_national_id_key" => "the national parcel id",
        "parcel_version_live_idx" | "parcel_version_parcel_id_version_key" => "this version of the parcel",
        "app_user_name_key" => "the user name",
        "admin_unit_code_level_valid_from_key" => "this unit version (code, level, start date)",
        "idempotency_key_pkey" => "the Idempotency-Key",
        "certificate_serial_key" => "the certificate serial",
        "payment_provider_reference_key" => "the payment reference",
        _ => "a unique value",
    }
}
