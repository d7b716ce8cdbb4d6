-- $1 parcel (EWKT, 4326), $2 its declared current ward, $3 its legal outline (EWKT, 5897).
-- Returns: the share of its area inside the service-area wards; its area outside the
-- declared ward in m² (EPSG:5897; NULL when that is not a current ward of the service area)
-- with what may be outside; and the ward holding most of the part outside.
WITH g AS (SELECT ST_GeomFromEWKT($1) AS geom, ST_GeomFromEWKT($3) AS legal),
wards AS (
    SELECT code, geom, geom_vn2000 FROM admin_unit
    WHERE level = 'ward' AND in_service_area AND valid_to IS NULL
),
outside AS (
    SELECT area_outside_ward(g.legal, $2) AS area, ward_tolerance_m2(ST_Area(g.legal)) AS allowed FROM g
)
SELECT
    (SELECT sum(ST_Area(ST_Intersection(w.geom, g.geom)::geography)) FROM wards w WHERE w.geom && g.geom)
        / NULLIF(ST_Area(g.geom::geography), 0) AS covered_ratio,
    outside.area AS outside_m2,
    outside.allowed AS allowed_m2,
    (SELECT w.code FROM wards w WHERE w.code <> $2 AND w.geom_vn2000 && g.legal
       ORDER BY ST_Area(ST_Intersection(w.geom_vn2000, g.legal)) DESC LIMIT 1) AS other_ward
FROM g, outside
