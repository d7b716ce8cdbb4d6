//! Bulk loading of the synthetic demo parcels: COPY into a staging table, then set-based
//! inserts, all in one transaction with one "reload" entry in the change feed.

use crate::error::{QueryContext, Result};
use crate::feed::append_reload;
use crate::store::Store;
use diaba_core::Layer;
use diaba_core::NationalParcelId;
use diaba_demo::{DemoParcel, SYNTHETIC_SOURCE};
use geo::MultiPolygon;
use std::fmt::Write;

const META_KEY: &str = "demo_profile";
/// Rows per COPY message.
const CHUNK: usize = 2_000;

impl Store {
    /// The demo profile already loaded, if any.
    pub async fn demo_profile(&self) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
            .bind(META_KEY)
            .fetch_optional(self.pool())
            .await
            .query("demo profile")
    }

    /// Inserts generated parcels as version 1, labelled synthetic, and records `profile`.
    /// `progress(done, total)` is called as rows are sent.
    pub async fn seed_parcels(
        &self,
        profile: &str,
        seed: u64,
        parcels: &[DemoParcel],
        mut progress: impl FnMut(usize, usize),
    ) -> Result<u64> {
        let source = format!("{SYNTHETIC_SOURCE}:profile={profile}:seed={seed}");
        let mut tx = self.pool().begin().await.query("begin seed")?;
        sqlx::query(include_str!("sql/seed_staging.sql")).execute(&mut *tx).await.query("staging table")?;
        let mut copy = tx
            .copy_in_raw(
                "COPY seed_parcel (national_id, ward_code, sheet, number, geom, geom_vn2000, area, land_uses, \
                 certificate_serial, registry_number, address_text, owners) FROM STDIN",
            )
            .await
            .query("copy in")?;
        let mut buffer = String::new();
        for (i, parcel) in parcels.iter().enumerate() {
            let Ok(id) = NationalParcelId::for_parcel(&parcel.lonlat) else {
                tracing::warn!(ward = %parcel.ward_code, sheet = parcel.sheet, number = parcel.number, "degenerate demo lot skipped");
                continue;
            };
            write_row(&mut buffer, id.as_str(), parcel);
            if (i + 1) % CHUNK == 0 || i + 1 == parcels.len() {
                copy.send(buffer.as_bytes()).await.query("copy rows")?;
                buffer.clear();
                progress(i + 1, parcels.len());
            }
        }
        copy.finish().await.query("copy finish")?;
        let inserted = sqlx::query(include_str!("sql/seed_insert.sql"))
            .bind(&source)
            .bind(diaba_core::REFORM_2025)
            .execute(&mut *tx)
            .await
            .query("insert parcels")?
            .rows_affected();
        sqlx::query(include_str!("sql/seed_land_uses.sql")).execute(&mut *tx).await.query("insert land uses")?;
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()",
        )
        .bind(META_KEY)
        .bind(profile)
        .execute(&mut *tx)
        .await
        .query("record demo profile")?;
        sqlx::query(
            "INSERT INTO audit_log (action, entity, after) VALUES ('seed', 'parcel', jsonb_build_object('source', $1::text, 'count', $2::bigint))",
        )
        .bind(&source)
        .bind(inserted as i64)
        .execute(&mut *tx)
        .await
        .query("audit seed")?;
        // The owners lists as parties, rights and certificates (the same function as the
        // migration of a register that had only the lists).
        sqlx::query(
            "WITH source AS (INSERT INTO admin_source (kind, number, issuer) VALUES ('seed', $1, 'diaba') RETURNING id) \
             SELECT rights_from_owners((SELECT array_agg(v.id) FROM parcel_version v WHERE v.source = $1), (SELECT id FROM source))",
        )
        .bind(&source)
        .execute(&mut *tx)
        .await
        .query("seed rights")?;
        // Plausible issue details for the demo's certificates (synthetic): a date from the
        // serial, between 2005 and 2024, and the issuer of that time.
        sqlx::query(
            "UPDATE certificate SET issued_on = DATE '2005-01-01' + (abs(hashtext(serial)) % 7300), \
             issuer = 'Sở Tài nguyên và Môi trường thành phố Cần Thơ' WHERE synthetic AND issued_on IS NULL",
        )
        .execute(&mut *tx)
        .await
        .query("seed certificates")?;
        append_reload(&mut tx, Layer::Parcels).await?;
        tx.commit().await.query("commit seed")?;
        sqlx::query("ANALYZE parcel_version").execute(self.pool()).await.query("analyze")?;
        Ok(inserted)
    }
}

