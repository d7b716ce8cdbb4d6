//! The ceiling `scripts/bench` reads its HTTP rows against, measured in the same run: axum
//! on tokio's default runtime answering every request with the same bytes (a real answer
//! of diaba's, read from a file), with no layer and no work. Issue #21 set its targets
//! beside such a server; this host's rate for it says how far any server here can go.
//!
//! `cargo run --release --example fixed_answer -- BODY_FILE CONTENT_TYPE PORT`

use axum::Router;
use axum::body::Bytes;
use axum::http::header::{CONTENT_TYPE, HeaderValue};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let usage = "usage: fixed_answer BODY_FILE CONTENT_TYPE PORT";
    let mut args = std::env::args().skip(1);
    let (Some(file), Some(content_type), Some(port)) = (args.next(), args.next(), args.next()) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let body = Bytes::from(std::fs::read(&file)?);
    let content_type = HeaderValue::from_str(&content_type).expect("a content type");
    let port: u16 = port.parse().expect("a port");
    // Every path and method: the benchmark's request lists work unchanged.
    let app = Router::new().fallback(move || {
        let (body, content_type) = (body.clone(), content_type.clone());
        async move { ([(CONTENT_TYPE, content_type)], body) }
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await
}
