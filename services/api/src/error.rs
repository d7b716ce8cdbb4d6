use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The media type of every error body (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";
/// Seconds a client should wait before retrying when the database is away.
const RETRY_AFTER_SECONDS: &str = "5";

/// Every way a request can fail, and the one place that turns failures into HTTP.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A query, path or body parameter is missing or wrong.
    #[error("invalid parameter {field}: {detail}")]
    InvalidParameter {
        /// the parameter at fault
        field: String,
        /// what is wrong, for a person
        detail: String,
    },
    /// The thing asked for does not exist.
    #[error("not found: {detail}")]
    NotFound {
        /// what was not found
        detail: String,
    },
    /// No or unknown bearer token.
    #[error("unauthorized: {detail}")]
    Unauthorized {
        /// why
        detail: String,
    },
    /// The caller's role or wards do not allow this.
    #[error("forbidden: {detail}")]
    Forbidden {
        /// why
        detail: String,
    },
    /// The request conflicts with the current state (a key already taken, a replay
    /// with another body).
    #[error("conflict: {detail}")]
    Conflict {
        /// why
        detail: String,
    },
    /// `If-Match` names a version that is no longer current.
    #[error("precondition failed: {detail}")]
    PreconditionFailed {
        /// why
        detail: String,
    },
    /// A write needs `If-Match`.
    #[error("precondition required: {detail}")]
    PreconditionRequired {
        /// why
        detail: String,
    },
    /// Well-formed but breaks a rule (geometry invalid, overlaps, outside the area).
    #[error("unprocessable {field}: {detail}")]
    Unprocessable {
        /// the field at fault
        field: String,
        /// what is wrong
        detail: String,
        /// parcels involved, e.g. the ones overlapped
        parcels: Vec<i64>,
    },
    /// The body is not JSON (Content-Type).
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// The body (or the items in it) is over a limit.
    #[error("payload too large: {detail}")]
    PayloadTooLarge {
        /// which limit
        detail: String,
    },
    /// Too many failed attempts (unknown tokens) from one client.
    #[error("too many requests: {detail}")]
    TooManyRequests {
        /// why, and what to do
        detail: String,
        /// seconds to wait
        retry_after: u32,
    },
    /// Too many reads at once; this one waited and gave up.
    #[error("busy: {detail}")]
    Busy {
        /// what to do
        detail: String,
    },
    /// The database cannot be reached; reads from memory may still work, this one cannot.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] diaba_store::Error),
    /// A bug or an unexpected failure: logged in full, reported to the client generically.
    #[error("internal error: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// A missing or wrong parameter.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::InvalidParameter { field: field.into(), detail: detail.into() }
    }

    /// Something that does not exist.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::NotFound { detail: detail.into() }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidParameter { .. } => StatusCode::BAD_REQUEST,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            ApiError::PreconditionRequired { .. } => StatusCode::PRECONDITION_REQUIRED,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<diaba_core::Error> for ApiError {
    fn from(error: diaba_core::Error) -> Self {
        ApiError::invalid(error.field(), error.to_string())
    }
}

impl From<diaba_register::Error> for ApiError {
    fn from(error: diaba_register::Error) -> Self {
        use diaba_register::Error as E;
        match error {
            E::Invalid { field, detail } => ApiError::InvalidParameter { field, detail },
            E::Unprocessable { field, detail, parcels } => ApiError::Unprocessable { field, detail, parcels },
            E::NotFound { detail } => ApiError::NotFound { detail },
            E::Unauthenticated { detail } => ApiError::Unauthorized { detail },
            E::Forbidden { detail } => ApiError::Forbidden { detail },
            E::Conflict { detail } => ApiError::Conflict { detail },
            E::Stale { detail } => ApiError::PreconditionFailed { detail },
            E::VersionRequired { detail } => ApiError::PreconditionRequired { detail },
            E::TooLarge { detail } => ApiError::PayloadTooLarge { detail },
            E::Busy { detail } => ApiError::Busy { detail },
            E::Store(error) => error.into(),
            E::Internal { detail } => ApiError::Internal(detail.into()),
        }
    }
}

