-- vendorwatch store, schema version 7: triage decisions on findings. Kept apart from the
-- findings table (which every detection run rewrites) so that a decision survives
-- re-ingest and re-detection: finding ids are stable. The latest decision per finding
-- holds; one with `until` in the past no longer does, and the finding is open again.
-- Settings keys added: 'zones' (zone file text), 'closed_zones' (JSON list of zone names),
-- 'allowlist' (allowlist file text).
CREATE TABLE triage (
    finding_id VARCHAR NOT NULL,
    state      VARCHAR NOT NULL,   -- accepted | false_positive | mitigated | open
    note       VARCHAR NOT NULL,
    until      DATE,               -- the decision lapses after this day
    decided_at TIMESTAMP NOT NULL
);
