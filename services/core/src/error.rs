use thiserror::Error;

/// What can be wrong with a value handed to the core.
///
/// Every message is written for the person who typed the value: a field worker, a
/// registrar, a developer calling the API. `field` names the parameter when there is one.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    /// A required value is absent.
    #[error("{field} is required")]
    Missing {
        /// parameter name
        field: &'static str,
    },
    /// A value could not be read as the type it must have.
    #[error("{field} must be {expected}, got {got:?}")]
    Malformed {
        /// parameter name
        field: &'static str,
        /// what a valid value looks like
        expected: &'static str,
        /// the offending input, as received
        got: String,
    },
    /// A number was read but lies outside its allowed range.
    #[error("{field} must be between {min} and {max}, got {got}")]
    OutOfRange {
        /// parameter name
        field: &'static str,
        /// smallest allowed value
        min: f64,
        /// largest allowed value
        max: f64,
        /// the offending value
        got: f64,
    },
}

impl Error {
    /// The name of the parameter the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            Error::Missing { field } | Error::Malformed { field, .. } | Error::OutOfRange { field, .. } => field,
        }
    }
}

/// Result with the core [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
