//! The ceiling `scripts/bench` reads its HTTP rows against, measured in the same run: axum
//! on tokio's default runtime answering from bytes it holds (real answers of diaba's, read
//! from files), with no layer and no work. Issue #21 set its targets beside such a server;
//! this host's rate for it says how far any server here can go.
//!
//! `cargo run --release --example fixed_answer -- BODY CONTENT_TYPE PORT`
//!
//! BODY is a file, answered to every request, or a directory, whose files are answered at
//! their paths under it (`DIR/tiles/parcels/14/1/2.mvt` at `/tiles/parcels/14/1/2.mvt`)
//! from one map: a cache's answers with the least a cache could do, so a list of tiles is
//! answered with each tile's own bytes.

use axum::Router;
use axum::body::Bytes;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::http::header::{CONTENT_TYPE, HeaderValue};
use axum::response::IntoResponse;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let usage = "usage: fixed_answer BODY CONTENT_TYPE PORT (BODY: a file, or a directory of answers by path)";
    let mut args = std::env::args().skip(1);
    let (Some(body), Some(content_type), Some(port)) = (args.next(), args.next(), args.next()) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let content_type = HeaderValue::from_str(&content_type).expect("a content type");
    let port: u16 = port.parse().expect("a port");
    let body = Path::new(&body);
    // Every path and method: the benchmark's request lists work unchanged.
    let app = if body.is_dir() {
        let answers = Arc::new(answers_under(body)?);
        eprintln!("{} answers under {}", answers.len(), body.display());
        Router::new().fallback(move |request: Request| {
            let answer = answers.get(request.uri().path()).cloned();
            let content_type = content_type.clone();
            async move {
                answer.map_or(StatusCode::NOT_FOUND.into_response(), |b| {
                    ([(CONTENT_TYPE, content_type)], b).into_response()
                })
            }
        })
    } else {
        let body = Bytes::from(std::fs::read(body)?);
        Router::new().fallback(move || {
            let (body, content_type) = (body.clone(), content_type.clone());
            async move { ([(CONTENT_TYPE, content_type)], body).into_response() }
        })
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await
}

/// Every file under `root`, by its path below it (`/a/b.mvt`).
fn answers_under(root: &Path) -> std::io::Result<HashMap<String, Bytes>> {
    let mut answers = HashMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let below = path.strip_prefix(root).expect("under the root").to_string_lossy().replace('\\', "/");
                answers.insert(format!("/{below}"), Bytes::from(std::fs::read(&path)?));
            }
        }
    }
    Ok(answers)
}
