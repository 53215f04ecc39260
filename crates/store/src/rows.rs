//! Backend-neutral reading of rows: the mapping of every table's row to its record, written once over the
//! [`Columns`] each backend's row type provides, and the decoding of a large catalog off the runtime's
//! worker threads.
//!
//! A value that cannot be decoded is a [`StoreError::Corrupt`] naming the table, the row's key and the
//! column; nothing read from the database is unwrapped.

use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::encode::{parse_json, read_change_kind, read_counter, read_counts, read_failure_kind, read_outcome};
use crate::{Change, ImportedEntry, JsonText, RegistryState, ServerVersion, StoreError, StoreResult, SyncRun};

/// The columns of `registry_state`, in every backend's dialect.
pub(crate) const STATE_COLUMNS: &str = "registry, spec_digest, filter_digest, validators, revision, content_digest, \
     last_success_at, last_attempt_at, failed_attempts, last_error, last_failure, server_count";
/// The columns of `server_versions` a catalog read selects.
pub(crate) const VERSION_COLUMNS: &str = "name, version, document, extra_meta, digest, status, status_changed_at, \
     status_message, published_at, updated_at, is_latest";
/// The columns of `imported_entries` a layer read selects.
pub(crate) const IMPORTED_COLUMNS: &str = "name, version, record, imported_at";
/// The columns of `sync_runs`.
pub(crate) const RUN_COLUMNS: &str = "id, registry, started_at, finished_at, outcome, error, revision, digest, \
     total, added, removed, updated, skipped";

