//! Splits (tách thửa) and merges (hợp thửa): parents retired, children made, and the two
//! linked so "what was here on date D" and "where did this parcel go" stay answerable.

use super::write::{
    Rights, Version, check_in_ward, close_live, close_rights, insert_version, invalid, issue_national_id, json,
    lock_live, lock_ward,
};
use super::{ParcelRecord, SPLIT_TOLERANCE_M2, SplitPart, WriteRefused, WriteResult};
use crate::audit;
use crate::error::{QueryContext, Result};
use crate::feed::{ChangeOp, append};
use crate::seed::ewkt;
use crate::store::Store;
use diaba_core::Layer;
use diaba_core::auth::Caller;
use diaba_core::parcel::{LandUse, ParcelGeometry};
use serde_json::Value;
use sqlx::{PgConnection, Postgres, Transaction};

impl Store {
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
        for (i, part) in parts.iter().enumerate() {
            if let Err(WriteRefused::Invalid { detail, parcels, .. }) =
                check_in_ward(&mut tx, &parent.ward_code, &part.geometry).await?
            {
                return Ok(Err(invalid("parts", format!("part {i}: {detail}"), parcels)));
            }
        }
        let parent_uses: Vec<LandUse> = parent.land_uses.clone();
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
        // Every parent's ward locked first, in code order, so two merges cannot deadlock.
        let ids: Vec<i64> = parents.iter().map(|(id, _)| *id).collect();
        let mut wards: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT ward_code FROM parcel_version WHERE parcel_id = ANY($1) AND valid_to IS NULL ORDER BY 1",
        )
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await
        .query("merge wards")?;
        wards.dedup();
        for ward in &wards {
            lock_ward(&mut tx, ward).await?;
        }
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
        // Hợp thửa joins parcels of the same land users; parcels of different users are first
        // transferred (a change of rights), never merged into whoever came first.
        if locked.iter().any(|r| same_users(r.owners.as_ref()) != same_users(first.owners.as_ref())) {
            return Ok(Err(invalid(
                "parcels",
                format!("parcels {ids:?} have different land users; only parcels of the same users are merged"),
                ids,
            )));
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
        if let Err(WriteRefused::Invalid { detail, .. }) = check_in_ward(&mut tx, &first.ward_code, &geometry).await? {
            return Ok(Err(invalid("parcels", format!("the merged parcel: {detail}"), ids)));
        }
        let mut land_uses: Vec<LandUse> = Vec::new();
        for record in &locked {
            for used in record.land_uses.iter().cloned() {
                match land_uses.iter_mut().find(|u| u.code == used.code) {
                    Some(existing) => {
                        existing.area_m2 = Some(existing.area_m2.unwrap_or(0.0) + used.area_m2.unwrap_or(0.0));
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
}

/// One id for all lineage rows of a split or merge (PostgreSQL's gen_random_uuid).
async fn event_id(conn: &mut PgConnection) -> Result<String> {
    sqlx::query_scalar("SELECT gen_random_uuid()::text").fetch_one(conn).await.query("event id")
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
        rights: Rights::CopyFrom(parent.id),
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
    let entry = audit::Entry {
        actor: Some(actor),
        action,
        entity: "parcel",
        id: Some(parents[0]),
        before: Some(json(before)),
        after: Some(after),
    };
    audit::record(tx, entry).await?;
    // The children hold copies of the parents' rights by now; the parents' end with them.
    let rights_ended = close_rights(tx, parents).await? > 0;
    for id in parents {
        append(tx, Layer::Parcels, Some(*id), ChangeOp::Retire).await?;
        if rights_ended {
            append(tx, Layer::Rights, Some(*id), ChangeOp::Retire).await?;
        }
    }
    for id in children {
        append(tx, Layer::Parcels, Some(*id), ChangeOp::Upsert).await?;
    }
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

/// The land users of a parcel as a set of parties: the same people listed in another order
/// (or with other shares) are the same users.
fn same_users(owners: Option<&Value>) -> Vec<String> {
    let mut users: Vec<String> = match owners {
        Some(Value::Array(list)) => list.iter().map(|holder| holder["party_id"].to_string()).collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other.to_string()],
    };
    users.sort();
    users
}
