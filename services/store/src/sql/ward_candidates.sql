-- Pre-reform wards that may contain the point ($1 lon, $2 lat) on date $3 ($4: the reform date): the predecessors
-- of the post-reform ward at the point that lay in the district at the point on that date.
SELECT old.code, old.level, old.name, old.name_en, old.kind, old.postcode,
       CASE WHEN isfinite(old.valid_from) THEN old.valid_from END AS valid_from,
       old.valid_to, old.in_service_area, old.source, s.partial
FROM admin_unit new_ward
JOIN unit_succession s ON s.successor_id = new_ward.id
JOIN admin_unit old ON old.id = s.predecessor_id
JOIN admin_unit district ON district.id = old.parent_id
WHERE new_ward.level = 'ward' AND new_ward.valid_from = $4
  AND ST_Covers(new_ward.geom, ST_SetSRID(ST_MakePoint($1, $2), 4326))
  AND ST_Covers(district.geom, ST_SetSRID(ST_MakePoint($1, $2), 4326))
  AND old.valid_from <= $3 AND (old.valid_to IS NULL OR old.valid_to > $3)
ORDER BY s.partial, old.code
