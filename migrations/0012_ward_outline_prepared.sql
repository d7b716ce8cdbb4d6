-- The ward rule of migration 0005, made cheap for many parcels at once (an import).
--
-- PostGIS prepares (indexes) a repeated outline for ST_Covers but not for ST_CoveredBy, and
-- area_outside_ward() looks its ward up in a query of its own per call, so no cache survives
-- from one parcel to the next: checking 260 773 imported parcels took 22 s, each one
-- testing its ward's thousands of vertices afresh. area_outside() takes the outline and is
-- a single expression, so PostgreSQL inlines it into the calling query; joined to the ward,
-- the outline is prepared once for all the parcels of a ward that follow one another.

CREATE FUNCTION area_outside(legal geometry, outline geometry) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN ST_Covers(outline, legal) THEN 0 ELSE ST_Area(ST_Difference(legal, outline)) END
$$;

-- The same rule for one parcel (the API's writes), by the ward's code.
CREATE OR REPLACE FUNCTION area_outside_ward(legal geometry, ward text) RETURNS double precision
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT area_outside(legal, w.geom_vn2000)
    FROM admin_unit w
    WHERE w.code = ward AND w.level = 'ward' AND w.valid_to IS NULL AND w.in_service_area
$$;
