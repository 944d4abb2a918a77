-- vendorwatch store, schema version 2: one device, several addresses.
-- A dual-stack device is one asset (keyed by its IPv4 address when it has one); its other
-- addresses (IPv6 link-local, global, temporary) sharing the interface's MAC are listed here.
ALTER TABLE assets ADD COLUMN addresses JSON DEFAULT '[]';
