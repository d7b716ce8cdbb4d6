-- $16: the era of today's ward codes (diaba_core::REFORM_2025).
INSERT INTO parcel_version
    (parcel_id, version, ward_code, ward_valid_from, sheet, number, geom, geom_vn2000, legal_area_m2,
     certificate_serial, registry_number, address_text, owners, source, author_id, reason)
VALUES ($1, $2, $3, $16, $4, $5, ST_GeomFromEWKT($6), ST_GeomFromEWKT($7), $8,
        $9, $10, $11, $12, $13, $14, $15)
RETURNING id
