//! Parcels as they are, or were on a date: by id, key, national id or box; their versions
//! and relatives.

use super::{LineageEntry, ParcelRecord, as_of, select, select_with_holders};
use crate::error::{QueryContext, Result};
use crate::store::Store;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

impl Store {
    /// A parcel by id, live or as of an instant (also retired parcels' last state).
    pub async fn parcel(&self, id: i64, at: Option<DateTime<Utc>>) -> Result<Option<ParcelRecord>> {
        let sql = select(&format!("p.id = $1 AND {}", as_of(2)));
        let record: Option<ParcelRecord> =
            sqlx::query_as(&sql).bind(id).bind(at).fetch_optional(self.pool()).await.query("parcel by id")?;
        Ok(record.map(|r| r.seen_at(at)))
    }

    /// The last version of a parcel, whatever its state (for retired parcels' pages).
    pub async fn parcel_latest(&self, id: i64) -> Result<Option<ParcelRecord>> {
        let sql = format!("{} ORDER BY v.version DESC LIMIT 1", select("p.id = $1"));
        sqlx::query_as(&sql).bind(id).fetch_optional(self.pool()).await.query("parcel latest")
    }

    /// A parcel by national id.
    pub async fn parcel_by_national_id(
        &self,
        national_id: &str,
        at: Option<DateTime<Utc>>,
    ) -> Result<Option<ParcelRecord>> {
        let sql = select(&format!("p.national_id = $1 AND {}", as_of(2)));
        let record: Option<ParcelRecord> = sqlx::query_as(&sql)
            .bind(national_id)
            .bind(at)
            .fetch_optional(self.pool())
            .await
            .query("parcel by national id")?;
        Ok(record.map(|r| r.seen_at(at)))
    }

    /// A parcel by its registry key. `ward_era` tells which unit the code meant.
    pub async fn parcel_by_key(
        &self,
        ward: &str,
        ward_era: NaiveDate,
        sheet: i32,
        number: i32,
        at: Option<DateTime<Utc>>,
    ) -> Result<Option<ParcelRecord>> {
        let sql = select(&format!(
            "v.ward_code = $1 AND v.ward_valid_from = $2 AND v.sheet = $3 AND v.number = $4 AND {}",
            as_of(5)
        ));
        let record: Option<ParcelRecord> = sqlx::query_as(&sql)
            .bind(ward)
            .bind(ward_era)
            .bind(sheet)
            .bind(number)
            .bind(at)
            .fetch_optional(self.pool())
            .await
            .query("parcel by key")?;
        Ok(record.map(|r| r.seen_at(at)))
    }

    /// Parcels intersecting a lon/lat box, by id after `after`, at most `limit`.
    pub async fn parcels_in_bbox(
        &self,
        bbox: [f64; 4],
        at: Option<DateTime<Utc>>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ParcelRecord>> {
        let sql = format!(
            "{} ORDER BY p.id LIMIT $7",
            select(&format!(
                "v.geom && ST_MakeEnvelope($1, $2, $3, $4, 4326) AND ST_Intersects(v.geom, ST_MakeEnvelope($1, $2, $3, $4, 4326)) \
                 AND p.id > $6 AND {}",
                as_of(5)
            ))
        );
        let records: Vec<ParcelRecord> = sqlx::query_as(&sql)
            .bind(bbox[0])
            .bind(bbox[1])
            .bind(bbox[2])
            .bind(bbox[3])
            .bind(at)
            .bind(after)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .query("parcels in bbox")?;
        Ok(records.into_iter().map(|r| r.seen_at(at)).collect())
    }

    /// Every version of a parcel, oldest first.
    pub async fn parcel_history(&self, id: i64) -> Result<Vec<ParcelRecord>> {
        let sql = format!("{} ORDER BY v.version", select("p.id = $1"));
        sqlx::query_as(&sql).bind(id).fetch_all(self.pool()).await.query("parcel history")
    }

    /// Ancestors and descendants through splits and merges.
    pub async fn parcel_lineage(&self, id: i64) -> Result<Vec<LineageEntry>> {
        sqlx::query_as(include_str!("sql/parcel_lineage.sql")).bind(id).fetch_all(self.pool()).await.query("lineage")
    }

    /// The era (valid_from) of the ward unit `code` valid on `date`.
    pub async fn ward_era(&self, code: &str, date: NaiveDate) -> Result<Option<NaiveDate>> {
        sqlx::query_scalar(
            "SELECT CASE WHEN isfinite(valid_from) THEN valid_from ELSE DATE '0001-01-01' END FROM admin_unit \
             WHERE code = $1 AND level = 'ward' AND valid_from <= $2 AND (valid_to IS NULL OR valid_to > $2)",
        )
        .bind(code)
        .bind(date)
        .fetch_optional(self.pool())
        .await
        .query("ward era")
    }
    /// The live records of parcels just written, with their holders (for the registrar who
    /// wrote them).
    pub(super) async fn records(&self, ids: &[i64]) -> Result<Vec<ParcelRecord>> {
        sqlx::query_as(&format!("{} ORDER BY p.id", select_with_holders("p.id = ANY($1) AND v.valid_to IS NULL")))
            .bind(ids)
            .fetch_all(self.pool())
            .await
            .query("records written")
    }

    /// The holders of parcel versions, each `(parcel id, the version's valid_to)` as it stood
    /// at the end of that version's life; in the order asked.
    pub async fn holders(&self, versions: &[(i64, Option<DateTime<Utc>>)]) -> Result<Vec<Option<serde_json::Value>>> {
        let (ids, ends): (Vec<i64>, Vec<Option<DateTime<Utc>>>) = versions.iter().copied().unzip();
        sqlx::query_scalar(
            "SELECT parcel_holders(u.id, u.until) FROM unnest($1::bigint[], $2::timestamptz[]) WITH ORDINALITY \
             AS u(id, until, n) ORDER BY u.n",
        )
        .bind(&ids)
        .bind(&ends)
        .fetch_all(self.pool())
        .await
        .query("holders")
    }
}

/// The live record of `id`, inside a writing transaction.
pub(super) async fn record_in(conn: &mut PgConnection, id: i64) -> Result<ParcelRecord> {
    sqlx::query_as(&select_with_holders("p.id = $1 AND v.valid_to IS NULL"))
        .bind(id)
        .fetch_one(conn)
        .await
        .query("record in transaction")
}
