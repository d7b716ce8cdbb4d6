-- Exposure of ward $1 (current code) per scenario and risk level; $2 limits the scenario.
WITH ward AS (
    SELECT geom FROM admin_unit WHERE code = $1 AND level = 'ward' AND valid_to IS NULL
),
zones AS (
    SELECT z.id, z.scenario, z.risk_level, z.geom FROM flood_zone z, ward
    WHERE z.valid_to IS NULL AND ($2::text IS NULL OR z.scenario = $2) AND z.geom && ward.geom
      AND ST_Intersects(z.geom, ward.geom)
)
SELECT zones.scenario, zones.risk_level,
       count(DISTINCT zones.id) AS zones,
       (SELECT count(*) FROM parcel_version v JOIN zones z2 ON z2.scenario = zones.scenario AND z2.risk_level = zones.risk_level
          AND v.geom && z2.geom AND ST_Intersects(v.geom, z2.geom) WHERE v.valid_to IS NULL AND v.ward_code = $1) AS parcels,
       COALESCE((SELECT sum(v.legal_area_m2) FROM parcel_version v JOIN zones z2 ON z2.scenario = zones.scenario AND z2.risk_level = zones.risk_level
          AND v.geom && z2.geom AND ST_Intersects(v.geom, z2.geom) WHERE v.valid_to IS NULL AND v.ward_code = $1), 0) AS area_m2,
       (SELECT count(*) FROM address a JOIN zones z2 ON z2.scenario = zones.scenario AND z2.risk_level = zones.risk_level
          AND ST_Covers(z2.geom, a.location) WHERE a.status = 'verified' AND a.ward_code = $1) AS households
FROM zones
GROUP BY zones.scenario, zones.risk_level
ORDER BY zones.scenario, zones.risk_level
