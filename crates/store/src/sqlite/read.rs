//! Reads: queries and the mapping of their rows to records.
//!
//! A value that cannot be decoded is a [`StoreError::Corrupt`] naming the table, the row's key and the
//! column; nothing read from the database is unwrapped.

use sqlx::sqlite::SqliteRow;
use sqlx::{Decode, Row, Sqlite, SqlitePool, Type};

use super::query_error;
use crate::encode::{
    parse_json, read_bool, read_change_kind, read_counter, read_counts, read_failure_kind, read_outcome,
};
use crate::{Change, RegistryState, ServerVersion, StoreError, StoreResult, SyncRun};

/// The columns of `registry_state`, in the order [`state_from_row`] reads them by name.
macro_rules! state_select {
    ($rest:literal) => {
        concat!(
            "SELECT registry, spec_digest, filter_digest, validators, revision, content_digest, ",
            "last_success_at, last_attempt_at, failed_attempts, last_error, last_failure, server_count FROM registry_state ",
            $rest
        )
    };
}

/// The registry's state row, if any.
pub(super) async fn registry_state(pool: &SqlitePool, registry: &str) -> StoreResult<Option<RegistryState>> {
    const SQL: &str = state_select!("WHERE registry = ?1");
    let row = sqlx::query(SQL).bind(registry).fetch_optional(pool).await.map_err(query_error("read registry state"))?;
    row.as_ref().map(state_from_row).transpose()
}

/// Every state row, ordered by registry name.
pub(super) async fn registry_states(pool: &SqlitePool) -> StoreResult<Vec<RegistryState>> {
    const SQL: &str = state_select!("ORDER BY registry COLLATE BINARY");
    let rows = sqlx::query(SQL).fetch_all(pool).await.map_err(query_error("read registry states"))?;
    rows.iter().map(state_from_row).collect()
}

fn state_from_row(row: &SqliteRow) -> StoreResult<RegistryState> {
    let registry: String = get(row, "registry", &|| "registry_state row".to_owned())?;
    let what = || format!("registry_state row {registry:?}");
    let validators: String = get(row, "validators", &what)?;
    Ok(RegistryState {
        spec_digest: get(row, "spec_digest", &what)?,
        filter_digest: get(row, "filter_digest", &what)?,
        validators: parse_json(&validators, || format!("{}.validators", what()))?,
        revision: get(row, "revision", &what)?,
        content_digest: get(row, "content_digest", &what)?,
        last_success_at: get(row, "last_success_at", &what)?,
        last_attempt_at: get(row, "last_attempt_at", &what)?,
        failed_attempts: read_counter(get(row, "failed_attempts", &what)?, || format!("{}.failed_attempts", what()))?,
        last_error: get(row, "last_error", &what)?,
        last_failure: read_failure_kind(get::<Option<String>>(row, "last_failure", &what)?.as_deref(), || {
            format!("{}.last_failure", what())
        })?,
        server_count: read_counter(get(row, "server_count", &what)?, || format!("{}.server_count", what()))?,
        registry,
    })
}

/// Catalogs at least this large are decoded on several threads.
const PARALLEL_DECODE_ROWS: usize = 2_000;
/// At most this many decoding threads per catalog.
const MAX_DECODE_THREADS: usize = 4;

/// The registry's versions ordered by (name, version) byte-wise.
pub(super) async fn catalog(pool: &SqlitePool, registry: &str) -> StoreResult<Vec<ServerVersion>> {
    const SQL: &str = "SELECT name, version, document, extra_meta, digest, status, status_changed_at, \
         status_message, published_at, updated_at, is_latest FROM server_versions WHERE registry = ?1 \
         ORDER BY name COLLATE BINARY, version COLLATE BINARY";
    let mut rows = sqlx::query(SQL).bind(registry).fetch_all(pool).await.map_err(query_error("read catalog"))?;

    // Parsing megabytes of JSON is CPU work: keep it off the runtime's worker threads, and split a large
    // catalog over a few blocking threads.
    let threads = if rows.len() < PARALLEL_DECODE_ROWS {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_DECODE_THREADS))
    };
    let part_len = rows.len().div_ceil(threads).max(1);
    let mut parts = Vec::with_capacity(threads);
    while !rows.is_empty() {
        let rest = rows.split_off(part_len.min(rows.len()));
        parts.push(std::mem::replace(&mut rows, rest));
    }
    let mut tasks = Vec::with_capacity(parts.len());
    for (i, part) in parts.into_iter().enumerate() {
        let registry = registry.to_owned();
        let first = i * part_len;
        tasks.push(tokio::task::spawn_blocking(move || {
            part.iter()
                .enumerate()
                .map(|(j, row)| version_from_row(row, &registry, first + j))
                .collect::<StoreResult<Vec<_>>>()
        }));
    }
    let mut versions = Vec::new();
    for task in tasks {
        let part = task.await.map_err(|e| StoreError::Query { operation: "decode catalog", message: e.to_string() })?;
        versions.extend(part?);
    }
    Ok(versions)
}

