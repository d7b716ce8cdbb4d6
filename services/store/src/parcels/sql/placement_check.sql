-- $1 parcel (EWKT, 4326), $2 its declared current ward.
-- Returns: share of its area inside the service-area wards, whether its interior point lies
-- in the declared ward, and which ward that point lies in.
WITH g AS (SELECT ST_GeomFromEWKT($1) AS geom),
wards AS (
    SELECT code, geom FROM admin_unit
    WHERE level = 'ward' AND in_service_area AND valid_to IS NULL
)
SELECT
    (SELECT sum(ST_Area(ST_Intersection(w.geom, g.geom)::geography)) FROM wards w WHERE w.geom && g.geom)
        / NULLIF(ST_Area(g.geom::geography), 0) AS covered_ratio,
    EXISTS (SELECT 1 FROM wards w WHERE w.code = $2 AND ST_Covers(w.geom, ST_PointOnSurface(g.geom))) AS in_ward,
    (SELECT w.code FROM wards w WHERE ST_Covers(w.geom, ST_PointOnSurface(g.geom)) LIMIT 1) AS ward_at_point
FROM g
