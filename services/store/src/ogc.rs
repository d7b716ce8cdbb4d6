//! Features for OGC API – Features (DESIGN §9): each collection as GeoJSON features built
//! by PostGIS, filtered by box, date, id and simple properties, paged in id order (by offset
//! for the API's links, by last id for exports).
//! Parcels in EPSG:5897 are their legal VN-2000 geometry, not a reprojection.

use crate::error::{QueryContext, Result};
use crate::store::Store;
use chrono::{DateTime, Utc};
use diaba_core::crs::Tm3Zone;
use serde_json::Value;
use sqlx::{Postgres, QueryBuilder};

/// The collections diaba publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    /// Administrative units with polygons (wards, districts, the province), by validity.
    Wards,
    /// Land parcels (live, or as of a date).
    Parcels,
    /// Verified household addresses.
    Addresses,
    /// Flood-risk zones in force.
    FloodZones,
}

impl Collection {
    /// Every collection, in listing order.
    pub const ALL: [Collection; 4] =
        [Collection::Wards, Collection::Parcels, Collection::Addresses, Collection::FloodZones];

    /// The collection id in URLs.
    pub fn id(self) -> &'static str {
        match self {
            Collection::Wards => "wards",
            Collection::Parcels => "parcels",
            Collection::Addresses => "addresses",
            Collection::FloodZones => "flood-zones",
        }
    }

    /// Property filters the collection accepts (`?name=value`), and the column each tests.
    pub fn filters(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Collection::Wards => &[("code", "u.code"), ("level", "u.level")],
            Collection::Parcels => {
                &[("ward", "v.ward_code"), ("sheet", "v.sheet::text"), ("number", "v.number::text"), ("land_use", "")]
            }
            Collection::Addresses => &[("ward", "a.ward_code"), ("street", "a.street"), ("hamlet", "a.hamlet")],
            Collection::FloodZones => &[("scenario", "z.scenario"), ("risk_level", "z.risk_level::text")],
        }
    }
}

/// What to fetch.
#[derive(Debug, Clone, Default)]
pub struct FeatureQuery {
    /// `[west, south, east, north]`, in CRS84 or, with `bbox_vn2000`, EPSG:5897 metres.
    pub bbox: Option<[f64; 4]>,
    /// The box is in EPSG:5897.
    pub bbox_vn2000: bool,
    /// Answer in EPSG:5897 instead of CRS84.
    pub vn2000: bool,
    /// As of this instant (parcels, units); now when absent.
    pub at: Option<DateTime<Utc>>,
    /// Property filters: (name from [`Collection::filters`], value).
    pub filters: Vec<(String, String)>,
    /// One feature.
    pub id: Option<i64>,
    /// Include owners (registrars only).
    pub with_owners: bool,
    /// Page size.
    pub limit: i64,
    /// Features skipped.
    pub offset: i64,
    /// Only features with a larger id (keyset paging: each page costs the same, where an
    /// offset makes PostgreSQL walk every row before it).
    pub after_id: Option<i64>,
}

/// A page of GeoJSON features and how many match in all.
#[derive(Debug, Clone)]
pub struct FeaturePage {
    /// Features matching the query (all pages).
    pub matched: i64,
    /// GeoJSON Feature objects of this page.
    pub features: Vec<Value>,
}

fn pinned_vn2000() -> String {
    Tm3Zone::CAN_THO.proj_string()
}

/// A collection's table: (FROM, geometry in CRS84, geometry in EPSG:5897, properties).
fn parts(collection: Collection, q: &FeatureQuery) -> (String, String, String, String) {
    let to_vn2000 = |geom: &str| format!("ST_SetSRID(ST_Transform({geom}, '{}'), 5897)", pinned_vn2000());
    match collection {
        Collection::Parcels => {
            let owners = if q.with_owners { ", 'owners', v.owners" } else { "" };
            (
                "parcel_version v JOIN parcel p ON p.id = v.parcel_id".into(),
                "v.geom".into(),
                "v.geom_vn2000".into(),
                format!(
                    "json_build_object('national_id', p.national_id, 'ward_code', v.ward_code, 'sheet', v.sheet, 'number', v.number, \
                     'version', v.version, 'land_use', (SELECT u.code FROM parcel_land_use u WHERE u.parcel_version_id = v.id \
                       ORDER BY u.area_m2 DESC NULLS LAST, u.code LIMIT 1), 'legal_area_m2', v.legal_area_m2, \
                     'address_text', v.address_text, 'source', v.source, 'valid_from', v.valid_from{owners})"
                ),
            )
        }
        Collection::Wards => (
            "admin_unit u".into(),
            "u.geom".into(),
            to_vn2000("u.geom"),
            "json_build_object('code', u.code, 'name', u.name, 'level', u.level, 'kind', u.kind, 'postcode', u.postcode, \
             'valid_from', CASE WHEN isfinite(u.valid_from) THEN u.valid_from END, 'valid_to', u.valid_to, \
             'in_service_area', u.in_service_area)"
                .into(),
        ),
        Collection::Addresses => (
            "address a".into(),
            "a.location".into(),
            to_vn2000("a.location"),
            "json_build_object('vpostcode', substr(a.vpostcode, 1, 5) || ' ' || substr(a.vpostcode, 6, 4) || '+' || substr(a.vpostcode, 10), \
             'house_number', a.house_number, 'street', a.street, 'hamlet', a.hamlet, 'ward_code', a.ward_code, \
             'parcel_id', a.parcel_id, 'source', a.source)"
                .into(),
        ),
        Collection::FloodZones => (
            "flood_zone z".into(),
            "z.geom".into(),
            to_vn2000("z.geom"),
            "json_build_object('name', z.name, 'risk_level', z.risk_level, 'scenario', z.scenario, \
             'return_period_years', z.return_period_years, 'source', z.source)"
                .into(),
        ),
    }
}

