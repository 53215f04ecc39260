//! Reads: the queries; `crate::rows` maps their rows to records.

use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row, SqlitePool};

use super::query_error;
use crate::encode::read_bool;
use crate::rows::{self, Columns, IMPORTED_COLUMNS, RUN_COLUMNS, STATE_COLUMNS, VERSION_COLUMNS, get};
use crate::{Change, ImportedEntry, RegistryState, ServerVersion, StoreError, StoreResult, SyncRun};

impl Columns for SqliteRow {
    fn text(&self, column: &'static str, what: &dyn Fn() -> String) -> StoreResult<String> {
        get(self, column, what)
    }

    fn optional_text(&self, column: &'static str, what: &dyn Fn() -> String) -> StoreResult<Option<String>> {
        get(self, column, what)
    }

    fn integer(&self, column: &'static str, what: &dyn Fn() -> String) -> StoreResult<i64> {
        get(self, column, what)
    }

    /// An `INTEGER` checked to 0 or 1.
    fn boolean(&self, column: &'static str, what: &dyn Fn() -> String) -> StoreResult<bool> {
        read_bool(get(self, column, what)?, || format!("{}.{column}", what()))
    }
}

/// The registry's state row, if any.
pub(super) async fn registry_state(pool: &SqlitePool, registry: &str) -> StoreResult<Option<RegistryState>> {
    let sql = format!("SELECT {STATE_COLUMNS} FROM registry_state WHERE registry = ?1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(registry)
        .fetch_optional(pool)
        .await
        .map_err(query_error("read registry state"))?;
    row.as_ref().map(rows::state_from_row).transpose()
}

/// Every state row, ordered by registry name.
pub(super) async fn registry_states(pool: &SqlitePool) -> StoreResult<Vec<RegistryState>> {
    let sql = format!("SELECT {STATE_COLUMNS} FROM registry_state ORDER BY registry COLLATE BINARY");
    let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(pool).await.map_err(query_error("read registry states"))?;
    rows.iter().map(rows::state_from_row).collect()
}

/// The registry's versions ordered by (name, version) byte-wise.
pub(super) async fn catalog(pool: &SqlitePool, registry: &str) -> StoreResult<Vec<ServerVersion>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM server_versions WHERE registry = ?1 \
         ORDER BY name COLLATE BINARY, version COLLATE BINARY"
    );
    let rows =
        sqlx::query(AssertSqlSafe(sql)).bind(registry).fetch_all(pool).await.map_err(query_error("read catalog"))?;
    rows::decode_catalog(rows, registry).await
}

/// The registry's imported layer ordered by (name, version) byte-wise.
pub(super) async fn imported(pool: &SqlitePool, registry: &str) -> StoreResult<Vec<ImportedEntry>> {
    let sql = format!(
        "SELECT {IMPORTED_COLUMNS} FROM imported_entries WHERE registry = ?1 \
         ORDER BY name COLLATE BINARY, version COLLATE BINARY"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(registry)
        .fetch_all(pool)
        .await
        .map_err(query_error("read imported layer"))?;
    rows.iter().map(|row| rows::imported_from_row(row, registry)).collect()
}

/// The registry's latest `limit` runs, newest first.
pub(super) async fn runs(pool: &SqlitePool, registry: &str, limit: u32) -> StoreResult<Vec<SyncRun>> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM sync_runs WHERE registry = ?1 ORDER BY id DESC LIMIT ?2");
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(registry)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(query_error("read sync runs"))?;
    rows.iter().map(rows::run_from_row).collect()
}

/// The change set of a run of `registry`, in the order it was committed.
pub(super) async fn changes(pool: &SqlitePool, registry: &str, run_id: i64) -> StoreResult<Vec<Change>> {
    const SQL: &str = "SELECT c.seq, c.kind, c.name, c.version FROM sync_changes c \
                       JOIN sync_runs r ON r.id = c.run_id WHERE c.run_id = ?1 AND r.registry = ?2 ORDER BY c.seq";
    let rows =
        sqlx::query(SQL).bind(run_id).bind(registry).fetch_all(pool).await.map_err(query_error("read change set"))?;
    rows.iter().map(|row| rows::change_from_row(row, run_id)).collect()
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
