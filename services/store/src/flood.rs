//! Flood exposure: which parcels and households lie in which risk zones (DESIGN §6).

use crate::error::{QueryContext, Result};
use crate::store::Store;
use serde::Serialize;
use serde_json::Value;

/// Parcels of one main land use in a zone.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LandUseCount {
    /// Main land use (the one with the largest area).
    pub land_use: Option<String>,
    /// Number of live parcels touching the zone.
    pub parcels: i64,
    /// Their legal area, m².
    pub area_m2: f64,
}

/// Exposure summary of one scenario and risk level within a ward.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LevelSummary {
    /// Scenario.
    pub scenario: String,
    /// Risk level 1–5.
    pub risk_level: i16,
    /// Zones of that level.
    pub zones: i64,
    /// Live parcels of the ward touching them (a parcel straddling two bands counts in both).
    pub parcels: i64,
    /// Their legal area, m².
    pub area_m2: f64,
    /// Verified households of the ward inside them.
    pub households: i64,
}

impl Store {
    /// Counts by land use, and one page of parcels and of households, in zone `id`.
    /// `None` when the zone does not exist (or is no longer in force).
    pub async fn zone_exposure(&self, id: i64, after: i64, limit: i64) -> Result<Option<Value>> {
        let exists: Option<(String, i16, String, String)> = sqlx::query_as(
            "SELECT name, risk_level, scenario, source FROM flood_zone WHERE id = $1 AND valid_to IS NULL",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .query("zone")?;
        let Some((name, risk_level, scenario, source)) = exists else { return Ok(None) };
        let by_land_use: Vec<LandUseCount> = sqlx::query_as(&format!(
            "{} SELECT land_use, count(*) AS parcels, COALESCE(sum(legal_area_m2), 0) AS area_m2 FROM exposed GROUP BY land_use ORDER BY land_use",
            include_str!("sql/zone_parcels.sql")
        ))
        .bind(id)
        .fetch_all(self.pool())
        .await
        .query("zone exposure by land use")?;
        let parcels: Vec<(i64, String, i32, i32, Option<String>, f64)> = sqlx::query_as(&format!(
            "{} SELECT parcel_id, ward_code, sheet, number, land_use, legal_area_m2 FROM exposed WHERE parcel_id > $2 ORDER BY parcel_id LIMIT $3",
            include_str!("sql/zone_parcels.sql")
        ))
        .bind(id)
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .query("zone parcels")?;
        let (households, household_page): (i64, Value) = sqlx::query_as(
            "WITH z AS (SELECT geom FROM flood_zone WHERE id = $1), \
             h AS (SELECT a.id, a.vpostcode, a.house_number, a.street, a.hamlet, a.ward_code FROM address a, z \
                   WHERE a.status = 'verified' AND a.location && z.geom AND ST_Covers(z.geom, a.location)) \
             SELECT (SELECT count(*) FROM h), COALESCE((SELECT jsonb_agg(to_jsonb(p)) FROM \
                   (SELECT * FROM h WHERE id > $2 ORDER BY id LIMIT $3) p), '[]'::jsonb)",
        )
        .bind(id)
        .bind(after)
        .bind(limit)
        .fetch_one(self.pool())
        .await
        .query("zone households")?;
        let total: i64 = by_land_use.iter().map(|c| c.parcels).sum();
        let next = (parcels.len() as i64 == limit).then(|| parcels.last().map(|p| p.0)).flatten();
        Ok(Some(serde_json::json!({
            "zone": { "id": id, "name": name, "risk_level": risk_level, "scenario": scenario, "source": source },
            "parcels": {
                "total": total,
                "by_land_use": by_land_use,
                "items": parcels.iter().map(|(id, ward, sheet, number, land_use, area)| serde_json::json!({
                    "id": id, "ward_code": ward, "sheet": sheet, "number": number, "land_use": land_use, "legal_area_m2": area,
                })).collect::<Vec<_>>(),
                "next_after": next,
            },
            "households": { "total": households, "items": household_page },
        })))
    }

    /// Per scenario and risk level: zones, exposed parcels and households of a ward.
    pub async fn ward_exposure(&self, ward: &str, scenario: Option<&str>) -> Result<Vec<LevelSummary>> {
        sqlx::query_as(include_str!("sql/ward_exposure.sql"))
            .bind(ward)
            .bind(scenario)
            .fetch_all(self.pool())
            .await
            .query("ward exposure")
    }
}

/// A flood zone to import.
#[derive(Debug, Clone)]
pub struct NewFloodZone {
    /// Name.
    pub name: String,
    /// 1–5.
    pub risk_level: i16,
    /// Scenario.
    pub scenario: String,
    /// Return period in years.
    pub return_period_years: Option<i32>,
    /// Outline, lon/lat.
    pub lonlat: geo::MultiPolygon<f64>,
}

impl Store {
    /// Imports zones as one batch, all in one transaction: every row carries the batch id,
    /// the report is stored with the batch, and the change feed wakes the nodes.
    pub async fn import_flood_zones(
        &self,
        source_file: &str,
        zones: &[NewFloodZone],
        report: &Value,
    ) -> Result<String> {
        let mut tx = self.pool().begin().await.query("begin import")?;
        let batch = crate::import::new_batch(&mut tx, "flood_zones", source_file, report).await?;
        for zone in zones {
            sqlx::query(
                "INSERT INTO flood_zone (name, risk_level, scenario, return_period_years, source, import_batch, geom) \
                 VALUES ($1, $2, $3, $4, $5, $6::uuid, ST_Multi(ST_GeomFromEWKT($7)))",
            )
            .bind(&zone.name)
            .bind(zone.risk_level)
            .bind(&zone.scenario)
            .bind(zone.return_period_years)
            .bind(format!("import:{source_file}"))
            .bind(&batch)
            .bind(crate::seed::ewkt(4326, &zone.lonlat))
            .execute(&mut *tx)
            .await
            .query("insert imported zone")?;
        }
        crate::import::audit_import(&mut tx, "flood_zone", report).await?;
        crate::feed::append_reload(&mut tx, diaba_core::Layer::FloodZones).await?;
        tx.commit().await.query("commit import")?;
        Ok(batch)
    }
}