fn write_row(out: &mut String, national_id: &str, p: &DemoParcel) {
    let land_uses = serde_json::to_string(&p.land_uses).expect("land uses serialise");
    let owners = p.owners.to_string();
    let fields = [
        national_id.to_owned(),
        p.ward_code.clone(),
        p.sheet.to_string(),
        p.number.to_string(),
        ewkb_hex(4326, &p.lonlat),
        ewkb_hex(5897, &p.vn2000),
        p.area_m2.to_string(),
        land_uses,
        p.certificate_serial.clone().unwrap_or_else(|| NULL.into()),
        p.registry_number.clone().unwrap_or_else(|| NULL.into()),
        p.address_text.clone(),
        owners,
    ];
    copy_row(out, &fields);
}

/// COPY text format's NULL.
pub(crate) const NULL: &str = "\\N";

/// One COPY text row: fields escaped and tab-separated, [`NULL`] kept as NULL.
pub(crate) fn copy_row(out: &mut String, fields: &[String]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        if field == NULL { out.push_str(field) } else { escape_copy_text(out, field) }
    }
    out.push('\n');
}

/// COPY text format: backslash, tab and newline must be escaped.
fn escape_copy_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// Extended WKT with SRID, which PostGIS reads directly in COPY.
/// Hex EWKB, as COPY's text format takes geometries: exact like [`ewkt`], without
/// printing and parsing every coordinate as decimal text (a third of a bulk import's staging).
pub(crate) fn ewkb_hex(srid: u32, shape: &MultiPolygon<f64>) -> String {
    use geozero::{CoordDimensions, ToWkb};
    let ewkb = geo::Geometry::MultiPolygon(shape.clone())
        .to_ewkb(CoordDimensions::xy(), Some(srid as i32))
        .expect("a polygon always encodes");
    hex::encode(ewkb)
}

pub(crate) fn ewkt(srid: u32, shape: &MultiPolygon<f64>) -> String {
    let mut out = format!("SRID={srid};MULTIPOLYGON(");
    for (p, polygon) in shape.iter().enumerate() {
        out.push_str(if p == 0 { "(" } else { ",(" });
        for (r, ring) in std::iter::once(polygon.exterior()).chain(polygon.interiors()).enumerate() {
            out.push_str(if r == 0 { "(" } else { ",(" });
            for (i, c) in ring.coords().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{} {}", c.x, c.y);
            }
            out.push(')');
        }
        out.push(')');
    }
    out.push(')');
    out
}

