-- vendorwatch store, schema version 5: settings that shape derived tables.
-- key 'policy': the sector policy (general, port-critical, rail or a policy file) that
-- detection applies to the makers present; set with `--policy` on ingest or detect.
CREATE TABLE settings (
    key   VARCHAR NOT NULL,
    value VARCHAR NOT NULL
);
