//! Parcels: reads at any date, and writes that never destroy a version.
//!
//! Every write runs in one transaction that also appends to the change feed and the audit
//! log. Concurrency is optimistic: the caller names the version it edited (ETag), the
//! parcel row is locked, and a different live version means 412, so no update is lost.

use crate::error::{QueryContext, Result};
use crate::feed::{ChangeOp, append};
use crate::seed::ewkt;
use crate::store::Store;
use chrono::{DateTime, NaiveDate, Utc};
use diaba_core::Layer;
use diaba_core::NationalParcelId;
use diaba_core::auth::Caller;
use diaba_core::parcel::{LandUse, ParcelGeometry};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, Postgres, Transaction};

pub use diaba_core::parcel::OVERLAP_TOLERANCE_M2;
/// How far the parts of a split may differ from their parent, in m².
pub const SPLIT_TOLERANCE_M2: f64 = 0.5;

/// One version of a parcel as stored. `owners` is personal data: callers strip it for
/// everyone but registrars.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ParcelRecord {
    /// Stable numeric id (also the vector-tile feature id).
    pub id: i64,
    /// National parcel id (12-character GeoHash).
    pub national_id: String,
    /// Version number (the ETag).
    pub version: i32,
    /// Ward of the survey.
    pub ward_code: String,
    /// Era of that ward code (codes were reused in 2025).
    pub ward_valid_from: NaiveDate,
    /// Map sheet.
    pub sheet: i32,
    /// Parcel number.
    pub number: i32,
    /// GeoJSON geometry, WGS84.
    pub geometry: Value,
    /// Legal area, m², EPSG:5897.
    pub legal_area_m2: f64,
    /// Land uses.
    pub land_uses: Value,
    /// Certificate serial, verbatim.
    pub certificate_serial: Option<String>,
    /// Registry number, verbatim.
    pub registry_number: Option<String>,
    /// Address text.
    pub address_text: Option<String>,
    /// Owners (personal data): answers carry them only through a view that decided who
    /// may see them (absent here once taken).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owners: Option<Value>,
    /// Where the record comes from ("synthetic-demo…" for demo data).
    pub source: String,
    /// When this version took effect.
    pub valid_from: DateTime<Utc>,
    /// When it was superseded; `None` for the live version.
    pub valid_to: Option<DateTime<Utc>>,
    /// Who made it.
    pub author: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// When the parcel stopped existing (split, merged or retired), as seen at the
    /// instant asked about: a question about a date before the split gets `None`.
    pub retired_at: Option<DateTime<Utc>>,
}

impl ParcelRecord {
    /// Forgets a retirement that had not happened yet at `at`.
    fn seen_at(mut self, at: Option<DateTime<Utc>>) -> Self {
        if let (Some(at), Some(retired)) = (at, self.retired_at)
            && retired > at
        {
            self.retired_at = None;
        }
        self
    }
}

/// A parcel's relative through splits and merges.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LineageEntry {
    /// The relative.
    pub id: i64,
    /// Its national id.
    pub national_id: String,
    /// "ancestor" or "descendant".
    pub relation: String,
    /// Generations away (1 = parent or child).
    pub depth: i32,
    /// "split" or "merge".
    pub event: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A new parcel, validated.
#[derive(Debug, Clone)]
pub struct NewParcel {
    /// Current ward code.
    pub ward: String,
    /// Map sheet.
    pub sheet: i32,
    /// Parcel number.
    pub number: i32,
    /// Outline in both systems.
    pub geometry: ParcelGeometry,
    /// Land uses.
    pub land_uses: Vec<LandUse>,
    /// Certificate serial.
    pub certificate_serial: Option<String>,
    /// Registry number.
    pub registry_number: Option<String>,
    /// Address.
    pub address_text: Option<String>,
    /// Owners.
    pub owners: Option<Value>,
}

