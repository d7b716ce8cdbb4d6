//! `/tiles`: vector tiles, TileJSON and the MapLibre style (DESIGN §8).

use crate::error::ApiError;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use diaba_core::AsOf;
use diaba_tilecache::{CacheStatus, PackError};
use diaba_tiles::{MAX_ZOOM, Source, TileCoord};
use tower::ServiceExt;
use tower_http::services::ServeFile;

/// Media type of Mapbox Vector Tiles.
const MVT: &str = "application/vnd.mapbox-vector-tile";
/// Browsers and proxies may reuse a tile for a minute, then revalidate with its ETag:
/// edits show within a minute even through caches, and revalidation costs a 304.
const TILE_CACHE_CONTROL: &str = "public, max-age=60";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tiles/{layer}/{z}/{x}/{y}", get(tile))
        .route("/tiles/{file}", get(document))
        .route("/v1/packs/{file}", get(pack))
        .route("/fonts/{fontstack}/{range}", get(glyphs))
}

fn source(name: &str) -> Result<Source, ApiError> {
    name.parse().map_err(|()| {
        ApiError::not_found(format!("no tile layer '{name}'; layers are wards, parcels, addresses, flood and all"))
    })
}

fn number(field: &str, text: &str) -> Result<u32, ApiError> {
    text.parse().map_err(|_| ApiError::invalid(field, format!("'{text}' is not a tile {field} (a whole number)")))
}

/// `?at=YYYY-MM-DD`: the register as it stood at the end of that day (Việt Nam time).
#[derive(Debug, serde::Deserialize)]
struct TileQuery {
    at: Option<String>,
}

/// One tile, of today or (`?at=`) of a past day. Gzip when the client accepts it; 304 when
/// its ETag still holds; 204 when the tile is empty.
async fn tile(
    State(state): State<AppState>,
    Path((layer, z, x, y)): Path<(String, String, String, String)>,
    Query(query): Query<TileQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let source = source(&layer)?;
    let y = y.strip_suffix(".mvt").ok_or_else(|| {
        ApiError::not_found(format!("tiles are /tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt; '{y}' does not end in .mvt"))
    })?;
    let (z, x, y) = (number("z", &z)?, number("x", &x)?, number("y", y)?);
    let coord = TileCoord::new(z, x, y).map_err(|e| ApiError::not_found(format!("{e} (zooms 0..={MAX_ZOOM})")))?;
    let at = match query.at.as_deref() {
        Some(text) => Some(AsOf::parse(text).map_err(|e| ApiError::invalid("at", e.to_string()))?),
        None => None,
    };
    let (tile, status) = match state.tiles.cached(source, coord, at) {
        Some(tile) => (tile, CacheStatus::Hit),
        None if render_on_blocking_pool() => {
            let tiles = state.tiles.clone();
            tokio::task::spawn_blocking(move || tiles.tile(source, coord, at))
                .await
                .map_err(|e| ApiError::Internal(Box::new(e)))?
        }
        None => state.tiles.tile(source, coord, at),
    };
    let mut response_headers = tile_headers(&tile.etag, status);
    if etag_matches(&headers, &tile.etag) {
        return Ok((StatusCode::NOT_MODIFIED, response_headers).into_response());
    }
    if tile.is_empty() {
        return Ok((StatusCode::NO_CONTENT, response_headers).into_response());
    }
    response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(MVT));
    let body = if accepts_gzip(&headers) {
        response_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        tile.gzip()
    } else {
        tile.mvt.clone()
    };
    Ok((StatusCode::OK, response_headers, body).into_response())
}

/// Where a tile missing from the cache is drawn: on the async worker answering the request
/// (the default), or with `DIABA_TILES_RENDER_ON=blocking` on tokio's blocking pool. A miss
/// takes well under a millisecond (bench/results/tiles.md measures both): handing it to
/// another thread costs more than it frees the worker for.
fn render_on_blocking_pool() -> bool {
    static BLOCKING: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *BLOCKING.get_or_init(|| std::env::var("DIABA_TILES_RENDER_ON").is_ok_and(|v| v == "blocking"))
}

