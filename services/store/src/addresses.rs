//! Household addresses (DESIGN §5): field submissions with idempotency keys, review,
//! search, progress reports and export. Every write is audited and, when it changes what
//! the public sees (a verification, or a verified address leaving), enters the change feed.

use crate::error::{Error, QueryContext, Result};
use crate::feed::{ChangeOp, append};
use crate::store::Store;
use chrono::{DateTime, Utc};
use diaba_core::AddressStatus;
use diaba_core::Layer;
use diaba_core::auth::Caller;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::PgConnection;
use std::collections::HashMap;

/// An address as stored. `head_name` and `device_id` are personal data: the API strips
/// them for everyone but registrars and the collector who captured it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AddressRecord {
    /// Id.
    pub id: i64,
    /// Vpostcode, display form (`94119 2QMM+262`).
    pub vpostcode: String,
    /// House number.
    pub house_number: Option<String>,
    /// Street.
    pub street: Option<String>,
    /// Hamlet (ấp / khu vực).
    pub hamlet: Option<String>,
    /// Ward (2025 code).
    pub ward_code: String,
    /// Ward name.
    pub ward_name: Option<String>,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// GPS accuracy of the capture, metres.
    pub accuracy_m: Option<f32>,
    /// Parcel the household stands on.
    pub parcel_id: Option<i64>,
    /// submitted, verified or rejected.
    #[sqlx(try_from = "String")]
    pub status: AddressStatus,
    /// Why it was rejected.
    pub status_reason: Option<String>,
    /// Head of household: personal data.
    pub head_name: Option<String>,
    /// Device that captured it: personal data.
    pub device_id: Option<String>,
    /// When it was captured in the field.
    pub captured_at: Option<DateTime<Utc>>,
    /// Collector (user id).
    pub captured_by: Option<i64>,
    /// Community digital team of the collector at capture time.
    pub team: Option<String>,
    /// Version (the ETag for review).
    pub version: i32,
    /// `synthetic-demo…`, `field` or `import:…`.
    pub source: String,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// An address as a public register shows it (and tiles and OGC API): where it is, what it
/// is called and its code. No personal data (head of household, device), no staff identity
/// (collector, team) and no capture details or registrars' notes.
#[derive(Debug, Clone, Serialize)]
pub struct PublicAddress {
    /// Id.
    pub id: i64,
    /// Vpostcode, display form.
    pub vpostcode: String,
    /// House number.
    pub house_number: Option<String>,
    /// Street.
    pub street: Option<String>,
    /// Hamlet (ấp / khu vực).
    pub hamlet: Option<String>,
    /// Ward (2025 code).
    pub ward_code: String,
    /// Ward name.
    pub ward_name: Option<String>,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Parcel the household stands on.
    pub parcel_id: Option<i64>,
    /// verified (only verified addresses are public).
    pub status: AddressStatus,
    /// Version (the ETag).
    pub version: i32,
    /// `synthetic-demo…`, `field` or `import:…`.
    pub source: String,
}

impl AddressRecord {
    /// The fields a public register shows.
    pub fn public(self) -> PublicAddress {
        PublicAddress {
            id: self.id,
            vpostcode: self.vpostcode,
            house_number: self.house_number,
            street: self.street,
            hamlet: self.hamlet,
            ward_code: self.ward_code,
            ward_name: self.ward_name,
            lon: self.lon,
            lat: self.lat,
            parcel_id: self.parcel_id,
            status: self.status,
            version: self.version,
            source: self.source,
        }
    }
}

const RECORD: &str = "SELECT a.id, substr(a.vpostcode, 1, 5) || ' ' || substr(a.vpostcode, 6, 4) || '+' || substr(a.vpostcode, 10) AS vpostcode, \
     a.house_number, a.street, a.hamlet, a.ward_code, \
     (SELECT u.name FROM admin_unit u WHERE u.code = a.ward_code AND u.level = 'ward' AND u.valid_from = a.ward_valid_from) AS ward_name, \
     ST_X(a.location) AS lon, ST_Y(a.location) AS lat, a.accuracy_m, a.parcel_id, a.status, a.status_reason, a.head_name, \
     a.device_id, a.captured_at, a.captured_by, a.team, a.version, a.source, a.updated_at FROM address a";

