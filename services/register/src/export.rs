//! A layer as a file leaves the register: public fields only (no owners, for anyone), the
//! ward's features or all, live or as of a date, in WGS84 or as parcels' legal VN-2000.

use crate::at::parse_instant;
use crate::error::{Error, Result};
use diaba_core::{Layer, UnitCode};
use diaba_store::Store;
use diaba_store::ogc::{Collection, FeatureQuery};
use serde_json::Value;

/// Features read per round trip (keyset pages: each costs the same).
const PAGE: i64 = 10_000;

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportRequest<'a> {
    /// The layer.
    pub layer: Layer,
    /// Only this ward (units: this code).
    pub ward: Option<&'a str>,
    /// As of this date or instant.
    pub at: Option<&'a str>,
    /// `EPSG:4326` (or `CRS84`) or `EPSG:5897`.
    pub crs: &'a str,
}

/// A layer's features, ready for a file.
#[derive(Debug)]
pub struct Exported {
    /// The file's layer name.
    pub name: String,
    /// EPSG code of the coordinates.
    pub epsg: u32,
    /// GeoJSON features; each keeps its register id as an `id` property too.
    pub features: Vec<Value>,
}

/// Every public feature of a layer, paged through the store.
pub async fn export_layer(store: &Store, request: ExportRequest<'_>) -> Result<Exported> {
    if let Some(ward) = request.ward {
        UnitCode::parse(ward)?;
    }
    let vn2000 = match request.crs {
        "EPSG:4326" | "CRS84" => false,
        "EPSG:5897" => true,
        other => return Err(Error::invalid("crs", format!("--crs {other}: use EPSG:4326 or EPSG:5897"))),
    };
    let at = request.at.map(|text| parse_instant("at", text)).transpose()?;
    let collection = Collection::of(request.layer)
        .ok_or_else(|| Error::invalid("layer", format!("{} is not published, so not exported", request.layer)))?;
    let mut query = FeatureQuery { vn2000, at, limit: PAGE, ..FeatureQuery::default() };
    if let (Some(ward), Some(filter)) = (request.ward, collection.ward_filter()) {
        query.filters.push((filter.to_owned(), ward.to_owned()));
    }
    let mut features = Vec::new();
    loop {
        let page = store.ogc_features(collection, &query).await?;
        let done = page.features.len() < PAGE as usize;
        query.after_id = page.features.last().and_then(|f| f["id"].as_i64()).or(query.after_id);
        features.extend(page.features);
        if done {
            break;
        }
    }
    for feature in &mut features {
        // The feature id is a column too, so the file keeps the register's ids.
        feature["properties"]["id"] = feature["id"].clone();
    }
    Ok(Exported { name: collection.id().replace('-', "_"), epsg: if vn2000 { 5897 } else { 4326 }, features })
}
