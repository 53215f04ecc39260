-- Initial schema of the SQLite store.
--
-- JSON columns hold the JSON text the store was handed (it never looks inside). Tables are STRICT so a
-- value of the wrong type is refused at write time rather than discovered at read time.

-- One row per registry that was ever synced: validators and counters between runs.
CREATE TABLE registry_state (
    registry        TEXT    NOT NULL PRIMARY KEY,
    spec_digest     TEXT,
    filter_digest   TEXT,
    validators      TEXT    NOT NULL DEFAULT 'null',
    revision        TEXT,
    content_digest  TEXT,
    last_success_at TEXT,
    last_attempt_at TEXT,
    failed_attempts INTEGER NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    last_error      TEXT,
    server_count    INTEGER NOT NULL DEFAULT 0 CHECK (server_count >= 0)
) STRICT;

-- The current catalog of every registry: one row per (registry, name, version).
-- A version cannot outlive its registry's state row (the state row is only ever updated in place).
CREATE TABLE server_versions (
    registry          TEXT    NOT NULL REFERENCES registry_state (registry) ON DELETE CASCADE,
    name              TEXT    NOT NULL COLLATE BINARY,
    version           TEXT    NOT NULL COLLATE BINARY,
    document          TEXT    NOT NULL,
    extra_meta        TEXT    NOT NULL,
    digest            TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    status_changed_at TEXT,
    status_message    TEXT,
    published_at      TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL,
    is_latest         INTEGER NOT NULL CHECK (is_latest IN (0, 1)),
    PRIMARY KEY (registry, name, version)
) STRICT;

-- "Latest version of every server" pages of the registry API.
CREATE INDEX server_versions_latest ON server_versions (registry, name) WHERE is_latest = 1;
-- `updated_since` queries of the registry API.
CREATE INDEX server_versions_updated ON server_versions (registry, updated_at);

-- Every sync attempt. AUTOINCREMENT: a run id is never reused, even after its registry is removed.
CREATE TABLE sync_runs (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    registry    TEXT    NOT NULL,
    started_at  TEXT    NOT NULL,
    finished_at TEXT    NOT NULL,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('success', 'unchanged', 'failed')),
    error       TEXT,
    revision    TEXT,
    digest      TEXT,
    total       INTEGER NOT NULL CHECK (total >= 0),
    added       INTEGER NOT NULL CHECK (added >= 0),
    removed     INTEGER NOT NULL CHECK (removed >= 0),
    updated     INTEGER NOT NULL CHECK (updated >= 0),
    skipped     INTEGER NOT NULL CHECK (skipped >= 0)
) STRICT;

-- A registry's runs, newest first.
CREATE INDEX sync_runs_registry ON sync_runs (registry, id DESC);

-- The change set of each committed run, in the order the pipeline gave it.
CREATE TABLE sync_changes (
    run_id  INTEGER NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    kind    TEXT    NOT NULL CHECK (kind IN ('added', 'removed', 'updated')),
    name    TEXT    NOT NULL,
    version TEXT    NOT NULL,
    PRIMARY KEY (run_id, seq)
) STRICT, WITHOUT ROWID;
