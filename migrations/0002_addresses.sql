-- Household digitisation (issue 7): who captured an address, as the team was at capture
-- time (teams are reorganised; progress reports must not move with them), and the paging
-- and reporting indexes of the review and stats endpoints.
ALTER TABLE address ADD COLUMN team text;
CREATE INDEX address_captured_idx ON address (ward_code, captured_at);
CREATE INDEX address_captured_by_idx ON address (captured_by);
