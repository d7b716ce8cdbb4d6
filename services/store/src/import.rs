//! Parcels imported from files: staged with COPY, checked set-wise against the register
//! (keys, wards, overlaps, within the file too), then written all together under one
//! import batch, or not at all.

use crate::error::{QueryContext, Result};
use crate::feed::append_reload;
use crate::seed::{NULL, copy_row, ewkb_hex};
use crate::store::Store;
use diaba_core::Layer;
use geo::MultiPolygon;
use serde_json::Value;
use sqlx::PgConnection;

/// A parcel ready to enter the register.
#[derive(Debug, Clone)]
pub struct ImportParcel {
    /// Feature id in the file (for the report).
    pub feature: u64,
    /// National parcel id.
    pub national_id: String,
    /// Current ward.
    pub ward_code: String,
    /// Sheet.
    pub sheet: i32,
    /// Number.
    pub number: i32,
    /// Main land-use code.
    pub land_use: String,
    /// Legal area, m².
    pub legal_area_m2: f64,
    /// Address text.
    pub address_text: Option<String>,
    /// WGS84 outline.
    pub lonlat: MultiPolygon<f64>,
    /// VN-2000 legal outline.
    pub vn2000: MultiPolygon<f64>,
    /// Holders (`[{name, id_number?, share?}]`), checked; they become parties and rights.
    pub owners: Option<Value>,
}

/// What an import came to.
#[derive(Debug, Clone)]
pub enum Imported {
    /// Written under this batch id; features refused with `--partial`, with reasons.
    Done {
        /// import_batch id
        batch: String,
        /// parcels written
        written: u64,
        /// (feature, reason) left out
        refused: Vec<(i64, String)>,
    },
    /// Nothing written: each (feature, reason) that stopped it.
    Refused(Vec<(i64, String)>),
}

/// The import_batch row every imported record points to; its id.
pub(crate) async fn new_batch(
    conn: &mut PgConnection,
    layer: &str,
    source_file: &str,
    report: &Value,
) -> Result<String> {
    sqlx::query_scalar(
        "INSERT INTO import_batch (id, layer, source_file, report, finished_at) \
         VALUES (gen_random_uuid(), $1, $2, $3, now()) RETURNING id::text",
    )
    .bind(layer)
    .bind(source_file)
    .bind(report)
    .fetch_one(conn)
    .await
    .query("import batch")
}

/// The audit entry of an import (its report).
pub(crate) async fn audit_import(conn: &mut PgConnection, entity: &str, report: &Value) -> Result<()> {
    let entry = crate::audit::Entry {
        actor: None,
        action: "import",
        entity,
        id: None,
        before: None,
        after: Some(report.clone()),
    };
    crate::audit::record(conn, entry).await
}

