//! Features for OGC API – Features (DESIGN §9): each collection as GeoJSON features built
//! by PostGIS, filtered by box, date, id and simple properties, paged in id order (by offset
//! for the API's links, by last id for exports).
//! Parcels in EPSG:5897 are their legal VN-2000 geometry, not a reprojection.

use crate::error::{QueryContext, Result};
use crate::store::Store;
use chrono::{DateTime, Utc};
use diaba_core::Layer;
use diaba_core::crs::Tm3Zone;
use serde_json::Value;
use sqlx::{Postgres, QueryBuilder};

/// How a collection's rows are chosen in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Validity {
    /// Parcel versions: the live one, or the one in force at the asked instant.
    ParcelVersions,
    /// Administrative units: valid on the asked day in Vietnam (today by default).
    UnitDates,
    /// Only rows meeting a fixed condition (verified, in force).
    Live(&'static str),
}

/// A collection diaba publishes: its id in URLs, its title, and how PostGIS builds its
/// features. Made for each layer by [`Collection::of`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collection {
    pub(crate) layer: Layer,
    pub(crate) id: &'static str,
    pub(crate) title: &'static str,
    pub(crate) from: &'static str,
    pub(crate) id_column: &'static str,
    pub(crate) geometry: &'static str,
    /// The legal VN-2000 geometry when the table stores one (else it is transformed).
    pub(crate) vn2000_geometry: Option<&'static str>,
    pub(crate) properties: &'static str,
    pub(crate) filters: &'static [(&'static str, &'static str)],
    pub(crate) validity: Validity,
}

impl Collection {
    /// Every published collection, in listing order.
    pub fn all() -> impl Iterator<Item = Collection> {
        Layer::ALL.iter().copied().filter_map(Collection::of)
    }

    /// The collection with this URL id.
    pub fn by_id(id: &str) -> Option<Collection> {
        Collection::all().find(|c| c.id == id)
    }

    /// The layer it publishes.
    pub fn layer(self) -> Layer {
        self.layer
    }

    /// The collection id in URLs.
    pub fn id(self) -> &'static str {
        self.id
    }

    /// Its title.
    pub fn title(self) -> &'static str {
        self.title
    }

    /// True when its legal geometry is stored in EPSG:5897 (parcels).
    pub fn stored_in_vn2000(self) -> bool {
        self.vn2000_geometry.is_some()
    }

    /// Names of the property filters the collection accepts (`?name=value`).
    pub fn filter_names(self) -> impl Iterator<Item = &'static str> {
        self.filters.iter().map(|(name, _)| *name)
    }

    /// The property filter that names a ward (units: their own code), where there is one.
    pub fn ward_filter(self) -> Option<&'static str> {
        self.filter_names().find(|f| *f == "ward").or_else(|| (self.layer == Layer::Units).then_some("code"))
    }

    /// Only parcels carry owners: their holders from rights (as the version stood), and the
    /// column of the record's ward.
    fn owners(self) -> Option<(&'static str, &'static str)> {
        (self.layer == Layer::Parcels).then_some(("parcel_holders(v.parcel_id, v.valid_to)", "v.ward_code"))
    }
}

/// Whose owners a page of features carries: personal data goes only to those entitled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum OwnersShown {
    /// None (the public, collectors).
    #[default]
    Nobody,
    /// Owners of records in these wards (a registrar's).
    InWards(Vec<String>),
    /// Every owner (admins).
    Everyone,
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
    /// Property filters: (name from [`Collection::filter_names`], value).
    pub filters: Vec<(String, String)>,
    /// One feature.
    pub id: Option<i64>,
    /// Whose owners (personal data) to include.
    pub owners: OwnersShown,
    /// Page size.
    pub limit: i64,
    /// Features skipped.
    pub offset: i64,
    /// Only features with a larger id (keyset paging: each page costs the same, where an
    /// offset makes PostgreSQL walk every row before it).
    pub after_id: Option<i64>,
}

/// Most features counted for `numberMatched`: counting all of a city-wide query would cost
/// as much as reading it.
pub const MAX_COUNTED: i64 = 100_000;

/// A page of GeoJSON features and how many match in all.
#[derive(Debug, Clone)]
pub struct FeaturePage {
    /// Features matching the query (all pages), when there are at most [`MAX_COUNTED`].
    pub matched: Option<i64>,
    /// GeoJSON Feature objects of this page.
    pub features: Vec<Value>,
}

fn pinned_vn2000() -> String {
    Tm3Zone::CAN_THO.proj_string()
}