/// Changes to a parcel; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct ParcelPatch {
    /// New outline.
    pub geometry: Option<ParcelGeometry>,
    /// New land uses (replace all).
    pub land_uses: Option<Vec<LandUse>>,
    /// New certificate serial.
    pub certificate_serial: Option<Option<String>>,
    /// New registry number.
    pub registry_number: Option<Option<String>>,
    /// New address.
    pub address_text: Option<Option<String>>,
    /// New owners.
    pub owners: Option<Option<Value>>,
}

/// One part of a split.
#[derive(Debug, Clone)]
pub struct SplitPart {
    /// Outline.
    pub geometry: ParcelGeometry,
    /// Land uses; inherited from the parent (with the part's area) when empty.
    pub land_uses: Vec<LandUse>,
}

/// Why a write was refused: each maps to a 4xx with this text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WriteRefused {
    /// No live parcel with this id.
    #[error("parcel {id} does not exist or is retired")]
    NotFound {
        /// parcel id
        id: i64,
    },
    /// The caller edited an older version.
    #[error("parcel {id} is at version {current}, not {expected}: reload it and apply your change again")]
    Stale {
        /// parcel id
        id: i64,
        /// the version the caller named
        expected: i32,
        /// the live version
        current: i32,
    },
    /// Outside the caller's wards.
    #[error("ward {ward} is not among your wards")]
    OutOfScope {
        /// ward code
        ward: String,
    },
    /// A rule about the data is broken (422).
    #[error("{detail}")]
    Invalid {
        /// field at fault
        field: &'static str,
        /// explanation
        detail: String,
        /// parcels involved (e.g. overlapped ones)
        parcels: Vec<i64>,
    },
    /// The key is taken by a live parcel (409).
    #[error("ward {ward} sheet {sheet} number {number} is already a live parcel ({id})")]
    KeyTaken {
        /// ward
        ward: String,
        /// sheet
        sheet: i32,
        /// number
        number: i32,
        /// the parcel holding it
        id: i64,
    },
}

/// The outcome of a write.
pub type WriteResult<T> = std::result::Result<T, WriteRefused>;

fn select(where_clause: &str) -> String {
    format!("{}\nWHERE {where_clause}", include_str!("sql/parcel_select.sql"))
}

