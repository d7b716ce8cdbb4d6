//! What the store knows of each layer, in one place: the features the in-memory index
//! holds (every one of a layer at start, one at a time as the change feed names them),
//! the box a change of the layer touched, and its OGC API collection. Geometry travels as
//! WKB (compact, exact doubles) and is read with geozero.

use crate::error::{Error, QueryContext, Result};
use crate::ogc::{Collection, Validity};
use crate::store::Store;
use chrono::NaiveDate;
use diaba_core::covers::BandedArea;
use diaba_core::outline::Outline;
use diaba_core::spatial::{
    AddressFeature, FloodFeature, Interner, LayerFeature, LayerFeatures, ParcelFeature, PastParcel, UnitFeature,
};
use diaba_core::{Layer, PackedParcelId, Postcode, PostcodeArea, UnitLevel};
use futures_util::TryStreamExt;
use geo::MultiPolygon;
use geozero::ToGeo;

pub(crate) fn multipolygon(wkb: &[u8]) -> Result<MultiPolygon<f64>> {
    match geozero::wkb::Wkb(wkb.to_vec()).to_geo().map_err(|e| Error::Geometry { detail: e.to_string() })? {
        geo::Geometry::MultiPolygon(m) => Ok(m),
        geo::Geometry::Polygon(p) => Ok(MultiPolygon(vec![p])),
        other => Err(Error::Geometry { detail: format!("expected a polygon, got {other:?}") }),
    }
}

type ParcelRow = (i64, String, String, i32, i32, i32, f64, Vec<String>, i64, Option<String>, Vec<u8>);
/// A [`ParcelRow`] after its version's id and end.
type PastParcelRow = (i64, i64, i64, String, String, i32, i32, i32, f64, Vec<String>, i64, Option<String>, Vec<u8>);
/// A [`ParcelRow`] after the number of the point it answers.
type OrdinalParcelRow = (i64, i64, String, String, i32, i32, i32, f64, Vec<String>, i64, Option<String>, Vec<u8>);

fn parcel_feature(row: ParcelRow, shared: &mut Interner) -> Result<ParcelFeature> {
    let (id, national_id, ward_code, sheet, number, version, legal_area_m2, land_uses, valid_from, address, wkb) = row;
    let national_id = PackedParcelId::new(&national_id).ok_or_else(|| Error::Geometry {
        detail: format!("parcel {id}: national id {national_id:?} is not 12 ASCII characters"),
    })?;
    Ok(ParcelFeature {
        id,
        national_id,
        ward_code: shared.ward(ward_code),
        sheet,
        number,
        version,
        land_uses: shared.land_uses(land_uses),
        legal_area_m2,
        valid_from,
        name: address.as_deref().and_then(diaba_core::spatial::road_or_water_name),
        outline: Outline::from(&multipolygon(&wkb)?),
    })
}

type UnitRow = (i64, String, String, String, Option<String>, Option<NaiveDate>, Option<NaiveDate>, bool, Vec<u8>);

fn unit_feature(row: UnitRow) -> Result<UnitFeature> {
    let (id, code, level, name, postcode, valid_from, valid_to, in_service_area, wkb) = row;
    let level = UnitLevel::parse(&level).map_err(|e| Error::Geometry { detail: format!("unit {code}: {e}") })?;
    let shape = multipolygon(&wkb)?;
    let postcode_area = match (&postcode, valid_to, level) {
        (Some(p), None, UnitLevel::Ward) => {
            Postcode::parse(p).ok().and_then(|p| PostcodeArea::new(p, &code, &name, true, shape.clone()))
        }
        _ => None,
    };
    let area = BandedArea::new(&shape);
    Ok(UnitFeature {
        id,
        code,
        level,
        name,
        postcode,
        valid_from,
        valid_to,
        in_service_area,
        shape,
        postcode_area,
        area,
        answer_json: Default::default(),
    })
}

type FloodRow = (i64, String, i16, String, String, Vec<u8>);

fn flood_feature(row: FloodRow) -> Result<FloodFeature> {
    let (id, name, risk_level, scenario, source, wkb) = row;
    let shape = multipolygon(&wkb)?;
    let area = BandedArea::new(&shape);
    Ok(FloodFeature { id, name, risk_level, scenario, source, area, shape, answer_json: Default::default() })
}

type AddressRow = (i64, String, Option<String>, Option<String>, Option<String>, String, f64, f64);

