//! `/tiles`: vector tiles, TileJSON and the MapLibre style (DESIGN §8).

use crate::config::RenderTilesOn;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use diaba_core::AsOf;
use diaba_tilecache::{CacheStatus, EncodedTile, PackError};
use diaba_tiles::{MAX_ZOOM, Source, TileCoord};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
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

/// Name of the header telling whether a tile came from the cache.
const X_TILE_CACHE: HeaderName = HeaderName::from_static("x-tile-cache");

/// `layer`, `z`, `x` and `y` of `/tiles/{layer}/{z}/{x}/{y}`, read in place from the path
/// the router matched. Only a path with a percent sign needs decoding: it goes through
/// axum's `Path`, which decodes (and refuses invalid UTF-8) as every other route does.
enum TileAddress {
    Plain(Uri),
    Decoded([String; 4]),
}

impl TileAddress {
    async fn of(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        if !parts.uri.path().contains('%') {
            return Ok(Self::Plain(parts.uri.clone()));
        }
        let Path((layer, z, x, y)) = Path::<(String, String, String, String)>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self::Decoded([layer, z, x, y]))
    }

    fn segments(&self) -> [&str; 4] {
        match self {
            // The router matched five segments: /tiles/{layer}/{z}/{x}/{y}.
            Self::Plain(uri) => {
                let mut segments = uri.path().rsplitn(5, '/');
                let mut next = || segments.next().unwrap_or_default();
                let (y, x, z, layer) = (next(), next(), next(), next());
                [layer, z, x, y]
            }
            Self::Decoded([layer, z, x, y]) => [layer, z, x, y],
        }
    }
}

/// One tile, of today or (`?at=`) of a past day. Gzip when the client accepts it; 304 when
/// its ETag still holds; 204 when the tile is empty.
///
/// The hot path of the map (a cached tile): it reads the request in place (no extracted
/// copies of the path or the headers) and answers with the tile's shared bytes and tag.
async fn tile(State(state): State<AppState>, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    // Rejections in the order the extractors ran: path, then query.
    let address = match TileAddress::of(&mut parts, &state).await {
        Ok(address) => address,
        Err(rejection) => return rejection,
    };
    let query = match Query::<TileQuery>::try_from_uri(&parts.uri) {
        Ok(Query(query)) => query,
        Err(rejection) => return rejection.into_response(),
    };
    let [layer, z, x, y] = address.segments();
    answer(&state, &parts.headers, layer, [z, x, y], query).await.unwrap_or_else(IntoResponse::into_response)
}

async fn answer(
    state: &AppState,
    headers: &HeaderMap,
    layer: &str,
    [z, x, y]: [&str; 3],
    query: TileQuery,
) -> Result<Response, ApiError> {
    let source = source(layer)?;
    let y = y.strip_suffix(".mvt").ok_or_else(|| {
        ApiError::not_found(format!("tiles are /tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt; '{y}' does not end in .mvt"))
    })?;
    let (z, x, y) = (number("z", z)?, number("x", x)?, number("y", y)?);
    let coord = TileCoord::new(z, x, y).map_err(|e| ApiError::not_found(format!("{e} (zooms 0..={MAX_ZOOM})")))?;
    let at = match query.at.as_deref() {
        Some(text) => Some(AsOf::parse(text).map_err(|e| ApiError::invalid("at", e.to_string()))?),
        None => None,
    };
    let (tile, status) = match state.tiles.cached(source, coord, at) {
        Some(tile) => (tile, CacheStatus::Hit),
        None => match state.render_tiles_on {
            RenderTilesOn::Blocking => draw_on_render_threads(state, source, coord, at).await?,
            RenderTilesOn::Workers => state.tiles.tile(source, coord, at),
        },
    };
    let etag = HeaderValue::from_maybe_shared(tile.etag.clone()).expect("an ASCII tag");
    if etag_matches(headers, tile.etag_str()) {
        return Ok(bodiless(StatusCode::NOT_MODIFIED, etag, status));
    }
    if tile.is_empty() {
        return Ok(bodiless(StatusCode::NO_CONTENT, etag, status));
    }
    let gzip = accepts_gzip(headers);
    let mut response = Response::new(Body::from(if gzip { tile.gzip() } else { tile.mvt.clone() }));
    let response_headers = response.headers_mut();
    response_headers.reserve(12);
    response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(MVT));
    tile_headers(response_headers, etag, status);
    if gzip {
        response_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Ok(response)
}

/// Draws a tile on the render threads, queued behind those asked before it. A tile whose
/// request was dropped while it waited (a map client panning on cancels the tiles it has
/// left behind) is not drawn; once begun, it is finished and cached. A panic while drawing
/// is raised again here, for the edge to log and answer as any handler's panic.
async fn draw_on_render_threads(
    state: &AppState,
    source: Source,
    coord: TileCoord,
    at: Option<AsOf>,
) -> Result<(Arc<EncodedTile>, CacheStatus), ApiError> {
    let (drawn, tile) = tokio::sync::oneshot::channel();
    let tiles = state.tiles.clone();
    state.renderer.spawn(move || {
        if drawn.is_closed() {
            return;
        }
        // Caught here: a panic on a rayon thread of its own would end the process.
        let _ = drawn.send(std::panic::catch_unwind(AssertUnwindSafe(|| tiles.tile(source, coord, at))));
    });
    match tile.await {
        Ok(Ok(tile)) => Ok(tile),
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(gone) => Err(ApiError::Internal(Box::new(gone))),
    }
}

/// A 304 or 204: the tile's headers, no body.
fn bodiless(code: StatusCode, etag: HeaderValue, status: CacheStatus) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = code;
    response.headers_mut().reserve(12);
    tile_headers(response.headers_mut(), etag, status);
    response
}

/// Validator, caching, CORS and cache-status headers of every tile answer (all but the tag
/// are static: nothing is allocated per answer).
fn tile_headers(headers: &mut HeaderMap, etag: HeaderValue, status: CacheStatus) {
    headers.insert(header::ETAG, etag);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(TILE_CACHE_CONTROL));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    let cache = if status == CacheStatus::Hit { "hit" } else { "miss" };
    headers.insert(X_TILE_CACHE, HeaderValue::from_static(cache));
}

/// `If-None-Match` names this tag (weak comparison, as RFC 9110 asks for GET).
fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    fn bare(tag: &str) -> &str {
        tag.trim().trim_start_matches("W/")
    }
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