/// A field submission, after the API placed it (ward, parcel, code).
#[derive(Debug, Clone)]
pub struct NewAddress {
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// GPS accuracy, metres.
    pub accuracy_m: f32,
    /// House number.
    pub house_number: Option<String>,
    /// Street.
    pub street: Option<String>,
    /// Hamlet.
    pub hamlet: Option<String>,
    /// Head of household (personal data).
    pub head_name: Option<String>,
    /// Device id.
    pub device_id: Option<String>,
    /// Capture time.
    pub captured_at: DateTime<Utc>,
    /// Vpostcode, compact form (12 characters).
    pub vpostcode: String,
    /// Current ward.
    pub ward_code: String,
    /// Parcel under the point.
    pub parcel_id: Option<i64>,
}

/// What a submission with an idempotency key came to.
#[derive(Debug)]
pub enum Submitted {
    /// Stored now; `nearby` are existing addresses within 5 m.
    Created {
        /// The record.
        record: AddressRecord,
        /// Existing addresses within 5 m: (id, vpostcode, distance in metres).
        nearby: Vec<(i64, String, f64)>,
    },
    /// The key was used before with the same body: the record it created, as it is now.
    Replayed {
        /// The record.
        record: AddressRecord,
        /// The warnings of the first answer.
        nearby: Vec<(i64, String, f64)>,
    },
    /// The key was used before with another body.
    KeyReused,
}

/// Radius under which an existing address is worth a warning.
pub const DUPLICATE_RADIUS_M: f64 = 5.0;

/// Review outcome.
#[derive(Debug)]
pub enum Reviewed {
    /// Done; the record after.
    Done(Box<AddressRecord>),
    /// No such submission.
    NotFound,
    /// The record is at another version.
    Stale(i32),
    /// The caller may not review in that ward.
    OutOfScope(String),
    /// Already decided (verified or rejected).
    AlreadyDecided(AddressStatus),
}

/// Progress of digitisation.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ProgressRow {
    /// Ward code.
    pub ward_code: String,
    /// Team (None: no team recorded).
    pub team: Option<String>,
    /// Day (Vietnam time), or None for the total.
    pub day: Option<chrono::NaiveDate>,
    /// All households captured.
    pub digitised: i64,
    /// Verified.
    pub verified: i64,
    /// Waiting for review.
    pub pending: i64,
    /// Rejected.
    pub rejected: i64,
}

impl Store {
    /// Current ward code → its name and the names of the units it was formed from (old
    /// wards and district), for search: "An Hòa" still finds addresses now in Cái Khế.
    pub async fn ward_search_names(&self) -> Result<HashMap<String, Vec<String>>> {
        let rows: Vec<(String, String, Vec<String>)> = sqlx::query_as(
            "SELECT w.code, w.name, COALESCE(array_agg(DISTINCT p.name) FILTER (WHERE p.name IS NOT NULL), '{}') \
             FROM admin_unit w LEFT JOIN unit_succession s ON s.successor_id = w.id \
             LEFT JOIN admin_unit p ON p.id = s.predecessor_id \
             WHERE w.level = 'ward' AND w.valid_to IS NULL GROUP BY w.code, w.name",
        )
        .fetch_all(self.pool())
        .await
        .query("ward search names")?;
        Ok(rows.into_iter().map(|(code, name, old)| (code, std::iter::once(name).chain(old).collect())).collect())
    }

