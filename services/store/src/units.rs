//! Administrative units valid at a date, found by point.

use crate::error::{QueryContext, Result};
use crate::store::Store;
use chrono::NaiveDate;
use diaba_core::{AsOf, LonLat, UnitLevel};
use serde::Serialize;

/// One administrative unit as valid during `[valid_from, valid_to)`.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Unit {
    /// GSO code (ambiguous without the validity: codes were reused in 2025).
    pub code: String,
    /// province, district or ward
    pub level: String,
    /// Full Vietnamese name.
    pub name: String,
    /// English name where known.
    pub name_en: Option<String>,
    /// Phường, Xã, Quận, Huyện …
    pub kind: Option<String>,
    /// 5-digit postcode for wards (3 for districts), when known.
    pub postcode: Option<String>,
    /// First day of validity; `None` when it predates our records.
    pub valid_from: Option<NaiveDate>,
    /// First day it is no longer valid; `None` while it is current.
    pub valid_to: Option<NaiveDate>,
    /// One of the 12 units where diaba holds parcels and addresses.
    pub in_service_area: bool,
    /// Where the record comes from.
    pub source: String,
}

/// A pre-2025 ward that may contain a point, when old ward polygons are not available.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Candidate {
    /// The candidate ward.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub unit: Unit,
    /// Only part of it went into the post-2025 ward at the point.
    pub partial: bool,
}

/// The units containing a point on a date.
#[derive(Debug, Clone, Serialize)]
pub struct UnitsAt {
    /// The date asked about.
    pub at: AsOf,
    /// Province / centrally-run city.
    pub province: Option<Unit>,
    /// District (only before 2025-07-01).
    pub district: Option<Unit>,
    /// The ward, when it is known exactly.
    pub ward: Option<Unit>,
    /// Before 2025-07-01 where the ward is not known exactly: the wards it may be.
    pub ward_candidates: Vec<Candidate>,
}

impl Store {
    /// Which units contained `point` on `at`; `None` outside every loaded unit.
    ///
    /// Boundary points count as inside (`ST_Covers`). Before the reform, the shipped data has
    /// district polygons but no ward polygons: the ward is derived from the 2025 ward at the
    /// point and the old wards it was formed from within the point's district, and is exact
    /// only when one candidate remains.
    pub async fn units_at(&self, point: LonLat, at: AsOf) -> Result<Option<UnitsAt>> {
        let units: Vec<Unit> = sqlx::query_as(include_str!("sql/units_at.sql"))
            .bind(point.lon())
            .bind(point.lat())
            .bind(at.date())
            .fetch_all(self.pool())
            .await
            .query("units at point")?;
        if units.is_empty() {
            return Ok(None);
        }
        let find = |level: UnitLevel| units.iter().find(|u| u.level == level.as_str()).cloned();
        let mut answer = UnitsAt {
            at,
            province: find(UnitLevel::Province),
            district: find(UnitLevel::District),
            ward: find(UnitLevel::Ward),
            ward_candidates: Vec::new(),
        };
        if answer.ward.is_none() && answer.district.is_some() {
            let mut candidates: Vec<Candidate> = sqlx::query_as(include_str!("sql/ward_candidates.sql"))
                .bind(point.lon())
                .bind(point.lat())
                .bind(at.date())
                .bind(diaba_core::REFORM_2025)
                .fetch_all(self.pool())
                .await
                .query("ward candidates")?;
            if let [only] = candidates.as_slice() {
                answer.ward = Some(only.unit.clone());
                candidates.clear();
            }
            answer.ward_candidates = candidates;
        }
        if answer.province.is_none() && answer.district.is_none() && answer.ward.is_none() {
            return Ok(None);
        }
        Ok(Some(answer))
    }
}

impl Store {
    /// The name of ward `code` in the era beginning `era` (codes were reused in 2025).
    pub async fn ward_name(&self, code: &str, era: chrono::NaiveDate) -> Result<Option<String>> {
        sqlx::query_scalar(
            "SELECT name FROM admin_unit WHERE code = $1 AND level = 'ward' AND coalesce(valid_from, '-infinity') <= $2 \
             ORDER BY valid_from DESC NULLS LAST LIMIT 1",
        )
        .bind(code)
        .bind(era)
        .fetch_optional(self.pool())
        .await
        .query("ward name")
    }
}
