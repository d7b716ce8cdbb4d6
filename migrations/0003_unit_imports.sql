-- Administrative units imported from an office's file (issue 9) carry their batch id,
-- as parcels, addresses and flood zones do.
ALTER TABLE admin_unit ADD COLUMN import_batch uuid REFERENCES import_batch (id);