impl Store {
    /// Imports parcels from `source_file` in one transaction. With `partial`, features
    /// that fail a check are left out (and reported); otherwise any failure writes nothing.
    pub async fn import_parcels(
        &self,
        source_file: &str,
        parcels: &[ImportParcel],
        report: &Value,
        partial: bool,
        dry_run: bool,
    ) -> Result<Imported> {
        let started = std::time::Instant::now();
        let mut tx = self.pool().begin().await.query("begin parcel import")?;
        // The file's wards are written by nobody else until commit (the same lock as the
        // API's writes), so its checks against the register stay true.
        let mut wards: Vec<&str> = parcels.iter().map(|p| p.ward_code.as_str()).collect();
        wards.sort_unstable();
        wards.dedup();
        for ward in wards {
            crate::parcels::lock_ward(&mut tx, ward).await?;
        }
        sqlx::query(
            "CREATE TEMP TABLE import_parcel (feature bigint, national_id text, ward_code text, sheet int, number int, \
               land_use text, area float8, address_text text, geom geometry(MultiPolygon, 4326), \
               geom_vn2000 geometry(MultiPolygon, 5897), owners jsonb) ON COMMIT DROP",
        )
        .execute(&mut *tx)
        .await
        .query("import staging")?;
        let mut copy = tx.copy_in_raw("COPY import_parcel FROM STDIN").await.query("copy import")?;
        let mut buffer = String::new();
        for (i, p) in parcels.iter().enumerate() {
            copy_row(
                &mut buffer,
                &[
                    p.feature.to_string(),
                    p.national_id.clone(),
                    p.ward_code.clone(),
                    p.sheet.to_string(),
                    p.number.to_string(),
                    p.land_use.clone(),
                    p.legal_area_m2.to_string(),
                    p.address_text.clone().unwrap_or_else(|| NULL.into()),
                    ewkb_hex(4326, &p.lonlat),
                    ewkb_hex(5897, &p.vn2000),
                    p.owners.as_ref().map_or_else(|| NULL.into(), Value::to_string),
                ],
            );
            if (i + 1) % 2_000 == 0 || i + 1 == parcels.len() {
                copy.send(buffer.as_bytes()).await.query("copy import rows")?;
                buffer.clear();
            }
        }
        copy.finish().await.query("copy import finish")?;
        tracing::info!(parcels = parcels.len(), seconds = started.elapsed().as_secs_f32(), "import: staged");
        sqlx::query("CREATE INDEX ON import_parcel USING gist (geom)")
            .execute(&mut *tx)
            .await
            .query("staging index")?;
        let problems: Vec<(i64, String)> =
            sqlx::query_as(include_str!("sql/import_checks.sql")).fetch_all(&mut *tx).await.query("import checks")?;
        tracing::info!(problems = problems.len(), seconds = started.elapsed().as_secs_f32(), "import: checked");
        if !problems.is_empty() && !partial {
            tx.rollback().await.query("rollback import")?;
            return Ok(Imported::Refused(problems));
        }
        let refused: Vec<i64> = problems.iter().map(|(f, _)| *f).collect();
        sqlx::query("DELETE FROM import_parcel WHERE feature = ANY($1)")
            .bind(&refused)
            .execute(&mut *tx)
            .await
            .query("drop refused")?;
        if dry_run {
            tx.rollback().await.query("rollback dry run")?;
            return Ok(Imported::Done { batch: "dry-run".into(), written: 0, refused: problems });
        }
        // The batch's report also names what the register refused (--partial).
        let mut report = report.clone();
        if let Some(list) = report.get_mut("rejected").and_then(Value::as_array_mut) {
            list.extend(
                problems.iter().map(|(feature, reason)| serde_json::json!({ "feature": feature, "reason": reason })),
            );
        }
        let report = &report;
        let batch = new_batch(&mut tx, "parcels", source_file, report).await?;
        let written = sqlx::query(include_str!("sql/import_insert.sql"))
            .bind(format!("import:{source_file}"))
            .bind(&batch)
            .execute(&mut *tx)
            .await
            .query("insert imported parcels")?
            .rows_affected();
        sqlx::query(
            "INSERT INTO parcel_land_use (parcel_version_id, code, code_list, area_m2, term) \
             SELECT v.id, s.land_use, 'TT25/2014', s.area, NULL FROM import_parcel s \
             JOIN parcel p ON p.national_id = s.national_id JOIN parcel_version v ON v.parcel_id = p.id AND v.import_batch = $1::uuid",
        )
        .bind(&batch)
        .execute(&mut *tx)
        .await
        .query("imported land uses")?;
        // The holders named in the file as parties and rights (the same function as the API's).
        sqlx::query(
            "WITH source AS (INSERT INTO admin_source (kind, number, file_ref) VALUES ('import', $1, $2) RETURNING id) \
             SELECT rights_from_owners((SELECT coalesce(array_agg(id), '{}') FROM parcel_version \
                                        WHERE import_batch = $1::uuid AND owners IS NOT NULL), (SELECT id FROM source))",
        )
        .bind(&batch)
        .bind(source_file)
        .execute(&mut *tx)
        .await
        .query("imported rights")?;
        audit_import(&mut tx, "parcel", report).await?;
        append_reload(&mut tx, Layer::Parcels).await?;
        tx.commit().await.query("commit parcel import")?;
        tracing::info!(written, seconds = started.elapsed().as_secs_f32(), "import: committed");
        Ok(Imported::Done { batch, written, refused: problems })
    }
}