impl Store {
    /// Inserts generated households with their Vpostcodes (compact), on the lots they
    /// were generated on, labelled synthetic; captured over the last months from now.
    pub async fn seed_households(
        &self,
        profile: &str,
        seed: u64,
        households: &[diaba_demo::DemoHousehold],
    ) -> Result<u64> {
        let names = self.ward_search_names().await?;
        let source = format!("{SYNTHETIC_SOURCE}:profile={profile}:seed={seed}");
        let mut tx = self.pool().begin().await.query("begin household seed")?;
        sqlx::query(
            "CREATE TEMP TABLE seed_household (ward_code text, sheet int, number int, lon float8, lat float8, \
               vpostcode text, house_number text, street text, hamlet text, head_name text, team text, \
               accuracy_m real, days_ago int, status text, search_text text) ON COMMIT DROP",
        )
        .execute(&mut *tx)
        .await
        .query("household staging")?;
        let mut copy = tx.copy_in_raw("COPY seed_household FROM STDIN").await.query("copy households")?;
        let mut buffer = String::new();
        for (i, h) in households.iter().enumerate() {
            let ward_names = names.get(&h.ward_code).map(|n| n.join(" ")).unwrap_or_default();
            let search = diaba_core::fold(&format!(
                "{} {} {} {ward_names}",
                h.house_number,
                h.street.unwrap_or(""),
                h.hamlet.as_deref().unwrap_or("")
            ));
            let fields = [
                h.ward_code.clone(),
                h.sheet.to_string(),
                h.number.to_string(),
                h.lon.to_string(),
                h.lat.to_string(),
                h.vpostcode.clone(),
                h.house_number.clone(),
                h.street.map_or_else(|| NULL.into(), str::to_owned),
                h.hamlet.clone().unwrap_or_else(|| NULL.into()),
                h.head_name.clone(),
                h.team.clone(),
                h.accuracy_m.to_string(),
                h.days_ago.to_string(),
                h.status.to_owned(),
                search,
            ];
            copy_row(&mut buffer, &fields);
            if (i + 1) % CHUNK == 0 || i + 1 == households.len() {
                copy.send(buffer.as_bytes()).await.query("copy household rows")?;
                buffer.clear();
            }
        }
        copy.finish().await.query("copy households finish")?;
        let inserted = sqlx::query(include_str!("sql/seed_households.sql"))
            .bind(&source)
            .execute(&mut *tx)
            .await
            .query("insert households")?
            .rows_affected();
        append_reload(&mut tx, Layer::Addresses).await?;
        tx.commit().await.query("commit household seed")?;
        Ok(inserted)
    }

    /// Replaces the synthetic demo flood zones (real imported zones are kept).
    pub async fn seed_flood_zones(&self, zones: &[diaba_demo::DemoFloodZone]) -> Result<u64> {
        let mut tx = self.pool().begin().await.query("begin flood seed")?;
        sqlx::query("UPDATE flood_zone SET valid_to = now() WHERE source LIKE 'synthetic-demo%' AND valid_to IS NULL")
            .execute(&mut *tx)
            .await
            .query("retire demo zones")?;
        for zone in zones {
            sqlx::query(
                "INSERT INTO flood_zone (name, risk_level, scenario, return_period_years, source, geom) \
                 VALUES ($1, $2, $3, $4, $5, ST_GeomFromEWKT($6))",
            )
            .bind(&zone.name)
            .bind(zone.risk_level)
            .bind(zone.scenario)
            .bind(zone.return_period_years)
            .bind(format!("{SYNTHETIC_SOURCE}: invented bands, not a flood model"))
            .bind(ewkt(4326, &zone.lonlat))
            .execute(&mut *tx)
            .await
            .query("insert flood zone")?;
        }
        append_reload(&mut tx, Layer::FloodZones).await?;
        tx.commit().await.query("commit flood seed")?;
        Ok(zones.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn ewkb_hex_of_a_square_is_postgis_ewkb() {
        let shape = MultiPolygon(vec![polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0)]]);
        // Little-endian MultiPolygon (6) with the SRID flag (0x20000000), SRID 4326, one polygon.
        assert!(ewkb_hex(4326, &shape).starts_with("0106000020e610000001000000"), "{}", ewkb_hex(4326, &shape));
    }

    #[test]
    fn ewkt_of_a_square() {
        let shape = MultiPolygon(vec![polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0)]]);
        assert_eq!(ewkt(4326, &shape), "SRID=4326;MULTIPOLYGON(((0 0,1 0,1 1,0 0)))");
    }

    #[test]
    fn copy_text_escapes_control_characters() {
        let mut out = String::new();
        escape_copy_text(&mut out, "a\tb\\n\nc");
        assert_eq!(out, "a\\tb\\\\n\\nc");
    }
}
