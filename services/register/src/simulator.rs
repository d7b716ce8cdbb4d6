//! The demo's tide gauge (`--demo-gauges`): a synthetic gauge at Ninh Kiều wharf reading a
//! synthetic tide-plus-rain curve every few seconds, with rules on the demo's tidal-peak
//! zones, so the live flood layer and `/ioc` show zones going dry → watch → flooded → dry
//! within minutes. Everything it makes says it is synthetic.

use crate::Register;
use crate::flood_live::Writer;
use diaba_sensorthings::NewEntity;
use diaba_sensorthings::reading::Reading;
use diaba_store::flood_live::FloodRule;
use serde_json::json;
use std::f64::consts::TAU;
use std::sync::Arc;
use std::time::Duration;

/// Name of the synthetic gauge's station (also how it is found again after a restart).
pub const STATION: &str = "Trạm đo triều Ninh Kiều (synthetic)";
/// A whole tide, compressed: 12 minutes from high water to high water.
const CYCLE_SECONDS: f64 = 720.0;
/// One reading every this often.
const EVERY: Duration = Duration::from_secs(5);
/// Levels (risk 5 floods first) and the water level that floods them.
const THRESHOLDS: [(i16, f64); 3] = [(5, 1.6), (4, 1.8), (3, 2.0)];

/// The synthetic water level `t` seconds into the run: a tide of ±0.75 m around 1.3 m,
/// and every third tide a shower adding up to 0.3 m at high water.
///
/// ```
/// use diaba_register::simulator::level_at;
/// assert!((level_at(180.0) - 2.05).abs() < 1e-9, "first high water, no rain");
/// assert!((level_at(540.0) - 0.55).abs() < 1e-9, "low water");
/// assert!(level_at(2.0 * 720.0 + 180.0) > 2.3, "the third tide has rain on it");
/// ```
pub fn level_at(t: f64) -> f64 {
    let tide = 1.3 + 0.75 * (TAU * t / CYCLE_SECONDS).sin();
    let rainy = (t / CYCLE_SECONDS).floor() as i64 % 3 == 2;
    let shower = if rainy { 0.3 * (TAU * t / CYCLE_SECONDS).sin().max(0.0) } else { 0.0 };
    ((tide + shower) * 1000.0).round() / 1000.0
}

/// Sets up the synthetic gauge and its rules (once), then reads the curve for as long as
/// the process runs. Nothing happens without the demo's flood zones.
pub fn spawn(register: Arc<Register>) {
    tokio::spawn(async move {
        let datastream = match set_up(&register).await {
            Ok(Some(datastream)) => datastream,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, "demo gauge not set up");
                return;
            }
        };
        tracing::info!(datastream, "demo gauge: a synthetic tide every {CYCLE_SECONDS} s");
        let started = std::time::Instant::now();
        let mut ticks = tokio::time::interval(EVERY);
        loop {
            ticks.tick().await;
            let reading = Reading {
                datastream,
                phenomenon_time: chrono::Utc::now(),
                result_time: None,
                result: level_at(started.elapsed().as_secs_f64()),
            };
            if let Err(error) = register.ingest(Writer::Broker, vec![Ok(reading)]).await {
                tracing::warn!(%error, "demo gauge reading not stored");
            }
        }
    });
}

/// The synthetic gauge's datastream, made on first start; `None` without demo zones.
async fn set_up(register: &Register) -> crate::error::Result<Option<i64>> {
    let demo_zones =
        register.index.flood.all().iter().any(|z| z.scenario == "tidal-peak" && z.source.starts_with("synthetic"));
    if !demo_zones {
        return Ok(None);
    }
    let store = register.store();
    let query = diaba_sensorthings::Query::parse(diaba_sensorthings::EntitySet::Datastreams, "", 1)
        .map_err(|e| crate::error::Error::invalid("demo", e.to_string()))?;
    let found =
        store.sta_rows(&diaba_sensorthings::Resource::Set(diaba_sensorthings::EntitySet::Datastreams), &query).await?;
    let existing = found.rows.iter().find(|(_, d)| d["name"] == format!("Mực nước – {STATION}")).map(|(id, _)| *id);
    let datastream = match existing {
        Some(id) => id,
        None => {
            let location = store
                .sta_create(&NewEntity::Location {
                    name: "Bến Ninh Kiều (synthetic gauge site)".into(),
                    description: "synthetic demo gauge".into(),
                    point: [105.7884, 10.0339],
                    things: Vec::new(),
                })
                .await?;
            let thing = store
                .sta_create(&NewEntity::Thing {
                    name: STATION.into(),
                    description: "synthetic demo tide gauge: its readings are invented".into(),
                    properties: Some(json!({ "synthetic": true, "source": "synthetic-demo" })),
                    locations: vec![location],
                })
                .await?;
            let sensor = store
                .sta_create(&NewEntity::Sensor {
                    name: "Radar level sensor (synthetic)".into(),
                    description: "synthetic".into(),
                    encoding_type: "text/html".into(),
                    metadata: String::new(),
                })
                .await?;
            let property = store
                .sta_create(&NewEntity::ObservedProperty {
                    name: "Water level".into(),
                    definition: "http://vocab.nerc.ac.uk/collection/P01/current/ASLVZZ01/".into(),
                    description: "water surface height above the local datum".into(),
                })
                .await?;
            store
                .sta_create(&NewEntity::Datastream {
                    name: format!("Mực nước – {STATION}"),
                    description: "synthetic tide-plus-rain curve".into(),
                    unit_of_measurement: json!({ "name": "metre", "symbol": "m", "definition": "http://qudt.org/vocab/unit/M" }),
                    thing,
                    sensor,
                    observed_property: property,
                    range: (Some(-1.0), Some(4.0)),
                })
                .await?
        }
    };
    for (level, threshold) in THRESHOLDS {
        let rule =
            FloodRule { scenario: "tidal-peak".into(), risk_level: level, datastream, threshold, watch_hours: 3.0 };
        store.set_flood_rule(&rule, None).await?;
    }
    Ok(Some(datastream))
}
