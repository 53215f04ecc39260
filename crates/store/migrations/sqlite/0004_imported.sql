-- The imported layer of each registry (`thv registry import`): records kept apart from what the source gives,
-- merged into the catalog by every sync. Goes with its registry's state row, like the catalog.
CREATE TABLE imported_entries (
    registry    TEXT NOT NULL REFERENCES registry_state (registry) ON DELETE CASCADE,
    name        TEXT NOT NULL COLLATE BINARY,
    version     TEXT NOT NULL COLLATE BINARY,
    record      TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    PRIMARY KEY (registry, name, version)
) STRICT;