fn address_feature(row: AddressRow) -> AddressFeature {
    let (id, vpostcode, house_number, street, hamlet, ward_code, lon, lat) = row;
    AddressFeature { id, vpostcode, house_number, street, hamlet, ward_code, lon, lat }
}

/// Parcel versions as the index holds them. The address text goes along only for road and
/// water parcels (main use DGT or SON), whose address names the road or river: the tiles'
/// labels. Past versions are read with the same columns (`Store::past_parcels`).
const PARCELS: &str = "SELECT p.id, p.national_id, v.ward_code, v.sheet, v.number, v.version, v.legal_area_m2, \
     lu.codes, floor(extract(epoch FROM v.valid_from))::int8, \
     CASE WHEN lu.codes[1] IN ('DGT', 'SON') THEN v.address_text END, \
     ST_AsBinary(v.geom) \
     FROM parcel p JOIN parcel_version v ON v.parcel_id = p.id AND v.valid_to IS NULL \
     CROSS JOIN LATERAL (SELECT ARRAY(SELECT u.code FROM parcel_land_use u WHERE u.parcel_version_id = v.id \
       ORDER BY u.area_m2 DESC NULLS LAST, u.code) AS codes) lu";
const UNITS: &str = "SELECT id, code, level, name, postcode, \
     CASE WHEN isfinite(valid_from) THEN valid_from END, valid_to, in_service_area, ST_AsBinary(geom) \
     FROM admin_unit WHERE geom IS NOT NULL";
const FLOOD: &str =
    "SELECT id, name, risk_level, scenario, source, ST_AsBinary(geom) FROM flood_zone WHERE valid_to IS NULL";
/// Verified addresses only: submissions and rejected ones never reach the index.
const ADDRESSES: &str = "SELECT id, substr(vpostcode, 1, 5) || ' ' || substr(vpostcode, 6, 4) || '+' || substr(vpostcode, 10), house_number, street, hamlet, ward_code, ST_X(location), ST_Y(location) \
     FROM address WHERE status = 'verified'";

impl Store {
    /// Every feature of a layer the index holds; `None` for a layer without features there.
    pub async fn layer_features(&self, layer: Layer) -> Result<Option<LayerFeatures>> {
        Ok(Some(match layer {
            Layer::Units => LayerFeatures::Units(self.unit_features().await?),
            Layer::Parcels => LayerFeatures::Parcels(self.parcel_features().await?),
            Layer::Addresses => LayerFeatures::Addresses(self.address_features().await?),
            Layer::FloodZones => LayerFeatures::FloodZones(self.flood_features().await?),
            // Not spatial: read from PostGIS when asked, never held in memory.
            Layer::Parties | Layer::Rights | Layer::Certificates => return Ok(None),
        }))
    }

    /// One entity's current state as the index holds it: `Ok(None)` when it has left the
    /// index (retired, rejected, out of force). Units change as a whole layer only.
    pub async fn layer_feature(&self, layer: Layer, id: i64) -> Result<Option<LayerFeature>> {
        Ok(match layer {
            Layer::Units => {
                self.unit_features().await?.into_iter().find(|u| u.id == id).map(|u| LayerFeature::Unit(Box::new(u)))
            }
            Layer::Parcels => self.parcel_feature(id).await?.map(LayerFeature::Parcel),
            Layer::Addresses => self.address_feature(id).await?.map(LayerFeature::Address),
            Layer::FloodZones => self.flood_feature(id).await?.map(LayerFeature::FloodZone),
            Layer::Parties | Layer::Rights | Layer::Certificates => None,
        })
    }

    /// Every unit with a polygon (current and historical).
    pub async fn unit_features(&self) -> Result<Vec<UnitFeature>> {
        let rows: Vec<UnitRow> = sqlx::query_as(UNITS).fetch_all(self.pool()).await.query("load units")?;
        rows.into_iter().map(unit_feature).collect()
    }

    /// Every live parcel.
    pub async fn parcel_features(&self) -> Result<Vec<ParcelFeature>> {
        // Row by row: a row's texts and WKB are freed before the next is read, so the load
        // leaves no holes between the features that would keep the process larger.
        let mut rows = sqlx::query_as::<_, ParcelRow>(PARCELS).fetch(self.pool());
        let (mut shared, mut features) = (Interner::default(), Vec::new());
        while let Some(row) = rows.try_next().await.query("load parcels")? {
            features.push(parcel_feature(row, &mut shared)?);
        }
        Ok(features)
    }

