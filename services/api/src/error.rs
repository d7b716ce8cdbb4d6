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
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<diaba_core::Error> for ApiError {
    fn from(error: diaba_core::Error) -> Self {
        ApiError::invalid(error.field(), error.to_string())
    }
}

impl From<diaba_store::Error> for ApiError {
    fn from(error: diaba_store::Error) -> Self {
        if error.is_unavailable() { ApiError::Unavailable(error) } else { ApiError::Internal(Box::new(error)) }
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
        }
    }

    /// The response carrying this problem.
    pub fn into_response_with(self, status: StatusCode) -> Response {
        let mut response = (status, Json(self)).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let problem = match &self {
            ApiError::InvalidParameter { field, detail } => Problem {
                kind: "/problems/invalid-parameter".into(),
                title: "Invalid parameter".into(),
                field: Some(field.clone()),
                ..Problem::new(status, detail.clone())
            },
            ApiError::NotFound { detail } => Problem::new(status, detail.clone()),
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
        let mut response = problem.into_response_with(status);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
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
    fn core_validation_errors_name_their_field() {
        let error: ApiError = diaba_core::LonLat::parse(Some("x"), Some("105")).unwrap_err().into();
        assert!(matches!(error, ApiError::InvalidParameter { ref field, .. } if field == "lat"));
    }
}
