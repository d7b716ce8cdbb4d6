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
                Err(ApiError::PayloadTooLarge)
            }
            Err(other) => Err(ApiError::invalid("body", other.body_text())),
        }
    }
}

/// Keyset paging from `?limit=&after=`: at most [`MAX_PAGE`] items after an id.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// Items per page.
    pub limit: i64,
    /// Only items with a larger id.
    pub after: i64,
}

/// Most items one page may ask for.
pub const MAX_PAGE: i64 = 1_000;
/// Items per page when `limit` is not given.
pub const DEFAULT_PAGE: i64 = 100;

impl Page {
    /// Reads `limit` (1 to [`MAX_PAGE`], default [`DEFAULT_PAGE`]) and `after` (an id, default 0).
    pub fn parse(limit: Option<&str>, after: Option<&str>) -> Result<Self, ApiError> {
        let limit = match limit {
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| ApiError::invalid("limit", format!("limit must be 1 to {MAX_PAGE}")))?,
            None => DEFAULT_PAGE,
        };
        let after = match after {
            Some(text) => text.parse::<i64>().map_err(|_| ApiError::invalid("after", "after must be an id"))?,
            None => 0,
        };
        Ok(Self { limit, after })
    }
}

/// The version named by `If-Match` (a strong or weak ETag such as `"3"`): 428 when absent,
/// so no one's change is silently lost, 400 when it is not a version.
pub fn if_match(headers: &axum::http::HeaderMap) -> Result<i32, ApiError> {
    let value = headers.get(axum::http::header::IF_MATCH).ok_or_else(|| ApiError::PreconditionRequired {
        detail: "send If-Match with the ETag (version) you edited, so no one's change is lost".into(),
    })?;
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| ApiError::invalid("If-Match", "If-Match must be the record's ETag, e.g. \"3\""))
}
