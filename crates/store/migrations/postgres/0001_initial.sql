-- Initial schema of the PostgreSQL store: the same tables, columns and rules as the SQLite one
-- (migrations/sqlite/0001_initial.sql), in PostgreSQL's types.
--
-- JSON columns hold the JSON text the store was handed, as TEXT: documents come back byte for byte (JSONB
-- would reorder keys and cost a conversion both ways), and the store never looks inside them. Text that is
-- compared or ordered uses the "C" collation, so (name, version) order is byte order on every server,
-- whatever its locale.

-- One row per registry that was ever synced: validators and counters between runs.
CREATE TABLE registry_state (
    registry        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    spec_digest     TEXT,
    filter_digest   TEXT,
    validators      TEXT   NOT NULL DEFAULT 'null',
    revision        TEXT,
    content_digest  TEXT,
    last_success_at TEXT,
    last_attempt_at TEXT,
    failed_attempts BIGINT NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    last_error      TEXT,
    server_count    BIGINT NOT NULL DEFAULT 0 CHECK (server_count >= 0)
);

-- The current catalog of every registry: one row per (registry, name, version).
-- A version cannot outlive its registry's state row (the state row is only ever updated in place).
CREATE TABLE server_versions (
    registry          TEXT COLLATE "C" NOT NULL REFERENCES registry_state (registry) ON DELETE CASCADE,
    name              TEXT COLLATE "C" NOT NULL,
    version           TEXT COLLATE "C" NOT NULL,
    document          TEXT    NOT NULL,
    extra_meta        TEXT    NOT NULL,
    digest            TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    status_changed_at TEXT,
    status_message    TEXT,
    published_at      TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL,
    is_latest         BOOLEAN NOT NULL,
    PRIMARY KEY (registry, name, version)
);

-- "Latest version of every server" pages of the registry API.
CREATE INDEX server_versions_latest ON server_versions (registry, name) WHERE is_latest;
-- `updated_since` queries of the registry API.
CREATE INDEX server_versions_updated ON server_versions (registry, updated_at);

-- Every sync attempt. An identity column: a run id is never reused, even after its registry is removed.
CREATE TABLE sync_runs (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    registry    TEXT COLLATE "C" NOT NULL,
    started_at  TEXT   NOT NULL,
    finished_at TEXT   NOT NULL,
    outcome     TEXT   NOT NULL CHECK (outcome IN ('success', 'unchanged', 'failed')),
    error       TEXT,
    revision    TEXT,
    digest      TEXT,
    total       BIGINT NOT NULL CHECK (total >= 0),
    added       BIGINT NOT NULL CHECK (added >= 0),
    removed     BIGINT NOT NULL CHECK (removed >= 0),
    updated     BIGINT NOT NULL CHECK (updated >= 0),
    skipped     BIGINT NOT NULL CHECK (skipped >= 0)
);

-- A registry's runs, newest first.
CREATE INDEX sync_runs_registry ON sync_runs (registry, id DESC);

-- The change set of each committed run, in the order the pipeline gave it.
CREATE TABLE sync_changes (
    run_id  BIGINT NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    seq     BIGINT NOT NULL,
    kind    TEXT   NOT NULL CHECK (kind IN ('added', 'removed', 'updated')),
    name    TEXT   NOT NULL,
    version TEXT   NOT NULL,
    PRIMARY KEY (run_id, seq)
);
