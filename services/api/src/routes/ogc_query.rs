//! The query strings of OGC API – Features items: what a client may ask (limit, offset,
//! bbox, bbox-crs, crs, datetime, f, and each collection's property filters), and the
//! paging links of the answer.

use crate::error::ApiError;
use chrono::{DateTime, Utc};
use diaba_store::ogc::{Collection, FeatureQuery};
use serde_json::{Value, json};

/// OGC CRS84: lon/lat on WGS84.
pub(crate) const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
/// VN-2000 / TM-3 105°, the legal geometry of parcels.
pub(crate) const EPSG_5897: &str = "http://www.opengis.net/def/crs/EPSG/0/5897";
const GEOJSON: &str = "application/geo+json";
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 10_000;
/// Deepest `offset` served: beyond it PostgreSQL would walk every row before the page for
/// each request. The `next` links page by the last id instead, at the same cost each page.
pub(crate) const MAX_OFFSET: i64 = 10_000;

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
pub(crate) fn pairs(raw: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn instant(text: &str) -> Result<DateTime<Utc>, ApiError> {
    if text.contains('/') {
        return Err(ApiError::invalid("datetime", "give one instant or date (as of); intervals are not offered"));
    }
    Ok(diaba_register::parse_instant("datetime", text)?)
}

/// The feature query of `/collections/{c}/items`.
pub(crate) fn items_query(c: Collection, params: &[(String, String)]) -> Result<FeatureQuery, ApiError> {
    let mut q = FeatureQuery { limit: DEFAULT_LIMIT, ..FeatureQuery::default() };
    let mut bbox_crs = None;
    let mut bbox = None;
    for (name, value) in params {
        match name.as_str() {
            "limit" => {
                q.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| ApiError::invalid("limit", format!("limit is 1 to {MAX_LIMIT}")))?;
            }
            "offset" => {
                q.offset = value.parse().ok().filter(|n: &i64| (0..=MAX_OFFSET).contains(n)).ok_or_else(|| {
                    ApiError::invalid(
                        "offset",
                        format!("offset is 0 to {MAX_OFFSET}; follow the next link to page further"),
                    )
                })?;
            }
            "after" => {
                q.after_id = Some(value.parse().map_err(|_| {
                    ApiError::invalid(
                        "after",
                        "after is the id of the last feature of the previous page (from a next link)",
                    )
                })?);
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
                        "unknown parameter {other:?}; besides limit, offset, after, bbox, bbox-crs, crs, datetime and f, {} accepts {}",
                        c.id(),
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    q.bbox = bbox;
    q.bbox_vn2000 = crs("bbox-crs", bbox_crs.as_deref())?;
    Ok(q)
}

/// The feature query of `/collections/{c}/items/{feature}`.
pub(crate) fn item_query(c: Collection, feature: &str, params: &[(String, String)]) -> Result<FeatureQuery, ApiError> {
    let feature_id: i64 =
        feature.parse().map_err(|_| ApiError::not_found(format!("no feature {feature:?} in {}", c.id())))?;
    let mut q = FeatureQuery { id: Some(feature_id), limit: 1, ..FeatureQuery::default() };
    for (name, value) in params {
        match name.as_str() {
            "crs" => q.vn2000 = crs("crs", Some(value.as_str()))?,
            "datetime" => q.at = Some(instant(value)?),
            "f" => {}
            other => {
                return Err(ApiError::invalid(
                    other,
                    format!("unknown parameter {other:?}; items take crs, datetime and f"),
                ));
            }
        }
    }
    Ok(q)
}

/// `self`, `next` and `prev` links of a page, keeping the client's other parameters. The
/// next page starts after the last id of this one (keyset: every page costs the same);
/// `prev` is offered to clients that paged by offset.
pub(crate) fn paging_links(
    base: &str,
    params: &[(String, String)],
    q: &FeatureQuery,
    last_id: Option<i64>,
) -> Vec<Value> {
    let link = |paging: Option<String>, rel: &str| {
        let mut query: Vec<String> = params
            .iter()
            .filter(|(n, _)| n != "offset" && n != "after")
            .map(|(n, v)| format!("{}={}", encode(n), encode(v)))
            .collect();
        query.extend(paging);
        json!({ "href": format!("{base}?{}", query.join("&")), "rel": rel, "type": GEOJSON })
    };
    let own = params.iter().find(|(n, _)| n == "offset" || n == "after").map(|(n, v)| format!("{n}={}", encode(v)));
    let mut links = vec![link(own, "self")];
    if let Some(last) = last_id {
        links.push(link(Some(format!("after={last}")), "next"));
    }
    if q.offset > 0 && q.after_id.is_none() {
        links.push(link(Some(format!("offset={}", (q.offset - q.limit).max(0))), "prev"));
    }
    links
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
