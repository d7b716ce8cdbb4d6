SELECT p.id, p.national_id, v.version, v.ward_code, v.ward_valid_from, v.sheet, v.number,
       ST_AsGeoJSON(v.geom, 9)::jsonb AS geometry,
       v.legal_area_m2,
       COALESCE((SELECT jsonb_agg(jsonb_build_object('code', u.code, 'code_list', u.code_list,
                                                     'area_m2', u.area_m2, 'term', u.term) ORDER BY u.code)
                 FROM parcel_land_use u WHERE u.parcel_version_id = v.id), '[]'::jsonb) AS land_uses,
       v.certificate_serial, v.registry_number, v.address_text, {owners} AS owners, v.source,
       v.valid_from, v.valid_to, a.name AS author, v.reason,
       p.retired_at
FROM parcel p
JOIN parcel_version v ON v.parcel_id = p.id
LEFT JOIN app_user a ON a.id = v.author_id