/// A household address ready to enter the register (placed and coded by the reader).
#[derive(Debug, Clone)]
pub struct ImportAddress {
    /// Feature id in the file.
    pub feature: u64,
    /// Longitude, latitude (WGS84).
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Compact Vpostcode.
    pub vpostcode: String,
    /// Current ward.
    pub ward_code: String,
    /// House number.
    pub house_number: String,
    /// Street.
    pub street: Option<String>,
    /// Hamlet.
    pub hamlet: Option<String>,
    /// Head of household (personal data).
    pub head_name: Option<String>,
    /// Folded words for search.
    pub search_text: String,
}

impl Store {
    /// Imports addresses from `source_file` in one transaction, as verified records of the
    /// office that holds them (they were not captured in the field), each on the live
    /// parcel under it, with a history row and the batch id. A household already in the
    /// register (same Vpostcode cell and house number), or twice in the file, is refused:
    /// importing a file again adds nothing. With `partial` refused ones are left out.
    pub async fn import_addresses(
        &self,
        source_file: &str,
        addresses: &[ImportAddress],
        report: &Value,
        partial: bool,
    ) -> Result<Imported> {
        let mut tx = self.pool().begin().await.query("begin address import")?;
        sqlx::query(
            "CREATE TEMP TABLE import_address (feature bigint, lon float8, lat float8, vpostcode text, ward_code text, \
               house_number text, street text, hamlet text, head_name text, search_text text) ON COMMIT DROP",
        )
        .execute(&mut *tx)
        .await
        .query("address staging")?;
        let mut copy = tx.copy_in_raw("COPY import_address FROM STDIN").await.query("copy addresses")?;
        let mut buffer = String::new();
        let or_null = |v: &Option<String>| v.clone().unwrap_or_else(|| NULL.into());
        for (i, a) in addresses.iter().enumerate() {
            copy_row(
                &mut buffer,
                &[
                    a.feature.to_string(),
                    a.lon.to_string(),
                    a.lat.to_string(),
                    a.vpostcode.clone(),
                    a.ward_code.clone(),
                    a.house_number.clone(),
                    or_null(&a.street),
                    or_null(&a.hamlet),
                    or_null(&a.head_name),
                    a.search_text.clone(),
                ],
            );
            if (i + 1) % 2_000 == 0 || i + 1 == addresses.len() {
                copy.send(buffer.as_bytes()).await.query("copy address rows")?;
                buffer.clear();
            }
        }
        copy.finish().await.query("copy addresses finish")?;
        let problems: Vec<(i64, String)> = sqlx::query_as(include_str!("sql/import_address_checks.sql"))
            .fetch_all(&mut *tx)
            .await
            .query("address import checks")?;
        if !problems.is_empty() && !partial {
            tx.rollback().await.query("rollback address import")?;
            return Ok(Imported::Refused(problems));
        }
        let refused: Vec<i64> = problems.iter().map(|(f, _)| *f).collect();
        sqlx::query("DELETE FROM import_address WHERE feature = ANY($1)")
            .bind(&refused)
            .execute(&mut *tx)
            .await
            .query("drop refused addresses")?;
        let batch = new_batch(&mut tx, "addresses", source_file, report).await?;
        let written = sqlx::query(include_str!("sql/import_addresses.sql"))
            .bind(format!("import:{source_file}"))
            .bind(&batch)
            .execute(&mut *tx)
            .await
            .query("insert imported addresses")?
            .rows_affected();
        audit_import(&mut tx, "address", report).await?;
        append_reload(&mut tx, Layer::Addresses).await?;
        tx.commit().await.query("commit address import")?;
        Ok(Imported::Done { batch, written, refused: problems })
    }
}

/// An administrative unit outline ready to enter the register.
#[derive(Debug, Clone)]
pub struct ImportUnit {
    /// Feature id in the file.
    pub feature: u64,
    /// Unit code.
    pub code: String,
    /// ward, district or province.
    pub level: String,
    /// Name (else the current version's).
    pub name: Option<String>,
    /// Kind (else the current version's).
    pub kind: Option<String>,
    /// Postcode (else the current version's).
    pub postcode: Option<String>,
    /// Effective date of the outline.
    pub valid_from: chrono::NaiveDate,
    /// WGS84 outline.
    pub lonlat: MultiPolygon<f64>,
}

