//! What a tile needs of a feature, and what each register layer shows: the attribute
//! values here and the field lists in [`crate::source`] are one contract, checked
//! against each other by a test.

use diaba_core::spatial::{AddressFeature, FloodFeature, ParcelFeature, UnitFeature};
use geo::MultiPolygon;

/// The geometry of a feature, in lon/lat.
#[derive(Debug, Clone, Copy)]
pub enum Shape<'a> {
    /// Polygons (parcels, units, zones).
    Polygons(&'a MultiPolygon<f64>),
    /// A point (households).
    Point {
        /// Longitude.
        lon: f64,
        /// Latitude.
        lat: f64,
    },
}

/// One attribute value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// Text.
    Text(&'a str),
    /// A whole number.
    Int(i64),
    /// A decimal number.
    Number(f64),
}

/// A feature that can be drawn in a tile. Only public attributes: owners and personal
/// data are not in the features the index holds, and never in a tile.
pub trait TileFeature {
    /// Stable id, also the MVT feature id.
    fn id(&self) -> i64;
    /// Its geometry.
    fn shape(&self) -> Shape<'_>;
    /// Its attributes at a zoom with (`detail`) or without full detail; each key must be
    /// one of its layer's fields, with that field's kind.
    fn attributes(&self, detail: bool) -> Vec<(&'static str, Value<'_>)>;
}

impl TileFeature for ParcelFeature {
    fn id(&self) -> i64 {
        self.id
    }
    fn shape(&self) -> Shape<'_> {
        Shape::Polygons(&self.shape)
    }
    fn attributes(&self, detail: bool) -> Vec<(&'static str, Value<'_>)> {
        let mut out = vec![("land_use", Value::Text(self.land_uses.first().map_or("", String::as_str)))];
        if detail {
            out.extend([
                ("national_id", Value::Text(&self.national_id)),
                ("ward_code", Value::Text(&self.ward_code)),
                ("sheet", Value::Int(self.sheet.into())),
                ("number", Value::Int(self.number.into())),
                ("legal_area_m2", Value::Number(self.legal_area_m2)),
            ]);
        }
        out
    }
}

impl TileFeature for UnitFeature {
    fn id(&self) -> i64 {
        self.id
    }
    fn shape(&self) -> Shape<'_> {
        Shape::Polygons(&self.shape)
    }
    fn attributes(&self, _detail: bool) -> Vec<(&'static str, Value<'_>)> {
        let mut out = vec![
            ("code", Value::Text(&self.code)),
            ("name", Value::Text(&self.name)),
            ("level", Value::Text(self.level.as_str())),
        ];
        if let Some(postcode) = &self.postcode {
            out.push(("postcode", Value::Text(postcode)));
        }
        out
    }
}

impl TileFeature for FloodFeature {
    fn id(&self) -> i64 {
        self.id
    }
    fn shape(&self) -> Shape<'_> {
        Shape::Polygons(&self.shape)
    }
    fn attributes(&self, _detail: bool) -> Vec<(&'static str, Value<'_>)> {
        vec![
            ("name", Value::Text(&self.name)),
            ("risk_level", Value::Int(self.risk_level.into())),
            ("scenario", Value::Text(&self.scenario)),
            ("source", Value::Text(&self.source)),
        ]
    }
}

impl TileFeature for AddressFeature {
    fn id(&self) -> i64 {
        self.id
    }
    fn shape(&self) -> Shape<'_> {
        Shape::Point { lon: self.lon, lat: self.lat }
    }
    fn attributes(&self, detail: bool) -> Vec<(&'static str, Value<'_>)> {
        let mut out = Vec::new();
        if detail {
            out.extend([("vpostcode", Value::Text(&self.vpostcode)), ("ward_code", Value::Text(&self.ward_code))]);
            for (key, value) in
                [("house_number", &self.house_number), ("street", &self.street), ("hamlet", &self.hamlet)]
            {
                if let Some(value) = value {
                    out.push((key, Value::Text(value)));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Source, spec};
    use diaba_core::{Layer, UnitLevel};

    fn square() -> MultiPolygon<f64> {
        let ring = geo::LineString::from(vec![(105.78, 10.03), (105.79, 10.03), (105.79, 10.04), (105.78, 10.03)]);
        MultiPolygon(vec![geo::Polygon::new(ring, vec![])])
    }

    /// One feature of each drawn layer, every optional attribute set (synthetic values).
    fn sample(layer: Layer) -> Box<dyn TileFeature> {
        match layer {
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
            }),
            Layer::Parcels => Box::new(ParcelFeature {
                id: 2,
                national_id: "w6ugq0zzzzzz".into(),
                ward_code: "31135".into(),
                sheet: 1,
                number: 1,
                version: 1,
                land_uses: vec!["ODT".into()],
                legal_area_m2: 80.5,
                shape: square(),
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
                shape: square(),
            }),
        }
    }

    #[test]
    fn every_attribute_a_feature_gives_is_a_field_of_its_layer_with_that_kind() {
        for &layer in Layer::ALL {
            let Some(spec) = spec(layer) else { continue };
            let feature = sample(layer);
            let mut seen = std::collections::BTreeSet::new();
            for detail in [false, true] {
                for (key, value) in feature.attributes(detail) {
                    let field = spec.fields.iter().find(|f| f.name == key);
                    let field = field.unwrap_or_else(|| panic!("{layer}: {key} is not among the layer's fields"));
                    let kind = match value {
                        Value::Text(_) => "String",
                        Value::Int(_) | Value::Number(_) => "Number",
                    };
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
