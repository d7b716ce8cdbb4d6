-- Demo households from the staging table: on the live lot of their key, captured by a
-- community team some days ago; verified and rejected ones reviewed a day later.
WITH inserted AS (
    INSERT INTO address (vpostcode, house_number, street, hamlet, ward_code, ward_valid_from, location, accuracy_m,
                         parcel_id, status, status_reason, head_name, device_id, captured_at, team, reviewed_at,
                         source, search_text)
    SELECT s.vpostcode, s.house_number, s.street, s.hamlet, s.ward_code, w.valid_from,
           ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326), s.accuracy_m, v.parcel_id, s.status,
           CASE WHEN s.status = 'rejected' THEN 'vị trí không khớp thực địa (synthetic)' END,
           s.head_name, 'demo-device', now() - make_interval(days => s.days_ago, secs => (s.sheet * 37 + s.number * 11) % 36000),
           s.team, CASE WHEN s.status <> 'submitted' THEN now() - make_interval(days => greatest(s.days_ago - 1, 0)) END,
           $1, s.search_text
    FROM seed_household s
    JOIN admin_unit w ON w.code = s.ward_code AND w.level = 'ward' AND w.valid_to IS NULL
    LEFT JOIN parcel_version v ON v.valid_to IS NULL AND v.ward_code = s.ward_code AND v.sheet = s.sheet AND v.number = s.number
    RETURNING id, version, status, status_reason, vpostcode, ward_code
)
INSERT INTO address_history (address_id, version, status, reason, record)
SELECT id, version, status, status_reason, jsonb_build_object('vpostcode', vpostcode, 'ward_code', ward_code, 'seed', true)
FROM inserted
