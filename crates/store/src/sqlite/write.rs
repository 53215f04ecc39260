//! Writes: each operation is one `BEGIN IMMEDIATE` transaction; large sets go in multi-row batches.
//!
//! A commit first turns its documents into JSON text (outside the transaction, so the write lock is held only
//! for SQL), then upserts the state row, deletes the removals, upserts the versions, inserts the run and its
//! change set, and commits. A process killed at any point before `COMMIT` leaves the previous catalog.

use std::sync::{Arc, LazyLock};

use sqlx::sqlite::SqliteArguments;
use sqlx::{AssertSqlSafe, Sqlite, SqliteConnection, SqlitePool};

use super::query_error;
use crate::encode::{counter, counts, json_text};
use crate::{
    Change, FailureKind, ImportedEntry, NameVersion, RegistryState, ServerVersion, StoreResult, SyncCommit, SyncRun,
};

/// Versions per `INSERT`: 12 binds each, far below SQLite's 32 766 binds per statement.
const VERSION_BATCH: usize = 128;
/// Removed identities per `DELETE`: 2 binds each.
const REMOVAL_BATCH: usize = 256;
/// Change rows per `INSERT`: 5 binds each.
const CHANGE_BATCH: usize = 256;
/// Documents encoded between two yields to the runtime.
const ENCODE_SLICE: usize = 256;

/// A commit with its JSON already turned into text.
pub(super) struct EncodedCommit<'a> {
    commit: &'a SyncCommit,
    state: EncodedState<'a>,
    versions: Vec<EncodedVersion<'a>>,
}

/// A version with its JSON columns as text.
struct EncodedVersion<'a> {
    version: &'a ServerVersion,
    document: String,
    extra_meta: String,
}

/// A state row with its non-text columns converted.
struct EncodedState<'a> {
    state: &'a RegistryState,
    validators: String,
    failed_attempts: i64,
    server_count: i64,
}

impl<'a> EncodedCommit<'a> {
    /// Serializes the commit's documents, yielding to the runtime now and then.
    pub(super) async fn new(commit: &'a SyncCommit) -> StoreResult<Self> {
        let mut versions = Vec::with_capacity(commit.upserts.len());
        for slice in commit.upserts.chunks(ENCODE_SLICE) {
            for version in slice {
                versions.push(EncodedVersion {
                    version,
                    document: version.document.as_str().to_owned(),
                    extra_meta: json_text(&version.extra_meta, "encode extra _meta")?,
                });
            }
            tokio::task::yield_now().await;
        }
        Ok(Self { commit, state: EncodedState::new(&commit.state)?, versions })
    }
}

impl<'a> EncodedState<'a> {
    fn new(state: &'a RegistryState) -> StoreResult<Self> {
        Ok(Self {
            state,
            validators: json_text(&state.validators, "encode validators")?,
            failed_attempts: i64::from(state.failed_attempts),
            server_count: counter(state.server_count, "encode server count")?,
        })
    }
}

/// Applies a commit in one transaction; returns the run id. With a `fence` (a lease holder), nothing is
/// written unless it holds the registry's lease.
///
/// With a `layer`, the registry's imported layer is replaced by it in the same transaction.
pub(super) async fn commit_sync(
    pool: &SqlitePool,
    batch: EncodedCommit<'_>,
    layer: Option<&[ImportedEntry]>,
    fence: Option<&str>,
) -> StoreResult<i64> {
    let EncodedCommit { commit, state, versions } = batch;
    let registry = commit.run.registry.as_str();
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(query_error("begin commit"))?;
    upsert_state(&mut tx, state).await?;
    if let Some(layer) = layer {
        replace_layer(&mut tx, registry, layer).await?;
    }
    delete_versions(&mut tx, registry, &commit.removals).await?;
    upsert_versions(&mut tx, registry, versions).await?;
    let run_id = insert_run(&mut tx, &commit.run).await?;
    insert_changes(&mut tx, run_id, &commit.changes).await?;
    if let Some(holder) = fence {
        super::replica::check_lease(&mut tx, registry, holder).await?;
    }
    tx.commit().await.map_err(query_error("commit sync"))?;
    Ok(run_id)
}

/// Stores a run and, when given, the state, in one transaction; returns the run id. With a `fence`, as
/// for [`commit_sync`].
pub(super) async fn record_run(
    pool: &SqlitePool,
    run: &SyncRun,
    state: Option<&RegistryState>,
    fence: Option<&str>,
) -> StoreResult<i64> {
    let state = state.map(EncodedState::new).transpose()?;
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(query_error("begin record run"))?;
    if let Some(state) = state {
        upsert_state(&mut tx, state).await?;
    }
    let run_id = insert_run(&mut tx, run).await?;
    if let Some(holder) = fence {
        super::replica::check_lease(&mut tx, &run.registry, holder).await?;
    }
    tx.commit().await.map_err(query_error("commit run record"))?;
    Ok(run_id)
}

