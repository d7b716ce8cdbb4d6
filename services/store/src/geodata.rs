//! Loads the shipped administrative units (crate `diaba-geodata`) into `admin_unit`.

use crate::error::{QueryContext, Result};
use crate::store::Store;
use diaba_core::UnitLevel;
use diaba_geodata as shipped;
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;

const META_KEY: &str = "geodata_version";
/// Bump when the loader itself changes, so existing databases reload the units.
const LOADER_VERSION: u32 = 1;
/// Pre-2025 units have no start date in the shipped sources: they simply predate our records.
const SINCE_EVER: &str = "-infinity";
/// The reform date as the text the unit rows are written with.
static REFORM: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| diaba_core::REFORM_2025.to_string());
use diaba_geodata::SERVICE_AREA_DISTRICTS;
/// Wards missing from the GSO list of 2025-03-01 had been merged earlier; the sources give
/// no exact date, so they are closed at the date of the list that no longer has them.
const LAST_LIST_WITHOUT_THEM: &str = "2025-03-01";

impl Store {
    /// Loads the shipped administrative units unless this exact data is already loaded.
    /// Returns true when it loaded.
    pub async fn load_geodata(&self) -> Result<bool> {
        load_if_changed(self.pool()).await
    }
}

/// Loads the units when the database holds another (or no) version of the shipped files.
async fn load_if_changed(pool: &PgPool) -> Result<bool> {
    let fingerprint = format!("{}-{LOADER_VERSION}", shipped::fingerprint());
    let loaded: Option<String> = sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
        .bind(META_KEY)
        .fetch_optional(pool)
        .await
        .query("geodata version")?;
    if loaded.as_deref() == Some(fingerprint.as_str()) {
        return Ok(false);
    }
    let mut tx = pool.begin().await.query("begin")?;
    // Two processes starting on a fresh database must not both load.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('diaba.geodata'))")
        .execute(&mut *tx)
        .await
        .query("geodata lock")?;
    // Outlines an office imported (diaba import --layer units) are the register's own
    // record: a newer shipped set must not erase them. Keep the units and say so.
    let imported: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM admin_unit WHERE import_batch IS NOT NULL)")
        .fetch_one(&mut *tx)
        .await
        .query("imported units")?;
    if imported {
        tracing::warn!(
            version = %fingerprint,
            "the shipped administrative units changed, but this register holds imported unit outlines;              keeping the register's units (import the new shipped outlines with diaba import --layer units)"
        );
        return Ok(false);
    }
    sqlx::query("DELETE FROM unit_succession").execute(&mut *tx).await.query("clear successions")?;
    sqlx::query("DELETE FROM admin_unit").execute(&mut *tx).await.query("clear units")?;
    load_units(&mut tx).await?;
    sqlx::query(
        "INSERT INTO meta (key, value) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()",
    )
    .bind(META_KEY)
    .bind(&fingerprint)
    .execute(&mut *tx)
    .await
    .query("store geodata version")?;
    crate::feed::append_reload(&mut tx, diaba_core::Layer::Units).await?;
    tx.commit().await.query("commit geodata")?;
    tracing::info!(version = %fingerprint, "loaded the shipped administrative units");
    Ok(true)
}

struct NewUnit<'a> {
    code: &'a str,
    level: UnitLevel,
    name: &'a str,
    name_en: Option<&'a str>,
    kind: Option<&'a str>,
    parent_id: Option<i64>,
    postcode: Option<&'a str>,
    in_service_area: bool,
    valid_from: &'a str,
    valid_to: Option<&'a str>,
    geometry: Option<&'a str>,
    source: &'a str,
}

async fn insert(conn: &mut PgConnection, unit: NewUnit<'_>) -> Result<i64> {
    sqlx::query_scalar(include_str!("sql/insert_unit.sql"))
        .bind(unit.code)
        .bind(unit.level.as_str())
        .bind(unit.name)
        .bind(unit.name_en)
        .bind(unit.kind)
        .bind(unit.parent_id)
        .bind(unit.postcode.filter(|p| !p.is_empty()))
        .bind(unit.in_service_area)
        .bind(unit.valid_from)
        .bind(unit.valid_to)
        .bind(unit.geometry)
        .bind(unit.source)
        .fetch_one(conn)
        .await
        .query("insert unit")
}