    /// Stores a field submission under `(caller, key)`: once per key, whatever the retries
    /// and their order. Two requests racing on one key serialise on its row.
    pub async fn submit_address(
        &self,
        caller: &Caller,
        key: &str,
        request_hash: &[u8],
        new: &NewAddress,
        search_text: &str,
    ) -> Result<Submitted> {
        let mut tx = self.pool().begin().await.query("begin submission")?;
        let claimed: Option<i32> = sqlx::query_scalar(
            "INSERT INTO idempotency_key (user_id, key, request_hash, status, response) VALUES ($1, $2, $3, 0, '{}') \
             ON CONFLICT DO NOTHING RETURNING 1",
        )
        .bind(caller.user_id)
        .bind(key)
        .bind(request_hash)
        .fetch_optional(&mut *tx)
        .await
        .query("claim idempotency key")?;
        if claimed.is_none() {
            let (hash, response): (Vec<u8>, Value) =
                sqlx::query_as("SELECT request_hash, response FROM idempotency_key WHERE user_id = $1 AND key = $2")
                    .bind(caller.user_id)
                    .bind(key)
                    .fetch_one(&mut *tx)
                    .await
                    .query("read idempotency key")?;
            tx.rollback().await.query("rollback replay")?;
            if hash != request_hash {
                return Ok(Submitted::KeyReused);
            }
            let id = response["id"].as_i64().unwrap_or_default();
            let record = self.address(id).await?.expect("a replayed key names a stored address");
            return Ok(Submitted::Replayed { record, nearby: nearby_of(&response) });
        }
        let nearby: Vec<(i64, String, f64)> = sqlx::query_as(
            "SELECT id, substr(vpostcode, 1, 5) || ' ' || substr(vpostcode, 6, 4) || '+' || substr(vpostcode, 10), \
               ST_Distance(location::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography) d \
             FROM address WHERE status <> 'rejected' \
               AND location && ST_Expand(ST_SetSRID(ST_MakePoint($1, $2), 4326), $4) \
               AND ST_DWithin(location::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, $3) ORDER BY d, id",
        )
        .bind(new.lon)
        .bind(new.lat)
        .bind(DUPLICATE_RADIUS_M)
        // A box the spatial index can answer first (twice the radius in degrees of
        // longitude here); without it every submission measured every address on the sphere.
        .bind(2.0 * DUPLICATE_RADIUS_M / (111_320.0 * new.lat.to_radians().cos()))
        .fetch_all(&mut *tx)
        .await
        .query("addresses nearby")?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO address (vpostcode, house_number, street, hamlet, ward_code, ward_valid_from, location, accuracy_m, \
               parcel_id, status, head_name, device_id, captured_at, captured_by, team, source, search_text) \
             VALUES ($1, $2, $3, $4, $5, (SELECT valid_from FROM admin_unit WHERE code = $5 AND level = 'ward' AND valid_to IS NULL), \
               ST_SetSRID(ST_MakePoint($6, $7), 4326), $8, $9, 'submitted', $10, $11, $12, $13, \
               (SELECT team FROM app_user WHERE id = $13), 'field', $14) RETURNING id",
        )
        .bind(&new.vpostcode)
        .bind(&new.house_number)
        .bind(&new.street)
        .bind(&new.hamlet)
        .bind(&new.ward_code)
        .bind(new.lon)
        .bind(new.lat)
        .bind(new.accuracy_m)
        .bind(new.parcel_id)
        .bind(&new.head_name)
        .bind(&new.device_id)
        .bind(new.captured_at)
        .bind(caller.user_id)
        .bind(search_text)
        .fetch_one(&mut *tx)
        .await
        .query("insert address")?;
        let record = record_in(&mut tx, id).await?;
        history(&mut tx, &record, caller).await?;
        audit(&mut tx, caller, "address.submit", id, None, Some(&record)).await?;
        let response =
            json!({ "id": id, "nearby": nearby.iter().map(|(id, code, d)| json!([id, code, d])).collect::<Vec<_>>() });
        sqlx::query("UPDATE idempotency_key SET status = 201, response = $3 WHERE user_id = $1 AND key = $2")
            .bind(caller.user_id)
            .bind(key)
            .bind(&response)
            .execute(&mut *tx)
            .await
            .query("record idempotent answer")?;
        tx.commit().await.query("commit submission")?;
        Ok(Submitted::Created { record, nearby })
    }

    /// One address, any status.
    pub async fn address(&self, id: i64) -> Result<Option<AddressRecord>> {
        sqlx::query_as(&format!("{RECORD} WHERE a.id = $1")).bind(id).fetch_optional(self.pool()).await.query("address")
    }

    /// Submissions of `ward` with `status`, oldest capture first, keyset-paged by id.
    pub async fn address_submissions(
        &self,
        ward: &str,
        status: AddressStatus,
        after: i64,
        limit: i64,
    ) -> Result<Vec<AddressRecord>> {
        sqlx::query_as(&format!(
            "{RECORD} WHERE a.ward_code = $1 AND a.status = $2 AND a.id > $3 ORDER BY a.id LIMIT $4"
        ))
        .bind(ward)
        .bind(status.as_str())
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .query("address submissions")
    }

    /// Verifies (`reason` None) or rejects a submission at version `expected`.
    pub async fn review_address(
        &self,
        id: i64,
        expected: i32,
        verify: bool,
        reason: Option<&str>,
        caller: &Caller,
    ) -> Result<Reviewed> {
        let mut tx = self.pool().begin().await.query("begin review")?;
        let current: Option<(String, String, i32)> =
            sqlx::query_as("SELECT ward_code, status, version FROM address WHERE id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .query("lock address")?;
        let Some((ward, status, version)) = current else { return Ok(Reviewed::NotFound) };
        if !caller.covers_ward(&ward) {
            return Ok(Reviewed::OutOfScope(ward));
        }
        if version != expected {
            return Ok(Reviewed::Stale(version));
        }
        let status = AddressStatus::try_from(status).map_err(|detail| Error::Geometry { detail })?;
        if status != AddressStatus::Submitted {
            return Ok(Reviewed::AlreadyDecided(status));
        }
        let before = record_in(&mut tx, id).await?;
        sqlx::query(
            "UPDATE address SET status = $2, status_reason = $3, reviewed_by = $4, reviewed_at = now(), \
               version = version + 1, updated_at = now() WHERE id = $1",
        )
        .bind(id)
        .bind(if verify { AddressStatus::Verified } else { AddressStatus::Rejected }.as_str())
        .bind(reason)
        .bind(caller.user_id)
        .execute(&mut *tx)
        .await
        .query("review address")?;
        let after = record_in(&mut tx, id).await?;
        history(&mut tx, &after, caller).await?;
        let action = if verify { "address.verify" } else { "address.reject" };
        audit(&mut tx, caller, action, id, Some(&before), Some(&after)).await?;
        if verify {
            append(&mut tx, Layer::Addresses, Some(id), ChangeOp::Upsert).await?;
        }
        tx.commit().await.query("commit review")?;
        Ok(Reviewed::Done(Box::new(after)))
    }

    /// Verified addresses whose point lies in `[west, south, east, north]`.
    pub async fn addresses_in_box(&self, bbox: [f64; 4]) -> Result<Vec<AddressRecord>> {
        sqlx::query_as(&format!(
            "{RECORD} WHERE a.status = 'verified' AND a.location && ST_MakeEnvelope($1, $2, $3, $4, 4326) ORDER BY a.id"
        ))
        .bind(bbox[0])
        .bind(bbox[1])
        .bind(bbox[2])
        .bind(bbox[3])
        .fetch_all(self.pool())
        .await
        .query("addresses in box")
    }

    /// Households digitised, verified, pending and rejected, per ward and team, in total
    /// (`by_day` false) or per capture day in Vietnam.
    pub async fn address_progress(&self, ward: Option<&str>, by_day: bool) -> Result<Vec<ProgressRow>> {
        let day = if by_day { "(a.captured_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date" } else { "NULL::date" };
        sqlx::query_as(&format!(
            "SELECT a.ward_code, a.team, {day} AS day, count(*) AS digitised, \
               count(*) FILTER (WHERE a.status = 'verified') AS verified, \
               count(*) FILTER (WHERE a.status = 'submitted') AS pending, \
               count(*) FILTER (WHERE a.status = 'rejected') AS rejected \
             FROM address a WHERE $1::text IS NULL OR a.ward_code = $1 \
             GROUP BY 1, 2, 3 ORDER BY 1, 2 NULLS LAST, 3"
        ))
        .bind(ward)
        .fetch_all(self.pool())
        .await
        .query("address progress")
    }

    /// Verified addresses of a ward (all wards with `None`), by id, public fields.
    pub async fn verified_addresses(&self, ward: Option<&str>) -> Result<Vec<PublicAddress>> {
        let rows: Vec<AddressRecord> = sqlx::query_as(&format!(
            "{RECORD} WHERE a.status = 'verified' AND ($1::text IS NULL OR a.ward_code = $1) ORDER BY a.ward_code, a.id"
        ))
        .bind(ward)
        .fetch_all(self.pool())
        .await
        .query("verified addresses")?;
        Ok(rows.into_iter().map(AddressRecord::public).collect())
    }
}

