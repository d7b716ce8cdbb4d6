//! Sensors feeding the flood zones: readings taken in (over HTTP or MQTT), checked and
//! stored together, then the rules of the datastreams they touched are evaluated and each
//! zone whose state changes raises an alert carrying its exposure, counted from memory.

use crate::Register;
use crate::error::{Error, Result};
use chrono::{Duration, Utc};
use diaba_core::auth::{Caller, Role};
use diaba_core::interior::outline_interior_point;
use diaba_core::spatial::FloodFeature;
use diaba_sensorthings::reading::{self, Fault, Reading};
use diaba_store::flood_live::FloodRule;
use diaba_store::outbox::Notice;
use rstar::AABB;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The rate of rise is measured over the readings of this last stretch: long enough to
/// smooth a gauge's noise, short enough to follow a tide turning (and the demo's fast one).
const RATE_WINDOW: Duration = Duration::minutes(15);

/// Who sends readings: a caller with a token (within its datastreams), or the broker
/// diaba subscribes to (trusted: the broker's own access rules decide who may publish).
#[derive(Debug, Clone, Copy)]
pub enum Writer<'a> {
    /// A sensor or admin over HTTP.
    Caller(&'a Caller),
    /// The MQTT broker.
    Broker,
}

/// What became of each reading sent: its stored id, or why it was refused.
#[derive(Debug)]
pub struct Ingested {
    /// Per reading, in order.
    pub outcome: Vec<std::result::Result<i64, Fault>>,
}

/// A zone's state now, from its rule's gauge.
fn state_of(rule: &FloodRule, reading: f64, rate_m_per_h: f64) -> &'static str {
    if reading >= rule.threshold {
        "flooded"
    } else if rate_m_per_h > 0.0 && (rule.threshold - reading) / rate_m_per_h <= rule.watch_hours {
        "watch"
    } else {
        "dry"
    }
}

/// Metres per hour from the first to the last reading of the window (0 with fewer than
/// two readings five minutes apart: too little to call a trend).
fn rate_of_rise(readings: &[(chrono::DateTime<Utc>, f64)]) -> f64 {
    match (readings.first(), readings.last()) {
        (Some((t0, v0)), Some((t1, v1))) if *t1 - *t0 >= Duration::minutes(5) => {
            (v1 - v0) / ((*t1 - *t0).num_seconds() as f64 / 3600.0)
        }
        _ => 0.0,
    }
}

