-- Households of the staging table `import_address` that the register already holds (a
-- live address in the same ≈3 m Vpostcode cell with the same house number) or that the
-- file holds twice. One row per (feature, reason).
SELECT feature, reason FROM (
    SELECT s.feature, 'house ' || s.house_number || ' at ' || s.vpostcode || ' is already address ' || a.id AS reason
    FROM import_address s
    JOIN address a ON a.vpostcode = s.vpostcode AND a.status <> 'rejected'
      AND lower(coalesce(a.house_number, '')) = lower(s.house_number)
  UNION ALL
    SELECT feature, 'house ' || house_number || ' at ' || vpostcode || ' appears more than once in the file'
    FROM (SELECT *, count(*) OVER (PARTITION BY vpostcode, lower(house_number)) AS copies FROM import_address) s
    WHERE copies > 1
) problems
ORDER BY feature, reason
