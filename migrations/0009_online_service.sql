-- The online side of the holder-change service: citizens signed in through OpenID Connect
-- (the national e-ID in production), the documents attached to a dossier, fees paid, the
-- outcome (endorsement or a new certificate), and the notifications owed to citizens and
-- to the office (an outbox: written in the step's transaction, delivered after it).

-- A sign-in under way: what the callback must find again (state, nonce, PKCE verifier).
-- Kept in the database, not in one node's memory, so the callback may reach any node.
CREATE TABLE citizen_sign_in (
    state         text PRIMARY KEY,
    nonce         text NOT NULL,
    pkce_verifier text NOT NULL,
    return_to     text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- A signed-in citizen: the cookie's token is stored hashed, as staff tokens are.
CREATE TABLE citizen_session (
    token_sha256 bytea PRIMARY KEY,
    issuer       text NOT NULL,
    subject      text NOT NULL,
    name         text NOT NULL,
    personal_id  text,
    email        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX citizen_session_expiry_idx ON citizen_session (expires_at);

ALTER TABLE application
    ADD COLUMN applicant_subject  text,   -- the citizen (issuer's `sub`) who applied online
    ADD COLUMN contact_email      text,   -- where the citizen's notifications go
    ADD COLUMN outcome            text CHECK (outcome IN ('endorsement', 'new_certificate')),
    ADD COLUMN new_certificate_id bigint REFERENCES certificate (id),
    ADD COLUMN due_notice_on      date;   -- when the office was told it falls due next
CREATE INDEX application_subject_idx ON application (applicant_subject);
ALTER TABLE application_event ADD COLUMN actor_subject text;

CREATE TABLE application_document (
    id             bigserial PRIMARY KEY,
    application_id bigint NOT NULL REFERENCES application (id),
    kind           text NOT NULL,
    file_name      text NOT NULL,
    media_type     text NOT NULL CHECK (media_type IN ('application/pdf', 'image/jpeg', 'image/png')),
    bytes          bigint NOT NULL CHECK (bytes > 0),
    sha256         text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    uploaded_at    timestamptz NOT NULL DEFAULT now(),
    by             text NOT NULL CHECK (by IN ('citizen', 'office')),
    actor_id       bigint REFERENCES app_user (id),
    actor_subject  text
);
CREATE INDEX application_document_application_idx ON application_document (application_id, id);

CREATE TABLE payment (
    id             bigserial PRIMARY KEY,
    application_id bigint NOT NULL REFERENCES application (id),
    provider       text NOT NULL,
    amount_vnd     bigint NOT NULL CHECK (amount_vnd > 0),
    reference      text NOT NULL,
    paid_at        timestamptz NOT NULL DEFAULT now(),
    recorded_by    bigint REFERENCES app_user (id),
    UNIQUE (provider, reference)
);
CREATE INDEX payment_application_idx ON payment (application_id);

CREATE TABLE notification (
    id              bigserial PRIMARY KEY,
    application_id  bigint REFERENCES application (id),
    channel         text NOT NULL CHECK (channel IN ('email', 'webhook')),
    recipient       text NOT NULL,
    subject         text NOT NULL,
    body            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    last_error      text
);
CREATE INDEX notification_pending_idx ON notification (next_attempt_at) WHERE sent_at IS NULL;
