//! The routers of each resource, merged in one place.

mod addresses;
mod flood;
mod health;
mod lookup;
mod me;
mod ogc;
mod parcels;
pub(crate) mod tiles;
mod units;
mod web;

use crate::config::Config;
use crate::middleware::{SequentialRequestId, problem_for_bare_errors};
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderValue, header};
use tower::ServiceBuilder;
use tower_http::ServiceBuilderExt;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// The whole HTTP API over `state`.
pub fn app(state: AppState, config: &Config) -> Router {
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request| {
            let route = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str).unwrap_or("-");
            let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), route, id)
        })
        // Failures are logged once by ApiError, with their cause.
        .on_failure(());
    Router::new()
        .merge(health::router())
        .merge(units::router())
        .merge(parcels::router())
        .merge(lookup::router())
        .merge(me::router())
        .merge(flood::router())
        .merge(addresses::router())
        .merge(ogc::router())
        .merge(tiles::router())
        .merge(web::router(config.web_dir.as_deref()))
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
                .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, config.request_timeout))
                .layer(DefaultBodyLimit::max(config.body_limit)),
        )
}
