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

/// `self`, `next` and `prev` links of a page, keeping the client's other parameters.
pub(crate) fn paging_links(
    base: &str,
    params: &[(String, String)],
    q: &FeatureQuery,
    returned: i64,
    matched: i64,
) -> Vec<Value> {
    let link = |offset: i64, rel: &str| {
        let mut query: Vec<String> =
            params.iter().filter(|(n, _)| n != "offset").map(|(n, v)| format!("{}={}", encode(n), encode(v))).collect();
        query.push(format!("offset={offset}"));
        json!({ "href": format!("{base}?{}", query.join("&")), "rel": rel, "type": GEOJSON })
    };
    let mut links = vec![link(q.offset, "self")];
    if q.offset + returned < matched {
        links.push(link(q.offset + returned, "next"));
    }
    if q.offset > 0 {
        links.push(link((q.offset - q.limit).max(0), "prev"));
    }
    links
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
