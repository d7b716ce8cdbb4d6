//! TileJSON 3.0 documents and the MapLibre style, for clients that discover tiles.

use crate::coord::MAX_ZOOM;
use crate::field::Field;
use crate::source::Source;
use serde_json::{Value, json};

/// The MapLibre style shipped with diaba, with `{base}` standing for the service's URL.
const STYLE: &str = include_str!("../styles/diaba.json");

/// TileJSON 3.0 for `source`, its tile URL under `base` (e.g. `http://host:8080`), over
/// `bounds` (`[west, south, east, north]` of the area served).
pub fn tilejson(source: Source, base: &str, bounds: [f64; 4]) -> Value {
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

/// TileJSON `vector_layers` of a source: each MVT layer with its zooms and fields, the
/// label layers after the shapes.
pub fn vector_layers(source: Source) -> Vec<Value> {
    let entry = |id: &str, description: &str, minzoom: u8, maxzoom: u8, fields: &[Field]| {
        let fields: serde_json::Map<String, Value> =
            fields.iter().map(|f| (f.name.to_string(), json!(f.kind))).collect();
        json!({ "id": id, "description": description, "minzoom": minzoom, "maxzoom": maxzoom, "fields": fields })
    };
    let shapes = source
        .layers()
        .into_iter()
        .map(|layer| entry(layer.name(), layer.description(), layer.minzoom(), layer.maxzoom(), layer.fields()));
    let labels = source.labels().into_iter().map(|label| {
        entry(label.name, label.description, label.minzoom, label.maxzoom.min(source.maxzoom()), label.fields)
    });
    shapes.chain(labels).collect()
}

/// The MapLibre style over the `all` tiles under `base`.
pub fn style(base: &str) -> Value {
    serde_json::from_str(&STYLE.replace("{base}", base)).expect("the shipped style is valid JSON")
}
