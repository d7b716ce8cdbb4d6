//! What each tile layer shows, at which zooms, with which fields (the TileJSON contract).

use diaba_core::Layer;
use std::str::FromStr;

/// A tile source: one register layer drawn as one MVT layer, or `all` with one MVT layer
/// per drawn layer. Made only from layers that have a [`LayerSpec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Source(Option<Layer>);

/// How a register layer is drawn in tiles.
#[derive(Debug)]
pub struct LayerSpec {
    /// Path segment and MVT layer name.
    pub name: &'static str,
    /// Lowest zoom with features; below it the layer is left out (tiles are empty).
    pub minzoom: u8,
    /// Drawing order in the combined tile, bottom first.
    pub draw_order: u8,
    /// Public attributes of its features (never owners or personal data).
    pub fields: &'static [Field],
    /// What the layer holds, for TileJSON.
    pub description: &'static str,
}

/// One attribute of a layer's features.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Attribute key.
    pub name: &'static str,
    /// TileJSON type: `String` or `Number`.
    pub kind: &'static str,
    /// What it holds.
    pub description: &'static str,
}

const fn field(name: &'static str, kind: &'static str, description: &'static str) -> Field {
    Field { name, kind, description }
}

const WARD_FIELDS: &[Field] = &[
    field("code", "String", "GSO unit code"),
    field("name", "String", "Unit name"),
    field("level", "String", "province or ward"),
    field("postcode", "String", "5-digit postcode"),
];
const PARCEL_FIELDS: &[Field] = &[
    field("national_id", "String", "National parcel id"),
    field("ward_code", "String", "Ward of the survey"),
    field("sheet", "Number", "Map sheet (tờ bản đồ)"),
    field("number", "Number", "Parcel number (số thửa)"),
    field("land_use", "String", "Main land-use code (ONT, ODT, LUC, CLN …)"),
    field("legal_area_m2", "Number", "Legal area, m²"),
];
const ADDRESS_FIELDS: &[Field] = &[
    field("vpostcode", "String", "Vpostcode"),
    field("house_number", "String", "House number"),
    field("street", "String", "Street"),
    field("hamlet", "String", "Hamlet (ấp / khu vực)"),
    field("ward_code", "String", "Ward"),
];
const FLOOD_FIELDS: &[Field] = &[
    field("name", "String", "Zone name"),
    field("risk_level", "Number", "1 (low) to 5 (very high), QĐ 18/2021/QĐ-TTg"),
    field("scenario", "String", "Scenario"),
    field("source", "String", "Source; synthetic-demo… for demo zones"),
];

const UNITS: LayerSpec = LayerSpec {
    name: "wards",
    // 12 ward outlines at city scale: from z8.
    minzoom: 8,
    draw_order: 1,
    fields: WARD_FIELDS,
    description: "Current wards of the service area and the province (real boundaries)",
};
const PARCELS: LayerSpec = LayerSpec {
    name: "parcels",
    // 250 000 parcels at city scale would be noise, and heavy.
    minzoom: 14,
    draw_order: 2,
    fields: PARCEL_FIELDS,
    description: "Live land parcels (thửa đất), public attributes from z16; at z14–15 land_use only, lots under \
                  ≈360 m² (z14) left out",
};
const ADDRESSES: LayerSpec = LayerSpec {
    name: "addresses",
    minzoom: 15,
    draw_order: 3,
    fields: ADDRESS_FIELDS,
    description: "Verified household addresses (no personal data); attributes from z16",
};
const FLOOD_ZONES: LayerSpec = LayerSpec {
    name: "flood",
    minzoom: 10,
    draw_order: 0,
    fields: FLOOD_FIELDS,
    description: "Flood-risk zones in force on the national 5-level scale, every scenario",
};

/// How `layer` is drawn, or `None` for a layer that has no tiles.
pub fn spec(layer: Layer) -> Option<&'static LayerSpec> {
    match layer {
        Layer::Units => Some(&UNITS),
        Layer::Parcels => Some(&PARCELS),
        Layer::Addresses => Some(&ADDRESSES),
        Layer::FloodZones => Some(&FLOOD_ZONES),
    }
}

impl Source {
    /// Every layer in one tile.
    pub const ALL: Source = Source(None);

    /// The source drawing `layer`, if it has tiles.
    pub fn of(layer: Layer) -> Option<Source> {
        spec(layer).map(|_| Source(Some(layer)))
    }

    /// The single-layer sources, in drawing order (bottom first).
    pub fn layers_in_order() -> Vec<Source> {
        let mut layers: Vec<(u8, Source)> =
            Layer::ALL.iter().filter_map(|&l| Some((spec(l)?.draw_order, Source(Some(l))))).collect();
        layers.sort();
        layers.into_iter().map(|(_, source)| source).collect()
    }

    /// The register layer of a single-layer source; `None` for `all`.
    pub fn layer(self) -> Option<Layer> {
        self.0
    }

    fn spec(self) -> Option<&'static LayerSpec> {
        self.0.and_then(spec)
    }

    /// Path and MVT layer name.
    pub fn name(self) -> &'static str {
        self.spec().map_or("all", |s| s.name)
    }

    /// Lowest zoom with features. Below it the layer is left out (tiles are empty).
    pub fn minzoom(self) -> u8 {
        match self.spec() {
            Some(spec) => spec.minzoom,
            None => Self::layers_in_order().iter().map(|s| s.minzoom()).min().unwrap_or(0),
        }
    }

    /// Deepest zoom with new detail; clients overzoom beyond it (tiles are still served
    /// up to [`crate::MAX_ZOOM`]).
    pub fn maxzoom(self) -> u8 {
        18
    }

    /// Public attributes of the layer's features (owners and personal data never).
    pub fn fields(self) -> &'static [Field] {
        self.spec().map_or(&[], |s| s.fields)
    }

    /// What the layer holds, for TileJSON.
    pub fn description(self) -> &'static str {
        self.spec().map_or("Flood zones, wards, parcels and addresses, one MVT layer each", |s| s.description)
    }

    /// The single-layer sources this source draws.
    pub fn layers(self) -> Vec<Source> {
        match self.0 {
            Some(_) => vec![self],
            None => Self::layers_in_order(),
        }
    }

    /// True when a change to `layer` can alter this source's tiles.
    pub fn draws(self, layer: Layer) -> bool {
        self.0.is_none_or(|own| own == layer) && spec(layer).is_some()
    }
}

impl FromStr for Source {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        if s == "all" {
            return Ok(Source::ALL);
        }
        Self::layers_in_order().into_iter().find(|source| source.name() == s).ok_or(())
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
