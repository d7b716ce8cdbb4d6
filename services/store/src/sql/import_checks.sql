-- Every reason an imported parcel cannot enter the register, one row per (feature, reason),
-- checked against the staging table `import_parcel` and the live register. Overlaps between
-- features of the file are found before staging (diaba_interop::overlaps_within).
SELECT feature, reason FROM (
    -- The first feature with a key keeps it; the later ones are the problems (so --partial
    -- imports the first, as an office reading its file top-down expects).
    SELECT feature, 'key ' || ward_code || '/' || sheet || '/' || number || ' is feature ' || first || '''s, earlier in the file' AS reason
    FROM (SELECT *, first_value(feature) OVER (PARTITION BY ward_code, sheet, number ORDER BY feature) AS first FROM import_parcel) s
    WHERE feature <> first
  UNION ALL
    SELECT feature, 'national id ' || national_id || ' is feature ' || first || '''s, earlier in the file'
    FROM (SELECT *, first_value(feature) OVER (PARTITION BY national_id ORDER BY feature) AS first FROM import_parcel) s
    WHERE feature <> first
  UNION ALL
    SELECT s.feature, 'national id ' || s.national_id || ' is already parcel ' || p.id
    FROM import_parcel s JOIN parcel p ON p.national_id = s.national_id
  UNION ALL
    SELECT s.feature, 'ward ' || s.ward_code || ' is not one of the 12 current wards diaba serves'
    FROM import_parcel s
    WHERE NOT EXISTS (SELECT 1 FROM admin_unit w WHERE w.code = s.ward_code AND w.level = 'ward' AND w.valid_to IS NULL AND w.in_service_area)
  UNION ALL
    -- The same rule as a registrar's write (migration 0005): area outside the ward, EPSG:5897.
    SELECT feature, 'lies ' || round(outside::numeric, 1) || ' m² outside ward ' || ward_code
                    || '; at most ' || round(allowed::numeric, 1) || ' m² may (0.5 m², or 0.1 % of a large lot)'
    FROM (SELECT s.feature, s.ward_code, area_outside_ward(s.geom_vn2000, s.ward_code) AS outside,
                 ward_tolerance_m2(ST_Area(s.geom_vn2000)) AS allowed
          FROM import_parcel s) o
    WHERE outside > allowed
  UNION ALL
    SELECT s.feature, 'key ' || s.ward_code || '/' || s.sheet || '/' || s.number || ' is already parcel ' || v.parcel_id
    FROM import_parcel s JOIN parcel_version v
      ON v.valid_to IS NULL AND (v.ward_code, v.sheet, v.number) = (s.ward_code, s.sheet, s.number)
  UNION ALL
    SELECT s.feature, 'overlaps live parcel ' || v.parcel_id || ' by ' || round(ST_Area(ST_Intersection(s.geom_vn2000, v.geom_vn2000))::numeric, 2) || ' m²'
    FROM import_parcel s JOIN parcel_version v
      ON v.valid_to IS NULL AND v.geom && s.geom AND ST_Area(ST_Intersection(s.geom_vn2000, v.geom_vn2000)) > 0.5
) problems
ORDER BY feature, reason
