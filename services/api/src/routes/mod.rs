//! The routers of each resource, merged in one place.

pub(crate) mod addresses;
pub(crate) mod applications;
pub(crate) mod citizens;
pub(crate) mod flood;
pub(crate) mod health;
pub(crate) mod lookup;
pub(crate) mod me;
pub(crate) mod ogc;
pub(crate) mod ogc_html;
pub(crate) mod ogc_query;
pub(crate) mod openapi;
pub(crate) mod parcels;
pub(crate) mod parties;
pub(crate) mod sta;
pub(crate) mod tiles;
pub(crate) mod units;
pub(crate) mod web;

use crate::config::Config;
use crate::middleware::{SequentialRequestId, problem_for_bare_errors};
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, header};
use tower::ServiceBuilder;
use tower_http::ServiceBuilderExt;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// The whole HTTP API over `state`.
pub fn app(state: AppState, config: &Config) -> Router {
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request| {
            let route = request.extensions().get::<MatchedPath>().map_or("-", MatchedPath::as_str);
            let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), route, id)
        })
        // Failures are logged once by ApiError, with their cause.
        .on_failure(());
    Router::new()
        .merge(health::router())
        .merge(units::router())
        .merge(parcels::router())
        .merge(parties::router())
        .merge(applications::router(config.max_document_bytes))
        .merge(citizens::router())
        .merge(lookup::router())
        .merge(me::router())
        .merge(flood::router())
        .merge(addresses::router())
        .merge(ogc::router())
        .merge(openapi::router())
        .merge(tiles::router())
        .merge(sta::router())
        .merge(web::router(config.web_dir.as_deref()))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), crate::access::authorize))
        // Outside the access check, so refusals are counted too; inside routing, so the
        // route template is known.
        .layer(axum::middleware::from_fn_with_state(state.metrics.clone(), crate::metrics::record))
        .with_state(state)
        .layer(
            ServiceBuilder::new()
                // Every answer is exactly the type it says (JSON, MVT, HTML): no sniffing.
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .set_x_request_id(SequentialRequestId::default())
                .layer(trace)
                .propagate_x_request_id()
                .layer(CatchPanicLayer::new())
                .layer(axum::middleware::from_fn(problem_for_bare_errors))
                .layer(cors(&config.cors_origins))
                .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, config.request_timeout))
                .layer(DefaultBodyLimit::max(config.body_limit)),
        )
}

/// CORS: reads (GET, HEAD) from any origin, since public data is public and tokens are not
/// ambient credentials; writes only from the configured origins (none by default).
fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    let is_read = |method: &[u8]| method == b"GET" || method == b"HEAD";
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, parts| {
            let asked = parts.headers.get(header::ACCESS_CONTROL_REQUEST_METHOD).map(HeaderValue::as_bytes);
            let read = is_read(parts.method.as_str().as_bytes()) || asked.is_some_and(is_read);
            read || origins.contains(origin)
        }))
        .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::PATCH])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            header::RANGE,
            HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([header::ETAG, header::LOCATION, header::RETRY_AFTER, HeaderName::from_static("x-request-id")])
        .max_age(std::time::Duration::from_secs(3600))
}

/// A versioned record as JSON with its version as the ETag, and its place when it was just
/// created (`location`).
pub(crate) fn versioned(
    status: axum::http::StatusCode,
    body: &impl serde::Serialize,
    version: i32,
    location: Option<String>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response = (status, axum::Json(body)).into_response();
    let etag = HeaderValue::from_str(&format!("\"{version}\"")).expect("digits");
    response.headers_mut().insert(header::ETAG, etag);
    if let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}
