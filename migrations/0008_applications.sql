-- Dossiers (hồ sơ) of the land service "register a change of the certificate holder's
-- information" (Decree 151/2025, form Mẫu 18), modelled on SOLA's application: a code, the
-- certificate and holder concerned, the changes asked, the state, the time limit in working
-- days, and every step taken (application_event). The dossier is the administrative source
-- of the change it brings.
CREATE SEQUENCE application_number;

CREATE TABLE application (
    id                 bigserial PRIMARY KEY,
    code               text NOT NULL UNIQUE,
    procedure          text NOT NULL DEFAULT 'holder_change',
    channel            text NOT NULL CHECK (channel IN ('counter', 'online')),
    ward_code          text NOT NULL,
    certificate_id     bigint NOT NULL REFERENCES certificate (id),
    party_id           bigint NOT NULL REFERENCES party (id),
    applicant_name     text NOT NULL,
    changes            jsonb NOT NULL,      -- {name?, personal_id?, address?}: the holder's new details
    reason             text NOT NULL,
    state              text NOT NULL CHECK (state IN ('submitted', 'received', 'in_review', 'requisitioned', 'approved',
                                                      'result_issued', 'closed', 'refused', 'withdrawn', 'suspended')),
    state_before_suspension text,
    version            int NOT NULL DEFAULT 1,
    limit_days         int NOT NULL,
    submitted_at       timestamptz NOT NULL DEFAULT now(),
    received_on        date,
    due_on             date,
    suspended_on       date,
    population_check   jsonb,               -- the population register's answer on receipt
    decided_at         timestamptz,
    fee_vnd            bigint NOT NULL DEFAULT 0,
    source_id          bigint REFERENCES admin_source (id),
    created_by         bigint REFERENCES app_user (id)
);
CREATE INDEX application_ward_state_idx ON application (ward_code, state);

CREATE TABLE application_event (
    id             bigserial PRIMARY KEY,
    application_id bigint NOT NULL REFERENCES application (id),
    at             timestamptz NOT NULL DEFAULT now(),
    actor_id       bigint REFERENCES app_user (id),
    by             text NOT NULL CHECK (by IN ('citizen', 'office')),
    step           text NOT NULL,
    from_state     text,
    to_state       text NOT NULL,
    note           text
);
CREATE INDEX application_event_application_idx ON application_event (application_id, id);
