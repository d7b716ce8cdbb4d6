//! Entities an admin creates (a gauge station, its sensor, what it observes, its
//! datastream) read from their SensorThings JSON. Links to existing entities are given as
//! `{"@iot.id": n}`; creating linked entities inline (deep insert) is not supported.

use crate::StaError;
use crate::entity::EntitySet;
use serde_json::Value;

/// A new entity, checked.
#[derive(Debug, Clone, PartialEq)]
pub enum NewEntity {
    /// A station.
    Thing {
        /// Name.
        name: String,
        /// Description.
        description: String,
        /// Free properties.
        properties: Option<Value>,
        /// Locations it stands at.
        locations: Vec<i64>,
    },
    /// A place, a GeoJSON point.
    Location {
        /// Name.
        name: String,
        /// Description.
        description: String,
        /// Longitude, latitude.
        point: [f64; 2],
        /// Things standing there.
        things: Vec<i64>,
    },
    /// An instrument.
    Sensor {
        /// Name.
        name: String,
        /// Description.
        description: String,
        /// Media type of its metadata.
        encoding_type: String,
        /// Its metadata (a link or text).
        metadata: String,
    },
    /// What is measured.
    ObservedProperty {
        /// Name.
        name: String,
        /// URI of its definition.
        definition: String,
        /// Description.
        description: String,
    },
    /// A series.
    Datastream {
        /// Name.
        name: String,
        /// Description.
        description: String,
        /// `{"name", "symbol", "definition"}`.
        unit_of_measurement: Value,
        /// Its Thing.
        thing: i64,
        /// Its Sensor.
        sensor: i64,
        /// Its ObservedProperty.
        observed_property: i64,
        /// What the sensor can measure (`properties.measurementRange: [min, max]`).
        range: (Option<f64>, Option<f64>),
    },
}

impl NewEntity {
    /// Reads a new entity of `set` from its JSON.
    pub fn parse(set: EntitySet, body: &Value) -> Result<Self, StaError> {
        if !body.is_object() {
            return Err(StaError::BadRequest(format!("a new {} entity is a JSON object", set.name())));
        }
        let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
        let required = |key: &str| {
            text(key).filter(|t| !t.trim().is_empty()).ok_or_else(|| StaError::BadRequest(format!("{key} is required")))
        };
        let description = text("description").unwrap_or_default();
        Ok(match set {
            EntitySet::Things => NewEntity::Thing {
                name: required("name")?,
                description,
                properties: body.get("properties").cloned().filter(|p| !p.is_null()),
                locations: links(body, "Locations")?,
            },
            EntitySet::Locations => NewEntity::Location {
                name: required("name")?,
                description,
                point: point(body.get("location"))?,
                things: links(body, "Things")?,
            },
            EntitySet::Sensors => NewEntity::Sensor {
                name: required("name")?,
                description,
                encoding_type: text("encodingType").unwrap_or_else(|| "text/html".into()),
                metadata: text("metadata").unwrap_or_default(),
            },
            EntitySet::ObservedProperties => NewEntity::ObservedProperty {
                name: required("name")?,
                definition: required("definition")?,
                description,
            },
            EntitySet::Datastreams => {
                let unit = body.get("unitOfMeasurement").filter(|u| u.is_object()).cloned().ok_or_else(|| {
                    StaError::BadRequest("unitOfMeasurement is required: {\"name\", \"symbol\", \"definition\"}".into())
                })?;
                let range = body.pointer("/properties/measurementRange").and_then(Value::as_array);
                let bound = |i: usize| range.and_then(|r| r.get(i)).and_then(Value::as_f64);
                NewEntity::Datastream {
                    name: required("name")?,
                    description,
                    unit_of_measurement: unit,
                    thing: link(body, "Thing")?,
                    sensor: link(body, "Sensor")?,
                    observed_property: link(body, "ObservedProperty")?,
                    range: (bound(0), bound(1)),
                }
            }
            EntitySet::Observations => {
                return Err(StaError::BadRequest("Observations are created by the ingest, not here".into()));
            }
        })
    }
}

/// `"Thing": {"@iot.id": 3}` → 3.
fn link(body: &Value, key: &str) -> Result<i64, StaError> {
    match body.get(key) {
        Some(Value::Object(o)) if o.contains_key("@iot.id") => o
            .get("@iot.id")
            .and_then(Value::as_i64)
            .ok_or_else(|| StaError::BadRequest(format!("{key} is linked by id: {{\"@iot.id\": 1}}"))),
        Some(Value::Object(_)) => Err(StaError::BadRequest(format!(
            "{key}: creating a linked entity inline is not supported; create it, then link it by @iot.id"
        ))),
        _ => Err(StaError::BadRequest(format!("{key} is required: {{\"@iot.id\": 1}}"))),
    }
}

/// `"Locations": [{"@iot.id": 1}, …]` → ids (none when absent).
fn links(body: &Value, key: &str) -> Result<Vec<i64>, StaError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(|item| link(&serde_json::json!({ key: item }), key)).collect(),
        Some(_) => Err(StaError::BadRequest(format!("{key} is a list of {{\"@iot.id\": n}}"))),
    }
}

/// A GeoJSON point in the service's lon/lat range.
fn point(location: Option<&Value>) -> Result<[f64; 2], StaError> {
    let bad = || {
        StaError::BadRequest("location is a GeoJSON Point: {\"type\": \"Point\", \"coordinates\": [lon, lat]}".into())
    };
    let location = location.filter(|l| l.get("type").and_then(Value::as_str) == Some("Point")).ok_or_else(bad)?;
    let c = location.get("coordinates").and_then(Value::as_array).ok_or_else(bad)?;
    let (lon, lat) =
        (c.first().and_then(Value::as_f64).ok_or_else(bad)?, c.get(1).and_then(Value::as_f64).ok_or_else(bad)?);
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        return Err(StaError::BadRequest(format!("location [{lon}, {lat}] is not a longitude and latitude")));
    }
    Ok([lon, lat])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_datastream_links_its_thing_sensor_and_property_and_carries_its_range() {
        let body = json!({
            "name": "Mực nước Cần Thơ (synthetic)", "unitOfMeasurement": {"name": "metre", "symbol": "m"},
            "Thing": {"@iot.id": 1}, "Sensor": {"@iot.id": 2}, "ObservedProperty": {"@iot.id": 3},
            "properties": {"measurementRange": [-1.0, 4.0]}
        });
        let NewEntity::Datastream { thing, sensor, observed_property, range, .. } =
            NewEntity::parse(EntitySet::Datastreams, &body).unwrap()
        else {
            panic!()
        };
        assert_eq!((thing, sensor, observed_property, range), (1, 2, 3, (Some(-1.0), Some(4.0))));
        let inline = json!({"name": "x", "unitOfMeasurement": {}, "Thing": {"name": "new"}});
        assert!(NewEntity::parse(EntitySet::Datastreams, &inline).unwrap_err().to_string().contains("inline"));
        assert!(
            NewEntity::parse(
                EntitySet::Locations,
                &json!({"name": "x", "location": {"type": "Point", "coordinates": [200, 0]}})
            )
            .is_err()
        );
    }
}
