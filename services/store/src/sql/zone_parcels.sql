-- Live parcels touching flood zone $1, with their main land use.
WITH z AS (SELECT geom FROM flood_zone WHERE id = $1),
exposed AS (
    SELECT v.parcel_id, v.ward_code, v.sheet, v.number, v.legal_area_m2,
           (SELECT u.code FROM parcel_land_use u WHERE u.parcel_version_id = v.id
            ORDER BY u.area_m2 DESC NULLS LAST, u.code LIMIT 1) AS land_use
    FROM parcel_version v, z
    WHERE v.valid_to IS NULL AND v.geom && z.geom AND ST_Intersects(v.geom, z.geom)
)
