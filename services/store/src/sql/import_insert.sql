-- Version 1 of each staged parcel, under the ids drawn as it was staged; $1 source label,
-- $2 batch id. Rows go in staging order (ward, then GeoHash), so the GiST indexes take
-- neighbours one after another. Every staged ward is a current one (checked).
INSERT INTO parcel_version
    (id, parcel_id, version, ward_code, ward_valid_from, sheet, number, geom, geom_vn2000, legal_area_m2,
     address_text, owners, source, import_batch, reason)
SELECT s.version_id, s.parcel_id, 1, s.ward_code, w.valid_from,
       s.sheet, s.number, s.geom, s.geom_vn2000, s.area, s.address_text, s.owners, $1, $2::uuid, 'imported'
FROM import_parcel s
JOIN admin_unit w ON w.code = s.ward_code AND w.level = 'ward' AND w.valid_to IS NULL
