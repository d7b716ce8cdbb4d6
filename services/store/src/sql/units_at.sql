-- Units whose polygon covers the point ($1 lon, $2 lat) on date $3.
SELECT code, level, name, name_en, kind, postcode,
       CASE WHEN isfinite(valid_from) THEN valid_from END AS valid_from,
       valid_to, in_service_area, source
FROM admin_unit
WHERE geom IS NOT NULL
  AND ST_Covers(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326))
  AND valid_from <= $3 AND (valid_to IS NULL OR valid_to > $3)
ORDER BY CASE level WHEN 'province' THEN 0 WHEN 'district' THEN 1 ELSE 2 END
