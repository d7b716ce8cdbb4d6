//! Registering and correcting parcels: each write one transaction that checks placement
//! and key, inserts a new version (never changing an old one), and records the change in
//! the audit log and the change feed.

use super::read::record_in;
use super::{NewParcel, ParcelPatch, ParcelRecord, WriteRefused, WriteResult};
use crate::audit;
use crate::error::{Error, QueryContext, Result};
use crate::feed::{ChangeOp, append};
use crate::layers::multipolygon;
use crate::seed::ewkt;
use crate::store::Store;
use diaba_core::auth::Caller;
use diaba_core::parcel::{LandUse, OVERLAP_TOLERANCE_M2, ParcelGeometry};
use diaba_core::{Layer, NationalParcelId};
use serde_json::Value;
use sqlx::{PgConnection, Postgres, Transaction};

impl Store {
    /// Registers a new parcel. A key taken at the same moment by another node's write (the
    /// ward lock serialises this node's) is refused naming the parcel that holds it.
    pub async fn create_parcel(
        &self,
        new: NewParcel,
        actor: &Caller,
        reason: &str,
    ) -> Result<WriteResult<ParcelRecord>> {
        let (ward, sheet, number) = (new.ward.clone(), new.sheet, new.number);
        match self.create_parcel_once(new, actor, reason).await {
            Err(Error::Taken { constraint, .. }) if constraint == "parcel_version_live_key_idx" => {
                let mut conn = self.pool().acquire().await.query("acquire")?;
                match live_key_holder(&mut conn, &ward, sheet, number).await? {
                    Some(id) => Ok(Err(WriteRefused::KeyTaken { ward, sheet, number, id })),
                    None => Err(Error::Taken { what: "the parcel key (ward, sheet, number)", constraint }),
                }
            }
            other => other,
        }
    }

    async fn create_parcel_once(
        &self,
        new: NewParcel,
        actor: &Caller,
        reason: &str,
    ) -> Result<WriteResult<ParcelRecord>> {
        let mut tx = self.pool().begin().await.query("begin")?;
        lock_ward(&mut tx, &new.ward).await?;
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
            rights: Rights::FromOwners,
        };
        insert_version(&mut tx, &version, actor, reason, "api").await?;
        let after = record_in(&mut tx, id).await?;
        let entry = audit::Entry {
            actor: Some(actor),
            action: "parcel.create",
            entity: "parcel",
            id: Some(id),
            before: None,
            after: Some(json(&after)),
        };
        audit::record(&mut tx, entry).await?;
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
            None => current.land_uses.clone(),
        };
        close_live(&mut tx, id).await?;
        let rights = if patch.owners.is_some() { Rights::FromOwners } else { Rights::Keep };
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
            rights,
        };
        insert_version(&mut tx, &version, actor, reason, &current.source).await?;
        let after = record_in(&mut tx, id).await?;
        let entry = audit::Entry {
            actor: Some(actor),
            action: "parcel.update",
            entity: "parcel",
            id: Some(id),
            before: Some(json(&current)),
            after: Some(json(&after)),
        };
        audit::record(&mut tx, entry).await?;
        append(&mut tx, Layer::Parcels, Some(id), ChangeOp::Upsert).await?;
        tx.commit().await.query("commit update")?;
        Ok(Ok(after))
    }
}

pub(super) struct Version {
    pub(super) parcel_id: i64,
    pub(super) version: i32,
    pub(super) ward: String,
    pub(super) sheet: i32,
    pub(super) number: i32,
    pub(super) geometry: ParcelGeometry,
    pub(super) land_uses: Vec<LandUse>,
    pub(super) certificate_serial: Option<String>,
    pub(super) registry_number: Option<String>,
    pub(super) address_text: Option<String>,
    /// The list as submitted, kept on the version as history (answers read rights).
    pub(super) owners: Option<Value>,
    pub(super) rights: Rights,
}

/// What a new version does to the parcel's rights.
pub(super) enum Rights {
    /// They stay as they are.
    Keep,
    /// The version's owners list replaces them (new parties where the register has none).
    FromOwners,
    /// A child of a split or merge: the parent's holders hold it on the same terms.
    CopyFrom(i64),
}

pub(super) fn invalid(field: &'static str, detail: String, parcels: Vec<i64>) -> WriteRefused {
    WriteRefused::Invalid { field, detail, parcels }
}

/// Inside the service area, inside its ward, and not overlapping live parcels.
pub(super) async fn check_placement(
    tx: &mut Transaction<'_, Postgres>,
    ward: &str,
    geometry: &ParcelGeometry,
    exclude: &[i64],
) -> Result<WriteResult<()>> {
    if let Err(refused) = check_in_ward(tx, ward, geometry).await? {
        return Ok(Err(refused));
    }
    check_overlaps(tx, geometry, exclude).await
}

/// Inside the service area and inside its declared ward: at most 0.5 m² (or 0.1 % of a
/// large lot) outside it, measured in EPSG:5897, not merely its interior point.
pub(super) async fn check_in_ward(
    tx: &mut Transaction<'_, Postgres>,
    ward: &str,
    geometry: &ParcelGeometry,
) -> Result<WriteResult<()>> {
    let (covered_ratio, outside, allowed, other_ward): (Option<f64>, Option<f64>, f64, Option<String>) =
        sqlx::query_as(include_str!("sql/placement_check.sql"))
            .bind(ewkt(4326, &geometry.lonlat))
            .bind(ward)
            .bind(ewkt(5897, geometry.vn2000.geometry()))
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
    let Some(outside) = outside else {
        return Ok(Err(invalid("ward", format!("{ward} is not one of the 12 current wards diaba serves"), vec![])));
    };
    if outside > allowed {
        let elsewhere = other_ward.map(|w| format!(" (most of it in ward {w})")).unwrap_or_default();
        return Ok(Err(invalid(
            "ward",
            format!(
                "the parcel lies {outside:.1} m² outside ward {ward}{elsewhere}; at most {allowed:.1} m² may \
                 (0.5 m², or 0.1 % of a large lot), measured in VN-2000 / TM-3 (EPSG:5897)"
            ),
            vec![],
        )));
    }
    Ok(Ok(()))
}

