-- vendorwatch store, schema version 8: the operator's own truth — asset register, access
-- register, physical inspections — and the firmware register. Register rows belong to the
-- source (file) they came from, so re-ingesting a file changes nothing and a failed file
-- leaves nothing; `line` is the row's line in that file (header = line 1).

-- One row per asset in an asset register (CSV or XLSX; columns mapped with --columns).
CREATE TABLE register_assets (
    source_id     INTEGER NOT NULL,
    line          INTEGER NOT NULL,
    asset_id      VARCHAR NOT NULL,
    ip            VARCHAR,
    mac           VARCHAR,            -- normalised aa:bb:cc:dd:ee:ff
    hostname      VARCHAR,
    manufacturer  VARCHAR,
    brand         VARCHAR,
    model         VARCHAR,
    serial        VARCHAR,
    firmware      VARCHAR,
    site          VARCHAR NOT NULL,   -- the row's site, else --site
    zone          VARCHAR,
    room          VARCHAR,
    function      VARCHAR,            -- e.g. container scanning, ship-to-shore crane, CCTV
    criticality   VARCHAR,            -- low | medium | high | vital
    comms_modules VARCHAR,            -- ';'-separated, e.g. 'lte-modem;wifi'; '' = none declared
    owner         VARCHAR,
    capacity      DOUBLE              -- declared capacity in the function's unit (optional)
);

-- Who has access to what, with which screening (access.csv).
CREATE TABLE access_register (
    source_id         INTEGER NOT NULL,
    line              INTEGER NOT NULL,
    person            VARCHAR NOT NULL,
    employer          VARCHAR,
    role              VARCHAR,
    screening         VARCHAR NOT NULL,   -- none | VOG | VGB-A | VGB-B | VGB-C
    screening_expires DATE,
    access            VARCHAR NOT NULL,   -- physical | remote | admin
    scope             VARCHAR NOT NULL,   -- ';'-separated asset ids, zones or functions
    via               VARCHAR,            -- e.g. the site's jump host
    mfa               BOOLEAN,
    valid_until       DATE,
    site              VARCHAR NOT NULL
);

-- Physical inspection records (inspections.csv).
CREATE TABLE inspections (
    source_id  INTEGER NOT NULL,
    line       INTEGER NOT NULL,
    asset_id   VARCHAR NOT NULL,
    date       DATE,
    inspector  VARCHAR,
    finding    VARCHAR NOT NULL,          -- e.g. 'cellular modem found', 'no modem found'
    imei       VARCHAR,
    iccid      VARCHAR,
    photo      VARCHAR,
    site       VARCHAR NOT NULL
);

-- Firmware images recorded with `vendorwatch firmware add`.
CREATE TABLE firmware_images (
    id               VARCHAR PRIMARY KEY,  -- 'FW-' + first 12 hex of sha256
    sha256           VARCHAR NOT NULL UNIQUE,
    maker            VARCHAR NOT NULL,
    model            VARCHAR NOT NULL,
    version          VARCHAR NOT NULL,
    file_name        VARCHAR NOT NULL,
    bytes            BIGINT NOT NULL,
    signature        VARCHAR NOT NULL,     -- none | valid | invalid
    signature_detail VARCHAR,
    strings          JSON NOT NULL,        -- {domains: [...], ips: [...], urls: [...]}
    flagged          JSON NOT NULL,        -- [{value, endpoint, maker}] hard-coded vendor-cloud names
    added_at         TIMESTAMP NOT NULL
);

-- Approvals after testing in a staging environment (`vendorwatch firmware approve`).
CREATE TABLE firmware_approvals (
    image_id    VARCHAR NOT NULL,
    tested_by   VARCHAR,
    test_report VARCHAR,                   -- reference to the test record; NULL = none
    tested_on   DATE,
    approved_at TIMESTAMP NOT NULL
);