/// Validator, caching, CORS and cache-status headers of every tile answer.
fn tile_headers(etag: &str, status: CacheStatus) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::ETAG, HeaderValue::from_str(etag).expect("hex etag"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(TILE_CACHE_CONTROL));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    let cache = if status == CacheStatus::Hit { "hit" } else { "miss" };
    headers.insert("x-tile-cache", HeaderValue::from_static(cache));
    headers
}

/// `If-None-Match` names this tag (weak comparison, as RFC 9110 asks for GET).
fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    let bare = |tag: &str| tag.trim().trim_start_matches("W/").to_string();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim() == "*" || bare(tag) == bare(etag))
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| p.trim().replace(' ', "") == "q=0");
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        },
    )
}

/// The service's own URL as the client reached it (Host, and X-Forwarded-Proto behind a
/// TLS proxy), so TileJSON and the style point back at it.
pub(crate) fn base_url(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    // Only the two schemes a proxy may name: the value ends up in links (HTML pages too).
    let scheme = match headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()) {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

/// `/tiles/{layer}.json` (TileJSON 3.0) and `/tiles/style.json` (MapLibre style).
async fn document(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let name = file.strip_suffix(".json").ok_or_else(|| {
        ApiError::not_found(format!("'{file}' is not a tile document; try /tiles/all.json or /tiles/style.json"))
    })?;
    let base = base_url(&headers);
    let body = if name == "style" {
        diaba_tiles::style(&base)
    } else {
        diaba_tiles::tilejson(source(name)?, &base, state.tiles.bounds())
    };
    Ok(([(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")], axum::Json(body)).into_response())
}

/// `/fonts/{fontstack}/{start}-{end}.pbf`: the style's label glyphs, made from the fonts on
/// the machine; they never change while it runs, so clients keep them a day.
async fn glyphs(
    State(state): State<AppState>,
    Path((fontstack, range)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let range = range.strip_suffix(".pbf").ok_or_else(|| {
        ApiError::not_found(format!(
            "glyphs are /fonts/{{fontstack}}/{{start}}-{{end}}.pbf; '{range}' does not end in .pbf"
        ))
    })?;
    let glyphs = state.glyphs.clone();
    let (fontstack, range) = (fontstack.clone(), range.to_string());
    // Making a range draws 256 glyphs (tens of milliseconds): off the async workers.
    let pbf = tokio::task::spawn_blocking(move || glyphs.range(&fontstack, &range))
        .await
        .map_err(|e| ApiError::Internal(Box::new(e)))?
        .map_err(|e| match e {
            diaba_glyphs::GlyphError::BadFont { .. } => ApiError::Internal(Box::new(e)),
            other => ApiError::not_found(other.to_string()),
        })?;
    let headers = [
        (header::CONTENT_TYPE, "application/x-protobuf"),
        (header::CACHE_CONTROL, "public, max-age=86400"),
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
    ];
    Ok((headers, pbf).into_response())
}

/// `/v1/packs/{ward}.pmtiles`: the ward's current offline pack (PMTiles v3, zooms
/// 12–18), with range requests so PMTiles clients can read it in place.
async fn pack(
    State(state): State<AppState>,
    Path(file): Path<String>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let code = file.strip_suffix(".pmtiles").ok_or_else(|| {
        ApiError::not_found(format!("packs are /v1/packs/{{ward}}.pmtiles; '{file}' does not end in .pmtiles"))
    })?;
    let path = state.tiles.packs().current(code).await.map_err(|e| match e {
        PackError::UnknownWard(_) => ApiError::not_found(e.to_string()),
        other => ApiError::Internal(Box::new(other)),
    })?;
    let mut response = ServeFile::new(path)
        .oneshot(request)
        .await
        .map_err(|e| ApiError::Internal(Box::new(e)))?
        .map(axum::body::Body::new);
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if response.status().is_success() {
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/vnd.pmtiles"));
    }
    Ok(response)
}
