-- Imported addresses from the staging table `import_address`: verified (an office's own
-- records), on the live parcel covering each point, with a first history row.
-- $1 source label, $2 batch id.
WITH inserted AS (
    INSERT INTO address (vpostcode, house_number, street, hamlet, ward_code, ward_valid_from, location,
                         parcel_id, status, head_name, reviewed_at, source, import_batch, search_text)
    SELECT s.vpostcode, s.house_number, s.street, s.hamlet, s.ward_code, w.valid_from,
           ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326),
           (SELECT v.parcel_id FROM parcel_version v
             WHERE v.valid_to IS NULL AND ST_Covers(v.geom, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326))
             ORDER BY v.parcel_id LIMIT 1),
           'verified', s.head_name, now(), $1, $2::uuid, s.search_text
    FROM import_address s
    JOIN admin_unit w ON w.code = s.ward_code AND w.level = 'ward' AND w.valid_to IS NULL
    ORDER BY s.feature
    RETURNING id, version, status, vpostcode, ward_code
)
INSERT INTO address_history (address_id, version, status, reason, record)
SELECT id, version, status, 'imported', jsonb_build_object('vpostcode', vpostcode, 'ward_code', ward_code, 'import_batch', $2::text)
FROM inserted
