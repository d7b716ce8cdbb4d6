-- Identity rows, then version 1 of each imported parcel; $1 source label, $2 batch id.
WITH identities AS (
    INSERT INTO parcel (national_id)
    SELECT national_id FROM import_parcel
    RETURNING id, national_id
)
INSERT INTO parcel_version
    (parcel_id, version, ward_code, ward_valid_from, sheet, number, geom, geom_vn2000, legal_area_m2,
     address_text, owners, source, import_batch, reason)
SELECT i.id, 1, s.ward_code,
       (SELECT w.valid_from FROM admin_unit w WHERE w.code = s.ward_code AND w.level = 'ward' AND w.valid_to IS NULL),
       s.sheet, s.number, s.geom, s.geom_vn2000, s.area, s.address_text, s.owners, $1, $2::uuid, 'imported'
FROM import_parcel s JOIN identities i USING (national_id)
