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
    /// `within_file` gives the file's own problems the caller is still working out (overlaps
    /// between its features, in Rust): they count as the register's checks do, but the
    /// database stages, checks and, when nothing else stops the import, writes meanwhile;
    /// they are awaited before anything is committed or left out.
    /// Each phase's own seconds go to the log (`import: <phase>`), for `scripts/bench import`.
    pub async fn import_parcels(
        &self,
        source_file: &str,
        parcels: &[ImportParcel],
        within_file: impl Future<Output = Vec<(i64, String)>>,
        report: &Value,
        partial: bool,
        dry_run: bool,
    ) -> Result<Imported> {
        let mut phase = Phase::start();
        let mut tx = self.pool().begin().await.query("begin parcel import")?;
        // The staging table (below) in memory rather than spilled to files and read back by
        // each statement after: COPY into it is about 30 % faster. A session can size its temp
        // buffers only before it first uses a temp table; a pooled connection that already
        // has keeps its size (the savepoint takes the refusal back).
        let mut sizing = sqlx::Connection::begin(&mut *tx).await.query("import settings")?;
        match sqlx::query("SET LOCAL temp_buffers = '256MB'").execute(&mut *sizing).await {
            Ok(_) => sizing.commit().await.query("import settings")?,
            Err(_) => sizing.rollback().await.query("import settings")?,
        }
        // No JIT: its compile time for these plans is longer than their run; sorts and
        // hashes of the whole file in memory rather than spilled to disk.
        sqlx::query("SET LOCAL jit = off").execute(&mut *tx).await.query("import settings")?;
        sqlx::query("SET LOCAL work_mem = '128MB'").execute(&mut *tx).await.query("import settings")?;
        // The file's wards are written by nobody else until commit (the same lock as the
        // API's writes), so its checks against the register stay true.
        let mut wards: Vec<&str> = parcels.iter().map(|p| p.ward_code.as_str()).collect();
        wards.sort_unstable();
        wards.dedup();
        for ward in wards {
            crate::parcels::lock_ward(&mut tx, ward).await?;
        }
        // Ids come from the sequences as rows are staged (one statement, no join to match
        // them up later); a refused file leaves a gap, as any rolled-back insert does.
        sqlx::query(
            "CREATE TEMP TABLE import_parcel (feature bigint, national_id text, ward_code text, sheet int, number int, \
               land_use text, area float8, address_text text, geom geometry(MultiPolygon, 4326), \
               geom_vn2000 geometry(MultiPolygon, 5897), owners jsonb, \
               parcel_id bigint DEFAULT nextval('parcel_id_seq'), version_id bigint DEFAULT nextval('parcel_version_id_seq')) \
             ON COMMIT DROP",
        )
        .execute(&mut *tx)
        .await
        .query("import staging")?;
        // Staged ward by ward, and within a ward in GeoHash order (the national id): the
        // ward check then prepares each ward's outline once, and the register's GiST indexes
        // take neighbours one after another, whatever order the file came in.
        let mut order: Vec<&ImportParcel> = parcels.iter().collect();
        order.sort_unstable_by(|a, b| (&a.ward_code, &a.national_id).cmp(&(&b.ward_code, &b.national_id)));
        let mut copy = tx
            .copy_in_raw(
                "COPY import_parcel (feature, national_id, ward_code, sheet, number, land_use, area, address_text, \
                 geom, geom_vn2000, owners) FROM STDIN (FORMAT binary)",
            )
            .await
            .query("copy import")?;
        let mut rows = BinaryRows::new();
        for (i, p) in order.iter().enumerate() {
            rows.row(11);
            rows.int8(p.feature as i64);
            rows.text(&p.national_id);
            rows.text(&p.ward_code);
            rows.int4(p.sheet);
            rows.int4(p.number);
            rows.text(&p.land_use);
            rows.float8(p.legal_area_m2);
            rows.text_or_null(p.address_text.as_deref());
            rows.geometry(4326, &p.lonlat);
            rows.geometry(5897, &p.vn2000);
            rows.jsonb_or_null(p.owners.as_ref());
            if (i + 1) % 2_000 == 0 {
                copy.send(rows.take()).await.query("copy import rows")?;
            }
        }
        copy.send(rows.finish()).await.query("copy import rows")?;
        copy.finish().await.query("copy import finish")?;
        sqlx::query("ANALYZE import_parcel").execute(&mut *tx).await.query("staging statistics")?;
        phase.done("staged", parcels.len() as u64);
        let mut problems = repeated_in_file(parcels);
        problems.extend(
            sqlx::query_as::<_, (i64, String)>(include_str!("sql/import_checks.sql"))
                .fetch_all(&mut *tx)
                .await
                .query("import checks")?,
        );
        phase.done("checked", problems.len() as u64);
        // The file's own problems are needed now when some features may be left out (or
        // nothing is written anyway); a file the register accepts whole is written while they
        // are still being worked out, and refused before commit if there are any.
        let within_file = if partial || dry_run || !problems.is_empty() {
            problems.extend(within_file.await);
            phase.done("waited for overlaps within the file", problems.len() as u64);
            None
        } else {
            Some(within_file)
        };
        problems.sort_unstable();
        if !problems.is_empty() && !partial {
            tx.rollback().await.query("rollback import")?;
            return Ok(Imported::Refused(problems));
        }
        let refused: Vec<i64> = problems.iter().map(|(f, _)| *f).collect();
        let dropped = sqlx::query("DELETE FROM import_parcel WHERE feature = ANY($1)")
            .bind(&refused)
            .execute(&mut *tx)
            .await
            .query("drop refused")?
            .rows_affected();
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
        let expected = parcels.len() as u64 - dropped;
        let triggers_off = skip_foreign_key_triggers(&mut tx).await?;
        let written =
            sqlx::query("INSERT INTO parcel (id, national_id) SELECT parcel_id, national_id FROM import_parcel")
                .execute(&mut *tx)
                .await
                .query("insert imported parcels")?
                .rows_affected();
        phase.done("parcels written", written);
        let versions = sqlx::query(include_str!("sql/import_insert.sql"))
            .bind(format!("import:{source_file}"))
            .bind(&batch)
            .execute(&mut *tx)
            .await
            .query("insert imported parcel versions")?
            .rows_affected();
        phase.done("versions written", versions);
        let land_uses = sqlx::query(
            "INSERT INTO parcel_land_use (parcel_version_id, code, code_list, area_m2, term) \
             SELECT version_id, land_use, 'TT25/2014', area, NULL FROM import_parcel",
        )
        .execute(&mut *tx)
        .await
        .query("imported land uses")?
        .rows_affected();
        phase.done("land uses written", land_uses);
        // Each statement wrote every staged row once: every version's parcel, and every land
        // use's version, is a row this transaction wrote (and no other can see, so none can
        // take it away before commit), and the batch row is too. What the foreign keys would
        // have checked row by row holds; a row lost in a join stops the import.
        if [written, versions, land_uses] != [expected; 3] {
            tx.rollback().await.query("rollback import")?;
            return Err(crate::error::Error::UnknownLink {
                detail: format!("{written} parcels, {versions} versions, {land_uses} land uses written of {expected}"),
            });
        }
        if triggers_off {
            sqlx::query("SET LOCAL session_replication_role = origin").execute(&mut *tx).await.query("triggers on")?;
        }
        if let Some(pending) = within_file {
            let mut overlapping = pending.await;
            overlapping.sort_unstable();
            phase.done("waited for overlaps within the file", overlapping.len() as u64);
            if !overlapping.is_empty() {
                tx.rollback().await.query("rollback import")?;
                return Ok(Imported::Refused(overlapping));
            }
        }
        // The holders named in the file as parties and rights (the same function as the API's).
        sqlx::query(
            "WITH source AS (INSERT INTO admin_source (kind, number, file_ref) VALUES ('import', $1, $2) RETURNING id) \
             SELECT rights_from_owners((SELECT coalesce(array_agg(version_id), '{}') FROM import_parcel \
                                        WHERE owners IS NOT NULL), (SELECT id FROM source))",
        )
        .bind(&batch)
        .bind(source_file)
        .execute(&mut *tx)
        .await
        .query("imported rights")?;
        phase.done("rights written", written);
        // One audit entry and one change-feed entry for the whole batch: every node reloads
        // the parcel layer from the register, so it holds each imported parcel.
        audit_import(&mut tx, "parcel", report).await?;
        append_reload(&mut tx, Layer::Parcels).await?;
        tx.commit().await.query("commit parcel import")?;
        phase.done("committed", written);
        Ok(Imported::Done { batch, written, refused: problems })
    }
}

