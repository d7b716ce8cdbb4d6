//! Extractors whose rejections are problem+json like every other error.

use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::extract::rejection::QueryRejection;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// `axum::extract::Query`, rejecting with a 400 problem that names the query string.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|rejection: QueryRejection| ApiError::invalid("query", rejection.body_text()))
    }
}

/// `axum::Json`, rejecting with a problem: 415 without a JSON content type, 400 for
/// syntax errors, 422 for JSON of the wrong shape (naming what serde found wrong).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::rejection::JsonRejection;
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(JsonRejection::JsonDataError(e)) => {
                Err(ApiError::Unprocessable { field: "body".into(), detail: e.body_text(), parcels: Vec::new() })
            }
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::UnsupportedMediaType),
            Err(JsonRejection::BytesRejection(e)) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge { detail: "the request body is larger than this server accepts".into() })
            }
            Err(other) => Err(ApiError::invalid("body", other.body_text())),
        }
    }
}

/// The `If-Match` header as sent, for a use case that needs the version it names.
pub fn if_match(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers.get(axum::http::header::IF_MATCH).and_then(|v| v.to_str().ok())
}