/// Not overlapping live parcels (but those in `exclude`) by more than the tolerance.
async fn check_overlaps(
    tx: &mut Transaction<'_, Postgres>,
    geometry: &ParcelGeometry,
    exclude: &[i64],
) -> Result<WriteResult<()>> {
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
        "SELECT parcel_id FROM parcel_version WHERE ward_code = $1 AND ward_valid_from = $4 \
         AND sheet = $2 AND number = $3 AND valid_to IS NULL",
    )
    .bind(ward)
    .bind(sheet)
    .bind(number)
    .bind(diaba_core::REFORM_2025)
    .fetch_optional(conn)
    .await
    .query("key holder")
}

/// The national id of a new parcel; never one issued before (DESIGN §4). When the pole's
/// cell was already issued (a child can share its parent's pole), the next interior
/// candidate is used.
pub(super) async fn issue_national_id(conn: &mut PgConnection, geometry: &ParcelGeometry) -> Result<String> {
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

pub(super) async fn insert_version(
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
        .bind(diaba_core::REFORM_2025)
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
    let changed = match v.rights {
        Rights::Keep => 0,
        Rights::FromOwners => {
            let closed = close_rights(tx, &[v.parcel_id]).await?;
            let made: i64 = sqlx::query_scalar("SELECT rights_from_owners(ARRAY[$1::bigint], NULL)")
                .bind(version_id)
                .fetch_one(&mut **tx)
                .await
                .query("rights from owners")?;
            closed + made.unsigned_abs()
        }
        Rights::CopyFrom(parent) => {
            // The certificate stays with the parent: a child is certified anew.
            sqlx::query(
                "INSERT INTO land_right (parcel_id, party_id, right_type, share_num, share_den, term, expires_on, origin) \
                 SELECT $1, party_id, right_type, share_num, share_den, term, expires_on, origin \
                 FROM land_right WHERE parcel_id = $2 AND valid_to IS NULL ORDER BY id",
            )
            .bind(v.parcel_id)
            .bind(parent)
            .execute(&mut **tx)
            .await
            .query("copy rights")?
            .rows_affected()
        }
    };
    if changed > 0 {
        append(tx, Layer::Rights, Some(v.parcel_id), ChangeOp::Upsert).await?;
    }
    Ok(())
}

/// Ends the live rights on these parcels (a change of holders, or the parcels retired);
/// how many ended.
pub(super) async fn close_rights(conn: &mut PgConnection, parcels: &[i64]) -> Result<u64> {
    let closed = sqlx::query("UPDATE land_right SET valid_to = now() WHERE parcel_id = ANY($1) AND valid_to IS NULL")
        .bind(parcels)
        .execute(conn)
        .await
        .query("close rights")?;
    Ok(closed.rows_affected())
}

/// Serialises the writes of one ward until commit: placement and key checks then see every
/// parcel committed before them, so two overlapping outlines (or one key) sent at the same
/// moment cannot both pass. Taken before any row lock, always in ward-code order.
pub(crate) async fn lock_ward(conn: &mut PgConnection, ward: &str) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('diaba.ward'), hashtext($1))")
        .bind(ward)
        .execute(conn)
        .await
        .query("ward lock")?;
    Ok(())
}

/// Locks parcel `id` and returns its live version if it is `expected` and in scope.
pub(super) async fn lock_live(
    tx: &mut Transaction<'_, Postgres>,
    id: i64,
    expected: i32,
    actor: &Caller,
) -> Result<WriteResult<ParcelRecord>> {
    // A parcel's ward never changes, so it can be read before the ward's lock is taken.
    let ward: Option<String> =
        sqlx::query_scalar("SELECT ward_code FROM parcel_version WHERE parcel_id = $1 AND valid_to IS NULL")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await
            .query("parcel ward")?;
    if let Some(ward) = &ward {
        lock_ward(tx, ward).await?;
    }
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

async fn current_geometry(conn: &mut PgConnection, id: i64) -> Result<ParcelGeometry> {
    // WKB keeps the exact doubles; a stored outline that does not read is an error.
    let (lonlat, metres): (Vec<u8>, Vec<u8>) = sqlx::query_as(
        "SELECT ST_AsBinary(geom), ST_AsBinary(geom_vn2000) FROM parcel_version WHERE parcel_id = $1 AND valid_to IS NULL",
    )
    .bind(id)
    .fetch_one(conn)
    .await
    .query("current geometry")?;
    Ok(ParcelGeometry {
        lonlat: multipolygon(&lonlat)?,
        vn2000: diaba_core::crs::Vn2000Polygon::from_metres(multipolygon(&metres)?),
        reoriented: false,
    })
}

pub(super) async fn close_live(conn: &mut PgConnection, id: i64) -> Result<()> {
    sqlx::query("UPDATE parcel_version SET valid_to = now() WHERE parcel_id = $1 AND valid_to IS NULL")
        .bind(id)
        .execute(conn)
        .await
        .query("close version")?;
    Ok(())
}

pub(super) fn json(record: &ParcelRecord) -> Value {
    audit::snapshot(record)
}
