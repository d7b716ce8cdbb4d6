//! The map (`/`), field (`/field`), review (`/review`), citizen's (`/apply`) and office's
//! (`/office`) pages and the operations centre's wall (`/ioc`): static files built by npm
//! in services/web and served from a directory, with headers that keep them from running
//! anything but their own scripts.

use crate::error::ApiError;
use crate::state::AppState;
use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;
use std::path::Path;
use tower::ServiceBuilder;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// No inline script or style, nothing from other origins (the pages work offline, so
/// they need nothing else), never framed. MapLibre's workers are same-origin module files;
/// `blob:` covers the images it decodes.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'; manifest-src 'self'";

/// The pages under `dir` (services/web/dist), or an explanation when they were not built.
pub fn router(dir: Option<&Path>) -> Router<AppState> {
    let Some(dir) = dir else {
        return Router::new()
            .route("/", get(not_built))
            .route("/field", get(not_built))
            .route("/review", get(not_built))
            .route("/apply", get(not_built))
            .route("/office", get(not_built))
            .route("/ioc", get(not_built));
    };
    let page = |name: &str| ServeFile::new(dir.join(name));
    let headers = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("geolocation=(self), camera=(), microphone=()"),
        ))
        // Revalidate every time (Last-Modified makes that cheap): a new build is seen at once,
        // and the field page's service worker keeps its own offline copy.
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-cache")));
    Router::new()
        .route_service("/", page("index.html"))
        .route_service("/field", page("field.html"))
        .route_service("/review", page("review.html"))
        .route_service("/apply", page("apply.html"))
        .route_service("/office", page("office.html"))
        .route_service("/ioc", page("ioc.html"))
        .route_service("/sw.js", page("sw.js"))
        .route_service("/manifest.webmanifest", page("manifest.webmanifest"))
        // The whole URI path is looked up under dist/, so this serves only dist/assets/.
        .route_service("/assets/{*path}", ServeDir::new(dir))
        .layer(headers)
}

async fn not_built() -> impl IntoResponse {
    ApiError::not_found(
        "the web pages are not built: run `npm ci && npm run build` in services/web (./scripts/run does), \
         or pass --web-dir",
    )
}