/// Deletes every row of a registry in one transaction.
pub(super) async fn remove_registry(pool: &SqlitePool, registry: &str) -> StoreResult<()> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(query_error("begin remove registry"))?;
    // Change rows go with their runs (ON DELETE CASCADE).
    for (sql, operation) in [
        ("DELETE FROM sync_runs WHERE registry = ?1", "delete sync runs"),
        ("DELETE FROM server_versions WHERE registry = ?1", "delete server versions"),
        ("DELETE FROM imported_entries WHERE registry = ?1", "delete imported layer"),
        ("DELETE FROM registry_state WHERE registry = ?1", "delete registry state"),
    ] {
        sqlx::query(sql).bind(registry).execute(&mut *tx).await.map_err(query_error(operation))?;
    }
    tx.commit().await.map_err(query_error("commit remove registry"))
}

/// Replaces the registry's imported layer (small: one statement per entry).
async fn replace_layer(conn: &mut SqliteConnection, registry: &str, layer: &[ImportedEntry]) -> StoreResult<()> {
    sqlx::query("DELETE FROM imported_entries WHERE registry = ?1")
        .bind(registry)
        .execute(&mut *conn)
        .await
        .map_err(query_error("delete imported layer"))?;
    for entry in layer {
        sqlx::query(
            "INSERT INTO imported_entries (registry, name, version, record, imported_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(registry)
        .bind(entry.name.as_str())
        .bind(entry.version.as_str())
        .bind(entry.record.as_str())
        .bind(entry.imported_at.as_str())
        .execute(&mut *conn)
        .await
        .map_err(query_error("write imported layer"))?;
    }
    Ok(())
}

async fn upsert_state(conn: &mut SqliteConnection, encoded: EncodedState<'_>) -> StoreResult<()> {
    // Updated in place, never replaced: `INSERT OR REPLACE` would delete the row and cascade to the catalog.
    const SQL: &str = "INSERT INTO registry_state (registry, spec_digest, filter_digest, validators, revision, \
         content_digest, last_success_at, last_attempt_at, failed_attempts, last_error, server_count, \
         last_failure) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
         ON CONFLICT (registry) DO UPDATE SET spec_digest = excluded.spec_digest, \
         filter_digest = excluded.filter_digest, validators = excluded.validators, revision = excluded.revision, \
         content_digest = excluded.content_digest, last_success_at = excluded.last_success_at, \
         last_attempt_at = excluded.last_attempt_at, failed_attempts = excluded.failed_attempts, \
         last_error = excluded.last_error, server_count = excluded.server_count, \
         last_failure = excluded.last_failure";
    let s = encoded.state;
    sqlx::query(SQL)
        .bind(s.registry.as_str())
        .bind(s.spec_digest.as_deref())
        .bind(s.filter_digest.as_deref())
        .bind(encoded.validators)
        .bind(s.revision.as_deref())
        .bind(s.content_digest.as_deref())
        .bind(s.last_success_at.as_deref())
        .bind(s.last_attempt_at.as_deref())
        .bind(encoded.failed_attempts)
        .bind(s.last_error.as_deref())
        .bind(encoded.server_count)
        .bind(s.last_failure.map(FailureKind::as_str))
        .execute(conn)
        .await
        .map_err(query_error("write registry state"))?;
    Ok(())
}

async fn insert_run(conn: &mut SqliteConnection, run: &SyncRun) -> StoreResult<i64> {
    const SQL: &str = "INSERT INTO sync_runs (registry, started_at, finished_at, outcome, error, revision, digest, \
         total, added, removed, updated, skipped) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
         RETURNING id";
    let [total, added, removed, updated, skipped] = counts(&run.counts)?;
    sqlx::query_scalar(SQL)
        .bind(run.registry.as_str())
        .bind(run.started_at.as_str())
        .bind(run.finished_at.as_str())
        .bind(run.outcome.as_str())
        .bind(run.error.as_deref())
        .bind(run.revision.as_deref())
        .bind(run.digest.as_deref())
        .bind(total)
        .bind(added)
        .bind(removed)
        .bind(updated)
        .bind(skipped)
        .fetch_one(conn)
        .await
        .map_err(query_error("write sync run"))
}

async fn upsert_versions(
    conn: &mut SqliteConnection,
    registry: &str,
    versions: Vec<EncodedVersion<'_>>,
) -> StoreResult<()> {
    static FULL: LazyLock<Arc<str>> = LazyLock::new(|| upsert_versions_sql(VERSION_BATCH).into());
    let mut rows = versions.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(VERSION_BATCH).collect();
        let mut query = batch_query(&FULL, chunk.len() == VERSION_BATCH, || upsert_versions_sql(chunk.len()));
        for row in chunk {
            let v = row.version;
            query = query
                .bind(registry)
                .bind(v.name.as_str())
                .bind(v.version.as_str())
                .bind(row.document)
                .bind(row.extra_meta)
                .bind(v.digest.as_str())
                .bind(v.status.as_str())
                .bind(v.status_changed_at.as_deref())
                .bind(v.status_message.as_deref())
                .bind(v.published_at.as_str())
                .bind(v.updated_at.as_str())
                .bind(i64::from(v.is_latest));
        }
        query.execute(&mut *conn).await.map_err(query_error("write server versions"))?;
    }
    Ok(())
}

