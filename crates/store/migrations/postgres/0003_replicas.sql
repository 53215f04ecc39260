-- Coordination of several `thv registry serve` replicas on one database (crates/store/src/replica.rs,
-- docs/storage.md).
--
-- Times are the database server's clock (`clock_timestamp()`), never a replica's.

-- The sync lease of each registry: the replica that may sync it until `expires_at`.
CREATE TABLE sync_leases (
    registry    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    holder      TEXT        NOT NULL,
    acquired_at TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);

-- Manual syncs asked of a replica that does not hold the lease; the holder runs them and stores the report.
CREATE TABLE sync_requests (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    registry     TEXT COLLATE "C" NOT NULL,
    requested_by TEXT        NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL,
    completed_at TIMESTAMPTZ,
    report       TEXT
);

CREATE INDEX sync_requests_pending ON sync_requests (registry, id) WHERE completed_at IS NULL;

-- A registry's catalog version is the id of its last committing run.
CREATE INDEX sync_runs_committed ON sync_runs (registry, id) WHERE outcome = 'success';
