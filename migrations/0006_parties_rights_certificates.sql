-- Land administration as ISO 19152 (LADM) models it and a Vietnamese land registration
-- office works: parties (người sử dụng đất: persons, organisations, households and groups),
-- their rights on parcels (share, term, origin), the certificates that attest them (Giấy
-- chứng nhận: serial, issue, status, endorsements), and the documents behind each change
-- (administrative sources). Versioned like parcels: nothing is deleted, a change closes a
-- row (valid_to) and adds the next.

-- Folded names for search, as diaba_core::fold folds them (the rules cover Vietnamese).
CREATE EXTENSION IF NOT EXISTS unaccent;

CREATE TABLE admin_source (
    id         bigserial PRIMARY KEY,
    kind       text NOT NULL,          -- certificate, decision, contract, application, migration …
    number     text,
    issued_on  date,
    issuer     text,
    file_ref   text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE party (
    id         bigserial PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('person', 'organisation', 'household', 'group')),
    synthetic  boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE party_version (
    id            bigserial PRIMARY KEY,
    party_id      bigint NOT NULL REFERENCES party (id),
    version       int NOT NULL,
    name          text NOT NULL,
    name_folded   text NOT NULL,       -- diacritics removed, for search (diaba_core::fold)
    date_of_birth date,
    personal_id   text CHECK (personal_id ~ '^[0-9]{12}$'),  -- structurally valid (diaba_core::PersonalId)
    other_ids     text[] NOT NULL DEFAULT '{}',  -- 9-digit identity cards and earlier numbers, as given
    org_number    text,                -- legal-entity or tax number of an organisation
    address       text,                -- permanent address
    valid_from    timestamptz NOT NULL DEFAULT now(),
    valid_to      timestamptz,
    source_id     bigint REFERENCES admin_source (id),
    author_id     bigint REFERENCES app_user (id),
    reason        text,
    UNIQUE (party_id, version)
);
CREATE UNIQUE INDEX party_version_live_idx ON party_version (party_id) WHERE valid_to IS NULL;
CREATE INDEX party_version_personal_id_idx ON party_version (personal_id) WHERE valid_to IS NULL;
CREATE INDEX party_version_name_idx ON party_version USING gin (name_folded gin_trgm_ops) WHERE valid_to IS NULL;

-- Members of a household or group, each with a share of it.
CREATE TABLE party_member (
    group_id   bigint NOT NULL REFERENCES party (id),
    member_id  bigint NOT NULL REFERENCES party (id),
    share_num  int NOT NULL,
    share_den  int NOT NULL CHECK (share_num > 0 AND share_den >= share_num),
    valid_from timestamptz NOT NULL DEFAULT now(),
    valid_to   timestamptz,
    PRIMARY KEY (group_id, member_id, valid_from)
);

CREATE TABLE certificate (
    id          bigserial PRIMARY KEY,
    serial      text NOT NULL UNIQUE CHECK (serial ~ '^[A-Z]{2} [0-9]{6}([0-9]{2})?$'),
    issued_on   date,                  -- NULL: not in the records migrated from the owners list
    issuer      text,
    status      text NOT NULL CHECK (status IN ('valid', 'endorsed', 'replaced', 'revoked')),
    replaced_by bigint REFERENCES certificate (id),
    version     int NOT NULL DEFAULT 1,
    synthetic   boolean NOT NULL DEFAULT false,
    source_id   bigint REFERENCES admin_source (id),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE certificate_parcel (
    certificate_id bigint NOT NULL REFERENCES certificate (id),
    parcel_id      bigint NOT NULL REFERENCES parcel (id),
    PRIMARY KEY (certificate_id, parcel_id)
);
CREATE INDEX certificate_parcel_parcel_idx ON certificate_parcel (parcel_id);

CREATE TABLE certificate_endorsement (
    id             bigserial PRIMARY KEY,
    certificate_id bigint NOT NULL REFERENCES certificate (id),
    endorsed_on    date NOT NULL,
    text           text NOT NULL,
    source_id      bigint REFERENCES admin_source (id),
    author_id      bigint REFERENCES app_user (id),
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- A party's right on a parcel (LADM LA_Right), versioned.
CREATE TABLE land_right (
    id             bigserial PRIMARY KEY,
    parcel_id      bigint NOT NULL REFERENCES parcel (id),
    party_id       bigint NOT NULL REFERENCES party (id),
    right_type     text NOT NULL CHECK (right_type IN ('land_use', 'asset_ownership')),
    share_num      int NOT NULL,
    share_den      int NOT NULL CHECK (share_num > 0 AND share_den >= share_num),
    term           text,               -- as written: lâu dài, 50 năm …
    expires_on     date,
    origin         text NOT NULL CHECK (origin IN ('allocated', 'leased', 'recognised', 'transferred',
                                                   'inherited', 'donated', 'other')),
    certificate_id bigint REFERENCES certificate (id),
    valid_from     timestamptz NOT NULL DEFAULT now(),
    valid_to       timestamptz,
    source_id      bigint REFERENCES admin_source (id)
);
CREATE INDEX land_right_parcel_idx ON land_right (parcel_id, valid_from);
CREATE INDEX land_right_party_idx ON land_right (party_id) WHERE valid_to IS NULL;

-- The personal ID's structure (diaba_core::PersonalId, Circular 59/2021/TT-BCA): a province
-- code of birth registration, and a century digit and year not in the future.
CREATE FUNCTION personal_id_is_valid(id text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT id ~ '^[0-9]{12}$'
       AND substr(id, 1, 3) IN ('001','002','004','006','008','010','011','012','014','015','017','019',
            '020','022','024','025','026','027','030','031','033','034','035','036','037','038','040',
            '042','044','045','046','048','049','051','052','054','056','058','060','062','064','066',
            '067','068','070','072','074','075','077','079','080','082','083','084','086','087','089',
            '091','092','093','094','095','096')
       AND 1900 + 100 * (substr(id, 4, 1)::int / 2) + substr(id, 5, 2)::int <= 2099
$$;

-- The owners lists of parcel versions (free JSON until now) as parties, rights and
-- certificates: each version's holders become rights in force for as long as that version
-- was (so a question about any date answers from rights). Used once here for the register
-- as it is, by the demo seeding, and by parcel writes that name owners; the lists stay on
-- the versions, read-only, as history. Persons with a valid personal ID are one party
-- however many parcels they hold, an organisation one party per name, others one party per
-- parcel and place in its list.
-- Returns the number of rights made.
CREATE FUNCTION rights_from_owners(version_ids bigint[], source bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    made bigint;
BEGIN
    CREATE TEMP TABLE owner_row ON COMMIT DROP AS
    SELECT v.parcel_id, v.valid_from, v.valid_to, v.certificate_serial, o.ordinality AS n,
           count(*) OVER (PARTITION BY v.id) AS holders,
           o.value ->> 'name' AS name,
           CASE WHEN o.value ->> 'kind' IN ('organisation', 'household', 'group') THEN o.value ->> 'kind'
                ELSE 'person' END AS kind,
           o.value -> 'members' AS members,
           o.value ->> 'org_number' AS org_number,
           CASE WHEN personal_id_is_valid(o.value ->> 'id_number') THEN o.value ->> 'id_number' END AS personal_id,
           CASE WHEN o.value ? 'id_number' AND NOT personal_id_is_valid(o.value ->> 'id_number')
                THEN ARRAY[o.value ->> 'id_number'] ELSE '{}' END AS other_ids,
           CASE WHEN o.value ->> 'date_of_birth' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
                THEN (o.value ->> 'date_of_birth')::date END AS date_of_birth,
           coalesce((o.value ->> 'synthetic')::boolean, false) AS synthetic,
           CASE WHEN o.value ->> 'share' ~ '^[0-9]+/[0-9]+$' THEN split_part(o.value ->> 'share', '/', 1)::int END AS share_num,
           CASE WHEN o.value ->> 'share' ~ '^[0-9]+/[0-9]+$' THEN split_part(o.value ->> 'share', '/', 2)::int END AS share_den,
           NULL::bigint AS party_id
    FROM parcel_version v
    CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(v.owners) = 'array' THEN v.owners ELSE '[]' END)
         WITH ORDINALITY o
    WHERE v.id = ANY (version_ids) AND o.value ->> 'name' IS NOT NULL;
    ALTER TABLE owner_row ADD COLUMN key text;
    UPDATE owner_row SET key = coalesce(personal_id, CASE WHEN kind = 'organisation' THEN 'org:' || name END,
                                        'row:' || parcel_id || ':' || n);

    -- Parties already in the register (by personal ID or organisation name) are reused.
    UPDATE owner_row o SET party_id = pv.party_id
    FROM party_version pv WHERE pv.valid_to IS NULL AND pv.personal_id = o.personal_id;
    UPDATE owner_row o SET party_id = pv.party_id
    FROM party_version pv JOIN party p ON p.id = pv.party_id AND p.kind = 'organisation'
    WHERE o.party_id IS NULL AND o.kind = 'organisation' AND pv.valid_to IS NULL AND pv.name = o.name;
    CREATE TEMP TABLE new_party ON COMMIT DROP AS
    SELECT DISTINCT ON (key) key, kind, synthetic, name, personal_id, other_ids, date_of_birth, org_number,
           min(valid_from) OVER (PARTITION BY key) AS since
    FROM owner_row WHERE party_id IS NULL
    ORDER BY key, valid_from DESC;
    ALTER TABLE new_party ADD COLUMN id bigint;
    UPDATE new_party SET id = nextval(pg_get_serial_sequence('party', 'id'));
    INSERT INTO party (id, kind, synthetic) SELECT id, kind, synthetic FROM new_party;
    INSERT INTO party_version (party_id, version, name, name_folded, date_of_birth, personal_id, other_ids,
                               org_number, valid_from, source_id, reason)
    SELECT id, 1, name, lower(unaccent(name)), date_of_birth, personal_id, other_ids, org_number, since, source,
           'from the owners list of the parcel'
    FROM new_party;
    UPDATE owner_row o SET party_id = p.id FROM new_party p WHERE o.party_id IS NULL AND p.key = o.key;

    -- Members of households and groups, with their shares of it (equal when not given).
    CREATE TEMP TABLE member_row ON COMMIT DROP AS
    SELECT DISTINCT ON (o.party_id, m.ordinality) o.party_id AS group_id, o.valid_from, o.synthetic, m.ordinality AS n,
           m.value ->> 'name' AS name,
           CASE WHEN personal_id_is_valid(m.value ->> 'id_number') THEN m.value ->> 'id_number' END AS personal_id,
           CASE WHEN m.value ->> 'date_of_birth' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
                THEN (m.value ->> 'date_of_birth')::date END AS date_of_birth,
           coalesce(CASE WHEN m.value ->> 'share' ~ '^[0-9]+/[0-9]+$' THEN split_part(m.value ->> 'share', '/', 1)::int END, 1)
               AS share_num,
           coalesce(CASE WHEN m.value ->> 'share' ~ '^[0-9]+/[0-9]+$' THEN split_part(m.value ->> 'share', '/', 2)::int END,
                    jsonb_array_length(o.members)) AS share_den,
           NULL::bigint AS party_id
    FROM owner_row o
    CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(o.members) = 'array' THEN o.members ELSE '[]' END)
         WITH ORDINALITY m
    WHERE o.kind IN ('household', 'group') AND jsonb_typeof(o.members) = 'array' AND m.value ->> 'name' IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM party_member pm WHERE pm.group_id = o.party_id)
    ORDER BY o.party_id, m.ordinality, o.valid_from;
    UPDATE member_row m SET party_id = pv.party_id
    FROM party_version pv WHERE pv.valid_to IS NULL AND pv.personal_id = m.personal_id;
    ALTER TABLE member_row ADD COLUMN key text;
    UPDATE member_row SET key = coalesce(personal_id, 'member:' || group_id || ':' || n);
    CREATE TEMP TABLE new_member ON COMMIT DROP AS
    SELECT DISTINCT ON (key) key, synthetic, name, personal_id, date_of_birth, valid_from,
           nextval(pg_get_serial_sequence('party', 'id')) AS id
    FROM member_row WHERE party_id IS NULL ORDER BY key;
    INSERT INTO party (id, kind, synthetic) SELECT id, 'person', synthetic FROM new_member;
    INSERT INTO party_version (party_id, version, name, name_folded, date_of_birth, personal_id, valid_from, source_id, reason)
    SELECT id, 1, name, lower(unaccent(name)), date_of_birth, personal_id, valid_from, source,
           'a member of a household in the owners list of a parcel'
    FROM new_member;
    UPDATE member_row m SET party_id = n.id FROM new_member n WHERE m.party_id IS NULL AND n.key = m.key;
    INSERT INTO party_member (group_id, member_id, share_num, share_den, valid_from)
    SELECT DISTINCT ON (group_id, party_id) group_id, party_id, share_num, share_den, valid_from FROM member_row
    ORDER BY group_id, party_id, valid_from;

    -- A certificate per serial. A serial is unique: when lists of parcels with different
    -- holders name the same one (the demo's random serials do), it covers the first.
    ALTER TABLE owner_row ADD COLUMN serial text;
    UPDATE owner_row SET serial = substr(raw, 1, 2) || ' ' || substr(raw, 3)
    FROM (SELECT upper(regexp_replace(certificate_serial, '\s', '', 'g')) AS raw, ctid FROM owner_row) c
    WHERE c.ctid = owner_row.ctid AND c.raw ~ '^[A-Z]{2}([0-9]{6}|[0-9]{8})$';
    INSERT INTO certificate (serial, status, synthetic, source_id)
    SELECT serial, 'valid', bool_and(synthetic), source FROM owner_row WHERE serial IS NOT NULL GROUP BY serial
    ON CONFLICT (serial) DO NOTHING;
    INSERT INTO certificate_parcel (certificate_id, parcel_id)
    SELECT DISTINCT ON (c.id) c.id, o.parcel_id FROM owner_row o JOIN certificate c ON c.serial = o.serial
    WHERE NOT EXISTS (SELECT 1 FROM certificate_parcel cp WHERE cp.certificate_id = c.id)
    ORDER BY c.id, o.parcel_id;

    INSERT INTO land_right (parcel_id, party_id, right_type, share_num, share_den, origin, certificate_id,
                            valid_from, valid_to, source_id)
    SELECT o.parcel_id, o.party_id, 'land_use', coalesce(o.share_num, 1), coalesce(o.share_den, o.holders), 'recognised',
           c.id, o.valid_from, o.valid_to, source
    FROM owner_row o
    LEFT JOIN (certificate c JOIN certificate_parcel cp ON cp.certificate_id = c.id)
           ON c.serial = o.serial AND cp.parcel_id = o.parcel_id;
    GET DIAGNOSTICS made = ROW_COUNT;
    DROP TABLE owner_row, new_party, member_row, new_member;
    RETURN made;
END
$$;

-- The holders of a parcel as they stood at the end of a version's life (`until` is its
-- valid_to; NULL for the live version): what answers show as "owners", read from rights and
-- parties, never from the old lists.
CREATE FUNCTION parcel_holders(parcel bigint, until timestamptz) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
               'party_id', r.party_id, 'kind', pa.kind, 'name', pv.name, 'id_number', pv.personal_id,
               'date_of_birth', pv.date_of_birth, 'org_number', pv.org_number, 'address', pv.address,
               'share', r.share_num || '/' || r.share_den, 'right_type', r.right_type, 'origin', r.origin,
               'term', r.term, 'expires_on', r.expires_on, 'certificate', c.serial,
               'synthetic', CASE WHEN pa.synthetic THEN true END,
               'members', (SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                               'party_id', m.member_id, 'name', mv.name, 'id_number', mv.personal_id,
                               'date_of_birth', mv.date_of_birth, 'share', m.share_num || '/' || m.share_den))
                               ORDER BY m.member_id)
                           FROM party_member m
                           JOIN party_version mv ON mv.party_id = m.member_id AND mv.valid_to IS NULL
                           WHERE m.group_id = r.party_id AND m.valid_from <= at.t
                             AND (m.valid_to IS NULL OR m.valid_to > at.t)))) ORDER BY r.id)
    FROM (SELECT coalesce(until - interval '1 microsecond', now()) AS t) at
    JOIN land_right r ON r.parcel_id = parcel AND r.valid_from <= at.t AND (r.valid_to IS NULL OR r.valid_to > at.t)
    JOIN party pa ON pa.id = r.party_id
    LEFT JOIN certificate c ON c.id = r.certificate_id
    CROSS JOIN LATERAL (SELECT * FROM party_version pv WHERE pv.party_id = r.party_id
                        ORDER BY pv.valid_from <= at.t DESC, pv.version DESC LIMIT 1) pv
$$;

INSERT INTO admin_source (kind, number, issuer, file_ref)
VALUES ('migration', '0006', 'diaba', 'migrations/0006_parties_rights_certificates.sql');
SELECT rights_from_owners((SELECT coalesce(array_agg(id), '{}') FROM parcel_version),
                          currval(pg_get_serial_sequence('admin_source', 'id')));