    /// Parcel versions no longer in force (of one parcel when `parcel` is given), for tiles
    /// of past days. Closed versions never change, so reading them again is harmless.
    pub async fn past_parcels(&self, parcel: Option<i64>) -> Result<Vec<PastParcel>> {
        let sql = PARCELS
            .replace("SELECT p.id,", "SELECT v.id, floor(extract(epoch FROM v.valid_to))::int8, p.id,")
            .replace(" AND v.valid_to IS NULL", " AND v.valid_to IS NOT NULL AND ($1::int8 IS NULL OR p.id = $1)");
        let rows: Vec<PastParcelRow> =
            sqlx::query_as(&sql).bind(parcel).fetch_all(self.pool()).await.query("load past parcels")?;
        let mut shared = Interner::default();
        rows.into_iter()
            .map(
                |(version_id, valid_to, id, national_id, ward, sheet, number, version, area, uses, from, name, wkb)| {
                    let row = (id, national_id, ward, sheet, number, version, area, uses, from, name, wkb);
                    Ok(PastParcel {
                        version_id,
                        parcel: std::sync::Arc::new(parcel_feature(row, &mut shared)?),
                        valid_to,
                    })
                },
            )
            .collect()
    }

    /// One parcel, if live.
    pub async fn parcel_feature(&self, id: i64) -> Result<Option<ParcelFeature>> {
        let row: Option<ParcelRow> = sqlx::query_as(&format!("{PARCELS} WHERE p.id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .query("load parcel")?;
        row.map(|row| parcel_feature(row, &mut Interner::default())).transpose()
    }

    /// Every flood zone in force.
    pub async fn flood_features(&self) -> Result<Vec<FloodFeature>> {
        let rows: Vec<FloodRow> = sqlx::query_as(FLOOD).fetch_all(self.pool()).await.query("load flood zones")?;
        rows.into_iter().map(flood_feature).collect()
    }

    /// One flood zone, if in force.
    pub async fn flood_feature(&self, id: i64) -> Result<Option<FloodFeature>> {
        let row: Option<FloodRow> = sqlx::query_as(&format!("{FLOOD} AND id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .query("load flood zone")?;
        row.map(flood_feature).transpose()
    }

    /// Every verified address.
    pub async fn address_features(&self) -> Result<Vec<AddressFeature>> {
        let rows: Vec<AddressRow> = sqlx::query_as(ADDRESSES).fetch_all(self.pool()).await.query("load addresses")?;
        Ok(rows.into_iter().map(address_feature).collect())
    }

    /// One address, if verified.
    pub async fn address_feature(&self, id: i64) -> Result<Option<AddressFeature>> {
        let row: Option<AddressRow> = sqlx::query_as(&format!("{ADDRESSES} AND id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .query("load address")?;
        Ok(row.map(address_feature))
    }

    /// The parcel covering a point as PostGIS sees it, live or on an instant (lowest id on
    /// a shared edge): the reference the index is measured against, and the answer for `at=`.
    pub async fn parcel_covering(
        &self,
        lon: f64,
        lat: f64,
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Option<ParcelFeature>> {
        // The id first, with the plain indexed ST_Covers query, then the row. In one statement
        // with "ORDER BY id LIMIT 1" (and an OR on the optional instant), a prepared generic
        // plan may walk the primary key testing every parcel instead of using the GiST index.
        let Some(id) = self.parcel_ids_covering(lon, lat, at).await?.into_iter().min() else { return Ok(None) };
        let version = match at {
            None => " AND v.valid_to IS NULL",
            Some(_) => " AND v.valid_from < $2 AND (v.valid_to IS NULL OR v.valid_to >= $2)",
        };
        let sql = format!("{} WHERE p.id = $1", PARCELS.replace(" AND v.valid_to IS NULL", version));
        let query = sqlx::query_as(&sql).bind(id);
        let query = match at {
            Some(at) => query.bind(at),
            None => query,
        };
        let row: Option<ParcelRow> = query.fetch_optional(self.pool()).await.query("parcel covering")?;
        row.map(|row| parcel_feature(row, &mut Interner::default())).transpose()
    }

    /// The parcel covering each point on an instant (lowest id on a shared edge), in one
    /// statement however many points: the benchmark's reference for the index's past-day
    /// answer (lookups answered from it before the index kept closed versions).
    pub async fn parcels_covering_at(
        &self,
        points: &[(f64, f64)],
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Option<ParcelFeature>>> {
        let (lons, lats): (Vec<f64>, Vec<f64>) = points.iter().copied().unzip();
        // Every covering version per point (two on a shared edge), the lowest id kept below:
        // an ORDER BY … LIMIT 1 inside the lateral may walk the primary key instead of GiST.
        // Live and closed versions are asked apart, each from its own partial GiST index, and
        // per point (LATERAL): joined on "valid_to IS NULL OR valid_to >= $3" the planner used
        // neither index and tested every version against every point (4.7 s for 2 000 points
        // on 5 456 parcels; now 19 ms); as a plain join it still scanned all closed versions
        // per point whenever the statistics had not yet seen many closed (1.4 s).
        let sql = format!(
            "WITH pts AS (SELECT ord, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS g \
               FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS t(lon, lat, ord)), \
             hits AS (SELECT pts.ord, h.id FROM pts CROSS JOIN LATERAL ( \
                 SELECT v.id FROM parcel_version v WHERE v.valid_to IS NULL \
                   AND v.valid_from < $3 AND ST_Covers(v.geom, pts.g) \
                 UNION ALL \
                 SELECT v.id FROM parcel_version v WHERE v.valid_to IS NOT NULL \
                   AND v.valid_to >= $3 AND v.valid_from < $3 AND ST_Covers(v.geom, pts.g)) h) \
             SELECT hits.ord, hit.* FROM hits JOIN LATERAL ({} WHERE v.id = hits.id) hit ON true",
            PARCELS.replace(" AND v.valid_to IS NULL", "")
        );
        let rows: Vec<OrdinalParcelRow> = sqlx::query_as(&sql)
            .persistent(false)
            .bind(&lons)
            .bind(&lats)
            .bind(at)
            .fetch_all(self.pool())
            .await
            .query("parcels covering at")?;
        let mut found: Vec<Option<ParcelFeature>> = vec![None; points.len()];
        let mut shared = Interner::default();
        for (ord, id, national_id, ward, sheet, number, version, area, uses, from, name, wkb) in rows {
            let row = (id, national_id, ward, sheet, number, version, area, uses, from, name, wkb);
            let Some(slot) = usize::try_from(ord - 1).ok().and_then(|i| found.get_mut(i)) else { continue };
            if slot.as_ref().is_some_and(|kept| kept.id < row.0) {
                continue;
            }
            *slot = Some(parcel_feature(row, &mut shared)?);
        }
        Ok(found)
    }

    /// The verified household nearest a point within `radius_m` metres (ties by id), by
    /// PostGIS over the GiST index: the benchmark's reference for the index's answer.
    pub async fn nearest_address_id(&self, lon: f64, lat: f64, radius_m: f64) -> Result<Option<i64>> {
        // The box (a little over the radius in degrees at Cần Thơ) lets the index in; the
        // distance is the spheroid's.
        sqlx::query_scalar(
            "WITH p AS (SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326) AS pt) \
             SELECT a.id FROM address a, p WHERE a.status = 'verified' \
               AND a.location && ST_Expand(p.pt, $3 / 100000.0) \
               AND ST_DWithin(a.location::geography, p.pt::geography, $3) \
             ORDER BY ST_Distance(a.location::geography, p.pt::geography), a.id LIMIT 1",
        )
        .bind(lon)
        .bind(lat)
        .bind(radius_m)
        .fetch_optional(self.pool())
        .await
        .query("nearest household")
    }

    /// Ids of the parcels covering a point, live or on an instant: the plain PostGIS
    /// point-in-polygon query over the GiST index (also the benchmark's reference).
    pub async fn parcel_ids_covering(
        &self,
        lon: f64,
        lat: f64,
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<i64>> {
        let point = "ST_Covers(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326))";
        match at {
            None => {
                sqlx::query_scalar(&format!("SELECT parcel_id FROM parcel_version WHERE valid_to IS NULL AND {point}"))
                    .bind(lon)
                    .bind(lat)
                    .fetch_all(self.pool())
                    .await
            }
            Some(at) => {
                sqlx::query_scalar(&format!(
                    "SELECT parcel_id FROM parcel_version \
                     WHERE valid_from < $3 AND (valid_to IS NULL OR valid_to >= $3) AND {point}"
                ))
                .bind(lon)
                .bind(lat)
                .bind(at)
                .fetch_all(self.pool())
                .await
            }
        }
        .query("parcel ids covering")
    }
}

/// The extent, old and new shapes together, of entity `$1` of a layer, as seen inside the
/// writing transaction: versions closed by it end at `now()`, the transaction's start.
pub(crate) fn extent_sql(layer: Layer) -> Option<&'static str> {
    match layer {
        Layer::Units => None,
        // A change of rights is keyed by its parcel and shows where that is (no tile draws
        // rights, but a node may cache answers about the parcel).
        Layer::Parcels | Layer::Rights => Some(
            "SELECT ST_Extent(geom) FROM parcel_version WHERE parcel_id = $1 AND (valid_to IS NULL OR valid_to = now())",
        ),
        Layer::Addresses => Some("SELECT ST_Extent(location) FROM address WHERE id = $1"),
        Layer::FloodZones => Some("SELECT ST_Extent(geom) FROM flood_zone WHERE id = $1"),
        // Parties and certificates have no place.
        Layer::Parties | Layer::Certificates => None,
    }
}

impl Collection {
    /// The collection of `layer`, or `None` for a layer not published over OGC API.
    pub fn of(layer: Layer) -> Option<Collection> {
        Some(match layer {
            // Personal and legal records: not published over OGC API.
            Layer::Parties | Layer::Rights | Layer::Certificates => return None,
            Layer::Units => Collection {
                layer,
                id: "wards",
                title: "Administrative units (wards, districts before 2025-07-01, the province)",
                from: "admin_unit u",
                id_column: "u.id",
                geometry: "u.geom",
                vn2000_geometry: None,
                properties: "'code', u.code, 'name', u.name, 'level', u.level, 'kind', u.kind, 'postcode', u.postcode, \
                     'valid_from', CASE WHEN isfinite(u.valid_from) THEN u.valid_from END, 'valid_to', u.valid_to, \
                     'in_service_area', u.in_service_area",
                filters: &[("code", "u.code"), ("level", "u.level")],
                validity: Validity::UnitDates,
            },
            Layer::Parcels => Collection {
                layer,
                id: "parcels",
                title: "Land parcels (thửa đất)",
                from: "parcel_version v JOIN parcel p ON p.id = v.parcel_id",
                id_column: "v.parcel_id",
                geometry: "v.geom",
                vn2000_geometry: Some("v.geom_vn2000"),
                properties: "'national_id', p.national_id, 'ward_code', v.ward_code, 'sheet', v.sheet, 'number', v.number, \
                     'version', v.version, 'land_use', (SELECT u.code FROM parcel_land_use u WHERE u.parcel_version_id = v.id \
                       ORDER BY u.area_m2 DESC NULLS LAST, u.code LIMIT 1), 'legal_area_m2', v.legal_area_m2, \
                     'address_text', v.address_text, 'source', v.source, 'valid_from', v.valid_from",
                filters: &[
                    ("ward", "v.ward_code"),
                    ("sheet", "v.sheet::text"),
                    ("number", "v.number::text"),
                    (
                        "land_use",
                        "EXISTS (SELECT 1 FROM parcel_land_use u WHERE u.parcel_version_id = v.id AND u.code = $)",
                    ),
                ],
                validity: Validity::ParcelVersions,
            },
            Layer::Addresses => Collection {
                layer,
                id: "addresses",
                title: "Verified household addresses",
                from: "address a",
                id_column: "a.id",
                geometry: "a.location",
                vn2000_geometry: None,
                properties: "'vpostcode', substr(a.vpostcode, 1, 5) || ' ' || substr(a.vpostcode, 6, 4) || '+' || substr(a.vpostcode, 10), \
                     'house_number', a.house_number, 'street', a.street, 'hamlet', a.hamlet, 'ward_code', a.ward_code, \
                     'parcel_id', a.parcel_id, 'source', a.source",
                filters: &[("ward", "a.ward_code"), ("street", "a.street"), ("hamlet", "a.hamlet")],
                validity: Validity::Live("a.status = 'verified'"),
            },
            Layer::FloodZones => Collection {
                layer,
                id: "flood-zones",
                title: "Flood-risk zones, national 5-level scale",
                from: "flood_zone z",
                id_column: "z.id",
                geometry: "z.geom",
                vn2000_geometry: None,
                properties: "'name', z.name, 'risk_level', z.risk_level, 'scenario', z.scenario, \
                     'return_period_years', z.return_period_years, 'source', z.source",
                filters: &[("scenario", "z.scenario"), ("risk_level", "z.risk_level::text")],
                validity: Validity::Live("z.valid_to IS NULL"),
            },
        })
    }
}
