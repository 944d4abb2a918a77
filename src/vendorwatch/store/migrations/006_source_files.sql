-- vendorwatch store, schema version 6: the files behind each source.
-- A directory of Zeek logs is one source, but its logs can also arrive on their own (or in
-- another directory): each file read is recorded with its sha256, and a file already read
-- in any source is not read again, so no flow or fact is counted twice.
CREATE TABLE source_files (
    source_id INTEGER NOT NULL,
    path      VARCHAR NOT NULL,   -- absolute path when read
    sha256    VARCHAR NOT NULL
);
-- Captures ingested before this version are one file each; the logs of earlier Zeek
-- sources cannot be listed afterwards and are not backfilled.
INSERT INTO source_files SELECT id, path, sha256 FROM sources WHERE kind = 'capture';
