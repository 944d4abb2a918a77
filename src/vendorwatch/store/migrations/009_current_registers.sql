-- vendorwatch store, schema version 9: the register in force. An edited register is
-- ingested as a new source; its rows replace, for each site they cover, the rows of every
-- earlier register of that kind (the earlier sources and rows stay, for the record).
-- Readers of "the register" use these views; inspections accumulate and have none.
CREATE VIEW current_register_assets AS
SELECT r.* FROM register_assets r
WHERE r.source_id = (SELECT max(x.source_id) FROM register_assets x WHERE x.site = r.site);

CREATE VIEW current_access_register AS
SELECT a.* FROM access_register a
WHERE a.source_id = (SELECT max(x.source_id) FROM access_register x WHERE x.site = a.site);
