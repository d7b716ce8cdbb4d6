-- Identity rows, then version 1 of each; $1 is the synthetic source label, $2 the era of
-- today's ward codes (diaba_core::REFORM_2025).
WITH identities AS (
    INSERT INTO parcel (national_id)
    SELECT national_id FROM seed_parcel
    RETURNING id, national_id
)
INSERT INTO parcel_version
    (parcel_id, version, ward_code, ward_valid_from, sheet, number, geom, geom_vn2000, legal_area_m2,
     certificate_serial, registry_number, address_text, owners, source, reason)
SELECT i.id, 1, s.ward_code, $2::date, s.sheet, s.number, s.geom, s.geom_vn2000, s.area,
       s.certificate_serial, s.registry_number, s.address_text, s.owners, $1, 'synthetic demo data'
FROM seed_parcel s JOIN identities i USING (national_id)