/// Typed column access of one backend's rows; `what` names the row for the error.
pub(crate) trait Columns {
    /// A `TEXT NOT NULL` column.
    fn text(&self, column: &'static str, what: &dyn Fn() -> String) -> StoreResult<String>;
    /// A nullable `TEXT` column.
    fn optional_text(&self, column: &'static str, what: &dyn Fn() -> String) -> StoreResult<Option<String>>;
    /// An integer column.
    fn integer(&self, column: &'static str, what: &dyn Fn() -> String) -> StoreResult<i64>;
    /// A boolean column (however the backend stores it).
    fn boolean(&self, column: &'static str, what: &dyn Fn() -> String) -> StoreResult<bool>;
}

/// Column `column` of `row`, or [`StoreError::Corrupt`] naming the row (`what`) and the column.
pub(crate) fn get<'r, R, T>(row: &'r R, column: &'static str, what: &dyn Fn() -> String) -> StoreResult<T>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    T: Decode<'r, R::Database> + Type<R::Database>,
{
    row.try_get(column)
        .map_err(|e| StoreError::Corrupt { what: format!("{}.{column}", what()), message: e.to_string() })
}

/// A `registry_state` row.
pub(crate) fn state_from_row(row: &impl Columns) -> StoreResult<RegistryState> {
    let registry = row.text("registry", &|| "registry_state row".to_owned())?;
    let what = || format!("registry_state row {registry:?}");
    let validators = row.text("validators", &what)?;
    Ok(RegistryState {
        spec_digest: row.optional_text("spec_digest", &what)?,
        filter_digest: row.optional_text("filter_digest", &what)?,
        validators: parse_json(&validators, || format!("{}.validators", what()))?,
        revision: row.optional_text("revision", &what)?,
        content_digest: row.optional_text("content_digest", &what)?,
        last_success_at: row.optional_text("last_success_at", &what)?,
        last_attempt_at: row.optional_text("last_attempt_at", &what)?,
        failed_attempts: read_counter(row.integer("failed_attempts", &what)?, || {
            format!("{}.failed_attempts", what())
        })?,
        last_error: row.optional_text("last_error", &what)?,
        last_failure: read_failure_kind(row.optional_text("last_failure", &what)?.as_deref(), || {
            format!("{}.last_failure", what())
        })?,
        server_count: read_counter(row.integer("server_count", &what)?, || format!("{}.server_count", what()))?,
        registry,
    })
}

/// Row `index` of `registry`'s catalog.
pub(crate) fn version_from_row(row: &impl Columns, registry: &str, index: usize) -> StoreResult<ServerVersion> {
    let position = || format!("server_versions row #{index} of registry {registry:?}");
    let name = row.text("name", &position)?;
    let version = row.text("version", &position)?;
    let what = || format!("server_versions row ({registry:?}, {name:?}, {version:?})");
    let column = |column: &str| format!("{}.{column}", what());
    let document = JsonText::parse(row.text("document", &what)?)
        .map_err(|e| StoreError::Corrupt { what: column("document"), message: format!("not JSON: {e}") })?;
    let extra_meta = parse_json(&row.text("extra_meta", &what)?, || column("extra_meta"))?;
    Ok(ServerVersion {
        document,
        extra_meta,
        digest: row.text("digest", &what)?,
        status: row.text("status", &what)?,
        status_changed_at: row.optional_text("status_changed_at", &what)?,
        status_message: row.optional_text("status_message", &what)?,
        published_at: row.text("published_at", &what)?,
        updated_at: row.text("updated_at", &what)?,
        is_latest: row.boolean("is_latest", &what)?,
        name,
        version,
    })
}

/// A row of `registry`'s imported layer.
pub(crate) fn imported_from_row(row: &impl Columns, registry: &str) -> StoreResult<ImportedEntry> {
    let position = || format!("imported_entries row of registry {registry:?}");
    let name = row.text("name", &position)?;
    let version = row.text("version", &position)?;
    let what = || format!("imported_entries row ({registry:?}, {name:?}, {version:?})");
    let record = JsonText::parse(row.text("record", &what)?)
        .map_err(|e| StoreError::Corrupt { what: format!("{}.record", what()), message: format!("not JSON: {e}") })?;
    Ok(ImportedEntry { imported_at: row.text("imported_at", &what)?, record, name, version })
}

/// A `sync_runs` row.
pub(crate) fn run_from_row(row: &impl Columns) -> StoreResult<SyncRun> {
    let id = row.integer("id", &|| "sync_runs row".to_owned())?;
    let what = || format!("sync_runs row {id}");
    let outcome = row.text("outcome", &what)?;
    let counts = [
        row.integer("total", &what)?,
        row.integer("added", &what)?,
        row.integer("removed", &what)?,
        row.integer("updated", &what)?,
        row.integer("skipped", &what)?,
    ];
    Ok(SyncRun {
        id,
        registry: row.text("registry", &what)?,
        started_at: row.text("started_at", &what)?,
        finished_at: row.text("finished_at", &what)?,
        outcome: read_outcome(&outcome, || format!("{}.outcome", what()))?,
        error: row.optional_text("error", &what)?,
        revision: row.optional_text("revision", &what)?,
        digest: row.optional_text("digest", &what)?,
        counts: read_counts(counts, || format!("{}.counts", what()))?,
    })
}

/// A `sync_changes` row of run `run_id` (columns `seq, kind, name, version`).
pub(crate) fn change_from_row(row: &impl Columns, run_id: i64) -> StoreResult<Change> {
    let seq = row.integer("seq", &|| format!("sync_changes row of run {run_id}"))?;
    let what = || format!("sync_changes row ({run_id}, {seq})");
    let kind = row.text("kind", &what)?;
    Ok(Change {
        kind: read_change_kind(&kind, || format!("{}.kind", what()))?,
        name: row.text("name", &what)?,
        version: row.text("version", &what)?,
    })
}

/// Catalogs at least this large are decoded on several threads.
const PARALLEL_DECODE_ROWS: usize = 2_000;
/// At most this many decoding threads per catalog.
const MAX_DECODE_THREADS: usize = 4;

/// Maps the rows of `registry`'s catalog to versions, in order.
///
/// Parsing megabytes of JSON is CPU work: it runs on blocking threads, and a large catalog is split over a
/// few of them.
pub(crate) async fn decode_catalog<R>(mut rows: Vec<R>, registry: &str) -> StoreResult<Vec<ServerVersion>>
where
    R: Columns + Send + 'static,
{
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
    let mut decoded = Vec::new();
    for task in tasks {
        let part = task.await.map_err(|e| StoreError::Query { operation: "decode catalog", message: e.to_string() })?;
        decoded.extend(part?);
    }
    Ok(decoded)
}
