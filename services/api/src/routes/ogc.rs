//! `/ogc`: OGC API – Features Part 1 (Core, GeoJSON, OpenAPI 3.0) and Part 2 (CRS by
//! reference: CRS84 and EPSG:5897), for QGIS and GDAL (DESIGN §9).

use crate::auth::Auth;
use crate::error::ApiError;
use crate::routes::ogc_html;
use crate::routes::ogc_query::{CRS84, EPSG_5897, item_query, items_query, paging_links, pairs};
use crate::routes::tiles::base_url;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use diaba_store::ogc::Collection;
use serde_json::{Value, json};

const GEOJSON: &str = "application/geo+json";

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

async fn items(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let c = collection_of(&id)?;
    let params = pairs(raw.as_deref());
    let q = items_query(c, &params)?;
    let page = state.register.features(c, q.clone(), auth.caller()).await?;
    let base = format!("{}/ogc/collections/{}/items", base_url(&headers), c.id());
    let returned = page.features.len() as i64;
    let full = returned == q.limit;
    let last_id = page.features.last().and_then(|f| f["id"].as_i64()).filter(|_| full);
    let mut body = json!({
        "type": "FeatureCollection",
        "numberReturned": returned,
        "timeStamp": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "links": paging_links(&base, &params, &q, last_id),
        "features": page.features,
    });
    // Counted up to a bound: beyond it the count is left out (the standard allows it).
    if let Some(matched) = page.matched {
        body["numberMatched"] = json!(matched);
    }
    let mut response = respond(&headers, raw.as_deref(), c.title(), body, GEOJSON);
    content_crs(&mut response, q.vn2000);
    Ok(response)
}

fn content_crs(response: &mut Response, vn2000: bool) {
    let uri = if vn2000 { EPSG_5897 } else { CRS84 };
    response.headers_mut().insert("content-crs", HeaderValue::from_str(&format!("<{uri}>")).expect("ascii"));
}

async fn item(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, feature)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let c = collection_of(&id)?;
    let q = item_query(c, &feature, &pairs(raw.as_deref()))?;
    let page = state.register.features(c, q.clone(), auth.caller()).await?;
    let missing = || ApiError::not_found(format!("no feature {feature} in {}", c.id()));
    let mut feature = page.features.into_iter().next().ok_or_else(missing)?;
    let base = format!("{}/ogc/collections/{}", base_url(&headers), c.id());
    let href = format!("{base}/items/{}", q.id.unwrap_or_default());
    feature["links"] = json!([
        { "href": href, "rel": "self", "type": GEOJSON },
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