fn push_conditions(sql: &mut QueryBuilder<'_, Postgres>, collection: Collection, q: &FeatureQuery, geom: &str) {
    sql.push(" WHERE true");
    if let Some(after) = q.after_id {
        sql.push(format!(" AND {} > ", parts_id(collection))).push_bind(after);
    }
    match collection {
        Collection::Parcels => match q.at {
            Some(at) => {
                sql.push(" AND v.valid_from <= ")
                    .push_bind(at)
                    .push(" AND (v.valid_to IS NULL OR v.valid_to > ")
                    .push_bind(at)
                    .push(")");
            }
            None => {
                sql.push(" AND v.valid_to IS NULL");
            }
        },
        Collection::Wards => {
            let day =
                q.at.unwrap_or_else(Utc::now)
                    .with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).expect("UTC+7"))
                    .date_naive();
            sql.push(" AND u.geom IS NOT NULL AND u.valid_from <= ")
                .push_bind(day)
                .push(" AND (u.valid_to IS NULL OR u.valid_to > ")
                .push_bind(day)
                .push(")");
        }
        Collection::Addresses => {
            sql.push(" AND a.status = 'verified'");
        }
        Collection::FloodZones => {
            sql.push(" AND z.valid_to IS NULL");
        }
    }
    if let Some(id) = q.id {
        sql.push(format!(" AND {} = ", parts_id(collection))).push_bind(id);
    }
    if let Some([w, s, e, n]) = q.bbox {
        let envelope = |sql: &mut QueryBuilder<'_, Postgres>| {
            sql.push("ST_MakeEnvelope(")
                .push_bind(w)
                .push(", ")
                .push_bind(s)
                .push(", ")
                .push_bind(e)
                .push(", ")
                .push_bind(n);
        };
        match (q.bbox_vn2000, collection) {
            (false, _) => {
                sql.push(format!(" AND ST_Intersects({geom}, "));
                envelope(sql);
                sql.push(", 4326))");
            }
            (true, Collection::Parcels) => {
                sql.push(" AND ST_Intersects(v.geom_vn2000, ");
                envelope(sql);
                sql.push(", 5897))");
            }
            (true, _) => {
                sql.push(format!(" AND ST_Intersects({geom}, ST_Transform("));
                envelope(sql);
                sql.push(format!("), '{}', 4326))", pinned_vn2000()));
            }
        }
    }
    for (name, value) in &q.filters {
        let Some((_, column)) = collection.filters().iter().find(|(n, _)| n == name) else { continue };
        if collection == Collection::Parcels && *name == "land_use" {
            sql.push(" AND EXISTS (SELECT 1 FROM parcel_land_use u WHERE u.parcel_version_id = v.id AND u.code = ")
                .push_bind(value.clone())
                .push(")");
        } else {
            sql.push(format!(" AND {column} = ")).push_bind(value.clone());
        }
    }
}

/// The id column of a collection (the feature id).
fn parts_id(collection: Collection) -> &'static str {
    match collection {
        Collection::Parcels => "v.parcel_id",
        Collection::Wards => "u.id",
        Collection::Addresses => "a.id",
        Collection::FloodZones => "z.id",
    }
}

impl Store {
    /// A page of `collection`'s features matching `q`, with the total count.
    pub async fn ogc_features(&self, collection: Collection, q: &FeatureQuery) -> Result<FeaturePage> {
        let (from, geom84, geom5897, properties) = parts(collection, q);
        let id = parts_id(collection);
        let geometry = if q.vn2000 { geom5897 } else { geom84.clone() };
        let digits = if q.vn2000 { 3 } else { 9 };

        let mut count = QueryBuilder::<Postgres>::new(format!("SELECT count(*) FROM {from}"));
        push_conditions(&mut count, collection, q, &geom84);
        let matched: i64 = count.build_query_scalar().fetch_one(self.pool()).await.query("ogc count")?;

        let mut select = QueryBuilder::<Postgres>::new(format!(
            "SELECT json_build_object('type', 'Feature', 'id', {id}, 'geometry', ST_AsGeoJSON({geometry}, {digits})::json, \
             'properties', {properties}) FROM {from}"
        ));
        push_conditions(&mut select, collection, q, &geom84);
        select.push(format!(" ORDER BY {id} LIMIT ")).push_bind(q.limit).push(" OFFSET ").push_bind(q.offset);
        let features: Vec<Value> = select.build_query_scalar().fetch_all(self.pool()).await.query("ogc features")?;
        Ok(FeaturePage { matched, features })
    }
}