impl Register {
    /// Checks and stores readings in one statement; refused ones are counted per sensor and
    /// never stop the others. Then the flood rules of the datastreams written are evaluated.
    pub async fn ingest(
        &self,
        writer: Writer<'_>,
        observations: Vec<std::result::Result<Reading, Fault>>,
    ) -> Result<Ingested> {
        let mut streams: Vec<i64> = observations.iter().filter_map(|o| o.as_ref().ok().map(|o| o.datastream)).collect();
        streams.sort_unstable();
        streams.dedup();
        let (user, everything) = match writer {
            Writer::Caller(caller) => (caller.user_id, caller.role == Role::Admin),
            Writer::Broker => (0, true),
        };
        let _turn = self.ingest_permits.acquire().await.expect("the ingest permits are never closed");
        let writable = self.store.sta_writable(user, everything, &streams).await?;
        let now = Utc::now();
        let mut good: Vec<Reading> = Vec::new();
        let mut checked = Vec::with_capacity(observations.len());
        let mut refused: Vec<(i64, &'static str)> = Vec::new();
        for observation in observations {
            let passed = observation.and_then(|reading| {
                let limits = writable.get(&reading.datastream).ok_or(Fault::UnknownDatastream(reading.datastream))?;
                reading::check(reading, limits.range, now)
                    .inspect_err(|fault| refused.push((limits.sensor, fault.reason())))
            });
            match passed {
                Ok(reading) => {
                    checked.push(Ok(good.len()));
                    good.push(reading);
                }
                Err(fault) => {
                    if matches!(fault, Fault::UnknownDatastream(_) | Fault::Malformed(_)) {
                        refused.push((0, fault.reason()));
                    }
                    checked.push(Err(fault));
                }
            }
        }
        let ids = self.store.sta_insert(&good).await?;
        if !refused.is_empty() {
            self.store.sta_count_rejections(&refused).await?;
        }
        let mut written: Vec<i64> = good.iter().map(|r| r.datastream).collect();
        written.sort_unstable();
        written.dedup();
        if !written.is_empty() {
            self.evaluate_flood_rules(&written).await?;
        }
        Ok(Ingested { outcome: checked.into_iter().map(|c| c.map(|i| ids[i])).collect() })
    }

    /// Puts every zone under a rule of `datastreams` in the state its gauge says now,
    /// raising an alert for each zone whose state changes.
    async fn evaluate_flood_rules(&self, datastreams: &[i64]) -> Result<()> {
        let rules = self.store.flood_rules(Some(datastreams)).await?;
        for rule in rules {
            let Some((_, reading)) = self.store.latest_reading(rule.datastream).await? else { continue };
            let window = self.store.recent_readings(rule.datastream, Utc::now() - RATE_WINDOW).await?;
            let rate = rate_of_rise(&window);
            let state = state_of(&rule, reading, rate);
            for zone in self.zones_under(&rule) {
                if let Some(from) = self.store.set_zone_state(zone.id, state, reading, rate).await? {
                    let body = json!({
                        "zone": { "id": zone.id, "name": zone.name, "scenario": zone.scenario, "risk_level": zone.risk_level },
                        "from": from,
                        "to": state,
                        "at": Utc::now(),
                        "reading": { "datastream": rule.datastream, "result": reading, "rate_m_per_h": rate },
                        "threshold": rule.threshold,
                        "exposure": self.live_exposure(&zone),
                    });
                    let notices = self.alert_notices(&body);
                    self.store.raise_flood_alert(zone.id, &from, state, &body, &notices).await?;
                }
            }
        }
        Ok(())
    }

    /// The webhook calls and e-mails an alert owes (none unless configured).
    fn alert_notices(&self, alert: &Value) -> Vec<Notice> {
        let zone = alert["zone"]["name"].as_str().unwrap_or("?");
        let (from, to) = (alert["from"].as_str().unwrap_or("?"), alert["to"].as_str().unwrap_or("?"));
        let subject = format!("[diaba] {zone}: {from} → {to}");
        let exposure = &alert["exposure"];
        let text = format!(
            "Vùng {zone} chuyển từ {from} sang {to} lúc {}.\nMực nước: {} (ngưỡng {}).\nHộ dân: {}, thửa đất: {}.\nChi tiết theo phường: /v1/flood/live\n",
            alert["at"].as_str().unwrap_or(""),
            alert["reading"]["result"],
            alert["threshold"],
            exposure["households"],
            exposure["parcels"],
        );
        let hooks = self.service.flood_alert_webhooks.iter().map(|url| Notice {
            channel: "webhook",
            recipient: url.clone(),
            subject: subject.clone(),
            body: alert.to_string(),
        });
        let mails = self.service.flood_alert_emails.iter().map(|to| Notice {
            channel: "email",
            recipient: to.clone(),
            subject: subject.clone(),
            body: text.clone(),
        });
        hooks.chain(mails).collect()
    }

    fn zones_under(&self, rule: &FloodRule) -> Vec<std::sync::Arc<FloodFeature>> {
        let mut zones: Vec<_> = self
            .index
            .flood
            .all()
            .into_iter()
            .filter(|z| z.scenario == rule.scenario && z.risk_level == rule.risk_level)
            .collect();
        zones.sort_unstable_by_key(|z| z.id);
        zones
    }

    /// Households and parcels in a zone, by ward, from the index: a household counts when
    /// the zone covers it, a parcel when the zone covers a point inside it. Kept with the
    /// other exposures until the register changes: `/ioc` asks again after every alert.
    pub fn live_exposure(&self, zone: &FloodFeature) -> Value {
        let key = format!("live zone {}", zone.id);
        let counted = self.exposures.get_with(key, || std::sync::Arc::new(self.count_exposure(zone)));
        (*counted).clone()
    }

    fn count_exposure(&self, zone: &FloodFeature) -> Value {
        let Some(bbox) = geo::BoundingRect::bounding_rect(&zone.shape) else { return json!({}) };
        let envelope = AABB::from_corners([bbox.min().x, bbox.min().y], [bbox.max().x, bbox.max().y]);
        let covers = |x: f64, y: f64| diaba_core::spatial::covers_like_postgis(&zone.shape, [x, y]);
        let mut wards: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for parcel in self.index.parcels.in_envelope(&envelope) {
            if outline_interior_point(&parcel.outline).is_some_and(|p| covers(p.x, p.y)) {
                wards.entry(parcel.ward_code.to_string()).or_default().0 += 1;
            }
        }
        for household in self.index.addresses.in_envelope(&envelope) {
            if covers(household.lon, household.lat) {
                wards.entry(household.ward_code.clone()).or_default().1 += 1;
            }
        }
        let (parcels, households) = wards.values().fold((0, 0), |(p, h), (wp, wh)| (p + wp, h + wh));
        let by_ward: Vec<Value> = wards
            .into_iter()
            .map(|(ward, (parcels, households))| json!({ "ward": ward, "parcels": parcels, "households": households }))
            .collect();
        json!({ "parcels": parcels, "households": households, "by_ward": by_ward })
    }

    /// Sets the rule of a scenario and level (admins).
    pub async fn set_flood_rule(&self, caller: &Caller, rule: FloodRule) -> Result<()> {
        if caller.role != Role::Admin {
            return Err(Error::Forbidden { detail: "only admins set flood thresholds".into() });
        }
        if !(1..=5).contains(&rule.risk_level) {
            return Err(Error::invalid("level", "risk levels are 1 to 5 (QĐ 18/2021/QĐ-TTg)"));
        }
        if !(rule.threshold.is_finite() && rule.watch_hours.is_finite() && rule.watch_hours > 0.0) {
            return Err(Error::invalid("threshold", "threshold is a number and watch_hours a positive number"));
        }
        if !self.index.flood.all().iter().any(|z| z.scenario == rule.scenario) {
            return Err(Error::not_found(format!("no flood zones of scenario '{}' in force", rule.scenario)));
        }
        self.store.set_flood_rule(&rule, Some(caller.user_id)).await.map_err(|e| match e {
            diaba_store::Error::UnknownLink { .. } => {
                Error::invalid("datastream", format!("no datastream {}", rule.datastream))
            }
            other => other.into(),
        })?;
        // The zones take the state their gauge gives now.
        self.evaluate_flood_rules(&[rule.datastream]).await
    }

    /// `GET /v1/flood/live`: zones by state with since when, the exposure of those not dry,
    /// the rules, and the latest alerts.
    pub async fn flood_live(&self) -> Result<Value> {
        let live = self.store.zones_live().await?;
        let zones: BTreeMap<i64, std::sync::Arc<FloodFeature>> =
            self.index.flood.all().into_iter().map(|z| (z.id, z)).collect();
        let mut states: BTreeMap<&str, Vec<Value>> =
            ["flooded", "watch", "dry"].into_iter().map(|s| (s, Vec::new())).collect();
        for zone in &live {
            let Some(feature) = zones.get(&zone.zone_id) else { continue };
            let mut entry = json!({
                "id": zone.zone_id, "name": feature.name, "scenario": feature.scenario, "risk_level": feature.risk_level,
                "since": zone.since, "reading": zone.reading, "rate_m_per_h": zone.rate_m_per_h,
            });
            if zone.state != "dry" {
                entry["exposure"] = self.live_exposure(feature);
            }
            states.entry(zone.state.as_str()).or_default().push(entry);
        }
        Ok(json!({
            "zones": states,
            "rules": self.store.flood_rules(None).await?,
            "alerts": self.store.flood_alerts(50).await?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> FloodRule {
        FloodRule { scenario: "tidal-peak".into(), risk_level: 3, datastream: 1, threshold: 1.9, watch_hours: 3.0 }
    }

    #[test]
    fn a_zone_floods_at_the_threshold_and_is_watched_when_rising_to_it_within_three_hours() {
        assert_eq!(state_of(&rule(), 1.95, 0.0), "flooded");
        assert_eq!(state_of(&rule(), 1.9, -0.2), "flooded");
        assert_eq!(state_of(&rule(), 1.5, 0.2), "watch", "0.4 m to go at 0.2 m/h: 2 h");
        assert_eq!(state_of(&rule(), 1.0, 0.2), "dry", "0.9 m to go at 0.2 m/h: 4.5 h");
        assert_eq!(state_of(&rule(), 1.8, -0.1), "dry", "falling");
        let t0 = Utc::now();
        assert_eq!(rate_of_rise(&[(t0, 1.0), (t0 + Duration::minutes(30), 1.25)]), 0.5);
        assert_eq!(rate_of_rise(&[(t0, 1.0), (t0 + Duration::minutes(2), 1.5)]), 0.0, "too short to call a trend");
    }
}
