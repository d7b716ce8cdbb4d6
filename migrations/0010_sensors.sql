-- Water-level sensors in the OGC SensorThings API v1.1 data model (issue #24): Things
-- (a gauge station) at Locations, carrying Datastreams, each a Sensor observing an
-- ObservedProperty, and the Observations themselves. FeaturesOfInterest and
-- HistoricalLocations are not kept: a gauge observes the water where it stands.

ALTER TABLE app_user DROP CONSTRAINT app_user_role_check;
ALTER TABLE app_user ADD CONSTRAINT app_user_role_check CHECK (role IN ('collector', 'registrar', 'admin', 'sensor'));
-- A sensor's token writes to these datastreams only.
ALTER TABLE app_user ADD COLUMN datastreams bigint[] NOT NULL DEFAULT '{}';

CREATE TABLE sta_thing (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    properties  jsonb
);

CREATE TABLE sta_location (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL,
    description   text NOT NULL DEFAULT '',
    encoding_type text NOT NULL DEFAULT 'application/geo+json',
    location      geometry(Point, 4326) NOT NULL
);

CREATE TABLE sta_thing_location (
    thing_id    bigint NOT NULL REFERENCES sta_thing (id),
    location_id bigint NOT NULL REFERENCES sta_location (id),
    PRIMARY KEY (thing_id, location_id)
);
CREATE INDEX sta_thing_location_location_idx ON sta_thing_location (location_id);

CREATE TABLE sta_sensor (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL,
    description   text NOT NULL DEFAULT '',
    encoding_type text NOT NULL DEFAULT 'text/html',
    metadata      text NOT NULL DEFAULT ''
);

CREATE TABLE sta_observed_property (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    definition  text NOT NULL,
    description text NOT NULL DEFAULT ''
);

CREATE TABLE sta_datastream (
    id                   bigserial PRIMARY KEY,
    name                 text NOT NULL,
    description          text NOT NULL DEFAULT '',
    observation_type     text NOT NULL
        DEFAULT 'http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement',
    unit_of_measurement  jsonb NOT NULL,
    thing_id             bigint NOT NULL REFERENCES sta_thing (id),
    sensor_id            bigint NOT NULL REFERENCES sta_sensor (id),
    observed_property_id bigint NOT NULL REFERENCES sta_observed_property (id),
    -- What the instrument can measure: readings outside are refused as faults.
    result_min           double precision,
    result_max           double precision,
    CHECK (result_min IS NULL OR result_max IS NULL OR result_min <= result_max)
);
CREATE INDEX sta_datastream_thing_idx ON sta_datastream (thing_id);
CREATE INDEX sta_datastream_sensor_idx ON sta_datastream (sensor_id);
CREATE INDEX sta_datastream_property_idx ON sta_datastream (observed_property_id);

-- Observations in monthly partitions (made on demand by the ingest, dropped past the
-- retention): a month's readings are one table to scan or to drop.
CREATE TABLE sta_observation (
    id              bigserial,
    datastream_id   bigint NOT NULL REFERENCES sta_datastream (id),
    phenomenon_time timestamptz NOT NULL,
    result_time     timestamptz,
    -- Finite only (PostgreSQL orders NaN above Infinity, so this also keeps NaN out).
    result          double precision NOT NULL CHECK (result > '-Infinity' AND result < 'Infinity'),
    received_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, phenomenon_time)
) PARTITION BY RANGE (phenomenon_time);
CREATE INDEX sta_observation_stream_time_idx ON sta_observation (datastream_id, phenomenon_time);

-- Readings refused (NaN, out of the sensor's range, from the future, unknown datastream),
-- counted per sensor (0: the datastream was unknown) and reason. They never reach
-- sta_observation.
CREATE TABLE sta_rejection (
    sensor_id bigint NOT NULL,
    reason    text NOT NULL,
    count     bigint NOT NULL DEFAULT 0,
    last_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sensor_id, reason)
);
