//! What each register layer shows in tiles, in one place: its MVT layer name, zooms and
//! public fields (the TileJSON contract), and the attribute values its features give.
//! A test holds the two against each other.

use crate::feature::{Shape, TileFeature, Value};
use crate::field::{Field, field};
use crate::labels::{LabelSpec, PARCEL_LABELS, ROAD_LABELS, SHEET_LABELS, WARD_LABELS};
use diaba_core::Layer;
use diaba_core::spatial::{AddressFeature, FloodFeature, ParcelFeature, UnitFeature};

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
    /// How much its shapes are generalised at a zoom.
    pub generalise: fn(u8) -> Generalise,
    /// Label layers drawn from its features, in the same tiles.
    pub labels: &'static [&'static LabelSpec],
}

/// How much a layer is generalised at a zoom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Generalise {
    /// Douglas–Peucker tolerance, tile units (0: only snapping).
    pub tolerance: f64,
    /// Shapes whose projected box covers fewer square units are left out.
    pub min_box_area: f64,
}

impl Generalise {
    /// Only snapping to the grid: shapes of a handful of vertices (parcels, points).
    pub const SNAP: Generalise = Generalise { tolerance: 0.0, min_box_area: 0.0 };

    /// The rule of `layer` at zoom `z` (each layer's in its spec).
    pub fn of(layer: Layer, z: u8) -> Self {
        spec(layer).map_or(Self::SNAP, |spec| (spec.generalise)(z))
    }
}

/// Parcels at z14 (a tile is 2.4 km across) skip lots under 32 × 32 units (≈ 360 m², the
/// deep urban lots, 4 × 4 pixels): a dense ward holds 30 000 lots per tile, 2 MB even as
/// bare outlines. At z15 the bar is 128 units² (≈ 11 m², only slivers). Parcels are a
/// handful of vertices and are only snapped to the grid.
fn parcels_at(z: u8) -> Generalise {
    match z {
        ..=14 => Generalise { tolerance: 0.0, min_box_area: 1024.0 },
        15 => Generalise { tolerance: 0.0, min_box_area: 128.0 },
        _ => Generalise::SNAP,
    }
}

/// Ward and flood outlines (thousands of vertices) are simplified to half a unit, an
/// eighth of a screen pixel, and to a quarter at the deepest zoom with new detail.
fn outlines_at(z: u8) -> Generalise {
    Generalise { tolerance: if z < 18 { 0.5 } else { 0.25 }, min_box_area: 0.0 }
}

fn points_at(_z: u8) -> Generalise {
    Generalise::SNAP
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
    generalise: outlines_at,
    labels: &[&WARD_LABELS],
};
const PARCELS: LayerSpec = LayerSpec {
    name: "parcels",
    // 250 000 parcels at city scale would be noise, and heavy.
    minzoom: 14,
    draw_order: 2,
    fields: PARCEL_FIELDS,
    description: "Live land parcels (thửa đất), public attributes from z16; at z14–15 land_use only, lots under \
                  ≈360 m² (z14) left out",
    generalise: parcels_at,
    labels: &[&PARCEL_LABELS, &SHEET_LABELS, &ROAD_LABELS],
};
const ADDRESSES: LayerSpec = LayerSpec {
    name: "addresses",
    minzoom: 15,
    draw_order: 3,
    fields: ADDRESS_FIELDS,
    description: "Verified household addresses (no personal data); attributes from z16",
    generalise: points_at,
    labels: &[],
};
const FLOOD_ZONES: LayerSpec = LayerSpec {
    name: "flood",
    minzoom: 10,
    draw_order: 0,
    fields: FLOOD_FIELDS,
    description: "Flood-risk zones in force on the national 5-level scale, every scenario",
    generalise: outlines_at,
    labels: &[],
};

/// How `layer` is drawn, or `None` for a layer that has no tiles.
pub fn spec(layer: Layer) -> Option<&'static LayerSpec> {
    match layer {
        Layer::Units => Some(&UNITS),
        Layer::Parcels => Some(&PARCELS),
        Layer::Addresses => Some(&ADDRESSES),
        Layer::FloodZones => Some(&FLOOD_ZONES),
        // Personal and legal records: never drawn in tiles.
        Layer::Parties | Layer::Rights | Layer::Certificates => None,
    }
}

impl TileFeature for ParcelFeature {
    fn id(&self) -> i64 {
        self.id
    }
    fn shape(&self) -> Shape<'_> {
        Shape::Outline(&self.outline)
    }
    fn attributes(&self, detail: bool, add: &mut dyn FnMut(&'static str, Value<'_>)) {
        add("land_use", Value::Text(self.land_uses.main()));
        if detail {
            add("national_id", Value::Text(&self.national_id));
            add("ward_code", Value::Text(&self.ward_code));
            add("sheet", Value::Int(self.sheet.into()));
            add("number", Value::Int(self.number.into()));
            add("legal_area_m2", Value::Number(self.legal_area_m2));
        }
    }
}