/// What a unit import came to.
#[derive(Debug, Clone)]
pub enum ImportedUnits {
    /// Written under this batch id, with the live parcels each revised ward no longer
    /// covers (ward code, count): for the office to review, not a reason to refuse.
    Done {
        /// import_batch id
        batch: String,
        /// (ward, parcels whose interior point is now outside it)
        parcels_outside: Vec<(String, i64)>,
    },
    /// Nothing written: each (feature, reason) that stopped it.
    Refused(Vec<(i64, String)>),
}

impl Store {
    /// Imports unit outlines in one transaction: a known code gets a new version from its
    /// `valid_from` (the previous one closes that day and is recorded as its predecessor),
    /// an unknown code becomes a new unit outside the service area. All or nothing.
    pub async fn import_units(&self, source_file: &str, units: &[ImportUnit], report: &Value) -> Result<ImportedUnits> {
        let mut tx = self.pool().begin().await.query("begin unit import")?;
        let batch = new_batch(&mut tx, "units", source_file, report).await?;
        let mut problems = Vec::new();
        let mut revised = Vec::new();
        for unit in units {
            let current: Option<(i64, chrono::NaiveDate)> = sqlx::query_as(
                "SELECT id, valid_from FROM admin_unit WHERE code = $1 AND level = $2 AND valid_to IS NULL",
            )
            .bind(&unit.code)
            .bind(&unit.level)
            .fetch_optional(&mut *tx)
            .await
            .query("current unit")?;
            if let Some((_, from)) = current.filter(|(_, from)| unit.valid_from <= *from) {
                problems.push((
                    unit.feature as i64,
                    format!("unit {} has a version from {from}; a new outline takes effect after it", unit.code),
                ));
                continue;
            }
            if current.is_none() && unit.name.is_none() {
                problems
                    .push((unit.feature as i64, format!("unit {} is new to the register: give its name", unit.code)));
                continue;
            }
            let id: i64 = sqlx::query_scalar(include_str!("sql/import_unit.sql"))
                .bind(current.map(|(id, _)| id))
                .bind(&unit.code)
                .bind(&unit.level)
                .bind(&unit.name)
                .bind(&unit.kind)
                .bind(&unit.postcode)
                .bind(unit.valid_from)
                .bind(ewkb_hex(4326, &unit.lonlat))
                .bind(format!("import:{source_file}"))
                .bind(&batch)
                .fetch_one(&mut *tx)
                .await
                .query("insert unit version")?;
            if let Some((previous, _)) = current {
                sqlx::query("UPDATE admin_unit SET valid_to = $2 WHERE id = $1")
                    .bind(previous)
                    .bind(unit.valid_from)
                    .execute(&mut *tx)
                    .await
                    .query("close unit version")?;
                sqlx::query(
                    "INSERT INTO unit_succession (predecessor_id, successor_id, partial, effective) VALUES ($1, $2, false, $3)",
                )
                .bind(previous)
                .bind(id)
                .bind(unit.valid_from)
                .execute(&mut *tx)
                .await
                .query("unit succession")?;
            }
            if unit.level == "ward" {
                revised.push(id);
            }
        }
        if !problems.is_empty() {
            tx.rollback().await.query("rollback unit import")?;
            return Ok(ImportedUnits::Refused(problems));
        }
        let parcels_outside: Vec<(String, i64)> = sqlx::query_as(
            "SELECT w.code, count(v.id) FROM admin_unit w JOIN parcel_version v ON v.valid_to IS NULL AND v.ward_code = w.code \
             WHERE w.id = ANY($1) AND NOT ST_Covers(w.geom, ST_PointOnSurface(v.geom)) GROUP BY w.code ORDER BY w.code",
        )
        .bind(&revised)
        .fetch_all(&mut *tx)
        .await
        .query("parcels outside revised wards")?;
        audit_import(&mut tx, "unit", report).await?;
        append_reload(&mut tx, Layer::Units).await?;
        tx.commit().await.query("commit unit import")?;
        Ok(ImportedUnits::Done { batch, parcels_outside })
    }
}
