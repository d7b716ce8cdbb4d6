//! What each tile layer shows, at which zooms, with which fields (the TileJSON contract).

use std::str::FromStr;

/// A tile source: one MVT layer, or `All` with one MVT layer per source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// Current wards (the 2025 units) and the province.
    Wards,
    /// Live parcels.
    Parcels,
    /// Verified household addresses.
    Addresses,
    /// Flood-risk zones in force, every scenario.
    Flood,
    /// All of the above in one tile.
    All,
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

impl Source {
    /// The single-layer sources, in drawing order (bottom first).
    pub const LAYERS: [Source; 4] = [Source::Flood, Source::Wards, Source::Parcels, Source::Addresses];

    /// Path and MVT layer name.
    pub fn name(self) -> &'static str {
        match self {
            Source::Wards => "wards",
            Source::Parcels => "parcels",
            Source::Addresses => "addresses",
            Source::Flood => "flood",
            Source::All => "all",
        }
    }

    /// Lowest zoom with features. Below it the layer is left out (tiles are empty):
    /// 250 000 parcels or 150 000 households at city scale would be noise, and heavy.
    pub fn minzoom(self) -> u8 {
        match self {
            Source::Wards | Source::All => 8,
            Source::Flood => 10,
            Source::Parcels => 14,
            Source::Addresses => 15,
        }
    }

    /// Deepest zoom with new detail; clients overzoom beyond it (tiles are still served
    /// up to [`crate::MAX_ZOOM`]).
    pub fn maxzoom(self) -> u8 {
        18
    }

    /// Public attributes of the layer's features (owners and personal data never).
    pub fn fields(self) -> &'static [Field] {
        match self {
            Source::Wards => WARD_FIELDS,
            Source::Parcels => PARCEL_FIELDS,
            Source::Addresses => ADDRESS_FIELDS,
            Source::Flood => FLOOD_FIELDS,
            Source::All => &[],
        }
    }

    /// What the layer holds, for TileJSON.
    pub fn description(self) -> &'static str {
        match self {
            Source::Wards => "Current wards of the service area and the province (real boundaries)",
            Source::Parcels => {
                "Live land parcels (thửa đất), public attributes from z16; at z14–15 land_use only, lots under \
                 ≈360 m² (z14) left out"
            }
            Source::Addresses => "Verified household addresses (no personal data); attributes from z16",
            Source::Flood => "Flood-risk zones in force on the national 5-level scale, every scenario",
            Source::All => "Flood zones, wards, parcels and addresses, one MVT layer each",
        }
    }

    /// The single-layer sources this source draws.
    pub fn layers(self) -> &'static [Source] {
        match self {
            Source::All => &Self::LAYERS,
            Source::Wards => &[Source::Wards],
            Source::Parcels => &[Source::Parcels],
            Source::Addresses => &[Source::Addresses],
            Source::Flood => &[Source::Flood],
        }
    }

    /// True when a change to `layer` can alter this source's tiles.
    pub fn draws(self, layer: Source) -> bool {
        self.layers().contains(&layer)
    }
}

impl FromStr for Source {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        [Source::Wards, Source::Parcels, Source::Addresses, Source::Flood, Source::All]
            .into_iter()
            .find(|source| source.name() == s)
            .ok_or(())
    }
}