fn version_from_row(row: &SqliteRow, registry: &str, index: usize) -> StoreResult<ServerVersion> {
    let position = || format!("server_versions row #{index} of registry {registry:?}");
    let name: String = get(row, "name", &position)?;
    let version: String = get(row, "version", &position)?;
    let what = || format!("server_versions row ({registry:?}, {name:?}, {version:?})");
    let column = |column: &str| format!("{}.{column}", what());
    let document = crate::JsonText::parse(get::<String>(row, "document", &what)?)
        .map_err(|e| StoreError::Corrupt { what: column("document"), message: format!("not JSON: {e}") })?;
    let extra_meta = parse_json(get(row, "extra_meta", &what)?, || column("extra_meta"))?;
    let is_latest = read_bool(get(row, "is_latest", &what)?, || column("is_latest"))?;
    Ok(ServerVersion {
        document,
        extra_meta,
        digest: get(row, "digest", &what)?,
        status: get(row, "status", &what)?,
        status_changed_at: get(row, "status_changed_at", &what)?,
        status_message: get(row, "status_message", &what)?,
        published_at: get(row, "published_at", &what)?,
        updated_at: get(row, "updated_at", &what)?,
        is_latest,
        name,
        version,
    })
}

/// The registry's latest `limit` runs, newest first.
pub(super) async fn runs(pool: &SqlitePool, registry: &str, limit: u32) -> StoreResult<Vec<SyncRun>> {
    const SQL: &str = "SELECT id, registry, started_at, finished_at, outcome, error, revision, digest, \
         total, added, removed, updated, skipped FROM sync_runs WHERE registry = ?1 ORDER BY id DESC LIMIT ?2";
    let rows = sqlx::query(SQL)
        .bind(registry)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(query_error("read sync runs"))?;
    rows.iter().map(run_from_row).collect()
}

fn run_from_row(row: &SqliteRow) -> StoreResult<SyncRun> {
    let id: i64 = get(row, "id", &|| "sync_runs row".to_owned())?;
    let what = || format!("sync_runs row {id}");
    let outcome: String = get(row, "outcome", &what)?;
    let counts = [
        get(row, "total", &what)?,
        get(row, "added", &what)?,
        get(row, "removed", &what)?,
        get(row, "updated", &what)?,
        get(row, "skipped", &what)?,
    ];
    Ok(SyncRun {
        id,
        registry: get(row, "registry", &what)?,
        started_at: get(row, "started_at", &what)?,
        finished_at: get(row, "finished_at", &what)?,
        outcome: read_outcome(&outcome, || format!("{}.outcome", what()))?,
        error: get(row, "error", &what)?,
        revision: get(row, "revision", &what)?,
        digest: get(row, "digest", &what)?,
        counts: read_counts(counts, || format!("{}.counts", what()))?,
    })
}

/// The change set of a run, in the order it was committed.
pub(super) async fn changes(pool: &SqlitePool, run_id: i64) -> StoreResult<Vec<Change>> {
    const SQL: &str = "SELECT seq, kind, name, version FROM sync_changes WHERE run_id = ?1 ORDER BY seq";
    let rows = sqlx::query(SQL).bind(run_id).fetch_all(pool).await.map_err(query_error("read change set"))?;
    rows.iter()
        .map(|row| {
            let seq: i64 = get(row, "seq", &|| format!("sync_changes row of run {run_id}"))?;
            let what = || format!("sync_changes row ({run_id}, {seq})");
            let kind: String = get(row, "kind", &what)?;
            Ok(Change {
                kind: read_change_kind(&kind, || format!("{}.kind", what()))?,
                name: get(row, "name", &what)?,
                version: get(row, "version", &what)?,
            })
        })
        .collect()
}

/// `PRAGMA integrity_check` and `PRAGMA foreign_key_check`.
pub(super) async fn check_integrity(pool: &SqlitePool, location: &str) -> StoreResult<()> {
    let found: Vec<String> =
        sqlx::query_scalar("PRAGMA integrity_check").fetch_all(pool).await.map_err(query_error("integrity check"))?;
    if found != ["ok"] {
        return Err(StoreError::Corrupt { what: format!("database {location}"), message: found.join("; ") });
    }
    let dangling =
        sqlx::query("PRAGMA foreign_key_check").fetch_all(pool).await.map_err(query_error("foreign key check"))?;
    if !dangling.is_empty() {
        let tables: Vec<String> = dangling.iter().filter_map(|row| row.try_get::<String, _>(0).ok()).collect();
        return Err(StoreError::Corrupt {
            what: format!("database {location}"),
            message: format!("{} rows reference missing parents (tables: {})", dangling.len(), tables.join(", ")),
        });
    }
    Ok(())
}

/// Column `column` of `row`, or [`StoreError::Corrupt`] naming the row (`what`) and the column.
fn get<'r, T>(row: &'r SqliteRow, column: &'static str, what: &dyn Fn() -> String) -> StoreResult<T>
where
    T: Decode<'r, Sqlite> + Type<Sqlite>,
{
    row.try_get(column)
        .map_err(|e| StoreError::Corrupt { what: format!("{}.{column}", what()), message: e.to_string() })
}
