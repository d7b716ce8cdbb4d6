INSERT INTO admin_unit
    (code, level, name, name_en, kind, parent_id, postcode, in_service_area, valid_from, valid_to, geom, source)
VALUES
    ($1, $2, $3, $4, $5, $6, $7, $8, $9::date, $10::date,
     ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($11), 4326)), $12)
RETURNING id
