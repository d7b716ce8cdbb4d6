use thiserror::Error;

/// Why a use case did not happen. Each variant says what the caller can do about it; the
/// HTTP layer turns them into statuses in one place and the CLI prints them.
#[derive(Debug, Error)]
pub enum Error {
    /// A parameter is missing or malformed (HTTP 400).
    #[error("{field}: {detail}")]
    Invalid {
        /// the parameter at fault
        field: String,
        /// what is wrong, for a person
        detail: String,
    },
    /// Well-formed but against a rule of the register (HTTP 422).
    #[error("{field}: {detail}")]
    Unprocessable {
        /// the field at fault
        field: String,
        /// what is wrong
        detail: String,
        /// parcels involved, e.g. those overlapped
        parcels: Vec<i64>,
    },
    /// The thing asked for does not exist (HTTP 404).
    #[error("{detail}")]
    NotFound {
        /// what was not found
        detail: String,
    },
    /// The use case needs a signed-in caller (HTTP 401).
    #[error("{detail}")]
    Unauthenticated {
        /// why
        detail: String,
    },
    /// The caller's role or wards do not allow it (HTTP 403).
    #[error("{detail}")]
    Forbidden {
        /// why
        detail: String,
    },
    /// It conflicts with the register's state: a key taken, a replay with another body
    /// (HTTP 409).
    #[error("{detail}")]
    Conflict {
        /// why, naming the holder
        detail: String,
    },
    /// The caller edited a version that is no longer current (HTTP 412).
    #[error("{detail}")]
    Stale {
        /// why
        detail: String,
    },
    /// A change to an existing record must name the version it was made on (HTTP 428).
    #[error("{detail}")]
    VersionRequired {
        /// what to send
        detail: String,
    },
    /// More items than one request may carry (HTTP 413).
    #[error("{detail}")]
    TooLarge {
        /// the limit
        detail: String,
    },
    /// Too many database reads are running; this one waited its turn and gave up (HTTP 503
    /// with Retry-After): reads queue, so writes always find a connection.
    #[error("{detail}")]
    Busy {
        /// what to do
        detail: String,
    },
    /// The database failed or cannot be reached.
    #[error(transparent)]
    Store(diaba_store::Error),
    /// Something of diaba's own failed (shipped data, PROJ, the demo generator): a bug or
    /// a broken installation, not the caller's doing.
    #[error("{detail}")]
    Internal {
        /// what failed
        detail: String,
    },
}

impl Error {
    /// A missing or malformed parameter.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), detail: detail.into() }
    }

    /// A rule of the register broken by a field.
    pub fn unprocessable(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Unprocessable { field: field.into(), detail: detail.into(), parcels: Vec::new() }
    }

    /// Something that does not exist.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::NotFound { detail: detail.into() }
    }
}

impl From<diaba_store::Error> for Error {
    fn from(error: diaba_store::Error) -> Self {
        match error {
            diaba_store::Error::Taken { what, .. } => {
                Error::Conflict { detail: format!("{what} was just taken by another write; reload and try again") }
            }
            other => Error::Store(other),
        }
    }
}

impl From<diaba_core::Error> for Error {
    fn from(error: diaba_core::Error) -> Self {
        Error::invalid(error.field(), error.to_string())
    }
}

impl From<diaba_core::parcel::GeometryError> for Error {
    fn from(error: diaba_core::parcel::GeometryError) -> Self {
        Error::unprocessable(error.field, error.detail)
    }
}

impl From<diaba_core::auth::Denied> for Error {
    fn from(denied: diaba_core::auth::Denied) -> Self {
        Error::Forbidden { detail: denied.detail }
    }
}

impl From<diaba_store::parcels::WriteRefused> for Error {
    fn from(refused: diaba_store::parcels::WriteRefused) -> Self {
        use diaba_store::parcels::WriteRefused;
        let detail = refused.to_string();
        match refused {
            WriteRefused::NotFound { .. } => Error::NotFound { detail },
            WriteRefused::Stale { .. } => Error::Stale { detail },
            WriteRefused::OutOfScope { .. } => Error::Forbidden { detail },
            WriteRefused::KeyTaken { .. } => Error::Conflict { detail },
            WriteRefused::Invalid { field, parcels, .. } => {
                Error::Unprocessable { field: field.into(), detail, parcels }
            }
        }
    }
}

/// Result of a use case.
pub type Result<T, E = Error> = std::result::Result<T, E>;
