//! Flooding now: the rules that tie zones to a gauge, each zone's live state, and the
//! alerts raised when a state changes (announced on `diaba_flood_alert`).

use crate::error::{QueryContext, Result};
use crate::store::Store;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// Channel on which every new alert's id is announced.
pub const ALERT_CHANNEL: &str = "diaba_flood_alert";

/// Which gauge floods the zones of one scenario and risk level, and from what level.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FloodRule {
    /// Scenario of the zones.
    pub scenario: String,
    /// Their risk level.
    pub risk_level: i16,
    /// The datastream of the gauge.
    pub datastream: i64,
    /// Water level (the datastream's unit) at which they flood.
    pub threshold: f64,
    /// Rising to the threshold within this many hours puts them on watch.
    pub watch_hours: f64,
}

/// A zone's live state.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct ZoneLive {
    /// The zone.
    pub zone_id: i64,
    /// dry, watch or flooded.
    pub state: String,
    /// Since when.
    pub since: DateTime<Utc>,
    /// The reading that decided it.
    pub reading: Option<f64>,
    /// Rate of rise then, metres per hour.
    pub rate_m_per_h: Option<f64>,
}

type RuleRow = (String, i16, i64, f64, f64);

impl Store {
    /// Sets the rule of `scenario` and `level` (replacing any); the zones under it start
    /// dry unless they already have a state.
    pub async fn set_flood_rule(&self, rule: &FloodRule, by: Option<i64>) -> Result<()> {
        let mut tx = self.pool().begin().await.query("begin flood rule")?;
        sqlx::query(
            "INSERT INTO flood_rule (scenario, risk_level, datastream_id, threshold, watch_hours, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (scenario, risk_level) DO UPDATE SET \
             datastream_id = excluded.datastream_id, threshold = excluded.threshold, \
             watch_hours = excluded.watch_hours, updated_by = excluded.updated_by, updated_at = now()",
        )
        .bind(&rule.scenario)
        .bind(rule.risk_level)
        .bind(rule.datastream)
        .bind(rule.threshold)
        .bind(rule.watch_hours)
        .bind(by)
        .execute(&mut *tx)
        .await
        .map_err(crate::sensors::unknown_link)?;
        sqlx::query(
            "INSERT INTO flood_zone_live (zone_id, state) SELECT id, 'dry' FROM flood_zone \
             WHERE valid_to IS NULL AND scenario = $1 AND risk_level = $2 ON CONFLICT (zone_id) DO NOTHING",
        )
        .bind(&rule.scenario)
        .bind(rule.risk_level)
        .execute(&mut *tx)
        .await
        .query("zones under the rule")?;
        tx.commit().await.query("commit flood rule")
    }

    /// Every rule, or those reading one of `datastreams`.
    pub async fn flood_rules(&self, datastreams: Option<&[i64]>) -> Result<Vec<FloodRule>> {
        let rows: Vec<RuleRow> = sqlx::query_as(
            "SELECT scenario, risk_level, datastream_id, threshold, watch_hours FROM flood_rule \
             WHERE $1::int8[] IS NULL OR datastream_id = ANY($1) ORDER BY scenario, risk_level",
        )
        .bind(datastreams)
        .fetch_all(self.pool())
        .await
        .query("flood rules")?;
        Ok(rows
            .into_iter()
            .map(|(scenario, risk_level, datastream, threshold, watch_hours)| FloodRule {
                scenario,
                risk_level,
                datastream,
                threshold,
                watch_hours,
            })
            .collect())
    }

    /// A datastream's readings since `since`, oldest first: `(time, result)`.
    pub async fn recent_readings(&self, datastream: i64, since: DateTime<Utc>) -> Result<Vec<(DateTime<Utc>, f64)>> {
        sqlx::query_as(
            "SELECT phenomenon_time, result FROM sta_observation WHERE datastream_id = $1 AND phenomenon_time >= $2 \
             ORDER BY phenomenon_time",
        )
        .bind(datastream)
        .bind(since)
        .fetch_all(self.pool())
        .await
        .query("recent readings")
    }

