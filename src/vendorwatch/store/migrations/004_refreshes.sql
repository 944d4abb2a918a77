-- vendorwatch store, schema version 4: when assets and findings were last derived.
-- identify/ and detect/ run after ingest in their own transactions; a process killed in
-- between leaves sources newer than the findings. Each completed refresh records how many
-- sources it saw, so the next command can tell the findings are stale and refresh them.
CREATE TABLE refreshes (
    refreshed_at TIMESTAMP NOT NULL,
    sources      INTEGER NOT NULL     -- count of sources at the time of the refresh
);
