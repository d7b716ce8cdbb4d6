INSERT INTO parcel_land_use (parcel_version_id, code, code_list, area_m2, term)
SELECT v.id, u.code, 'TT25/2014', u.area_m2, u.term
FROM seed_parcel s
JOIN parcel p ON p.national_id = s.national_id
JOIN parcel_version v ON v.parcel_id = p.id AND v.version = 1
CROSS JOIN LATERAL jsonb_to_recordset(s.land_uses) AS u(code text, area_m2 double precision, term text)
