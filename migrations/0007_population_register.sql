-- The office's copy of population-register records (Cơ sở dữ liệu quốc gia về dân cư). The
-- national database has no public interface, so an office loads the extract it receives
-- (`diaba population import FILE.csv`, all rows replaced at once) and diaba checks parties
-- against it: a mismatch is shown, never corrected silently.
CREATE TABLE population_record (
    personal_id       text PRIMARY KEY CHECK (personal_id_is_valid(personal_id)),
    full_name         text NOT NULL,
    date_of_birth     date,
    permanent_address text,
    card_status       text NOT NULL CHECK (card_status IN ('valid', 'expired', 'revoked', 'lost')),
    synthetic         boolean NOT NULL DEFAULT false,
    batch             uuid NOT NULL,
    loaded_at         timestamptz NOT NULL DEFAULT now()
);
