//! Readings over MQTT, as gauges and gateways publish them: SensorThings Observations
//! (JSON) on `v1.1/Datastreams(ID)/Observations`. diaba subscribes through a shared
//! subscription (`$share/diaba/…`), so with several nodes the broker hands each reading to
//! one of them, and takes readings in batches: one statement per batch whatever the burst,
//! so a burst costs the database what one request does.
//!
//! Who may publish to which topic is the broker's business (mosquitto's ACL per gateway);
//! diaba still refuses a reading for an unknown datastream and every faulty one.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use diaba_register::Register;
use diaba_register::flood_live::Writer;
use diaba_sensorthings::reading::{self, Fault, Reading};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::sync::Arc;
use std::time::Duration;

/// Topic filter: every datastream's observations, shared among diaba's nodes.
pub const SUBSCRIPTION: &str = "$share/diaba/v1.1/+/Observations";
/// Most readings in one batch.
const BATCH: usize = 1_000;
/// Longest wait to fill a batch once a reading is in.
const LINGER: Duration = Duration::from_millis(20);

/// Why the broker cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MqttError {
    /// The URL is not an MQTT URL.
    #[error("--mqtt-url {0}: {1} (e.g. mqtt://broker:1883)")]
    Url(String, String),
}

/// The datastream a topic names: `v1.1/Datastreams(12)/Observations` → 12.
///
/// ```
/// assert_eq!(diaba_mqtt::datastream_of("v1.1/Datastreams(12)/Observations"), Some(12));
/// assert_eq!(diaba_mqtt::datastream_of("v1.1/Things(12)/Observations"), None);
/// ```
pub fn datastream_of(topic: &str) -> Option<i64> {
    let id = topic.strip_prefix("v1.1/Datastreams(")?.strip_suffix(")/Observations")?;
    id.parse().ok().filter(|id| *id > 0)
}

/// A reading from a publish: the topic's datastream and the payload's Observation.
fn reading_of(topic: &str, payload: &[u8]) -> Result<Reading, Fault> {
    let datastream =
        datastream_of(topic).ok_or_else(|| Fault::Malformed(format!("topic {topic} names no datastream")))?;
    let body: serde_json::Value = serde_json::from_slice(payload)
        .map_err(|e| Fault::Malformed(format!("the payload is not SensorThings JSON: {e}")))?;
    reading::observation(&body, Some(datastream))
}

/// Subscribes to the broker at `url` and ingests what is published, for as long as the
/// process runs; reconnects after the broker goes away.
pub fn follow(url: &str, register: Arc<Register>) -> Result<(), MqttError> {
    let with_id = if url.contains("client_id=") {
        url.to_string()
    } else {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}client_id=diaba-{}", std::process::id())
    };
    let mut options = MqttOptions::parse_url(&with_id).map_err(|e| MqttError::Url(url.into(), e.to_string()))?;
    options.set_keep_alive(Duration::from_secs(30));
    let (client, mut events) = AsyncClient::new(options, 1_024);
    // Acknowledgements go out at once: with Nagle's algorithm each small PUBACK waits for
    // the broker's delayed ACK (40 ms), and the broker's window of unacknowledged messages
    // (20) then caps intake near 500 readings a second (measured).
    let mut network = events.network_options();
    network.set_tcp_nodelay(true);
    events.set_network_options(network);
    let (readings, mut incoming) = tokio::sync::mpsc::channel::<Result<Reading, Fault>>(BATCH * 10);
    tokio::spawn(async move {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    tracing::info!("mqtt: connected; subscribing to {SUBSCRIPTION}");
                    if let Err(error) = client.subscribe(SUBSCRIPTION, QoS::AtLeastOnce).await {
                        tracing::warn!(%error, "mqtt: subscribe");
                    }
                }
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    if readings.send(reading_of(&publish.topic, &publish.payload)).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, "mqtt: connection lost; reconnecting");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    tokio::spawn(async move {
        while let Some(first) = incoming.recv().await {
            let mut batch = vec![first];
            let deadline = tokio::time::Instant::now() + LINGER;
            while batch.len() < BATCH {
                match tokio::time::timeout_at(deadline, incoming.recv()).await {
                    Ok(Some(reading)) => batch.push(reading),
                    Ok(None) | Err(_) => break,
                }
            }
            let sent = batch.len();
            match register.ingest(Writer::Broker, batch).await {
                Ok(ingested) => {
                    let refused = ingested.outcome.iter().filter(|o| o.is_err()).count();
                    tracing::debug!(sent, refused, "mqtt: readings taken in");
                }
                Err(error) => tracing::warn!(%error, sent, "mqtt: readings not stored"),
            }
        }
    });
    Ok(())
}
