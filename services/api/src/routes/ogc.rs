//! `/ogc`: OGC API – Features Part 1 (Core, GeoJSON, OpenAPI 3.0) and Part 2 (CRS by
//! reference: CRS84 and EPSG:5897), for QGIS and GDAL (DESIGN §9).

use crate::auth::Auth;
use crate::error::ApiError;
use crate::routes::ogc_html;
use crate::routes::tiles::base_url;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use diaba_store::ogc::{Collection, FeatureQuery};
use serde_json::{Value, json};

const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const EPSG_5897: &str = "http://www.opengis.net/def/crs/EPSG/0/5897";
const GEOJSON: &str = "application/geo+json";
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 10_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ogc", get(landing))
        .route("/ogc/", get(landing))
        .route("/ogc/conformance", get(conformance))
        .route("/ogc/api", get(api))
        .route("/ogc/collections", get(collections))
        .route("/ogc/collections/{id}", get(collection))
        .route("/ogc/collections/{id}/items", get(items))
        .route("/ogc/collections/{id}/items/{feature}", get(item))
}

/// The document as JSON (`media`), or as a page for a browser (see [`ogc_html::wants_html`]).
fn respond(headers: &HeaderMap, raw: Option<&str>, title: &str, body: Value, media: &'static str) -> Response {
    let f = pairs(raw).into_iter().find(|(name, _)| name == "f").map(|(_, value)| value);
    if ogc_html::wants_html(headers, f.as_deref()) { ogc_html::page(title, &body) } else { json_response(body, media) }
}