impl TileFeature for UnitFeature {
    fn id(&self) -> i64 {
        self.id
    }
    fn shape(&self) -> Shape<'_> {
        Shape::Polygons(&self.shape)
    }
    fn attributes(&self, _detail: bool, add: &mut dyn FnMut(&'static str, Value<'_>)) {
        add("code", Value::Text(&self.code));
        add("name", Value::Text(&self.name));
        add("level", Value::Text(self.level.as_str()));
        if let Some(postcode) = &self.postcode {
            add("postcode", Value::Text(postcode));
        }
    }
}

impl TileFeature for FloodFeature {
    fn id(&self) -> i64 {
        self.id
    }
    fn shape(&self) -> Shape<'_> {
        Shape::Polygons(&self.shape)
    }
    fn attributes(&self, _detail: bool, add: &mut dyn FnMut(&'static str, Value<'_>)) {
        add("name", Value::Text(&self.name));
        add("risk_level", Value::Int(self.risk_level.into()));
        add("scenario", Value::Text(&self.scenario));
        add("source", Value::Text(&self.source));
    }
}

impl TileFeature for AddressFeature {
    fn id(&self) -> i64 {
        self.id
    }
    fn shape(&self) -> Shape<'_> {
        Shape::Point { lon: self.lon, lat: self.lat }
    }
    fn attributes(&self, detail: bool, add: &mut dyn FnMut(&'static str, Value<'_>)) {
        if detail {
            add("vpostcode", Value::Text(&self.vpostcode));
            add("ward_code", Value::Text(&self.ward_code));
            for (key, value) in
                [("house_number", &self.house_number), ("street", &self.street), ("hamlet", &self.hamlet)]
            {
                if let Some(value) = value {
                    add(key, Value::Text(value));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;
    use diaba_core::{Layer, UnitLevel};
    use geo::MultiPolygon;

    fn square() -> MultiPolygon<f64> {
        let ring = geo::LineString::from(vec![(105.78, 10.03), (105.79, 10.03), (105.79, 10.04), (105.78, 10.03)]);
        MultiPolygon(vec![geo::Polygon::new(ring, vec![])])
    }

    /// One feature of each drawn layer, every optional attribute set (synthetic values).
    fn sample(layer: Layer) -> Option<Box<dyn TileFeature>> {
        Some(match layer {
            Layer::Units => Box::new(UnitFeature {
                id: 1,
                code: "31135".into(),
                level: UnitLevel::Ward,
                name: "Phường Ninh Kiều".into(),
                postcode: Some("94119".into()),
                valid_from: None,
                valid_to: None,
                in_service_area: true,
                shape: square(),
                postcode_area: None,
                area: diaba_core::covers::BandedArea::new(&square()),
                answer_json: Default::default(),
            }),
            Layer::Parcels => Box::new(ParcelFeature {
                id: 2,
                national_id: diaba_core::PackedParcelId::new("w6ugq0zzzzzz").expect("12 ASCII characters"),
                ward_code: "31135".into(),
                sheet: 1,
                number: 1,
                version: 1,
                land_uses: ["ODT"].into_iter().collect(),
                legal_area_m2: 80.5,
                valid_from: 0,
                name: None,
                outline: diaba_core::outline::Outline::from(&square()),
            }),
            Layer::Addresses => Box::new(AddressFeature {
                id: 3,
                vpostcode: "94119 2QMM+262".into(),
                house_number: Some("12/3A".into()),
                street: Some("Đường thử (synthetic)".into()),
                hamlet: Some("Khu vực 1".into()),
                ward_code: "31135".into(),
                lon: 105.785,
                lat: 10.035,
            }),
            Layer::FloodZones => Box::new(FloodFeature {
                id: 4,
                name: "synthetic zone".into(),
                risk_level: 3,
                scenario: "tidal-peak".into(),
                source: "synthetic-demo".into(),
                area: diaba_core::covers::BandedArea::new(&square()),
                shape: square(),
                answer_json: Default::default(),
            }),
            Layer::Parties | Layer::Rights | Layer::Certificates => return None,
        })
    }

    #[test]
    fn every_attribute_a_feature_gives_is_a_field_of_its_layer_with_that_kind() {
        for &layer in Layer::ALL {
            let Some(spec) = spec(layer) else { continue };
            let feature = sample(layer).expect("a drawn layer has a sample");
            let mut seen = std::collections::BTreeSet::new();
            for detail in [false, true] {
                let mut attributes = Vec::new();
                feature.attributes(detail, &mut |key, value| {
                    let kind = match value {
                        Value::Text(_) => "String",
                        Value::Int(_) | Value::Number(_) => "Number",
                    };
                    attributes.push((key, kind));
                });
                for (key, kind) in attributes {
                    let field = spec.fields.iter().find(|f| f.name == key);
                    let field = field.unwrap_or_else(|| panic!("{layer}: {key} is not among the layer's fields"));
                    assert_eq!(field.kind, kind, "{layer}.{key}");
                    seen.insert(key);
                }
            }
            let listed: std::collections::BTreeSet<&str> = spec.fields.iter().map(|f| f.name).collect();
            assert_eq!(seen, listed, "{layer}: the field list and the attributes drawn must agree");
            assert!(Source::of(layer).is_some());
        }
    }
}
