//! diaba's HTTP service.
//!
//! [`app`] builds the whole [`axum::Router`] from an [`AppState`]; [`serve`] binds it and
//! runs until a shutdown signal. Every error leaves as `application/problem+json`
//! (RFC 9457) through [`ApiError`], the only place HTTP statuses are chosen for failures.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod access;
mod auth;
mod citizen;
mod config;
mod error;
mod extract;
mod fields;
mod metrics;
mod middleware;
mod openapi;
mod routes;
mod sign_in;
mod state;

pub use access::{Access, ENDPOINTS, Endpoint};
pub use citizen::OidcConfig;
pub use config::{
    Config, DEFAULT_AUTH_FAILURES_PER_MINUTE, DEFAULT_BODY_LIMIT, DEFAULT_HEADER_TIMEOUT, DEFAULT_LISTEN,
    DEFAULT_MAX_ACCURACY_M, DEFAULT_MAX_BATCH, DEFAULT_READ_CONCURRENCY, DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_TILE_CACHE_BYTES, RenderTilesOn,
};
pub use diaba_glyphs::DEFAULT_FONTS_DIR;
pub use error::ApiError;
pub use routes::app;
pub use state::{AppState, Shared};

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// Binds `config.listen`, reports the bound address through `on_bound`, and serves until
/// `shutdown` resolves; in-flight requests are finished before it returns.
///
/// Why not `axum::serve`: it sets no timer on hyper's connections, so a client sending its
/// headers a byte a second held a connection for ever. Here every connection has
/// `config.header_timeout` to send its headers.
pub async fn serve(
    config: &Config,
    state: AppState,
    on_bound: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(config.listen).await?;
    on_bound(listener.local_addr()?);
    let router = app(state, config);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(config.header_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // The peer address feeds the failed sign-in limit.
        let service = router.clone().map_request(move |mut request: axum::extract::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request.map(axum::body::Body::new)
        });
        let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