fn nearby_of(response: &Value) -> Vec<(i64, String, f64)> {
    response["nearby"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| Some((n[0].as_i64()?, n[1].as_str()?.to_owned(), n[2].as_f64()?)))
        .collect()
}

async fn record_in(conn: &mut PgConnection, id: i64) -> Result<AddressRecord> {
    sqlx::query_as(&format!("{RECORD} WHERE a.id = $1")).bind(id).fetch_one(conn).await.query("address record")
}

async fn history(conn: &mut PgConnection, record: &AddressRecord, caller: &Caller) -> Result<()> {
    sqlx::query(
        "INSERT INTO address_history (address_id, version, actor_id, status, reason, record) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(record.id)
    .bind(record.version)
    .bind(caller.user_id)
    .bind(record.status.as_str())
    .bind(&record.status_reason)
    .bind(serde_json::to_value(record).expect("records serialise"))
    .execute(conn)
    .await
    .query("address history")?;
    Ok(())
}

async fn audit(
    conn: &mut PgConnection,
    caller: &Caller,
    action: &str,
    id: i64,
    before: Option<&AddressRecord>,
    after: Option<&AddressRecord>,
) -> Result<()> {
    let entry = crate::audit::Entry {
        actor: Some(caller),
        action,
        entity: "address",
        id: Some(id),
        before: before.map(crate::audit::snapshot),
        after: after.map(crate::audit::snapshot),
    };
    crate::audit::record(conn, entry).await
}