fn upsert_versions_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO server_versions (registry, name, version, document, extra_meta, digest, status, \
         status_changed_at, status_message, published_at, updated_at, is_latest) VALUES ",
    );
    push_rows(&mut sql, rows, 12);
    sql.push_str(
        " ON CONFLICT (registry, name, version) DO UPDATE SET document = excluded.document, \
         extra_meta = excluded.extra_meta, digest = excluded.digest, status = excluded.status, \
         status_changed_at = excluded.status_changed_at, status_message = excluded.status_message, \
         published_at = excluded.published_at, updated_at = excluded.updated_at, is_latest = excluded.is_latest",
    );
    sql
}

async fn delete_versions(conn: &mut SqliteConnection, registry: &str, removals: &[NameVersion]) -> StoreResult<()> {
    static FULL: LazyLock<Arc<str>> = LazyLock::new(|| delete_versions_sql(REMOVAL_BATCH).into());
    for chunk in removals.chunks(REMOVAL_BATCH) {
        let mut query =
            batch_query(&FULL, chunk.len() == REMOVAL_BATCH, || delete_versions_sql(chunk.len())).bind(registry);
        for removal in chunk {
            query = query.bind(removal.name.as_str()).bind(removal.version.as_str());
        }
        query.execute(&mut *conn).await.map_err(query_error("delete server versions"))?;
    }
    Ok(())
}

fn delete_versions_sql(rows: usize) -> String {
    let mut sql = String::from("DELETE FROM server_versions WHERE registry = ? AND (name, version) IN (VALUES ");
    push_rows(&mut sql, rows, 2);
    sql.push(')');
    sql
}

async fn insert_changes(conn: &mut SqliteConnection, run_id: i64, changes: &[Change]) -> StoreResult<()> {
    static FULL: LazyLock<Arc<str>> = LazyLock::new(|| insert_changes_sql(CHANGE_BATCH).into());
    let mut seq: i64 = 0;
    for chunk in changes.chunks(CHANGE_BATCH) {
        let mut query = batch_query(&FULL, chunk.len() == CHANGE_BATCH, || insert_changes_sql(chunk.len()));
        for change in chunk {
            query = query
                .bind(run_id)
                .bind(seq)
                .bind(change.kind.as_str())
                .bind(change.name.as_str())
                .bind(change.version.as_str());
            seq += 1;
        }
        query.execute(&mut *conn).await.map_err(query_error("write change set"))?;
    }
    Ok(())
}

fn insert_changes_sql(rows: usize) -> String {
    let mut sql = String::from("INSERT INTO sync_changes (run_id, seq, kind, name, version) VALUES ");
    push_rows(&mut sql, rows, 5);
    sql
}

/// Appends `rows` groups of `columns` anonymous placeholders: `(?, ?), (?, ?)`.
///
/// Anonymous, not numbered: the driver looks up the name of every numbered parameter, and SQLite finds a
/// name by a linear scan, which makes numbered placeholders quadratic in the size of a batch.
fn push_rows(sql: &mut String, rows: usize, columns: usize) {
    for row in 0..rows {
        sql.push_str(if row == 0 { "(?" } else { ", (?" });
        for _ in 1..columns {
            sql.push_str(", ?");
        }
        sql.push(')');
    }
}

/// A batch statement: the shared, prepared-once full-size text, or a one-off text for the last, shorter batch.
fn batch_query(
    full: &LazyLock<Arc<str>>,
    is_full: bool,
    build: impl FnOnce() -> String,
) -> sqlx::query::Query<'static, Sqlite, SqliteArguments> {
    if is_full {
        sqlx::query(AssertSqlSafe(Arc::clone(full)))
    } else {
        sqlx::query(AssertSqlSafe(build())).persistent(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_anonymous() {
        let mut sql = String::new();
        push_rows(&mut sql, 2, 3);
        assert_eq!(sql, "(?, ?, ?), (?, ?, ?)");
        assert!(delete_versions_sql(2).ends_with("registry = ? AND (name, version) IN (VALUES (?, ?), (?, ?))"));
    }
}