/// `$n` as of an instant, or the live version when it is NULL.
fn as_of(n: usize) -> String {
    format!(
        "((${n}::timestamptz IS NULL AND v.valid_to IS NULL) OR \
          (v.valid_from < ${n}::timestamptz AND (v.valid_to IS NULL OR v.valid_to >= ${n}::timestamptz)))"
    )
}

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

    /// Registers a new parcel.
    pub async fn create_parcel(
        &self,
        new: NewParcel,
        actor: &Caller,
        reason: &str,
    ) -> Result<WriteResult<ParcelRecord>> {
        let mut tx = self.pool().begin().await.query("begin")?;
        if let Err(refused) = check_placement(&mut tx, &new.ward, &new.geometry, &[]).await? {
            return Ok(Err(refused));
        }
        if let Some(id) = live_key_holder(&mut tx, &new.ward, new.sheet, new.number).await? {
            return Ok(Err(WriteRefused::KeyTaken { ward: new.ward, sheet: new.sheet, number: new.number, id }));
        }
        let national_id = issue_national_id(&mut tx, &new.geometry).await?;
        let id: i64 = sqlx::query_scalar("INSERT INTO parcel (national_id) VALUES ($1) RETURNING id")
            .bind(&national_id)
            .fetch_one(&mut *tx)
            .await
            .query("insert parcel")?;
        let version = Version {
            parcel_id: id,
            version: 1,
            ward: new.ward,
            sheet: new.sheet,
            number: new.number,
            geometry: new.geometry,
            land_uses: new.land_uses,
            certificate_serial: new.certificate_serial,
            registry_number: new.registry_number,
            address_text: new.address_text,
            owners: new.owners,
        };
        insert_version(&mut tx, &version, actor, reason, "api").await?;
        let after = record_in(&mut tx, id).await?;
        audit(&mut tx, actor, "parcel.create", id, None, Some(json(&after))).await?;
        append(&mut tx, Layer::Parcels, Some(id), ChangeOp::Upsert).await?;
        tx.commit().await.query("commit create")?;
        Ok(Ok(after))
    }

    /// Applies a patch to the live version `expected` of parcel `id`, making a new version.
    pub async fn update_parcel(
        &self,
        id: i64,
        expected: i32,
        patch: ParcelPatch,
        actor: &Caller,
        reason: &str,
    ) -> Result<WriteResult<ParcelRecord>> {
        let mut tx = self.pool().begin().await.query("begin")?;
        let current = match lock_live(&mut tx, id, expected, actor).await? {
            Ok(current) => current,
            Err(refused) => return Ok(Err(refused)),
        };
        if let Some(geometry) = &patch.geometry
            && let Err(refused) = check_placement(&mut tx, &current.ward_code, geometry, &[id]).await?
        {
            return Ok(Err(refused));
        }
        let geometry = match patch.geometry {
            Some(g) => g,
            None => current_geometry(&mut tx, id).await?,
        };
        let land_uses = match patch.land_uses {
            Some(uses) => uses,
            None => serde_json::from_value(current.land_uses.clone()).unwrap_or_default(),
        };
        close_live(&mut tx, id).await?;
        let version = Version {
            parcel_id: id,
            version: current.version + 1,
            ward: current.ward_code.clone(),
            sheet: current.sheet,
            number: current.number,
            geometry,
            land_uses,
            certificate_serial: patch.certificate_serial.unwrap_or(current.certificate_serial.clone()),
            registry_number: patch.registry_number.unwrap_or(current.registry_number.clone()),
            address_text: patch.address_text.unwrap_or(current.address_text.clone()),
            owners: patch.owners.unwrap_or(current.owners.clone()),
        };
        insert_version(&mut tx, &version, actor, reason, &current.source).await?;
        let after = record_in(&mut tx, id).await?;
        audit(&mut tx, actor, "parcel.update", id, Some(json(&current)), Some(json(&after))).await?;
        append(&mut tx, Layer::Parcels, Some(id), ChangeOp::Upsert).await?;
        tx.commit().await.query("commit update")?;
        Ok(Ok(after))
    }

    /// Splits live parcel `id` into parts that cover it exactly (within tolerance).
    pub async fn split_parcel(
        &self,
        id: i64,
        expected: i32,
        parts: Vec<SplitPart>,
        actor: &Caller,
        reason: &str,
    ) -> Result<WriteResult<Vec<ParcelRecord>>> {
        let mut tx = self.pool().begin().await.query("begin")?;
        let parent = match lock_live(&mut tx, id, expected, actor).await? {
            Ok(parent) => parent,
            Err(refused) => return Ok(Err(refused)),
        };
        if parts.len() < 2 {
            return Ok(Err(invalid("parts", "a split needs at least two parts".into(), vec![])));
        }
        let geometries: Vec<String> = parts.iter().map(|p| ewkt(5897, p.geometry.vn2000.geometry())).collect();
        let (outside, overlap, difference): (f64, f64, f64) = sqlx::query_as(include_str!("sql/split_check.sql"))
            .bind(id)
            .bind(&geometries)
            .fetch_one(&mut *tx)
            .await
            .query("split check")?;
        if outside > SPLIT_TOLERANCE_M2 || overlap > SPLIT_TOLERANCE_M2 || difference > SPLIT_TOLERANCE_M2 {
            return Ok(Err(invalid(
                "parts",
                format!(
                    "the parts must cover parcel {id} exactly (tolerance {SPLIT_TOLERANCE_M2} m²): \
                     {outside:.2} m² lie outside it, {overlap:.2} m² overlap each other, \
                     {difference:.2} m² of it is not covered"
                ),
                vec![id],
            )));
        }
        let parent_uses: Vec<LandUse> = serde_json::from_value(parent.land_uses.clone()).unwrap_or_default();
        retire(&mut tx, id, "split").await?;
        let event = event_id(&mut tx).await?;
        let mut children = Vec::new();
        let mut number = next_number(&mut tx, &parent).await?;
        for part in parts {
            let land_uses =
                if part.land_uses.is_empty() { inherit(&parent_uses, part.geometry.area_m2()) } else { part.land_uses };
            let child = new_child(&mut tx, &parent, number, part.geometry, land_uses, actor, reason).await?;
            link(&mut tx, id, child, "split", &event).await?;
            children.push(child);
            number += 1;
        }
        finish_lineage_write(&mut tx, actor, "parcel.split", &[id], &children, &parent).await?;
        tx.commit().await.query("commit split")?;
        self.records(&children).await.map(Ok)
    }

    /// Merges adjacent live parcels of one ward into a new parcel.
    pub async fn merge_parcels(
        &self,
        parents: &[(i64, i32)],
        actor: &Caller,
        reason: &str,
    ) -> Result<WriteResult<ParcelRecord>> {
        if parents.len() < 2 {
            return Ok(Err(invalid("parcels", "a merge needs at least two parcels".into(), vec![])));
        }
        let mut tx = self.pool().begin().await.query("begin")?;
        let mut locked = Vec::new();
        let mut sorted = parents.to_vec();
        sorted.sort(); // a fixed lock order: two merges of the same parcels cannot deadlock
        for (id, expected) in &sorted {
            match lock_live(&mut tx, *id, *expected, actor).await? {
                Ok(record) => locked.push(record),
                Err(refused) => return Ok(Err(refused)),
            }
        }
        let first = locked[0].clone();
        let ids: Vec<i64> = locked.iter().map(|r| r.id).collect();
        if locked.iter().any(|r| r.ward_code != first.ward_code || r.ward_valid_from != first.ward_valid_from) {
            return Ok(Err(invalid("parcels", "only parcels of the same ward can be merged".into(), ids)));
        }
        let (parts, union): (i32, Value) = sqlx::query_as(
            "SELECT ST_NumGeometries(u), ST_AsGeoJSON(u, 6)::jsonb FROM \
             (SELECT ST_Union(geom_vn2000) u FROM parcel_version WHERE parcel_id = ANY($1) AND valid_to IS NULL) s",
        )
        .bind(&ids)
        .fetch_one(&mut *tx)
        .await
        .query("merge union")?;
        if parts != 1 {
            return Ok(Err(invalid(
                "parcels",
                format!("parcels {ids:?} are not adjacent: together they form {parts} separate pieces"),
                ids,
            )));
        }
        // PROJ objects are neither Send nor Sync: made and dropped here, never held across an await.
        let metres = diaba_core::crs::Vn2000::can_tho().map_err(|e| e.to_string()).and_then(|vn2000| {
            diaba_core::parcel::validate_geometry(
                &union,
                diaba_core::parcel::SubmittedCrs::Vn2000(diaba_core::crs::Tm3Zone::CAN_THO),
                usize::MAX,
                &vn2000,
            )
            .map_err(|e| e.detail)
        });
        let geometry = match metres {
            Ok(g) => g,
            Err(detail) => {
                return Ok(Err(invalid("parcels", format!("the merged outline is not valid: {detail}"), ids)));
            }
        };
        let mut land_uses: Vec<LandUse> = Vec::new();
        for record in &locked {
            for used in serde_json::from_value::<Vec<LandUse>>(record.land_uses.clone()).unwrap_or_default() {
                match land_uses.iter_mut().find(|u| u.code == used.code) {
                    Some(existing) => {
                        existing.area_m2 = Some(existing.area_m2.unwrap_or(0.0) + used.area_m2.unwrap_or(0.0))
                    }
                    None => land_uses.push(used),
                }
            }
        }
        for id in &ids {
            retire(&mut tx, *id, "merge").await?;
        }
        let event = event_id(&mut tx).await?;
        let number = next_number(&mut tx, &first).await?;
        let child = new_child(&mut tx, &first, number, geometry, land_uses, actor, reason).await?;
        for id in &ids {
            link(&mut tx, *id, child, "merge", &event).await?;
        }
        finish_lineage_write(&mut tx, actor, "parcel.merge", &ids, &[child], &first).await?;
        tx.commit().await.query("commit merge")?;
        Ok(self.records(&[child]).await?.pop().ok_or(WriteRefused::NotFound { id: child }))
    }

    async fn records(&self, ids: &[i64]) -> Result<Vec<ParcelRecord>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(record) = self.parcel(*id, None).await? {
                out.push(record);
            }
        }
        Ok(out)
    }
}

