//! The edge every routed request passes: its id, its log span, its time limit, panic
//! safety, `nosniff`, problem+json for bare errors, and its count in the metrics.
//!
//! Why one service and not a stack of tower-http layers: each layer wraps the request in
//! one more future (and `from_fn` boxes one and clones the route), and on two cores that
//! was about a quarter of a cached tile's or a lookup's time (bench/results/lookup.md).
//! Here the whole edge is one boxed future. CORS stays tower-http's (outside, see
//! `routes::app`): it is the part worth not writing twice.

use crate::error::{ApiError, PROBLEM_JSON, Problem};
use crate::metrics::Metrics;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tracing::Instrument;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Builds [`Edge`] around each route.
#[derive(Clone)]
pub struct EdgeLayer(Arc<Shared>);

struct Shared {
    ids: RequestIds,
    timeout: Duration,
    metrics: Arc<Metrics>,
}

impl EdgeLayer {
    /// Requests longer than `timeout` answer 408; every answer is counted in `metrics`.
    pub fn new(timeout: Duration, metrics: Arc<Metrics>) -> Self {
        Self(Arc::new(Shared { ids: RequestIds::default(), timeout, metrics }))
    }
}

impl<S> tower::Layer<S> for EdgeLayer {
    type Service = Edge<S>;
    fn layer(&self, inner: S) -> Edge<S> {
        Edge { inner, shared: self.0.clone() }
    }
}

/// See the module documentation.
#[derive(Clone)]
pub struct Edge<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> tower::Service<Request> for Edge<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let started = Instant::now();
        let shared = self.shared.clone();
        // A client's own id is kept, so its logs and ours can be matched.
        let id = match request.headers().get(REQUEST_ID) {
            Some(id) => id.clone(),
            None => {
                let id = shared.ids.next();
                request.headers_mut().insert(REQUEST_ID, id.clone());
                id
            }
        };
        let route = request.extensions().get::<MatchedPath>().cloned();
        let method = request.method().clone();
        let span = tracing::info_span!(
            "request",
            method = %method,
            route = route.as_ref().map_or("-", MatchedPath::as_str),
            id = id.to_str().unwrap_or("-"),
        );
        // The route may panic before its future exists, as well as while it runs.
        let called = span.in_scope(|| catch_unwind(AssertUnwindSafe(|| self.inner.call(request))));
        Box::pin(
            async move {
                let answered = match called {
                    Ok(future) => tokio::time::timeout(shared.timeout, unwinding(future)).await,
                    Err(panic) => Ok(Err(panic)),
                };
                let mut response = match answered {
                    Ok(Ok(Ok(response))) => response,
                    Ok(Ok(Err(never))) => match never {},
                    // Logged and answered as every internal error is, the panic's text kept
                    // for the log.
                    Ok(Err(panic)) => {
                        ApiError::Internal(format!("the handler panicked: {}", panic_text(&*panic)).into())
                            .into_response()
                    }
                    Err(_elapsed) => bare(StatusCode::REQUEST_TIMEOUT),
                };
                let status = response.status();
                if (status.is_client_error() || status.is_server_error()) && !is_problem(&response) {
                    response = problem_for_bare_error(response).await;
                }
                let headers = response.headers_mut();
                // Every answer is exactly the type it says (JSON, MVT, HTML): no sniffing.
                headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
                headers.entry(REQUEST_ID).or_insert(id);
                let took = started.elapsed();
                shared.metrics.record(&method, route, status, took);
                tracing::debug!(status = status.as_u16(), latency = ?took, "answered");
                Ok(response)
            }
            .instrument(span),
        )
    }
}

/// `future`'s output, or the panic that interrupted it.
async fn unwinding<F: Future>(future: F) -> Result<F::Output, Box<dyn std::any::Any + Send>> {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|cx| match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
        Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
        Ok(Poll::Pending) => Poll::Pending,
        Err(panic) => Poll::Ready(Err(panic)),
    })
    .await
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> &str {
    panic.downcast_ref::<String>().map(String::as_str).or_else(|| panic.downcast_ref::<&str>().copied()).unwrap_or("?")
}

fn bare(status: StatusCode) -> Response {
    let mut response = Response::new(axum::body::Body::empty());
    *response.status_mut() = status;
    response
}

fn is_problem(response: &Response) -> bool {
    response.headers().get(header::CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(PROBLEM_JSON.as_bytes()))
}

