-- Ancestors and descendants of parcel $1 through splits and merges.
WITH RECURSIVE
up AS (
    SELECT l.parent_id AS id, 1 AS depth, l.event, l.at FROM parcel_lineage l WHERE l.child_id = $1
    UNION
    SELECT l.parent_id, up.depth + 1, l.event, l.at FROM parcel_lineage l JOIN up ON l.child_id = up.id
),
down AS (
    SELECT l.child_id AS id, 1 AS depth, l.event, l.at FROM parcel_lineage l WHERE l.parent_id = $1
    UNION
    SELECT l.child_id, down.depth + 1, l.event, l.at FROM parcel_lineage l JOIN down ON l.parent_id = down.id
)
SELECT p.id, p.national_id, 'ancestor' AS relation, up.depth, up.event, up.at FROM up JOIN parcel p ON p.id = up.id
UNION ALL
SELECT p.id, p.national_id, 'descendant', down.depth, down.event, down.at FROM down JOIN parcel p ON p.id = down.id
ORDER BY relation, depth, id
