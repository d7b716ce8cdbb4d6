-- Live parcels overlapping $1 (4326) / $2 (5897) by more than $4 m², except ids in $3.
SELECT v.parcel_id, ST_Area(ST_Intersection(v.geom_vn2000, ST_GeomFromEWKT($2))) AS overlap
FROM parcel_version v
WHERE v.valid_to IS NULL
  AND v.geom && ST_GeomFromEWKT($1)
  AND ST_Intersects(v.geom, ST_GeomFromEWKT($1))
  AND NOT (v.parcel_id = ANY($3))
  AND ST_Area(ST_Intersection(v.geom_vn2000, ST_GeomFromEWKT($2))) > $4
ORDER BY overlap DESC
LIMIT 20
