//! The entity sets diaba serves, their properties (which a query may filter and order by)
//! and the navigation between them, in one table.

/// An entity set of SensorThings v1.1 that diaba keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntitySet {
    /// Gauge stations.
    Things,
    /// Where they stand.
    Locations,
    /// Instruments.
    Sensors,
    /// What is measured (water level).
    ObservedProperties,
    /// One sensor's series of one property at one thing.
    Datastreams,
    /// Readings.
    Observations,
}

/// How a property is typed in filters and in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A whole number (ids).
    Id,
    /// Text.
    Text,
    /// A number.
    Number,
    /// An instant (ISO 8601).
    Time,
}

/// A property a query may name in `$filter` and `$orderby`, and the column holding it.
#[derive(Debug, Clone, Copy)]
pub struct Property {
    /// Name in SensorThings (`phenomenonTime`).
    pub name: &'static str,
    /// Column of the set's table (`phenomenon_time`).
    pub column: &'static str,
    /// Its type.
    pub kind: Kind,
}

const fn p(name: &'static str, column: &'static str, kind: Kind) -> Property {
    Property { name, column, kind }
}

/// Where a navigation property leads from one entity: the target set, whether it is one
/// entity or a collection, and the condition on the target's rows (`e`) given the source
/// entity's id as `$1`.
#[derive(Debug, Clone, Copy)]
pub struct Navigation {
    /// Name in SensorThings (`Observations`, `Thing`).
    pub name: &'static str,
    /// The set it leads to.
    pub target: EntitySet,
    /// One entity (`Datastream`) rather than a collection (`Datastreams`).
    pub single: bool,
    /// SQL condition on the target rows aliased `e`, with the source id as `$1`.
    pub condition: &'static str,
}

const fn nav(name: &'static str, target: EntitySet, single: bool, condition: &'static str) -> Navigation {
    Navigation { name, target, single, condition }
}

use Kind::{Id, Number, Text, Time};

const NAMED: &[Property] = &[p("id", "id", Id), p("name", "name", Text), p("description", "description", Text)];
const LOCATION: &[Property] = &[
    p("id", "id", Id),
    p("name", "name", Text),
    p("description", "description", Text),
    p("encodingType", "encoding_type", Text),
];
const OBSERVED_PROPERTY: &[Property] = &[
    p("id", "id", Id),
    p("name", "name", Text),
    p("definition", "definition", Text),
    p("description", "description", Text),
];
const DATASTREAM: &[Property] = &[
    p("id", "id", Id),
    p("name", "name", Text),
    p("description", "description", Text),
    p("observationType", "observation_type", Text),
];
const OBSERVATION: &[Property] = &[
    p("id", "id", Id),
    p("phenomenonTime", "phenomenon_time", Time),
    p("resultTime", "result_time", Time),
    p("result", "result", Number),
];

const THING_LINKS: &[Navigation] = &[
    nav(
        "Locations",
        EntitySet::Locations,
        false,
        "e.id IN (SELECT location_id FROM sta_thing_location WHERE thing_id = $1)",
    ),
    nav("Datastreams", EntitySet::Datastreams, false, "e.thing_id = $1"),
];
const LOCATION_LINKS: &[Navigation] = &[nav(
    "Things",
    EntitySet::Things,
    false,
    "e.id IN (SELECT thing_id FROM sta_thing_location WHERE location_id = $1)",
)];
const SENSOR_LINKS: &[Navigation] = &[nav("Datastreams", EntitySet::Datastreams, false, "e.sensor_id = $1")];
const OBSERVED_PROPERTY_LINKS: &[Navigation] =
    &[nav("Datastreams", EntitySet::Datastreams, false, "e.observed_property_id = $1")];
const DATASTREAM_LINKS: &[Navigation] = &[
    nav("Thing", EntitySet::Things, true, "e.id = (SELECT thing_id FROM sta_datastream WHERE id = $1)"),
    nav("Sensor", EntitySet::Sensors, true, "e.id = (SELECT sensor_id FROM sta_datastream WHERE id = $1)"),
    nav(
        "ObservedProperty",
        EntitySet::ObservedProperties,
        true,
        "e.id = (SELECT observed_property_id FROM sta_datastream WHERE id = $1)",
    ),
    nav("Observations", EntitySet::Observations, false, "e.datastream_id = $1"),
];
const OBSERVATION_LINKS: &[Navigation] = &[nav(
    "Datastream",
    EntitySet::Datastreams,
    true,
    "e.id = (SELECT datastream_id FROM sta_observation WHERE id = $1)",
)];

