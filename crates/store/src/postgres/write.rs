//! Writes: each operation is one transaction; large sets are bound as arrays and expanded with `UNNEST`,
//! so a batch of a thousand rows is one statement with a dozen parameters.
//!
//! A commit upserts the state row first. That row lock is the per-registry writer lock: a second commit
//! to the same registry (another replica) waits for the first to finish, then applies on top of it, so two
//! commits never interleave. Then it deletes the removals, upserts the versions, inserts the run and its
//! change set, queues a notification on [`CATALOG_CHANNEL`](super::CATALOG_CHANNEL) and commits. A process
//! killed at any point before `COMMIT` leaves the previous catalog (the server rolls the transaction back
//! when the connection drops).

use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use super::{CATALOG_CHANNEL, query_error};
use crate::encode::{counter, counts, json_text};
use crate::{
    Change, FailureKind, ImportedEntry, NameVersion, RegistryState, ServerVersion, StoreResult, SyncCommit, SyncRun,
};

/// Versions per `INSERT`: bounds one statement to a few megabytes of documents.
const VERSION_BATCH: usize = 1_000;
/// Removed identities per `DELETE`.
const REMOVAL_BATCH: usize = 1_000;
/// Change rows per `INSERT`.
const CHANGE_BATCH: usize = 1_000;
/// Notification payloads longer than this are sent empty ("something changed"): PostgreSQL refuses
/// payloads of 8,000 bytes and more, and a refused notification would fail the commit.
const MAX_PAYLOAD: usize = 1_000;

/// Applies a commit in one transaction; returns the run id. With a `fence` (a lease holder), nothing is
/// written unless it holds the registry's lease when the transaction commits.
///
/// With a `layer`, the registry's imported layer is replaced by it in the same transaction.
pub(super) async fn commit_sync(
    pool: &PgPool,
    commit: &SyncCommit,
    layer: Option<&[ImportedEntry]>,
    fence: Option<&str>,
) -> StoreResult<i64> {
    let registry = commit.run.registry.as_str();
    // JSON text of the metadata before the transaction, so it holds its locks only for SQL.
    let extra_meta: Vec<String> =
        commit.upserts.iter().map(|v| json_text(&v.extra_meta, "encode extra _meta")).collect::<StoreResult<_>>()?;
    let mut tx = begin(pool, "begin commit").await?;
    upsert_state(&mut tx, &commit.state).await?;
    if let Some(layer) = layer {
        replace_layer(&mut tx, registry, layer).await?;
    }
    delete_versions(&mut tx, registry, &commit.removals).await?;
    for (versions, extra_meta) in commit.upserts.chunks(VERSION_BATCH).zip(extra_meta.chunks(VERSION_BATCH)) {
        upsert_versions(&mut tx, registry, versions, extra_meta).await?;
    }
    let run_id = insert_run(&mut tx, &commit.run).await?;
    insert_changes(&mut tx, run_id, &commit.changes).await?;
    notify(&mut tx, CATALOG_CHANNEL, registry).await?;
    if let Some(holder) = fence {
        super::replica::check_lease(&mut tx, registry, holder).await?;
    }
    tx.commit().await.map_err(query_error("commit sync"))?;
    Ok(run_id)
}

