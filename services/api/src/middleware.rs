//! Cross-cutting layers: request ids, and problem+json for errors produced outside handlers.

use crate::error::{PROBLEM_JSON, Problem};
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::atomic::{AtomicU64, Ordering};
use tower_http::request_id::{MakeRequestId, RequestId};

/// Request ids `<process start in hex>-<counter>`: unique per node, cheap, and sortable.
#[derive(Debug, Clone)]
pub struct SequentialRequestId {
    prefix: String,
    next: std::sync::Arc<AtomicU64>,
}

impl Default for SequentialRequestId {
    fn default() -> Self {
        let start =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
        Self { prefix: format!("{start:x}"), next: Default::default() }
    }
}

impl MakeRequestId for SequentialRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        // Written on the stack: the header value is the only allocation per request.
        let mut text = [0u8; 48]; // a 16-digit prefix, '-' and a 20-digit counter fit
        let mut rest = &mut text[..];
        std::io::Write::write_fmt(&mut rest, format_args!("{}-{n}", self.prefix)).ok()?;
        let len = 48 - rest.len();
        HeaderValue::from_bytes(&text[..len]).ok().map(RequestId::new)
    }
}

/// Layers (body limit, timeout, routing) answer errors with empty or plain-text bodies.
/// This rewrites any such 4xx/5xx into problem+json, so clients see one error format.
pub async fn problem_for_bare_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_problem =
        response.headers().get(header::CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = http_body_util::BodyExt::collect(body)
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).trim().to_owned())
        .unwrap_or_default();
    let detail = match status.as_u16() {
        404 => "no such resource; see /openapi.json for the API".to_owned(),
        405 => "this method is not allowed on this resource".to_owned(),
        408 => "the request took too long (slow body or slow processing); retry".to_owned(),
        413 => "the request body is larger than this server accepts".to_owned(),
        _ if !text.is_empty() => text,
        _ => status.canonical_reason().unwrap_or("error").to_owned(),
    };
    let mut rebuilt = Problem::new(status, detail).into_response_with(status);
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rebuilt.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rebuilt
}
