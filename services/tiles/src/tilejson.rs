//! TileJSON 3.0 documents and the MapLibre style, for clients that discover tiles.

use crate::coord::MAX_ZOOM;
use crate::source::Source;
use diaba_index::Index;
use geo::BoundingRect;
use serde_json::{Value, json};

/// The MapLibre style shipped with diaba, with `{base}` standing for the service's URL.
const STYLE: &str = include_str!("../styles/diaba.json");

/// TileJSON 3.0 for `source`, its tile URL under `base` (e.g. `http://host:8080`).
pub fn tilejson(index: &Index, source: Source, base: &str) -> Value {
    let bounds = service_area_bounds(index);
    let center = [(bounds[0] + bounds[2]) / 2.0, (bounds[1] + bounds[3]) / 2.0, 12.0];
    json!({
        "tilejson": "3.0.0",
        "name": format!("diaba {}", source.name()),
        "description": source.description(),
        "version": env!("CARGO_PKG_VERSION"),
        "attribution": "diaba — Cần Thơ; boundaries: see geodata/SOURCES.md; parcels, households and flood zones of the demo are synthetic",
        "scheme": "xyz",
        "tiles": [format!("{base}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt", source.name())],
        "minzoom": source.minzoom(),
        "maxzoom": source.maxzoom(),
        "bounds": bounds,
        "center": center,
        "fillzoom": source.maxzoom(),
        "vector_layers": vector_layers(source),
        "diaba:served_zooms": format!("0..={MAX_ZOOM}"),
    })
}

/// TileJSON `vector_layers` of a source: each MVT layer with its zooms and fields.
pub fn vector_layers(source: Source) -> Vec<Value> {
    source
        .layers()
        .into_iter()
        .map(|layer| {
            let fields: serde_json::Map<String, Value> =
                layer.fields().iter().map(|f| (f.name.to_string(), json!(f.kind))).collect();
            json!({
                "id": layer.name(),
                "description": layer.description(),
                "minzoom": layer.minzoom(),
                "maxzoom": layer.maxzoom(),
                "fields": fields,
            })
        })
        .collect()
}

/// The MapLibre style over the `all` tiles under `base`.
pub fn style(base: &str) -> Value {
    serde_json::from_str(&STYLE.replace("{base}", base)).expect("the shipped style is valid JSON")
}

/// `[west, south, east, north]` of the units diaba serves (Cần Thơ's four districts as of
/// 2024, the twelve wards since 2025).
fn service_area_bounds(index: &Index) -> [f64; 4] {
    index
        .units
        .all()
        .iter()
        .filter(|u| u.in_service_area)
        .filter_map(|u| u.shape.bounding_rect())
        .fold(None, |acc: Option<[f64; 4]>, r| {
            let [w, s, e, n] = acc.unwrap_or([f64::MAX, f64::MAX, f64::MIN, f64::MIN]);
            Some([w.min(r.min().x), s.min(r.min().y), e.max(r.max().x), n.max(r.max().y)])
        })
        .unwrap_or([105.5, 9.9, 105.9, 10.2])
}