async fn load_units(conn: &mut PgConnection) -> Result<()> {
    let listed = shipped::units_pre2025()?;
    let by_code: HashMap<&str, &shipped::Pre2025Unit> = listed.iter().map(|u| (u.gso_code.as_str(), u)).collect();
    let gso_source = "cantho_admin_units_pre2025_gso_postcodes.csv";

    // Before the reform: the city and its districts with polygons, wards without.
    let mut pre2025_ids: HashMap<String, i64> = HashMap::new();
    let mut districts = shipped::districts_pre2025()?;
    districts.sort_by_key(|shape| shape.code.len()); // the province first: it is their parent
    for shape in &districts {
        let listed = by_code.get(shape.code.as_str());
        let parent_id = listed.and_then(|u| pre2025_ids.get(&u.parent_gso_code)).copied();
        let id = insert(
            conn,
            NewUnit {
                code: &shape.code,
                level: if shape.code.len() == 2 { UnitLevel::Province } else { UnitLevel::District },
                name: &shape.full_name,
                name_en: None,
                kind: listed.map(|u| u.kind.as_str()),
                parent_id,
                postcode: listed.map(|u| u.postcode_vnpost_2020.as_str()),
                in_service_area: SERVICE_AREA_DISTRICTS.contains(&shape.code.as_str()),
                valid_from: SINCE_EVER,
                valid_to: Some(&REFORM),
                geometry: Some(&shape.geometry),
                source: shape.source,
            },
        )
        .await?;
        pre2025_ids.insert(shape.code.clone(), id);
    }
    for ward in listed.iter().filter(|u| u.level == UnitLevel::Ward) {
        let id = insert(
            conn,
            NewUnit {
                code: &ward.gso_code,
                level: UnitLevel::Ward,
                name: &ward.name,
                name_en: None,
                kind: Some(&ward.kind),
                parent_id: pre2025_ids.get(&ward.parent_gso_code).copied(),
                postcode: Some(&ward.postcode_vnpost_2020),
                in_service_area: false,
                valid_from: SINCE_EVER,
                valid_to: Some(if ward.in_gso_list_2025_03_01 == 1 { &REFORM } else { LAST_LIST_WITHOUT_THEM }),
                geometry: None,
                source: gso_source,
            },
        )
        .await?;
        pre2025_ids.insert(ward.gso_code.clone(), id);
    }

    // From the reform: the merged city and its wards, 12 of which form the service area.
    let scope = shipped::scope_2025()?;
    let city = shipped::city_2025()?;
    let city_id = insert(
        conn,
        NewUnit {
            code: &city.code,
            level: UnitLevel::Province,
            name: &city.full_name,
            name_en: city.name_en.as_deref(),
            kind: Some("Thành phố Trung ương"),
            parent_id: None,
            postcode: None,
            in_service_area: false,
            valid_from: &REFORM,
            valid_to: None,
            geometry: Some(&city.geometry),
            source: city.source,
        },
    )
    .await?;
    let mut new_ids: HashMap<String, i64> = HashMap::new();
    for ward in shipped::wards_2025()? {
        let scoped = scope.iter().find(|s| s.code == ward.code);
        let kind = ward.full_name.split_whitespace().next();
        let id = insert(
            conn,
            NewUnit {
                code: &ward.code,
                level: UnitLevel::Ward,
                name: &ward.full_name,
                name_en: ward.name_en.as_deref(),
                kind,
                parent_id: Some(city_id),
                postcode: scoped.map(|s| s.postcode.as_str()),
                in_service_area: scoped.is_some(),
                valid_from: &REFORM,
                valid_to: None,
                geometry: Some(&ward.geometry),
                source: ward.source,
            },
        )
        .await?;
        new_ids.insert(ward.code.clone(), id);
    }

    // Who became whom: codes for the 12 scope units, published names for the other 20.
    let mut links: Vec<(i64, i64, bool)> = Vec::new();
    for unit in &scope {
        for old in &unit.formed_from {
            if let (Some(&from), Some(&to)) = (pre2025_ids.get(&old.code), new_ids.get(&unit.code)) {
                links.push((from, to, old.partial));
            }
        }
    }
    for (new_code, names) in shipped::composition_2025()? {
        if scope.iter().any(|s| s.code == new_code) {
            continue;
        }
        let Some(&to) = new_ids.get(&new_code) else { continue };
        let names = if names.trim() == "giữ nguyên" { String::new() } else { names };
        for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let (name, partial) = match name.split_once('(') {
                Some((bare, note)) => (bare.trim(), note.contains("phần còn lại")),
                None => (name, false),
            };
            let matches: Vec<&shipped::Pre2025Unit> =
                listed.iter().filter(|u| u.level == UnitLevel::Ward && u.name == name).collect();
            match matches.as_slice() {
                [one] => links.push((pre2025_ids[&one.gso_code], to, partial)),
                _ => tracing::debug!(new_code, name, "composition name without a unique pre-2025 ward"),
            }
        }
    }
    for (from, to, partial) in links {
        sqlx::query(
            "INSERT INTO unit_succession (predecessor_id, successor_id, partial, effective) \
             VALUES ($1, $2, $3, $4::date) ON CONFLICT DO NOTHING",
        )
        .bind(from)
        .bind(to)
        .bind(partial)
        .bind(REFORM.as_str())
        .execute(&mut *conn)
        .await
        .query("insert succession")?;
    }
    Ok(())
}