fn json_response(body: Value, media: &'static str) -> Response {
    let mut response = axum::Json(body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

async fn landing(headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let base = format!("{}/ogc", base_url(&headers));
    respond(
        &headers,
        raw.as_deref(),
        "OGC API – Features",
        json!({
            "title": "diaba — Cần Thơ land parcels, household addresses and flood risk",
            "description": "OGC API – Features over the land register. Parcels, households and flood zones of the demo are synthetic.",
            "links": [
                { "href": base, "rel": "self", "type": "application/json", "title": "this document" },
                { "href": format!("{base}?f=html"), "rel": "alternate", "type": "text/html", "title": "this document as a web page" },
                { "href": format!("{base}/api"), "rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0", "title": "the API definition" },
                { "href": format!("{base}/conformance"), "rel": "conformance", "type": "application/json", "title": "conformance classes" },
                { "href": format!("{base}/collections"), "rel": "data", "type": "application/json", "title": "collections" },
            ],
        }),
        "application/json",
    )
}

async fn conformance(headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    respond(
        &headers,
        raw.as_deref(),
        "Conformance classes",
        json!({ "conformsTo": [
            "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
            "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
            "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
            "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
        ]}),
        "application/json",
    )
}

fn collection_of(id: &str) -> Result<Collection, ApiError> {
    Collection::by_id(id).ok_or_else(|| {
        let ids: Vec<&str> = Collection::all().map(Collection::id).collect();
        ApiError::not_found(format!("no collection {id:?}; collections are {}", ids.join(", ")))
    })
}

fn collection_json(state: &AppState, c: Collection, base: &str) -> Value {
    let href = format!("{base}/collections/{}", c.id());
    let extent = state.register.index().extent(c.layer()).unwrap_or([105.2, 9.9, 105.9, 10.4]);
    json!({
        "id": c.id(),
        "title": c.title(),
        "itemType": "feature",
        "extent": { "spatial": { "bbox": [extent], "crs": CRS84 } },
        "crs": [CRS84, EPSG_5897],
        "storageCrs": if c.stored_in_vn2000() { EPSG_5897 } else { CRS84 },
        "links": [
            { "href": href, "rel": "self", "type": "application/json" },
            { "href": format!("{href}/items"), "rel": "items", "type": GEOJSON, "title": "features" },
        ],
    })
}

async fn collections(State(state): State<AppState>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let base = format!("{}/ogc", base_url(&headers));
    let list: Vec<Value> = Collection::all().map(|c| collection_json(&state, c, &base)).collect();
    respond(
        &headers,
        raw.as_deref(),
        "Collections",
        json!({
            "links": [{ "href": format!("{base}/collections"), "rel": "self", "type": "application/json" }],
            "collections": list,
            "crs": [CRS84, EPSG_5897],
        }),
        "application/json",
    )
}

async fn collection(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let base = format!("{}/ogc", base_url(&headers));
    let c = collection_of(&id)?;
    Ok(respond(&headers, raw.as_deref(), c.title(), collection_json(&state, c, &base), "application/json"))
}

/// Reads a CRS parameter: CRS84 (default) or EPSG:5897, by URI or short name.
fn crs(field: &str, value: Option<&str>) -> Result<bool, ApiError> {
    match value {
        None => Ok(false),
        Some(CRS84 | "CRS84" | "OGC:CRS84") => Ok(false),
        Some(EPSG_5897 | "EPSG:5897") => Ok(true),
        Some(other) => {
            Err(ApiError::invalid(field, format!("{field} {other:?} is not offered; use {CRS84} or {EPSG_5897}")))
        }
    }
}

/// The query string as (name, value) pairs, decoded.
fn pairs(raw: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn instant(text: &str) -> Result<DateTime<Utc>, ApiError> {
    if text.contains('/') {
        return Err(ApiError::invalid("datetime", "give one instant or date (as of); intervals are not offered"));
    }
    Ok(diaba_register::parse_instant("datetime", text)?)
}

async fn items(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let c = collection_of(&id)?;
    let mut q = FeatureQuery { limit: DEFAULT_LIMIT, ..FeatureQuery::default() };
    let mut bbox_crs = None;
    let mut bbox = None;
    let params = pairs(raw.as_deref());
    for (name, value) in &params {
        match name.as_str() {
            "limit" => {
                q.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| ApiError::invalid("limit", format!("limit is 1 to {MAX_LIMIT}")))?;
            }
            "offset" => {
                q.offset = value
                    .parse()
                    .ok()
                    .filter(|n: &i64| *n >= 0)
                    .ok_or_else(|| ApiError::invalid("offset", "offset is 0 or more"))?;
            }
            "bbox" => {
                let numbers: Vec<f64> = value
                    .split(',')
                    .map(|n| n.trim().parse::<f64>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| ApiError::invalid("bbox", "bbox is west,south,east,north as four numbers"))?;
                match numbers[..] {
                    [w, s, e, n] if w <= e && s <= n && numbers.iter().all(|v| v.is_finite()) => {
                        bbox = Some([w, s, e, n]);
                    }
                    _ => {
                        return Err(ApiError::invalid(
                            "bbox",
                            "bbox is west,south,east,north with west ≤ east, south ≤ north",
                        ));
                    }
                }
            }
            "bbox-crs" => bbox_crs = Some(value.clone()),
            "crs" => q.vn2000 = crs("crs", Some(value))?,
            "datetime" => q.at = Some(instant(value)?),
            "f" => {
                if !matches!(value.as_str(), "json" | "geojson" | "html") {
                    return Err(ApiError::invalid("f", "f is json, geojson or html"));
                }
            }
            other if c.filter_names().any(|n| n == other) => q.filters.push((name.clone(), value.clone())),
            other => {
                let known: Vec<&str> = c.filter_names().collect();
                return Err(ApiError::invalid(
                    other,
                    format!(
                        "unknown parameter {other:?}; besides limit, offset, bbox, bbox-crs, crs, datetime and f, {} accepts {}",
                        c.id(),
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    q.bbox = bbox;
    q.bbox_vn2000 = crs("bbox-crs", bbox_crs.as_deref())?;
    let page = state.register.features(c, q.clone(), auth.caller()).await?;
    let base = format!("{}/ogc/collections/{}/items", base_url(&headers), c.id());
    let returned = page.features.len() as i64;
    let link = |offset: i64, rel: &str| {
        let mut query: Vec<String> =
            params.iter().filter(|(n, _)| n != "offset").map(|(n, v)| format!("{}={}", encode(n), encode(v))).collect();
        query.push(format!("offset={offset}"));
        json!({ "href": format!("{base}?{}", query.join("&")), "rel": rel, "type": GEOJSON })
    };
    let mut links = vec![link(q.offset, "self")];
    if q.offset + returned < page.matched {
        links.push(link(q.offset + returned, "next"));
    }
    if q.offset > 0 {
        links.push(link((q.offset - q.limit).max(0), "prev"));
    }
    let mut response = respond(
        &headers,
        raw.as_deref(),
        c.title(),
        json!({
            "type": "FeatureCollection",
            "numberMatched": page.matched,
            "numberReturned": returned,
            "timeStamp": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "links": links,
            "features": page.features,
        }),
        GEOJSON,
    );
    content_crs(&mut response, q.vn2000);
    Ok(response)
}

fn content_crs(response: &mut Response, vn2000: bool) {
    let uri = if vn2000 { EPSG_5897 } else { CRS84 };
    response.headers_mut().insert("content-crs", HeaderValue::from_str(&format!("<{uri}>")).expect("ascii"));
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn item(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, feature)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let c = collection_of(&id)?;
    let feature_id: i64 =
        feature.parse().map_err(|_| ApiError::not_found(format!("no feature {feature:?} in {}", c.id())))?;
    let mut q = FeatureQuery { id: Some(feature_id), limit: 1, ..FeatureQuery::default() };
    for (name, value) in pairs(raw.as_deref()) {
        match name.as_str() {
            "crs" => q.vn2000 = crs("crs", Some(&value))?,
            "datetime" => q.at = Some(instant(&value)?),
            "f" => {}
            other => {
                return Err(ApiError::invalid(
                    other,
                    format!("unknown parameter {other:?}; items take crs, datetime and f"),
                ));
            }
        }
    }
    let page = state.register.features(c, q.clone(), auth.caller()).await?;
    let mut feature = page
        .features
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found(format!("no feature {feature_id} in {}", c.id())))?;
    let base = format!("{}/ogc/collections/{}", base_url(&headers), c.id());
    feature["links"] = json!([
        { "href": format!("{base}/items/{feature_id}"), "rel": "self", "type": GEOJSON },
        { "href": base, "rel": "collection", "type": "application/json" },
    ]);
    let mut response = respond(&headers, raw.as_deref(), c.title(), feature, GEOJSON);
    content_crs(&mut response, q.vn2000);
    Ok(response)
}

/// A compact OpenAPI 3.0 description of the OGC endpoints (the oas30 conformance class).
async fn api(headers: HeaderMap) -> Response {
    let base = format!("{}/ogc", base_url(&headers));
    let get = |summary: &str, params: Value| {
        json!({ "get": { "summary": summary, "parameters": params, "responses": {
        "200": { "description": "OK" }, "400": { "description": "invalid parameter (problem+json)" }, "404": { "description": "not found (problem+json)" } } } })
    };
    let p = |name: &str, location: &str, kind: &str| json!({ "name": name, "in": location, "required": location == "path", "schema": { "type": kind } });
    json_response(
        json!({
            "openapi": "3.0.3",
            "info": { "title": "diaba OGC API – Features", "version": env!("CARGO_PKG_VERSION") },
            "servers": [{ "url": base }],
            "paths": {
                "/": get("landing page", json!([])),
                "/conformance": get("conformance classes", json!([])),
                "/collections": get("collections", json!([])),
                "/collections/{collectionId}": get("a collection", json!([p("collectionId", "path", "string")])),
                "/collections/{collectionId}/items": get("features", json!([
                    p("collectionId", "path", "string"), p("limit", "query", "integer"), p("offset", "query", "integer"),
                    p("bbox", "query", "string"), p("bbox-crs", "query", "string"), p("crs", "query", "string"),
                    p("datetime", "query", "string"),
                ])),
                "/collections/{collectionId}/items/{featureId}": get("a feature", json!([
                    p("collectionId", "path", "string"), p("featureId", "path", "integer"), p("crs", "query", "string"),
                ])),
            },
        }),
        "application/vnd.oai.openapi+json;version=3.0",
    )
}
