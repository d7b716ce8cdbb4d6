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
use crate::middleware::EdgeLayer;
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The whole HTTP API over `state`.
pub fn app(state: AppState, config: &Config) -> Router {
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
        .layer(DefaultBodyLimit::max(config.body_limit))
        // Outside the access check, so refusals are counted too; inside routing, so the
        // route template is known.
        .layer(EdgeLayer::new(config.request_timeout, state.metrics.clone()))
        // Outermost, so the edge's own answers (408, a panic's 500) carry CORS headers too.
        .layer(cors(&config.cors_origins))
        .with_state(state)
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
