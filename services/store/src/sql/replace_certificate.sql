-- Certificate $2 replaces $1 (issued by an approved dossier, source $3): it covers the same
-- parcels, the old one is marked replaced, and the live rights the old one attested end
-- and go on under the new one (history kept: nothing is updated in place but the ends).
WITH parcels AS (
    INSERT INTO certificate_parcel (certificate_id, parcel_id)
    SELECT $2, parcel_id FROM certificate_parcel WHERE certificate_id = $1
), old AS (
    UPDATE certificate SET status = 'replaced', replaced_by = $2, version = version + 1, updated_at = now()
    WHERE id = $1
), ended AS (
    UPDATE land_right SET valid_to = now() WHERE certificate_id = $1 AND valid_to IS NULL RETURNING *
)
INSERT INTO land_right (parcel_id, party_id, right_type, share_num, share_den, term, expires_on, origin,
                        certificate_id, valid_from, source_id)
SELECT parcel_id, party_id, right_type, share_num, share_den, term, expires_on, origin, $2, now(), $3 FROM ended