/// One id for all lineage rows of a split or merge (PostgreSQL's gen_random_uuid).
async fn event_id(conn: &mut PgConnection) -> Result<String> {
    sqlx::query_scalar("SELECT gen_random_uuid()::text").fetch_one(conn).await.query("event id")
}

struct Version {
    parcel_id: i64,
    version: i32,
    ward: String,
    sheet: i32,
    number: i32,
    geometry: ParcelGeometry,
    land_uses: Vec<LandUse>,
    certificate_serial: Option<String>,
    registry_number: Option<String>,
    address_text: Option<String>,
    owners: Option<Value>,
}

fn invalid(field: &'static str, detail: String, parcels: Vec<i64>) -> WriteRefused {
    WriteRefused::Invalid { field, detail, parcels }
}

/// Inside the service area, inside its ward, and not overlapping live parcels.
async fn check_placement(
    tx: &mut Transaction<'_, Postgres>,
    ward: &str,
    geometry: &ParcelGeometry,
    exclude: &[i64],
) -> Result<WriteResult<()>> {
    let (covered_ratio, in_ward, ward_at_point): (Option<f64>, bool, Option<String>) =
        sqlx::query_as(include_str!("sql/placement_check.sql"))
            .bind(ewkt(4326, &geometry.lonlat))
            .bind(ward)
            .fetch_one(&mut **tx)
            .await
            .query("placement check")?;
    if covered_ratio.unwrap_or(0.0) < 0.999 {
        return Ok(Err(invalid(
            "geometry",
            format!(
                "the parcel lies {:.1}% outside the wards diaba covers (Ninh Kiều, Bình Thủy, Cái Răng, Phong Điền)",
                100.0 * (1.0 - covered_ratio.unwrap_or(0.0))
            ),
            vec![],
        )));
    }
    if !in_ward {
        return Ok(Err(invalid(
            "ward",
            format!("the parcel lies in ward {}, not {ward}", ward_at_point.unwrap_or_else(|| "another ward".into())),
            vec![],
        )));
    }
    let overlaps: Vec<(i64, f64)> = sqlx::query_as(include_str!("sql/overlap_check.sql"))
        .bind(ewkt(4326, &geometry.lonlat))
        .bind(ewkt(5897, geometry.vn2000.geometry()))
        .bind(exclude)
        .bind(OVERLAP_TOLERANCE_M2)
        .fetch_all(&mut **tx)
        .await
        .query("overlap check")?;
    if !overlaps.is_empty() {
        let list: Vec<String> = overlaps.iter().map(|(id, area)| format!("{id} ({area:.2} m²)")).collect();
        return Ok(Err(invalid(
            "geometry",
            format!("the parcel overlaps live parcels by more than {OVERLAP_TOLERANCE_M2} m²: {}", list.join(", ")),
            overlaps.iter().map(|(id, _)| *id).collect(),
        )));
    }
    Ok(Ok(()))
}

