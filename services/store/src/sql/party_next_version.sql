-- The next version of party $1 with the details an approved dossier changes ($2 name, $3
-- personal ID, $4 address; NULL keeps the current one): the live version closes, nothing is
-- deleted, and a replaced personal ID stays among the earlier numbers. $5 source, $6
-- author, $7 the dossier's code as the reason.
WITH live AS (
    UPDATE party_version SET valid_to = now() WHERE party_id = $1 AND valid_to IS NULL RETURNING *
)
INSERT INTO party_version (party_id, version, name, name_folded, date_of_birth, personal_id, other_ids, org_number,
                           address, source_id, author_id, reason)
SELECT party_id, version + 1, coalesce($2, name), lower(unaccent(coalesce($2, name))), date_of_birth,
       coalesce($3, personal_id),
       CASE WHEN $3 IS NOT NULL AND personal_id IS NOT NULL AND personal_id <> $3
            THEN other_ids || personal_id ELSE other_ids END,
       org_number, coalesce($4, address), $5, $6, 'dossier ' || $7
FROM live
