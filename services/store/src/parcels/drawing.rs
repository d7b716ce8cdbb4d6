//! What a parcel extract draws: the version's legal outline in VN-2000 (EPSG:5897), a point
//! for its label, and the live parcels around it.

use crate::error::{QueryContext, Result};
use crate::store::Store;
use serde::Deserialize;

/// Neighbours drawn around a parcel: those within this distance, in metres.
pub const NEIGHBOUR_DISTANCE_M: f64 = 40.0;
/// At most this many, nearest first.
pub const MAX_NEIGHBOURS: i64 = 80;

/// A parcel's outline and its neighbours, VN-2000 / TM-3 metres `[easting, northing]`.
#[derive(Debug, Clone)]
pub struct ParcelDrawing {
    /// Rings of the outline (closed), each polygon's exterior then its holes.
    pub rings: Vec<Vec<[f64; 2]>>,
    /// A point inside it.
    pub label_at: [f64; 2],
    /// Perimeter as PostGIS measures it, m.
    pub perimeter_m: f64,
    /// Neighbouring live parcels.
    pub neighbours: Vec<NeighbourDrawing>,
}

/// A neighbour of a drawn parcel.
#[derive(Debug, Clone, Deserialize)]
pub struct NeighbourDrawing {
    /// Sheet.
    pub sheet: i32,
    /// Number.
    pub number: i32,
    /// Rings (closed).
    pub rings: Vec<Vec<[f64; 2]>>,
    /// A point inside it.
    pub label_at: [f64; 2],
}

/// Outline, label x and y, perimeter, neighbours (JSON).
type DrawingRow = (sqlx::types::Json<geojson::Geometry>, f64, f64, f64, sqlx::types::Json<serde_json::Value>);

/// GeoJSON (Multi)Polygon coordinates as a flat list of rings.
fn rings_of(geometry: &geojson::Geometry) -> Vec<Vec<[f64; 2]>> {
    let polygons = match &geometry.value {
        geojson::Value::Polygon(rings) => vec![rings.clone()],
        geojson::Value::MultiPolygon(polygons) => polygons.clone(),
        _ => Vec::new(),
    };
    polygons.into_iter().flatten().map(|ring| ring.into_iter().map(|p| [p[0], p[1]]).collect()).collect()
}

impl Store {
    /// The drawing of version `version` of parcel `id` (its legal geometry), with the live
    /// parcels around it; `None` when there is no such version.
    pub async fn parcel_drawing(&self, id: i64, version: i32) -> Result<Option<ParcelDrawing>> {
        // Neighbours are measured in VN-2000 metres, which has no index; the box on the
        // indexed WGS 84 outline finds the candidates first (a degree is over 109 km here
        // either way, so metres / 100 000 degrees holds every neighbour within reach).
        let row: Option<DrawingRow> = sqlx::query_as(
            "SELECT ST_AsGeoJSON(v.geom_vn2000, 6)::jsonb, ST_X(l), ST_Y(l), ST_Perimeter(v.geom_vn2000), \
                 coalesce((SELECT jsonb_agg(jsonb_build_object('sheet', n.sheet, 'number', n.number, \
                     'rings', ST_AsGeoJSON(n.geom_vn2000, 3)::jsonb -> 'coordinates', \
                     'kind', GeometryType(n.geom_vn2000), \
                     'label_at', jsonb_build_array(ST_X(ST_PointOnSurface(n.geom_vn2000)), \
                                                   ST_Y(ST_PointOnSurface(n.geom_vn2000))))) \
                   FROM (SELECT * FROM parcel_version n WHERE n.valid_to IS NULL AND n.parcel_id <> v.parcel_id \
                         AND n.geom && ST_Expand(v.geom, $3 / 100000.0) \
                         AND ST_DWithin(n.geom_vn2000, v.geom_vn2000, $3) \
                         ORDER BY n.geom_vn2000 <-> v.geom_vn2000 LIMIT $4) n), '[]') \
                 FROM parcel_version v CROSS JOIN LATERAL ST_PointOnSurface(v.geom_vn2000) l \
                 WHERE v.parcel_id = $1 AND v.version = $2",
        )
        .bind(id)
        .bind(version)
        .bind(NEIGHBOUR_DISTANCE_M)
        .bind(MAX_NEIGHBOURS)
        .fetch_optional(self.pool())
        .await
        .query("parcel drawing")?;
        let Some((outline, x, y, perimeter_m, neighbours)) = row else {
            return Ok(None);
        };
        let neighbours = neighbours
            .0
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|n| {
                        // A Polygon's coordinates are rings; a MultiPolygon's, polygons of rings.
                        let mut n = n.clone();
                        if n["kind"] == "MULTIPOLYGON" {
                            let flat: Vec<serde_json::Value> = n["rings"]
                                .as_array()?
                                .iter()
                                .flat_map(|p| p.as_array().cloned().unwrap_or_default())
                                .collect();
                            n["rings"] = serde_json::Value::Array(flat);
                        }
                        serde_json::from_value::<NeighbourDrawing>(n).ok()
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Some(ParcelDrawing { rings: rings_of(&outline.0), label_at: [x, y], perimeter_m, neighbours }))
    }
}
