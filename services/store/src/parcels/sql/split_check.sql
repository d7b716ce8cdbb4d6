-- Parent $1 (live), parts $2 (EWKT, 5897). Returns in m²: area of the parts outside the
-- parent, area where parts overlap each other, area of the parent not covered by parts.
WITH parent AS (SELECT geom_vn2000 AS geom FROM parcel_version WHERE parcel_id = $1 AND valid_to IS NULL),
parts AS (SELECT ST_GeomFromEWKT(e) AS geom, ordinality AS n FROM unnest($2::text[]) WITH ORDINALITY e),
joined AS (SELECT ST_Union(geom) AS geom FROM parts)
SELECT
    COALESCE((SELECT sum(ST_Area(ST_Difference(parts.geom, parent.geom))) FROM parts, parent), 0),
    COALESCE((SELECT sum(ST_Area(ST_Intersection(a.geom, b.geom))) FROM parts a JOIN parts b ON a.n < b.n
              WHERE ST_Intersects(a.geom, b.geom)), 0),
    COALESCE((SELECT ST_Area(ST_Difference(parent.geom, joined.geom)) FROM parent, joined), 0)