/// Keys and national ids a file gives twice: the first feature keeps one, each later one is
/// a problem (so --partial imports the first, as an office reading its file top-down expects).
fn repeated_in_file(parcels: &[ImportParcel]) -> Vec<(i64, String)> {
    let mut in_file_order: Vec<&ImportParcel> = parcels.iter().collect();
    in_file_order.sort_unstable_by_key(|p| p.feature);
    let mut keys = std::collections::HashMap::new();
    let mut ids = std::collections::HashMap::new();
    let mut problems = Vec::new();
    for p in in_file_order {
        let first = *keys.entry((p.ward_code.as_str(), p.sheet, p.number)).or_insert(p.feature);
        if first != p.feature {
            let reason =
                format!("key {}/{}/{} is feature {first}'s, earlier in the file", p.ward_code, p.sheet, p.number);
            problems.push((p.feature as i64, reason));
        }
        let first = *ids.entry(p.national_id.as_str()).or_insert(p.feature);
        if first != p.feature {
            problems.push((
                p.feature as i64,
                format!("national id {} is feature {first}'s, earlier in the file", p.national_id),
            ));
        }
    }
    problems
}

/// Turns the per-row foreign-key checks off for the import's own inserts, when this session
/// may (a superuser, as in the embedded cluster) and the tables carry no trigger or rule of
/// their own that would be skipped with them; returns whether it did. Each check is a query
/// per row (half the time of writing the versions and land uses) for what the import
/// already knows: every row it links to is one it wrote itself (see the row counts there).
async fn skip_foreign_key_triggers(conn: &mut PgConnection) -> Result<bool> {
    let may: bool = sqlx::query_scalar(
        "SELECT current_setting('is_superuser') = 'on' \
            AND NOT EXISTS (SELECT 1 FROM pg_trigger WHERE NOT tgisinternal \
                            AND tgrelid IN ('parcel'::regclass, 'parcel_version'::regclass, 'parcel_land_use'::regclass)) \
            AND NOT EXISTS (SELECT 1 FROM pg_rules WHERE tablename IN ('parcel', 'parcel_version', 'parcel_land_use'))",
    )
    .fetch_one(&mut *conn)
    .await
    .query("import triggers")?;
    if may {
        sqlx::query("SET LOCAL session_replication_role = replica").execute(&mut *conn).await.query("triggers off")?;
    }
    Ok(may)
}