/// Request ids `<process start in hex>-<counter>`: unique per node, cheap, and sortable.
struct RequestIds {
    prefix: String,
    next: AtomicU64,
}

impl Default for RequestIds {
    fn default() -> Self {
        let start =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
        Self { prefix: format!("{start:x}"), next: AtomicU64::new(0) }
    }
}

impl RequestIds {
    fn next(&self) -> HeaderValue {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        // Written on the stack: the header value is the only allocation.
        let mut text = [0u8; 48]; // a 16-digit prefix, '-' and a 20-digit counter fit
        let mut rest = &mut text[..];
        let written = std::io::Write::write_fmt(&mut rest, format_args!("{}-{n}", self.prefix));
        let len = 48 - rest.len();
        written.ok().and_then(|()| HeaderValue::from_bytes(&text[..len]).ok()).unwrap_or(HeaderValue::from_static("-"))
    }
}

/// The router (unknown paths and methods), the body limit and the time limit answer errors
/// with empty or plain-text bodies: rewritten as problem+json, so clients see one format.
async fn problem_for_bare_error(response: Response) -> Response {
    let status = response.status();
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
            rebuilt.headers_mut().append(name.clone(), value.clone());
        }
    }
    rebuilt
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Snapshot;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    fn router(metrics: Arc<Metrics>) -> Router {
        Router::new()
            .route("/fine", get(|| async { "fine" }))
            .route("/boom", get(boom))
            .route("/slow", get(|| async { tokio::time::sleep(Duration::from_secs(5)).await }))
            .layer(EdgeLayer::new(Duration::from_millis(200), metrics))
    }

    async fn boom() -> &'static str {
        panic!("a test panic")
    }

    async fn get_with(router: &Router, path: &str, id: Option<&str>) -> (Response, String) {
        let mut request = axum::http::Request::get(path);
        if let Some(id) = id {
            request = request.header("x-request-id", id);
        }
        let response = router.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
        let (parts, body) = response.into_parts();
        let text = String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap();
        (Response::from_parts(parts, Body::empty()), text)
    }

    async fn exposition(metrics: &Metrics) -> String {
        let body = metrics.exposition(Snapshot::default()).into_body();
        String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn every_answer_has_an_id_nosniff_and_a_count() {
        let metrics = Arc::new(Metrics::default());
        let router = router(metrics.clone());
        let (first, body) = get_with(&router, "/fine", None).await;
        let (second, _) = get_with(&router, "/fine", None).await;
        assert_eq!((first.status(), body.as_str()), (StatusCode::OK, "fine"));
        assert_eq!(first.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_ne!(first.headers()[REQUEST_ID], second.headers()[REQUEST_ID], "ids differ");
        let (own, _) = get_with(&router, "/fine", Some("client-7")).await;
        assert_eq!(own.headers()[REQUEST_ID], "client-7", "a client's id is kept");
        let (missing, body) = get_with(&router, "/nowhere", None).await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(missing.headers()[header::CONTENT_TYPE], PROBLEM_JSON, "{body}");
        assert_eq!(missing.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let counted = exposition(&metrics).await;
        assert!(
            counted.contains(r#"diaba_http_requests_total{method="GET",route="/fine",status="200"} 3"#),
            "{counted}"
        );
    }

    #[tokio::test]
    async fn a_panic_is_a_logged_500_and_the_server_goes_on() {
        let metrics = Arc::new(Metrics::default());
        let router = router(metrics.clone());
        let (response, body) = get_with(&router, "/boom", None).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert!(body.contains("an internal error occurred") && !body.contains("a test panic"), "{body}");
        assert!(response.headers().contains_key(REQUEST_ID));
        assert_eq!(get_with(&router, "/fine", None).await.0.status(), StatusCode::OK);
        let counted = exposition(&metrics).await;
        assert!(counted.contains(r#"route="/boom",status="500"} 1"#), "{counted}");
    }

    #[tokio::test]
    async fn a_request_past_its_time_is_a_408_problem() {
        let metrics = Arc::new(Metrics::default());
        let router = router(metrics.clone());
        let started = Instant::now();
        let (response, body) = get_with(&router, "/slow", None).await;
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert!(body.contains("took too long"), "{body}");
        let counted = exposition(&metrics).await;
        assert!(counted.contains(r#"route="/slow",status="408"} 1"#), "{counted}");
    }
}