fn push_conditions(sql: &mut QueryBuilder<'_, Postgres>, c: Collection, q: &FeatureQuery) {
    sql.push(" WHERE true");
    if let Some(after) = q.after_id {
        sql.push(format!(" AND {} > ", c.id_column)).push_bind(after);
    }
    match c.validity {
        Validity::ParcelVersions => match q.at {
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
        Validity::UnitDates => {
            let day = diaba_core::vietnam_date(q.at.unwrap_or_else(Utc::now));
            sql.push(" AND u.geom IS NOT NULL AND u.valid_from <= ")
                .push_bind(day)
                .push(" AND (u.valid_to IS NULL OR u.valid_to > ")
                .push_bind(day)
                .push(")");
        }
        Validity::Live(condition) => {
            sql.push(format!(" AND {condition}"));
        }
    }
    if let Some(id) = q.id {
        sql.push(format!(" AND {} = ", c.id_column)).push_bind(id);
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
        match (q.bbox_vn2000, c.vn2000_geometry) {
            (false, _) => {
                sql.push(format!(" AND ST_Intersects({}, ", c.geometry));
                envelope(sql);
                sql.push(", 4326))");
            }
            (true, Some(legal)) => {
                sql.push(format!(" AND ST_Intersects({legal}, "));
                envelope(sql);
                sql.push(", 5897))");
            }
            (true, None) => {
                sql.push(format!(" AND ST_Intersects({}, ST_Transform(", c.geometry));
                envelope(sql);
                sql.push(format!("), '{}', 4326))", pinned_vn2000()));
            }
        }
    }
    for (name, value) in &q.filters {
        let Some((_, column)) = c.filters.iter().find(|(n, _)| n == name) else { continue };
        // A filter is a column compared with the value, or a condition with `$` for it.
        match column.split_once('$') {
            Some((before, after)) => {
                sql.push(format!(" AND {before}")).push_bind(value.clone()).push(after);
            }
            None => {
                sql.push(format!(" AND {column} = ")).push_bind(value.clone());
            }
        }
    }
}

impl Store {
    /// A page of `collection`'s features matching `q`, with the total count; read from a
    /// replica when one is within the allowed lag (OGC clients and exports may be a moment
    /// behind).
    pub async fn ogc_features(&self, c: Collection, q: &FeatureQuery) -> Result<FeaturePage> {
        self.on_replica(|store| async move { store.ogc_page(c, q).await }).await
    }

    async fn ogc_page(&self, c: Collection, q: &FeatureQuery) -> Result<FeaturePage> {
        let geometry = match (q.vn2000, c.vn2000_geometry) {
            (false, _) => c.geometry.to_owned(),
            (true, Some(legal)) => legal.to_owned(),
            (true, None) => format!("ST_SetSRID(ST_Transform({}, '{}'), 5897)", c.geometry, pinned_vn2000()),
        };
        let digits = if q.vn2000 { 3 } else { 9 };
        let (from, id, properties) = (c.from, c.id_column, c.properties);

        let mut count = QueryBuilder::<Postgres>::new(format!("SELECT count(*) FROM (SELECT 1 FROM {from}"));
        let mut counted = q.clone();
        counted.after_id = None;
        push_conditions(&mut count, c, &counted);
        count.push(" LIMIT ").push_bind(MAX_COUNTED + 1).push(") bounded");
        let matched: i64 = count.build_query_scalar().fetch_one(self.pool()).await.query("ogc count")?;
        let matched = (matched <= MAX_COUNTED).then_some(matched);

        let mut select = QueryBuilder::<Postgres>::new(format!(
            "SELECT json_build_object('type', 'Feature', 'id', {id}, 'geometry', ST_AsGeoJSON({geometry}, {digits})::json, \
             'properties', "
        ));
        // Owners are personal data: the key is there only for whom may see them, per record.
        let public = format!("json_build_object({properties})");
        match (&q.owners, c.owners()) {
            (OwnersShown::Everyone, Some((column, _))) => {
                select.push(format!("json_build_object({properties}, 'owners', {column})"));
            }
            (OwnersShown::InWards(wards), Some((column, ward))) => {
                select
                    .push(format!("CASE WHEN {ward} = ANY("))
                    .push_bind(wards.clone())
                    .push(format!(") THEN json_build_object({properties}, 'owners', {column}) ELSE {public} END"));
            }
            _ => {
                select.push(&public);
            }
        }
        select.push(format!(") FROM {from}"));
        push_conditions(&mut select, c, q);
        select.push(format!(" ORDER BY {id} LIMIT ")).push_bind(q.limit).push(" OFFSET ").push_bind(q.offset);
        let features: Vec<Value> = select.build_query_scalar().fetch_all(self.pool()).await.query("ogc features")?;
        Ok(FeaturePage { matched, features })
    }
}