/// Times an import phase by phase, for the log.
struct Phase {
    started: std::time::Instant,
    last: std::time::Instant,
}

impl Phase {
    fn start() -> Self {
        let now = std::time::Instant::now();
        Phase { started: now, last: now }
    }

    /// Logs `import: <name>` with the phase's own seconds and those since the start.
    fn done(&mut self, name: &str, rows: u64) {
        let now = std::time::Instant::now();
        let seconds = (now - self.last).as_secs_f32();
        let total = (now - self.started).as_secs_f32();
        tracing::info!(rows, total, seconds, "import: {name}");
        self.last = now;
    }
}

/// Rows in COPY's binary format: numbers and geometries go as they are, never as text.
struct BinaryRows {
    buffer: Vec<u8>,
}

impl BinaryRows {
    fn new() -> Self {
        // Signature, flags, header extension length.
        let mut buffer = b"PGCOPY\n\xff\r\n\0".to_vec();
        buffer.extend_from_slice(&0i32.to_be_bytes());
        buffer.extend_from_slice(&0i32.to_be_bytes());
        BinaryRows { buffer }
    }

    fn row(&mut self, fields: i16) {
        self.buffer.extend_from_slice(&fields.to_be_bytes());
    }

    fn field(&mut self, bytes: &[u8]) {
        let length = i32::try_from(bytes.len()).expect("a field under 2 GiB");
        self.buffer.extend_from_slice(&length.to_be_bytes());
        self.buffer.extend_from_slice(bytes);
    }

    fn null(&mut self) {
        self.buffer.extend_from_slice(&(-1i32).to_be_bytes());
    }

    fn int8(&mut self, value: i64) {
        self.field(&value.to_be_bytes());
    }

    fn int4(&mut self, value: i32) {
        self.field(&value.to_be_bytes());
    }

    fn float8(&mut self, value: f64) {
        self.field(&value.to_be_bytes());
    }

    fn text(&mut self, value: &str) {
        self.field(value.as_bytes());
    }

    fn text_or_null(&mut self, value: Option<&str>) {
        match value {
            Some(text) => self.text(text),
            None => self.null(),
        }
    }

    /// EWKB, which PostGIS's binary input takes with its SRID.
    fn geometry(&mut self, srid: i32, shape: &MultiPolygon<f64>) {
        use geozero::{CoordDimensions, ToWkb};
        let ewkb = geo::Geometry::MultiPolygon(shape.clone())
            .to_ewkb(CoordDimensions::xy(), Some(srid))
            .expect("a polygon always encodes");
        self.field(&ewkb);
    }

    /// jsonb's binary form: version 1, then the text.
    fn jsonb_or_null(&mut self, value: Option<&Value>) {
        match value {
            Some(json) => {
                let mut bytes = vec![1u8];
                serde_json::to_writer(&mut bytes, json).expect("JSON serialises");
                self.field(&bytes);
            }
            None => self.null(),
        }
    }

    /// The rows so far, to send; the buffer starts again empty.
    fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buffer)
    }

    /// The trailer that ends the data.
    fn finish(mut self) -> Vec<u8> {
        self.buffer.extend_from_slice(&(-1i16).to_be_bytes());
        self.buffer
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
