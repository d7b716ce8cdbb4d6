//! diaba's HTTP service.
//!
//! [`app`] builds the whole [`axum::Router`] from an [`AppState`]; [`serve`] binds it and
//! runs until a shutdown signal. Every error leaves as `application/problem+json`
//! (RFC 9457) through [`ApiError`], the only place HTTP statuses are chosen for failures.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod access;
mod auth;
mod config;
mod error;
mod extract;
mod fields;
mod middleware;
mod openapi;
mod routes;
mod sign_in;
mod state;

pub use access::{Access, ENDPOINTS, Endpoint};
pub use config::{
    Config, DEFAULT_AUTH_FAILURES_PER_MINUTE, DEFAULT_BODY_LIMIT, DEFAULT_LISTEN, DEFAULT_MAX_ACCURACY_M,
    DEFAULT_MAX_BATCH, DEFAULT_READ_CONCURRENCY, DEFAULT_REQUEST_TIMEOUT, DEFAULT_SEARCH_CONCURRENCY,
    DEFAULT_TILE_CACHE_BYTES,
};
pub use error::ApiError;
pub use routes::app;
pub use state::AppState;

use std::future::Future;
use tokio::net::TcpListener;

/// Binds `config.listen`, reports the bound address through `on_bound`, and serves until
/// `shutdown` resolves; in-flight requests are finished before it returns.
pub async fn serve(
    config: &Config,
    state: AppState,
    on_bound: impl FnOnce(std::net::SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(config.listen).await?;
    on_bound(listener.local_addr()?);
    // The peer address feeds the failed sign-in limit.
    let service = app(state, config).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(shutdown).await
}
