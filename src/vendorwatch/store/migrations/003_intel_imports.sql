-- vendorwatch store, schema version 3: published lists imported with `vendorwatch intel import`.
-- intel/importers/ writes these tables (one import = one transaction); intel/imported.py reads
-- them for screening. The packaged registry (intel/data/vendors.yaml) is not stored here.
-- Dates of events (since, until, published) are ISO 8601 strings with the precision the list
-- gives (YYYY, YYYY-MM or YYYY-MM-DD); NULL when the file does not say.

-- One row per imported file. Re-importing the same bytes (sha256) changes nothing. A new file
-- of a dataset already loaded replaces that dataset's rows: the older import's row stays
-- (so its file is still recognised as already seen) with `superseded_by` set, and its
-- entities, names and ownership rows are deleted in the same transaction.
CREATE SEQUENCE intel_import_id_seq START 1;
CREATE TABLE intel_imports (
    id             INTEGER PRIMARY KEY,
    dataset        VARCHAR NOT NULL,    -- e.g. us_fcc_covered_list, us_trade_csl; --dataset overrides
    format         VARCHAR NOT NULL,    -- importer that read it: ftm, csl-csv, fcc-csv
    path           VARCHAR NOT NULL,    -- file as given on the command line, made absolute
    sha256         VARCHAR NOT NULL UNIQUE,  -- of the file's bytes
    published      VARCHAR,             -- export/publication date the file states (FtM: latest last_seen)
    imported_at    TIMESTAMP NOT NULL,  -- UTC
    rows           INTEGER NOT NULL,    -- entities stored (listed parties, plus owners/assets of edges)
    ownership_rows INTEGER NOT NULL,    -- ownership edges stored
    skipped        INTEGER NOT NULL,    -- records read but not kept (persons, vessels, sanctions, ...)
    replaced       INTEGER,             -- id of the import of the same dataset this one replaced
    superseded_by  INTEGER              -- id of the newer import that replaced this one; NULL if current
);

-- One row per imported party (company, organisation, public body, legal entity; persons only
-- as owners in an ownership edge), with its listing on the dataset's list.
CREATE TABLE intel_entities (
    import_id   INTEGER NOT NULL,       -- intel_imports.id
    entity_id   VARCHAR NOT NULL,       -- the entity's id in its dataset (FtM id, CSL _id, slug)
    schema      VARCHAR NOT NULL,       -- FtM schema: Company, Organization, PublicBody, LegalEntity, Person
    target      BOOLEAN NOT NULL,       -- listed party (true) or only an owner/asset in an edge (false)
    name        VARCHAR NOT NULL,       -- primary name as published
    names       JSON NOT NULL,          -- every name form: [{name, kind}], kind name|alias|previousName|weakAlias|abbreviation
    country     VARCHAR,                -- ISO 3166 alpha-2 codes, upper case, '; '-joined
    list        VARCHAR NOT NULL,       -- registry list id when known (fcc-covered-list, us-entity-list, ...), else the dataset or source list name
    list_name   VARCHAR,                -- the list as the file names it (CSL `source`, FtM Sanction authority/program)
    program     VARCHAR,                -- program(s), '; '-joined (FtM program/Sanction.program, CSL programs, FCC equipment_or_service)
    topics      JSON NOT NULL,          -- FtM topics, e.g. ["sanction", "export.control"]; [] for CSV lists
    since       VARCHAR,                -- listing date (FtM Sanction listingDate/startDate or createdAt, CSL start_date, FCC date_added)
    until       VARCHAR,                -- end of listing when the list says (FtM Sanction endDate, CSL end_date)
    source_url  VARCHAR,                -- where the listing is published
    datasets    JSON NOT NULL,          -- FtM `datasets` of the entity; [dataset] for CSV lists
    first_seen  VARCHAR,                -- FtM first_seen (when the publisher first saw it), as given
    last_seen   VARCHAR,                -- FtM last_seen, as given
    line        INTEGER NOT NULL,       -- line of the file the record starts on
    properties  JSON NOT NULL,          -- the published record: FtM `properties`, or the CSV row
    sanctions   JSON NOT NULL           -- FtM Sanction records naming this entity (their properties); []
);

-- Every name form of every imported entity, normalised for exact lookups (case, width,
-- punctuation and legal forms such as Co., Ltd., Inc. dropped; see intel/imported.py).
CREATE TABLE intel_names (
    import_id INTEGER NOT NULL,
    entity_id VARCHAR NOT NULL,
    name      VARCHAR NOT NULL,         -- as published
    kind      VARCHAR NOT NULL,         -- name | alias | previousName | weakAlias | abbreviation
    norm      VARCHAR NOT NULL          -- normalised form
);

-- Ownership edges (FtM Ownership): `owner_id` holds `share` percent of `asset_id`; both ids
-- are entity ids of the same import.
CREATE TABLE intel_ownership (
    import_id  INTEGER NOT NULL,
    edge_id    VARCHAR NOT NULL,        -- the Ownership entity's id
    owner_id   VARCHAR NOT NULL,
    asset_id   VARCHAR NOT NULL,
    percentage VARCHAR,                 -- as published, e.g. "38.88" or "50-75%"
    share      DOUBLE,                  -- percentage as a number when it is one
    since      VARCHAR,                 -- startDate
    until      VARCHAR,                 -- endDate
    source_url VARCHAR,
    line       INTEGER NOT NULL,
    properties JSON NOT NULL
);