async fn live_key_holder(conn: &mut PgConnection, ward: &str, sheet: i32, number: i32) -> Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT parcel_id FROM parcel_version WHERE ward_code = $1 AND ward_valid_from = DATE '2025-07-01' \
         AND sheet = $2 AND number = $3 AND valid_to IS NULL",
    )
    .bind(ward)
    .bind(sheet)
    .bind(number)
    .fetch_optional(conn)
    .await
    .query("key holder")
}

/// The national id of a new parcel; never one issued before (DESIGN §4). When the pole's
/// cell was already issued (a child can share its parent's pole), the next interior
/// candidate is used.
async fn issue_national_id(conn: &mut PgConnection, geometry: &ParcelGeometry) -> Result<String> {
    for candidate in NationalParcelId::candidates(&geometry.lonlat) {
        let taken: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM parcel WHERE national_id = $1)")
            .bind(candidate.as_str())
            .fetch_one(&mut *conn)
            .await
            .query("national id taken")?;
        if !taken {
            return Ok(candidate.as_str().to_owned());
        }
    }
    Err(crate::error::Error::NoNationalId)
}

async fn insert_version(
    tx: &mut Transaction<'_, Postgres>,
    v: &Version,
    actor: &Caller,
    reason: &str,
    source: &str,
) -> Result<()> {
    let version_id: i64 = sqlx::query_scalar(include_str!("sql/insert_version.sql"))
        .bind(v.parcel_id)
        .bind(v.version)
        .bind(&v.ward)
        .bind(v.sheet)
        .bind(v.number)
        .bind(ewkt(4326, &v.geometry.lonlat))
        .bind(ewkt(5897, v.geometry.vn2000.geometry()))
        .bind(v.geometry.area_m2())
        .bind(&v.certificate_serial)
        .bind(&v.registry_number)
        .bind(&v.address_text)
        .bind(&v.owners)
        .bind(source)
        .bind(actor.user_id)
        .bind(reason)
        .fetch_one(&mut **tx)
        .await
        .query("insert version")?;
    for use_ in &v.land_uses {
        sqlx::query(
            "INSERT INTO parcel_land_use (parcel_version_id, code, code_list, area_m2, term) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(version_id)
        .bind(&use_.code)
        .bind(&use_.code_list)
        .bind(use_.area_m2)
        .bind(&use_.term)
        .execute(&mut **tx)
        .await
        .query("insert land use")?;
    }
    Ok(())
}

/// Locks parcel `id` and returns its live version if it is `expected` and in scope.
async fn lock_live(
    tx: &mut Transaction<'_, Postgres>,
    id: i64,
    expected: i32,
    actor: &Caller,
) -> Result<WriteResult<ParcelRecord>> {
    let locked: Option<i64> =
        sqlx::query_scalar("SELECT id FROM parcel WHERE id = $1 AND retired_at IS NULL FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await
            .query("lock parcel")?;
    if locked.is_none() {
        return Ok(Err(WriteRefused::NotFound { id }));
    }
    let current = record_in(tx, id).await?;
    if !actor.covers_ward(&current.ward_code) {
        return Ok(Err(WriteRefused::OutOfScope { ward: current.ward_code }));
    }
    if current.version != expected {
        return Ok(Err(WriteRefused::Stale { id, expected, current: current.version }));
    }
    Ok(Ok(current))
}

async fn record_in(conn: &mut PgConnection, id: i64) -> Result<ParcelRecord> {
    sqlx::query_as(&select("p.id = $1 AND v.valid_to IS NULL"))
        .bind(id)
        .fetch_one(conn)
        .await
        .query("record in transaction")
}

async fn current_geometry(conn: &mut PgConnection, id: i64) -> Result<ParcelGeometry> {
    let (lonlat, metres): (Value, Value) = sqlx::query_as(
        "SELECT ST_AsGeoJSON(geom, 15)::jsonb, ST_AsGeoJSON(geom_vn2000, 9)::jsonb FROM parcel_version \
         WHERE parcel_id = $1 AND valid_to IS NULL",
    )
    .bind(id)
    .fetch_one(conn)
    .await
    .query("current geometry")?;
    let parse = |v: Value| -> geo::MultiPolygon<f64> {
        serde_json::from_value::<geojson::Geometry>(v)
            .ok()
            .and_then(|g| geo::Geometry::<f64>::try_from(g).ok())
            .and_then(|g| geo::MultiPolygon::<f64>::try_from(g).ok())
            .unwrap_or(geo::MultiPolygon(vec![]))
    };
    Ok(ParcelGeometry {
        lonlat: parse(lonlat),
        vn2000: diaba_core::crs::Vn2000Polygon::from_metres(parse(metres)),
        reoriented: false,
    })
}

async fn close_live(conn: &mut PgConnection, id: i64) -> Result<()> {
    sqlx::query("UPDATE parcel_version SET valid_to = now() WHERE parcel_id = $1 AND valid_to IS NULL")
        .bind(id)
        .execute(conn)
        .await
        .query("close version")?;
    Ok(())
}

async fn retire(conn: &mut PgConnection, id: i64, why: &str) -> Result<()> {
    close_live(&mut *conn, id).await?;
    sqlx::query("UPDATE parcel SET retired_at = now(), retired_reason = $2 WHERE id = $1")
        .bind(id)
        .bind(why)
        .execute(conn)
        .await
        .query("retire parcel")?;
    Ok(())
}

/// The next parcel number on the parent's sheet; numbers are never reused.
async fn next_number(conn: &mut PgConnection, parent: &ParcelRecord) -> Result<i32> {
    sqlx::query_scalar(
        "SELECT COALESCE(max(number), 0) + 1 FROM parcel_version \
         WHERE ward_code = $1 AND ward_valid_from = $2 AND sheet = $3",
    )
    .bind(&parent.ward_code)
    .bind(parent.ward_valid_from)
    .bind(parent.sheet)
    .fetch_one(conn)
    .await
    .query("next number")
}

#[allow(clippy::too_many_arguments)]
async fn new_child(
    tx: &mut Transaction<'_, Postgres>,
    parent: &ParcelRecord,
    number: i32,
    geometry: ParcelGeometry,
    land_uses: Vec<LandUse>,
    actor: &Caller,
    reason: &str,
) -> Result<i64> {
    let national_id = issue_national_id(tx, &geometry).await?;
    let id: i64 = sqlx::query_scalar("INSERT INTO parcel (national_id) VALUES ($1) RETURNING id")
        .bind(&national_id)
        .fetch_one(&mut **tx)
        .await
        .query("insert child")?;
    let version = Version {
        parcel_id: id,
        version: 1,
        ward: parent.ward_code.clone(),
        sheet: parent.sheet,
        number,
        geometry,
        land_uses,
        certificate_serial: None,
        registry_number: None,
        address_text: parent.address_text.clone(),
        owners: parent.owners.clone(),
    };
    insert_version(tx, &version, actor, reason, &parent.source).await?;
    Ok(id)
}

async fn link(conn: &mut PgConnection, parent: i64, child: i64, event: &str, event_id: &str) -> Result<()> {
    sqlx::query("INSERT INTO parcel_lineage (parent_id, child_id, event, event_id) VALUES ($1, $2, $3, $4::uuid)")
        .bind(parent)
        .bind(child)
        .bind(event)
        .bind(event_id)
        .execute(conn)
        .await
        .query("lineage")?;
    Ok(())
}

async fn finish_lineage_write(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Caller,
    action: &str,
    parents: &[i64],
    children: &[i64],
    before: &ParcelRecord,
) -> Result<()> {
    let after = serde_json::json!({ "parents": parents, "children": children });
    audit(tx, actor, action, parents[0], Some(json(before)), Some(after)).await?;
    for id in parents {
        append(tx, Layer::Parcels, Some(*id), ChangeOp::Retire).await?;
    }
    for id in children {
        append(tx, Layer::Parcels, Some(*id), ChangeOp::Upsert).await?;
    }
    Ok(())
}

fn json(record: &ParcelRecord) -> Value {
    serde_json::to_value(record).expect("records serialise")
}

async fn audit(
    conn: &mut PgConnection,
    actor: &Caller,
    action: &str,
    id: i64,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (actor_id, action, entity, entity_id, before, after) VALUES ($1, $2, 'parcel', $3, $4, $5)",
    )
    .bind(actor.user_id)
    .bind(action)
    .bind(id)
    .bind(before)
    .bind(after)
    .execute(conn)
    .await
    .query("audit")?;
    Ok(())
}

/// The parent's land uses scaled to a child's area (the primary use keeps its code).
fn inherit(parent: &[LandUse], area: f64) -> Vec<LandUse> {
    let total: f64 = parent.iter().filter_map(|u| u.area_m2).sum();
    parent
        .iter()
        .map(|u| LandUse {
            area_m2: Some(if total > 0.0 {
                area * u.area_m2.unwrap_or(0.0) / total
            } else {
                area / parent.len() as f64
            }),
            ..u.clone()
        })
        .collect()
}
