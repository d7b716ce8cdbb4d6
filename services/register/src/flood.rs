//! Flood risk (DESIGN §6): the zones in force, and what they hold.

use crate::Register;
use crate::error::{Error, Result};
use crate::page::Page;
use diaba_core::{UnitCode, UnitLevel};
use diaba_store::LevelSummary;
use geo::BoundingRect;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

/// National scale the levels come from.
const SCALE: &str = "QĐ 18/2021/QĐ-TTg, levels 1 (low) to 5 (very high)";

/// A zone in force, without its geometry (tiles and OGC serve shapes).
#[derive(Debug, Serialize)]
pub struct Zone {
    id: i64,
    name: String,
    risk_level: i16,
    scenario: String,
    source: String,
    bbox: Option<[f64; 4]>,
}

/// The zones in force.
#[derive(Debug, Serialize)]
pub struct Zones {
    zones: Vec<Zone>,
    scale: &'static str,
}

/// A ward's exposure by scenario and level.
#[derive(Debug, Serialize)]
pub struct WardExposure {
    ward: UnitCode,
    levels: Vec<LevelSummary>,
}

impl Register {
    /// Zones in force, from the index, by `scenario`, risk `level` (1 to 5) and a box they
    /// meet (`minLon,minLat,maxLon,maxLat`).
    pub fn flood_zones(&self, scenario: Option<&str>, level: Option<&str>, bbox: Option<&str>) -> Result<Zones> {
        let level = level
            .map(|l| {
                l.parse::<i16>()
                    .ok()
                    .filter(|l| (1..=5).contains(l))
                    .ok_or_else(|| Error::invalid("level", "level is 1 to 5"))
            })
            .transpose()?;
        let bbox = bbox.map(crate::parcels::parse_bbox).transpose()?;
        let meets = |zone: &Option<[f64; 4]>| {
            bbox.is_none_or(|[w, s, e, n]| {
                zone.is_some_and(|[zw, zs, ze, zn]| zw <= e && w <= ze && zs <= n && s <= zn)
            })
        };
        let mut zones: Vec<Zone> = self
            .index
            .flood
            .all()
            .iter()
            .filter(|z| scenario.is_none_or(|s| s == z.scenario) && level.is_none_or(|l| l == z.risk_level))
            .map(|z| Zone {
                id: z.id,
                name: z.name.clone(),
                risk_level: z.risk_level,
                scenario: z.scenario.clone(),
                source: z.source.clone(),
                bbox: z.shape.bounding_rect().map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]),
            })
            .filter(|z| meets(&z.bbox))
            .collect();
        zones.sort_by_key(|z| z.id);
        Ok(Zones { zones, scale: SCALE })
    }

    /// Parcels and households in zone `id`: counts by land use and a page of each.
    pub async fn zone_exposure(&self, id: &str, limit: Option<&str>, after: Option<&str>) -> Result<Arc<Value>> {
        let id: i64 = id
            .parse()
            .ok()
            .filter(|i| *i > 0)
            .ok_or_else(|| Error::invalid("id", "zone id must be a positive integer"))?;
        let page = Page::parse(limit, after)?;
        let key = format!("zone {id} {} {}", page.after, page.limit);
        if let Some(kept) = self.exposures.get(&key) {
            return Ok(kept);
        }
        let _turn = self.read_turn().await?;
        let exposure = self
            .store
            .zone_exposure(id, page.after, page.limit)
            .await?
            .ok_or_else(|| Error::not_found(format!("no flood zone {id} in force")))?;
        let exposure = Arc::new(exposure);
        self.exposures.insert(key, exposure.clone());
        Ok(exposure)
    }

    /// A current ward's exposure, by scenario and risk level.
    pub async fn ward_exposure(&self, ward: Option<&str>, scenario: Option<&str>) -> Result<Arc<Value>> {
        let ward = ward.ok_or_else(|| Error::invalid("ward", "ward is required (a current ward code, e.g. 31135)"))?;
        let ward = UnitCode::parse(ward).map_err(|e| Error::invalid("ward", e.to_string()))?;
        let known = self
            .index
            .units
            .all()
            .iter()
            .any(|u| u.code == ward.as_str() && u.level == UnitLevel::Ward && u.valid_to.is_none());
        if !known {
            return Err(Error::not_found(format!("{ward} is not a current ward of Cần Thơ")));
        }
        let key = format!("ward {ward} {}", scenario.unwrap_or("\u{0}"));
        if let Some(kept) = self.exposures.get(&key) {
            return Ok(kept);
        }
        let _turn = self.read_turn().await?;
        let levels = self.store.ward_exposure(ward.as_str(), scenario).await?;
        let exposure = Arc::new(serde_json::to_value(WardExposure { ward, levels }).expect("exposures serialise"));
        self.exposures.insert(key, exposure.clone());
        Ok(exposure)
    }
}
