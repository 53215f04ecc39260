-- The kind of the last failed sync (`retryable` or `stalled`), so that status readers (the CLI, the API, the
-- operator's conditions) tell a sync that will be retried from one that waits for a fix. NULL after a
-- success, and for failures recorded before this column existed.
ALTER TABLE registry_state ADD COLUMN last_failure TEXT CHECK (last_failure IN ('retryable', 'stalled'));