    /// The latest reading of a datastream at or before now.
    pub async fn latest_reading(&self, datastream: i64) -> Result<Option<(DateTime<Utc>, f64)>> {
        sqlx::query_as(
            "SELECT phenomenon_time, result FROM sta_observation WHERE datastream_id = $1 AND phenomenon_time <= now() \
             ORDER BY phenomenon_time DESC LIMIT 1",
        )
        .bind(datastream)
        .fetch_optional(self.pool())
        .await
        .query("latest reading")
    }

    /// Puts zone `zone_id` in `state` (keeping `since` when unchanged); the state it left
    /// when it changed. Decided under the zone's row lock, so only one writer sees a change.
    pub async fn set_zone_state(&self, zone_id: i64, state: &str, reading: f64, rate: f64) -> Result<Option<String>> {
        let mut tx = self.pool().begin().await.query("begin zone state")?;
        let old: Option<String> = sqlx::query_scalar("SELECT state FROM flood_zone_live WHERE zone_id = $1 FOR UPDATE")
            .bind(zone_id)
            .fetch_optional(&mut *tx)
            .await
            .query("zone state")?;
        let old = old.unwrap_or_else(|| "dry".into());
        sqlx::query(
            "INSERT INTO flood_zone_live (zone_id, state, since, reading, rate_m_per_h) VALUES ($1, $2, now(), $3, $4) \
             ON CONFLICT (zone_id) DO UPDATE SET state = excluded.state, reading = excluded.reading, \
             rate_m_per_h = excluded.rate_m_per_h, \
             since = CASE WHEN flood_zone_live.state = excluded.state THEN flood_zone_live.since ELSE now() END",
        )
        .bind(zone_id)
        .bind(state)
        .bind(reading)
        .bind(rate)
        .execute(&mut *tx)
        .await
        .query("set zone state")?;
        tx.commit().await.query("commit zone state")?;
        Ok((old != state).then_some(old))
    }

    /// Records an alert with the notices it owes (delivered by the outbox) and announces
    /// it; its id.
    pub async fn raise_flood_alert(
        &self,
        zone_id: i64,
        from: &str,
        to: &str,
        body: &Value,
        notices: &[crate::outbox::Notice],
    ) -> Result<i64> {
        let mut tx = self.pool().begin().await.query("begin alert")?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO flood_alert (zone_id, from_state, to_state, body) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(zone_id)
        .bind(from)
        .bind(to)
        .bind(body)
        .fetch_one(&mut *tx)
        .await
        .query("raise alert")?;
        crate::outbox::queue(&mut tx, None, notices).await?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(ALERT_CHANNEL)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .query("announce alert")?;
        tx.commit().await.query("commit alert")?;
        Ok(id)
    }

    /// One alert's body.
    pub async fn flood_alert(&self, id: i64) -> Result<Option<Value>> {
        sqlx::query_scalar("SELECT body FROM flood_alert WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .query("alert")
    }

    /// The latest alerts, newest first.
    pub async fn flood_alerts(&self, limit: i64) -> Result<Vec<Value>> {
        sqlx::query_scalar("SELECT body FROM flood_alert ORDER BY id DESC LIMIT $1")
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .query("alerts")
    }

    /// Every zone's live state.
    pub async fn zones_live(&self) -> Result<Vec<ZoneLive>> {
        sqlx::query_as(
            "SELECT l.zone_id, l.state, l.since, l.reading, l.rate_m_per_h FROM flood_zone_live l \
             JOIN flood_zone z ON z.id = l.zone_id AND z.valid_to IS NULL ORDER BY l.zone_id",
        )
        .fetch_all(self.pool())
        .await
        .query("zones live")
    }

    /// A listener for alerts, on its own connection.
    pub async fn alert_listener(&self) -> Result<sqlx::postgres::PgListener> {
        let mut listener = sqlx::postgres::PgListener::connect_with(self.pool()).await.query("listen alerts")?;
        listener.listen(ALERT_CHANNEL).await.query("listen alerts")?;
        Ok(listener)
    }
}