/// Stores a run and, when given, the state, in one transaction; returns the run id. With a `fence`, as
/// for [`commit_sync`].
pub(super) async fn record_run(
    pool: &PgPool,
    run: &SyncRun,
    state: Option<&RegistryState>,
    fence: Option<&str>,
) -> StoreResult<i64> {
    let mut tx = begin(pool, "begin record run").await?;
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
pub(super) async fn remove_registry(pool: &PgPool, registry: &str) -> StoreResult<()> {
    let mut tx = begin(pool, "begin remove registry").await?;
    // The state row first (it takes the registry's writer lock); versions go with it and change rows with
    // their runs (ON DELETE CASCADE).
    for (sql, operation) in [
        ("DELETE FROM registry_state WHERE registry = $1", "delete registry state"),
        ("DELETE FROM sync_runs WHERE registry = $1", "delete sync runs"),
    ] {
        sqlx::query(sql).bind(registry).execute(&mut *tx).await.map_err(query_error(operation))?;
    }
    notify(&mut tx, CATALOG_CHANNEL, registry).await?;
    tx.commit().await.map_err(query_error("commit remove registry"))
}

async fn begin(pool: &PgPool, operation: &'static str) -> StoreResult<Transaction<'static, Postgres>> {
    pool.begin().await.map_err(query_error(operation))
}

/// Replaces the registry's imported layer: one `DELETE` and one `INSERT … SELECT FROM UNNEST`.
async fn replace_layer(conn: &mut PgConnection, registry: &str, layer: &[ImportedEntry]) -> StoreResult<()> {
    sqlx::query("DELETE FROM imported_entries WHERE registry = $1")
        .bind(registry)
        .execute(&mut *conn)
        .await
        .map_err(query_error("delete imported layer"))?;
    if layer.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&ImportedEntry) -> &str| layer.iter().map(f).collect::<Vec<&str>>();
    sqlx::query(
        "INSERT INTO imported_entries (registry, name, version, record, imported_at) \
         SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[])",
    )
    .bind(registry)
    .bind(column(|e| e.name.as_str()))
    .bind(column(|e| e.version.as_str()))
    .bind(column(|e| e.record.as_str()))
    .bind(column(|e| e.imported_at.as_str()))
    .execute(&mut *conn)
    .await
    .map_err(query_error("write imported layer"))?;
    Ok(())
}

async fn upsert_state(conn: &mut PgConnection, s: &RegistryState) -> StoreResult<()> {
    // Updated in place, never replaced: deleting the row would cascade to the catalog.
    const SQL: &str = "INSERT INTO registry_state (registry, spec_digest, filter_digest, validators, revision, \
         content_digest, last_success_at, last_attempt_at, failed_attempts, last_error, server_count, \
         last_failure) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (registry) DO UPDATE SET spec_digest = EXCLUDED.spec_digest, \
         filter_digest = EXCLUDED.filter_digest, validators = EXCLUDED.validators, revision = EXCLUDED.revision, \
         content_digest = EXCLUDED.content_digest, last_success_at = EXCLUDED.last_success_at, \
         last_attempt_at = EXCLUDED.last_attempt_at, failed_attempts = EXCLUDED.failed_attempts, \
         last_error = EXCLUDED.last_error, server_count = EXCLUDED.server_count, \
         last_failure = EXCLUDED.last_failure";
    sqlx::query(SQL)
        .bind(s.registry.as_str())
        .bind(s.spec_digest.as_deref())
        .bind(s.filter_digest.as_deref())
        .bind(json_text(&s.validators, "encode validators")?)
        .bind(s.revision.as_deref())
        .bind(s.content_digest.as_deref())
        .bind(s.last_success_at.as_deref())
        .bind(s.last_attempt_at.as_deref())
        .bind(i64::from(s.failed_attempts))
        .bind(s.last_error.as_deref())
        .bind(counter(s.server_count, "encode server count")?)
        .bind(s.last_failure.map(FailureKind::as_str))
        .execute(conn)
        .await
        .map_err(query_error("write registry state"))?;
    Ok(())
}

async fn insert_run(conn: &mut PgConnection, run: &SyncRun) -> StoreResult<i64> {
    const SQL: &str = "INSERT INTO sync_runs (registry, started_at, finished_at, outcome, error, revision, digest, \
         total, added, removed, updated, skipped) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
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
    conn: &mut PgConnection,
    registry: &str,
    versions: &[ServerVersion],
    extra_meta: &[String],
) -> StoreResult<()> {
    const SQL: &str = "INSERT INTO server_versions (registry, name, version, document, extra_meta, digest, status, \
         status_changed_at, status_message, published_at, updated_at, is_latest) \
         SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
         $8::text[], $9::text[], $10::text[], $11::text[], $12::bool[]) \
         ON CONFLICT (registry, name, version) DO UPDATE SET document = EXCLUDED.document, \
         extra_meta = EXCLUDED.extra_meta, digest = EXCLUDED.digest, status = EXCLUDED.status, \
         status_changed_at = EXCLUDED.status_changed_at, status_message = EXCLUDED.status_message, \
         published_at = EXCLUDED.published_at, updated_at = EXCLUDED.updated_at, is_latest = EXCLUDED.is_latest";
    let column = |f: fn(&ServerVersion) -> &str| versions.iter().map(f).collect::<Vec<&str>>();
    let optional = |f: fn(&ServerVersion) -> Option<&str>| versions.iter().map(f).collect::<Vec<Option<&str>>>();
    sqlx::query(SQL)
        .bind(registry)
        .bind(column(|v| &v.name))
        .bind(column(|v| &v.version))
        .bind(column(|v| v.document.as_str()))
        .bind(extra_meta)
        .bind(column(|v| &v.digest))
        .bind(column(|v| &v.status))
        .bind(optional(|v| v.status_changed_at.as_deref()))
        .bind(optional(|v| v.status_message.as_deref()))
        .bind(column(|v| &v.published_at))
        .bind(column(|v| &v.updated_at))
        .bind(versions.iter().map(|v| v.is_latest).collect::<Vec<bool>>())
        .execute(conn)
        .await
        .map_err(query_error("write server versions"))?;
    Ok(())
}

async fn delete_versions(conn: &mut PgConnection, registry: &str, removals: &[NameVersion]) -> StoreResult<()> {
    const SQL: &str = "DELETE FROM server_versions WHERE registry = $1 \
         AND (name, version) IN (SELECT * FROM UNNEST($2::text[], $3::text[]))";
    for chunk in removals.chunks(REMOVAL_BATCH) {
        sqlx::query(SQL)
            .bind(registry)
            .bind(chunk.iter().map(|r| r.name.as_str()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|r| r.version.as_str()).collect::<Vec<_>>())
            .execute(&mut *conn)
            .await
            .map_err(query_error("delete server versions"))?;
    }
    Ok(())
}

async fn insert_changes(conn: &mut PgConnection, run_id: i64, changes: &[Change]) -> StoreResult<()> {
    // `WITH ORDINALITY` numbers the rows from 1 in array order; `$2` is the sequence number of the first.
    const SQL: &str = "INSERT INTO sync_changes (run_id, seq, kind, name, version) \
         SELECT $1, $2 + c.n - 1, c.kind, c.name, c.version \
         FROM UNNEST($3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS c(kind, name, version, n)";
    let mut first: i64 = 0;
    for chunk in changes.chunks(CHANGE_BATCH) {
        sqlx::query(SQL)
            .bind(run_id)
            .bind(first)
            .bind(chunk.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|c| c.name.as_str()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|c| c.version.as_str()).collect::<Vec<_>>())
            .execute(&mut *conn)
            .await
            .map_err(query_error("write change set"))?;
        first += chunk.len() as i64;
    }
    Ok(())
}

/// Queues a notification on `channel` naming the registry; PostgreSQL delivers it to listeners when (and
/// only if) the transaction commits.
pub(super) async fn notify(conn: &mut PgConnection, channel: &str, registry: &str) -> StoreResult<()> {
    let payload = if registry.len() <= MAX_PAYLOAD { registry } else { "" };
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(payload)
        .execute(conn)
        .await
        .map_err(query_error("notify catalog change"))?;
    Ok(())
}
