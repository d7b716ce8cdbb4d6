-- diaba schema: the whole product's tables, so later work extends rather than rewrites.
-- Geometries are WGS84 (4326); parcels also keep their legal geometry in VN-2000 / TM-3
-- zone 482 (EPSG:5897), where legal areas are measured (DESIGN §2).
-- Nothing is ever deleted: rows are closed with valid_to / status and a reason.

CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Key/value facts about the loaded data (geodata fingerprint, demo profile, …).
CREATE TABLE meta (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Administrative units, versioned. A code is only unique together with its validity:
-- 31135 was Phường Tân An until 2025-06-30 and is Phường Ninh Kiều since 2025-07-01.
-- valid_from is inclusive, valid_to exclusive; '-infinity' = before our records begin.
CREATE TABLE admin_unit (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL CHECK (code ~ '^[0-9]{2,5}$'),
    level       text NOT NULL CHECK (level IN ('province', 'district', 'ward')),
    name        text NOT NULL,
    name_en     text,
    kind        text,                                  -- Phường, Xã, Quận, Huyện, Thị trấn …
    parent_id   bigint REFERENCES admin_unit (id),
    postcode    text CHECK (postcode ~ '^[0-9]{2,5}$'),
    in_service_area boolean NOT NULL DEFAULT false,    -- the 12 units over the four former districts
    valid_from  date NOT NULL,
    valid_to    date,
    geom        geometry(MultiPolygon, 4326),          -- NULL where no licensed polygon exists
    source      text NOT NULL,
    CHECK (valid_to IS NULL OR valid_to > valid_from),
    UNIQUE (code, level, valid_from)
);
CREATE INDEX admin_unit_geom_idx ON admin_unit USING gist (geom);
CREATE INDEX admin_unit_code_idx ON admin_unit (code);

-- Which old units formed each new one (the 2025 composition). partial: only part joined.
CREATE TABLE unit_succession (
    predecessor_id bigint NOT NULL REFERENCES admin_unit (id),
    successor_id   bigint NOT NULL REFERENCES admin_unit (id),
    partial        boolean NOT NULL DEFAULT false,
    effective      date NOT NULL,
    PRIMARY KEY (predecessor_id, successor_id)
);

-- People and their tokens (DESIGN §10). Tokens are random 256-bit secrets, so a plain
-- SHA-256 is the right hash (no password stretching needed); only the hash is stored.
CREATE TABLE app_user (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    role        text NOT NULL CHECK (role IN ('collector', 'registrar', 'admin')),
    wards       text[] NOT NULL DEFAULT '{}',          -- scope: current ward codes
    team        text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    disabled_at timestamptz
);

CREATE TABLE api_token (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES app_user (id),
    token_hash   bytea NOT NULL UNIQUE,
    label        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

-- One import run (CLI import or seeding): every imported row carries its batch id.
CREATE TABLE import_batch (
    id          uuid PRIMARY KEY,
    layer       text NOT NULL,
    source_file text,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    report      jsonb
);

-- Parcel identity: the national id (12-char GeoHash of an interior point) is issued once
-- and never reused. `id` is the stable numeric id used for tile features.
CREATE TABLE parcel (
    id          bigserial PRIMARY KEY,
    national_id text NOT NULL UNIQUE CHECK (length(national_id) = 12),
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz,
    retired_reason text
);

-- Every state a parcel has had. The live version has valid_to IS NULL; an edit closes the
-- current row and inserts the next version, so "what was here on date D" is a range query.
CREATE TABLE parcel_version (
    id                 bigserial PRIMARY KEY,
    parcel_id          bigint NOT NULL REFERENCES parcel (id),
    version            integer NOT NULL CHECK (version >= 1),
    ward_code          text NOT NULL,                  -- ward of the survey (DESIGN §4)
    ward_valid_from    date NOT NULL,                  -- which era that code belongs to
    sheet              integer NOT NULL CHECK (sheet > 0),      -- số tờ
    number             integer NOT NULL CHECK (number > 0),     -- số thửa
    geom               geometry(MultiPolygon, 4326) NOT NULL,
    geom_vn2000        geometry(MultiPolygon, 5897) NOT NULL,   -- legal geometry
    legal_area_m2      double precision NOT NULL CHECK (legal_area_m2 > 0),
    certificate_serial text,                           -- verbatim, e.g. "CS 123456"
    registry_number    text,                           -- số vào sổ, verbatim
    address_text       text,
    owners             jsonb,                          -- personal data: registrars only
    source             text NOT NULL,                  -- 'synthetic-demo', 'import:…', 'api'
    import_batch       uuid REFERENCES import_batch (id),
    valid_from         timestamptz NOT NULL DEFAULT now(),
    valid_to           timestamptz,
    author_id          bigint REFERENCES app_user (id),
    reason             text,
    CHECK (valid_to IS NULL OR valid_to >= valid_from),
    UNIQUE (parcel_id, version)
);
CREATE UNIQUE INDEX parcel_version_live_idx ON parcel_version (parcel_id) WHERE valid_to IS NULL;
CREATE UNIQUE INDEX parcel_version_live_key_idx ON parcel_version (ward_code, ward_valid_from, sheet, number)
    WHERE valid_to IS NULL;
CREATE INDEX parcel_version_key_idx ON parcel_version (ward_code, sheet, number);
CREATE INDEX parcel_version_live_geom_idx ON parcel_version USING gist (geom) WHERE valid_to IS NULL;
CREATE INDEX parcel_version_geom_idx ON parcel_version USING gist (geom);

-- Land uses of one parcel version: one parcel may carry several, each with its area.
CREATE TABLE parcel_land_use (
    parcel_version_id bigint NOT NULL REFERENCES parcel_version (id),
    code              text NOT NULL CHECK (code ~ '^[A-Z]{2,4}$'),  -- ODT, LUC, CLN …
    code_list         text NOT NULL,                                -- 'TT25/2014', 'TT08/2024'
    area_m2           double precision CHECK (area_m2 >= 0),
    term              text,                                         -- 'lâu dài' or an end date
    term_until        date,
    PRIMARY KEY (parcel_version_id, code)
);

-- Splits (tách thửa) and merges (hợp thửa): parents retired, children linked.
CREATE TABLE parcel_lineage (
    parent_id  bigint NOT NULL REFERENCES parcel (id),
    child_id   bigint NOT NULL REFERENCES parcel (id),
    event      text NOT NULL CHECK (event IN ('split', 'merge')),
    event_id   uuid NOT NULL,
    at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (parent_id, child_id)
);
CREATE INDEX parcel_lineage_child_idx ON parcel_lineage (child_id);

-- Household addresses (DESIGN §5): submitted from the field, then verified or rejected.
CREATE TABLE address (
    id             bigserial PRIMARY KEY,
    vpostcode      text NOT NULL CHECK (vpostcode ~ '^[0-9]{5}[23456789CFGHJMPQRVWX]{7}$'),
    house_number   text,
    street         text,
    hamlet         text,                               -- ấp / khu vực
    ward_code      text NOT NULL,
    ward_valid_from date NOT NULL,
    location       geometry(Point, 4326) NOT NULL,
    accuracy_m     real CHECK (accuracy_m >= 0),
    parcel_id      bigint REFERENCES parcel (id),
    status         text NOT NULL CHECK (status IN ('submitted', 'verified', 'rejected')),
    status_reason  text,
    head_name      text,                               -- personal data
    device_id      text,
    captured_at    timestamptz,
    captured_by    bigint REFERENCES app_user (id),
    reviewed_by    bigint REFERENCES app_user (id),
    reviewed_at    timestamptz,
    source         text NOT NULL,
    import_batch   uuid REFERENCES import_batch (id),
    search_text    text NOT NULL DEFAULT '',           -- folded (no diacritics) for search
    version        integer NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX address_location_idx ON address USING gist (location);
CREATE INDEX address_ward_status_idx ON address (ward_code, status);
CREATE INDEX address_vpostcode_idx ON address (vpostcode);
CREATE INDEX address_search_idx ON address USING gin (search_text gin_trgm_ops);

CREATE TABLE address_history (
    address_id bigint NOT NULL REFERENCES address (id),
    version    integer NOT NULL,
    at         timestamptz NOT NULL DEFAULT now(),
    actor_id   bigint REFERENCES app_user (id),
    status     text NOT NULL,
    reason     text,
    record     jsonb NOT NULL,
    PRIMARY KEY (address_id, version)
);

-- Idempotency-Key replay store: same key and same body → the stored answer.
CREATE TABLE idempotency_key (
    user_id      bigint NOT NULL REFERENCES app_user (id),
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    status       smallint NOT NULL,
    response     jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);

-- Flood-risk polygons on the national 5-level scale (QĐ 18/2021/QĐ-TTg).
CREATE TABLE flood_zone (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL,
    risk_level    smallint NOT NULL CHECK (risk_level BETWEEN 1 AND 5),
    scenario      text NOT NULL,                       -- e.g. 'tidal-peak', 'rp100'
    return_period_years integer,
    source        text NOT NULL,
    import_batch  uuid REFERENCES import_batch (id),
    valid_from    timestamptz NOT NULL DEFAULT now(),
    valid_to      timestamptz,
    geom          geometry(MultiPolygon, 4326) NOT NULL
);
CREATE INDEX flood_zone_geom_idx ON flood_zone USING gist (geom);

-- The change feed (DESIGN §7): one row per changed entity, written in the same transaction
-- as the change. Writers take a transaction-scoped advisory lock before drawing `seq`, so
-- rows become visible in seq order and a reader that remembers its last seq never skips one.
CREATE TABLE change (
    seq       bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    layer     text NOT NULL CHECK (layer IN ('units', 'parcels', 'addresses', 'flood_zones')),
    entity_id bigint,                                  -- NULL: the whole layer changed (bulk load)
    op        text NOT NULL CHECK (op IN ('upsert', 'retire', 'reload'))
);

-- Audit log (DESIGN §9): who, when, what, before and after.
CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor_id   bigint REFERENCES app_user (id),
    action     text NOT NULL,
    entity     text NOT NULL,
    entity_id  bigint,
    before     jsonb,
    after      jsonb,
    request_id text
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id);