impl From<diaba_store::Error> for ApiError {
    fn from(error: diaba_store::Error) -> Self {
        match error {
            diaba_store::Error::Taken { what, .. } => {
                ApiError::Conflict { detail: format!("{what} was just taken by another write; reload and try again") }
            }
            error if error.is_unavailable() => ApiError::Unavailable(error),
            error => ApiError::Internal(Box::new(error)),
        }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Serialize)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What went wrong in this request, for a person.
    pub detail: String,
    /// The failing parameter, for validation problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Parcels the problem is about (e.g. those a new parcel overlaps).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parcels: Vec<i64>,
}

impl Problem {
    /// A problem for a status with a detail.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        let title = status.canonical_reason().unwrap_or("Error").to_owned();
        Self {
            kind: format!("/problems/{}", title.to_lowercase().replace(' ', "-")),
            title,
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            parcels: Vec::new(),
        }
    }

    /// The response carrying this problem.
    pub fn into_response_with(self, status: StatusCode) -> Response {
        let mut response = (status, Json(self)).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

impl ApiError {
    /// The problem document this error is answered with, and its status.
    pub fn problem(&self) -> (StatusCode, Problem) {
        let status = self.status();
        let problem = match self {
            ApiError::InvalidParameter { field, detail } => Problem {
                kind: "/problems/invalid-parameter".into(),
                title: "Invalid parameter".into(),
                field: Some(field.clone()),
                ..Problem::new(status, detail.clone())
            },
            ApiError::NotFound { detail }
            | ApiError::Unauthorized { detail }
            | ApiError::Forbidden { detail }
            | ApiError::Conflict { detail }
            | ApiError::PreconditionFailed { detail }
            | ApiError::PreconditionRequired { detail }
            | ApiError::PayloadTooLarge { detail }
            | ApiError::Busy { detail }
            | ApiError::TooManyRequests { detail, .. } => Problem::new(status, detail.clone()),
            ApiError::UnsupportedMediaType => {
                Problem::new(status, "send the body as JSON with Content-Type: application/json")
            }
            ApiError::Unprocessable { field, detail, parcels } => Problem {
                kind: "/problems/validation".into(),
                title: "Validation failed".into(),
                field: Some(field.clone()),
                parcels: parcels.clone(),
                ..Problem::new(status, detail.clone())
            },
            ApiError::Unavailable(error) => {
                tracing::warn!(%error, "database unavailable");
                Problem::new(status, "the database is unavailable; retry shortly")
            }
            ApiError::Internal(error) => {
                // Logged once here, inside the request span; the client gets no internals.
                tracing::error!(%error, "internal error");
                Problem::new(status, "an internal error occurred; it has been logged")
            }
        };
        (status, problem)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, problem) = self.problem();
        let retry_after = match &self {
            ApiError::TooManyRequests { retry_after, .. } => Some(*retry_after),
            _ => None,
        };
        let mut response = problem.into_response_with(status);
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
        }
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_status() {
        assert_eq!(ApiError::invalid("lat", "bad").into_response().status(), StatusCode::BAD_REQUEST);
        assert_eq!(ApiError::not_found("x").into_response().status(), StatusCode::NOT_FOUND);
        let internal = ApiError::Internal("boom".into()).into_response();
        assert_eq!(internal.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(internal.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    }

    #[test]
    fn access_and_concurrency_errors_have_their_statuses() {
        let status = |e: ApiError| e.into_response().status();
        assert_eq!(status(ApiError::Unauthorized { detail: "x".into() }), StatusCode::UNAUTHORIZED);
        assert_eq!(status(ApiError::Forbidden { detail: "x".into() }), StatusCode::FORBIDDEN);
        assert_eq!(status(ApiError::PreconditionFailed { detail: "x".into() }), StatusCode::PRECONDITION_FAILED);
        assert_eq!(status(ApiError::PreconditionRequired { detail: "x".into() }), StatusCode::PRECONDITION_REQUIRED);
        assert_eq!(status(ApiError::Conflict { detail: "x".into() }), StatusCode::CONFLICT);
        let unprocessable = ApiError::Unprocessable { field: "geometry".into(), detail: "x".into(), parcels: vec![1] };
        assert_eq!(status(unprocessable), StatusCode::UNPROCESSABLE_ENTITY);
        let unauthorized = ApiError::Unauthorized { detail: "x".into() }.into_response();
        assert_eq!(unauthorized.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }

    #[test]
    fn core_validation_errors_name_their_field() {
        let error: ApiError = diaba_core::LonLat::parse(Some("x"), Some("105")).unwrap_err().into();
        assert!(matches!(error, ApiError::InvalidParameter { ref field, .. } if field == "lat"));
    }
}
