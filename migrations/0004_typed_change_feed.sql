-- The change feed names its layers from the code's one closed set (diaba_core::Layer), so
-- a new layer needs no change here; each entry also carries the box its change touched
-- (old and new shapes together), so a node can drop exactly the tiles it made stale.
ALTER TABLE change DROP CONSTRAINT change_layer_check;
ALTER TABLE change ADD COLUMN bbox double precision[] CHECK (bbox IS NULL OR cardinality(bbox) = 4);
