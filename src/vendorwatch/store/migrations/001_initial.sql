-- vendorwatch store, schema version 1.
-- Stage boundaries are these tables: ingest/ writes sources, evidence and flows;
-- identify/ derives assets and asset_evidence; detect/ writes findings.
-- Timestamps are UTC, TIMESTAMP (microseconds); NULL where the input masks them.

-- One row per ingested input (a capture file, a log file, or a directory of Zeek logs).
CREATE SEQUENCE source_id_seq START 1;
CREATE TABLE sources (
    id          INTEGER PRIMARY KEY DEFAULT nextval('source_id_seq'),
    path        VARCHAR NOT NULL,   -- path as given on the command line, made absolute
    sha256      VARCHAR NOT NULL UNIQUE,  -- of the file's bytes; for a directory, of its logs' names and hashes
    kind        VARCHAR NOT NULL,   -- reader that took it: pcap, pcapng, zeek
    site        VARCHAR NOT NULL DEFAULT '',  -- --site given at ingest
    bytes       BIGINT,             -- bytes read
    records     BIGINT,             -- packets or log rows read
    warning     VARCHAR,            -- e.g. truncation notice; NULL when clean
    ingested_at TIMESTAMP NOT NULL
);

-- One fact about one host, as seen in one source. `ip` is the host the fact is about
-- (the client for queries, user agents and SNI; the server for banners and certificates);
-- `peer_ip` the other end when there was one. Signal names are in vendorwatch/signals.py.
CREATE TABLE evidence (
    source_id INTEGER NOT NULL,
    ts        TIMESTAMP,
    ip        VARCHAR NOT NULL,
    peer_ip   VARCHAR,
    signal    VARCHAR NOT NULL,
    value     VARCHAR NOT NULL,
    source    VARCHAR NOT NULL       -- file the row came from (a log inside a Zeek directory)
);

-- Bidirectional flows; src is the initiator. Bytes are IP-level (as Zeek's *_ip_bytes).
CREATE TABLE flows (
    source_id   INTEGER NOT NULL,
    ts_first    TIMESTAMP,
    ts_last     TIMESTAMP,
    src_ip      VARCHAR NOT NULL,
    src_port    INTEGER,
    dst_ip      VARCHAR NOT NULL,
    dst_port    INTEGER,
    proto       SMALLINT,           -- IP protocol number: 6 tcp, 17 udp, 1 icmp, 58 icmpv6
    vlan        INTEGER,
    src_mac     VARCHAR,
    dst_mac     VARCHAR,
    src_packets BIGINT,
    dst_packets BIGINT,
    src_bytes   BIGINT,
    dst_bytes   BIGINT,
    app         VARCHAR,            -- nDPI application (e.g. TLS.Google) or Zeek service
    server_name VARCHAR,            -- SNI, HTTP Host or DNS query name of the flow
    user_agent  VARCHAR,
    ja4         VARCHAR             -- TLS client fingerprint
);

-- Devices, derived from evidence by identify/. One row per (site, ip).
CREATE TABLE assets (
    site         VARCHAR NOT NULL,
    ip           VARCHAR NOT NULL,
    mac          VARCHAR,
    manufacturer VARCHAR,
    brand        VARCHAR,
    model        VARCHAR,
    device_class VARCHAR,
    confidence   DOUBLE NOT NULL,   -- 0..1 for the manufacturer attribution
    risk         VARCHAR NOT NULL,  -- low | medium | high | critical, from intel/
    listings     JSON NOT NULL,     -- [{list, since, source_url}]
    first_seen   TIMESTAMP,
    last_seen    TIMESTAMP
);

-- The evidence rows behind each asset attribute, with what each row claimed.
CREATE TABLE asset_evidence (
    site   VARCHAR NOT NULL,
    ip     VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    signal VARCHAR NOT NULL,
    value  VARCHAR NOT NULL,
    claim  VARCHAR NOT NULL,        -- e.g. manufacturer=Hikvision, device_class=camera
    weight DOUBLE NOT NULL
);

-- Findings from detect/. `id` is stable across re-runs (hash of kind, site, asset and key),
-- so the triage state survives re-detection.
CREATE TABLE findings (
    id         VARCHAR NOT NULL,
    kind       VARCHAR NOT NULL,
    severity   VARCHAR NOT NULL,   -- info | low | medium | high | critical
    site       VARCHAR NOT NULL,
    asset_ip   VARCHAR,
    summary    VARCHAR NOT NULL,
    details    JSON NOT NULL,
    evidence   JSON NOT NULL,      -- [{ts, ip, peer_ip, signal, value, source}]
    first_seen TIMESTAMP,
    last_seen  TIMESTAMP,
    state      VARCHAR NOT NULL DEFAULT 'open'
);
