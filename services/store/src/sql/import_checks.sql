-- Every reason an imported parcel cannot enter the register, one row per (feature, reason),
-- checked against the staging table `import_parcel` and the live register. Problems within
-- the file are found in Rust: overlaps alongside staging (diaba_interop::overlaps_within), keys
-- and national ids given twice as it is staged (import::repeated_in_file).
SELECT feature, reason FROM (
    SELECT s.feature, 'national id ' || s.national_id || ' is already parcel ' || p.id AS reason
    FROM import_parcel s JOIN parcel p ON p.national_id = s.national_id
  UNION ALL
    SELECT s.feature, 'ward ' || s.ward_code || ' is not one of the 12 current wards diaba serves'
    FROM import_parcel s
    WHERE NOT EXISTS (SELECT 1 FROM admin_unit w WHERE w.code = s.ward_code AND w.level = 'ward' AND w.valid_to IS NULL AND w.in_service_area)
  UNION ALL
    -- The same rule as a registrar's write (migrations 0005, 0012): area outside the ward,
    -- EPSG:5897. Joined to the ward so its outline is prepared once for the ward's parcels
    -- (staged ward by ward); a ward that is not one is the problem above.
    SELECT feature, 'lies ' || round(outside::numeric, 1) || ' m² outside ward ' || ward_code
                    || '; at most ' || round(allowed::numeric, 1) || ' m² may (0.5 m², or 0.1 % of a large lot)'
    FROM (SELECT s.feature, s.ward_code, area_outside(s.geom_vn2000, w.geom_vn2000) AS outside,
                 ward_tolerance_m2(ST_Area(s.geom_vn2000)) AS allowed
          FROM import_parcel s
          JOIN admin_unit w ON w.code = s.ward_code AND w.level = 'ward' AND w.valid_to IS NULL AND w.in_service_area) o
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
