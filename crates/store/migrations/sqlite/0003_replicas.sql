-- Coordination of several processes serving one database (crates/store/src/replica.rs, docs/storage.md).
--
-- Times are milliseconds since the Unix epoch by SQLite's clock (the machine's).

-- The sync lease of each registry: the process that may sync it until `expires_at`.
CREATE TABLE sync_leases (
    registry    TEXT    NOT NULL PRIMARY KEY,
    holder      TEXT    NOT NULL,
    acquired_at INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;

-- Manual syncs asked of a process that does not hold the lease; the holder runs them and stores the report.
CREATE TABLE sync_requests (
    id           INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    registry     TEXT    NOT NULL,
    requested_by TEXT    NOT NULL,
    requested_at INTEGER NOT NULL,
    completed_at INTEGER,
    report       TEXT
) STRICT;

CREATE INDEX sync_requests_pending ON sync_requests (registry, id) WHERE completed_at IS NULL;

-- A registry's catalog version is the id of its last committing run.
CREATE INDEX sync_runs_committed ON sync_runs (registry, id) WHERE outcome = 'success';
