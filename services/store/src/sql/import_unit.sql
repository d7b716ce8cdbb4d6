-- One imported unit version. $1 the current version it follows (NULL for a new unit):
-- name, kind, postcode, parent and service area carry over unless the file gives them.
INSERT INTO admin_unit (code, level, name, name_en, kind, parent_id, postcode, in_service_area, valid_from, geom,
                        source, import_batch)
SELECT $2, $3, COALESCE($4, c.name), c.name_en, COALESCE($5, c.kind), c.parent_id, COALESCE($6, c.postcode),
       COALESCE(c.in_service_area, false), $7, ST_Multi(ST_GeomFromEWKB(decode($8, 'hex'))), $9, $10::uuid
FROM (SELECT 1) one
LEFT JOIN admin_unit c ON c.id = $1
RETURNING id
