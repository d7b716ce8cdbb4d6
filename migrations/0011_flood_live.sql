-- Flooding now (issue #24): a rule per scenario and risk level says which datastream's
-- water level floods those zones (threshold) and when they are on watch (rising towards it
-- within watch_hours at the measured rate). Each zone's live state is kept with the time it
-- took it, and every change of state is an alert.

CREATE TABLE flood_rule (
    scenario      text NOT NULL,
    risk_level    smallint NOT NULL CHECK (risk_level BETWEEN 1 AND 5),
    datastream_id bigint NOT NULL REFERENCES sta_datastream (id),
    threshold     double precision NOT NULL,
    watch_hours   double precision NOT NULL DEFAULT 3 CHECK (watch_hours > 0),
    updated_by    bigint REFERENCES app_user (id),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scenario, risk_level)
);
CREATE INDEX flood_rule_datastream_idx ON flood_rule (datastream_id);

-- One row per zone under a rule (made 'dry' with the rule), so a change of state is
-- decided under the row's lock: two nodes reading the same gauge raise one alert.
CREATE TABLE flood_zone_live (
    zone_id  bigint PRIMARY KEY REFERENCES flood_zone (id),
    state    text NOT NULL CHECK (state IN ('dry', 'watch', 'flooded')),
    since    timestamptz NOT NULL DEFAULT now(),
    reading  double precision,
    rate_m_per_h double precision
);

CREATE TABLE flood_alert (
    id      bigserial PRIMARY KEY,
    zone_id bigint NOT NULL REFERENCES flood_zone (id),
    from_state text NOT NULL,
    to_state   text NOT NULL,
    at      timestamptz NOT NULL DEFAULT now(),
    body    jsonb NOT NULL
);
CREATE INDEX flood_alert_at_idx ON flood_alert (at);