impl EntitySet {
    /// Every set, in the order the service document lists them.
    pub const ALL: [EntitySet; 6] = [
        EntitySet::Things,
        EntitySet::Locations,
        EntitySet::Sensors,
        EntitySet::ObservedProperties,
        EntitySet::Datastreams,
        EntitySet::Observations,
    ];

    /// Name in paths (`Things`).
    pub fn name(self) -> &'static str {
        match self {
            EntitySet::Things => "Things",
            EntitySet::Locations => "Locations",
            EntitySet::Sensors => "Sensors",
            EntitySet::ObservedProperties => "ObservedProperties",
            EntitySet::Datastreams => "Datastreams",
            EntitySet::Observations => "Observations",
        }
    }

    /// The set named `name`, if diaba keeps it.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|set| set.name() == name)
    }

    /// The table holding it.
    pub fn table(self) -> &'static str {
        match self {
            EntitySet::Things => "sta_thing",
            EntitySet::Locations => "sta_location",
            EntitySet::Sensors => "sta_sensor",
            EntitySet::ObservedProperties => "sta_observed_property",
            EntitySet::Datastreams => "sta_datastream",
            EntitySet::Observations => "sta_observation",
        }
    }

    /// Properties a query may filter and order by (`id` is `@iot.id`).
    pub fn properties(self) -> &'static [Property] {
        match self {
            EntitySet::Things | EntitySet::Sensors => NAMED,
            EntitySet::Locations => LOCATION,
            EntitySet::ObservedProperties => OBSERVED_PROPERTY,
            EntitySet::Datastreams => DATASTREAM,
            EntitySet::Observations => OBSERVATION,
        }
    }

    /// The property named `name` (`@iot.id` and `id` alike).
    pub fn property(self, name: &str) -> Option<&'static Property> {
        let name = if name == "@iot.id" { "id" } else { name };
        self.properties().iter().find(|p| p.name == name)
    }

    /// Its navigation properties.
    pub fn navigation(self) -> &'static [Navigation] {
        match self {
            EntitySet::Things => THING_LINKS,
            EntitySet::Locations => LOCATION_LINKS,
            EntitySet::Sensors => SENSOR_LINKS,
            EntitySet::ObservedProperties => OBSERVED_PROPERTY_LINKS,
            EntitySet::Datastreams => DATASTREAM_LINKS,
            EntitySet::Observations => OBSERVATION_LINKS,
        }
    }

    /// The JSON of one row (aliased `e`) without the `@iot` annotations, as SQL.
    pub fn json_sql(self) -> &'static str {
        match self {
            EntitySet::Things => {
                "jsonb_build_object('name', e.name, 'description', e.description, 'properties', e.properties)"
            }
            EntitySet::Locations => {
                "jsonb_build_object('name', e.name, 'description', e.description, 'encodingType', e.encoding_type, \
                 'location', ST_AsGeoJSON(e.location)::jsonb)"
            }
            EntitySet::Sensors => {
                "jsonb_build_object('name', e.name, 'description', e.description, 'encodingType', e.encoding_type, \
                 'metadata', e.metadata)"
            }
            EntitySet::ObservedProperties => {
                "jsonb_build_object('name', e.name, 'definition', e.definition, 'description', e.description)"
            }
            EntitySet::Datastreams => {
                "jsonb_build_object('name', e.name, 'description', e.description, 'observationType', e.observation_type, \
                 'unitOfMeasurement', e.unit_of_measurement, 'properties', CASE WHEN e.result_min IS NULL AND e.result_max IS NULL \
                 THEN NULL ELSE jsonb_build_object('measurementRange', jsonb_build_array(e.result_min, e.result_max)) END)"
            }
            EntitySet::Observations => {
                "jsonb_build_object('phenomenonTime', to_char(e.phenomenon_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), \
                 'resultTime', to_char(e.result_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), 'result', e.result)"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_navigation_leads_to_a_set_that_navigates_back() {
        for set in EntitySet::ALL {
            assert_eq!(EntitySet::parse(set.name()), Some(set));
            for link in set.navigation() {
                assert!(
                    link.target.navigation().iter().any(|back| back.target == set),
                    "{}/{} has no way back",
                    set.name(),
                    link.name
                );
                assert!(link.condition.contains("$1") && link.condition.starts_with("e."));
            }
            assert!(set.property("@iot.id").is_some() && set.property("nope").is_none());
        }
    }
}
