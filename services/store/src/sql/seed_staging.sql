CREATE TEMP TABLE seed_parcel (
    national_id        text NOT NULL,
    ward_code          text NOT NULL,
    sheet              integer NOT NULL,
    number             integer NOT NULL,
    geom               geometry(MultiPolygon, 4326) NOT NULL,
    geom_vn2000        geometry(MultiPolygon, 5897) NOT NULL,
    area               double precision NOT NULL,
    land_uses          jsonb NOT NULL,
    certificate_serial text,
    registry_number    text,
    address_text       text,
    owners             jsonb
) ON COMMIT DROP
