-- A parcel must lie in its declared ward, measured as land registries measure: the area of
-- the parcel outside the ward, in VN-2000 / TM-3 105° (EPSG:5897) square metres.
--
-- Units keep their outline in EPSG:5897 too, transformed with the official datum shift
-- pinned as a PROJ string (Decision 05/2007/QĐ-BTNMT; the same string as
-- diaba_core::crs::Tm3Zone::CAN_THO.proj_string(), checked by a store test), so a check
-- never re-projects a ward of thousands of vertices per parcel.
ALTER TABLE admin_unit ADD COLUMN geom_vn2000 geometry(MultiPolygon, 5897);

CREATE FUNCTION admin_unit_vn2000() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.geom_vn2000 := ST_Multi(ST_SetSRID(ST_Transform(NEW.geom,
        '+proj=tmerc +lat_0=0 +lon_0=105 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 '
        '+towgs84=-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278 '
        '+units=m +no_defs +type=crs'), 5897));
    RETURN NEW;
END
$$;

CREATE TRIGGER admin_unit_vn2000 BEFORE INSERT OR UPDATE OF geom ON admin_unit
    FOR EACH ROW EXECUTE FUNCTION admin_unit_vn2000();

UPDATE admin_unit SET geom = geom WHERE geom IS NOT NULL;

CREATE INDEX admin_unit_geom_vn2000_idx ON admin_unit USING gist (geom_vn2000);

-- Area (m², EPSG:5897) of `legal` outside the current service-area ward `ward`; NULL when
-- `ward` is not one. Covered parcels (nearly all) cost one prepared ST_CoveredBy.
CREATE FUNCTION area_outside_ward(legal geometry, ward text) RETURNS double precision
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN ST_CoveredBy(legal, w.geom_vn2000) THEN 0
                ELSE ST_Area(ST_Difference(legal, w.geom_vn2000)) END
    FROM admin_unit w
    WHERE w.code = ward AND w.level = 'ward' AND w.valid_to IS NULL AND w.in_service_area
$$;

-- How much may lie outside: survey noise of 0.5 m², or 0.1 % of a large lot.
CREATE FUNCTION ward_tolerance_m2(area double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT greatest(0.5, 0.001 * area) $$;
