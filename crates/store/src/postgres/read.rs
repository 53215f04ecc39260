//! Reads: the queries; `crate::rows` maps their rows to records.
//!
//! Every read is one statement, so under PostgreSQL's default `READ COMMITTED` isolation it sees one
//! committed state: a catalog read while a sync commits is the old catalog or the new one, never a mix.

use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, PgPool};

use super::query_error;
use crate::rows::{self, Columns, IMPORTED_COLUMNS, RUN_COLUMNS, STATE_COLUMNS, VERSION_COLUMNS, get};
use crate::{Change, ImportedEntry, RegistryState, ServerVersion, StoreResult, SyncRun};

impl Columns for PgRow {
    fn text(&self, column: &'static str, what: &dyn Fn() -> String) -> StoreResult<String> {
        get(self, column, what)
    }

    fn optional_text(&self, column: &'static str, what: &dyn Fn() -> String) -> StoreResult<Option<String>> {
        get(self, column, what)
    }

    fn integer(&self, column: &'static str, what: &dyn Fn() -> String) -> StoreResult<i64> {
        get(self, column, what)
    }

    fn boolean(&self, column: &'static str, what: &dyn Fn() -> String) -> StoreResult<bool> {
        get(self, column, what)
    }
}

/// The registry's state row, if any.
pub(super) async fn registry_state(pool: &PgPool, registry: &str) -> StoreResult<Option<RegistryState>> {
    let sql = format!("SELECT {STATE_COLUMNS} FROM registry_state WHERE registry = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(registry)
        .fetch_optional(pool)
        .await
        .map_err(query_error("read registry state"))?;
    row.as_ref().map(rows::state_from_row).transpose()
}

/// Every state row, ordered by registry name (byte-wise: the column's collation is "C").
pub(super) async fn registry_states(pool: &PgPool) -> StoreResult<Vec<RegistryState>> {
    let sql = format!("SELECT {STATE_COLUMNS} FROM registry_state ORDER BY registry");
    let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(pool).await.map_err(query_error("read registry states"))?;
    rows.iter().map(rows::state_from_row).collect()
}

/// The registry's versions ordered by (name, version) byte-wise (the columns' collation is "C").
pub(super) async fn catalog(pool: &PgPool, registry: &str) -> StoreResult<Vec<ServerVersion>> {
    let sql = format!("SELECT {VERSION_COLUMNS} FROM server_versions WHERE registry = $1 ORDER BY name, version");
    let rows =
        sqlx::query(AssertSqlSafe(sql)).bind(registry).fetch_all(pool).await.map_err(query_error("read catalog"))?;
    rows::decode_catalog(rows, registry).await
}

/// The registry's latest `limit` runs, newest first.
pub(super) async fn runs(pool: &PgPool, registry: &str, limit: u32) -> StoreResult<Vec<SyncRun>> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM sync_runs WHERE registry = $1 ORDER BY id DESC LIMIT $2");
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(registry)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(query_error("read sync runs"))?;
    rows.iter().map(rows::run_from_row).collect()
}

/// The change set of a run of `registry`, in the order it was committed.
pub(super) async fn changes(pool: &PgPool, registry: &str, run_id: i64) -> StoreResult<Vec<Change>> {
    const SQL: &str = "SELECT c.seq, c.kind, c.name, c.version FROM sync_changes c \
                       JOIN sync_runs r ON r.id = c.run_id WHERE c.run_id = $1 AND r.registry = $2 ORDER BY c.seq";
    let rows =
        sqlx::query(SQL).bind(run_id).bind(registry).fetch_all(pool).await.map_err(query_error("read change set"))?;
    rows.iter().map(|row| rows::change_from_row(row, run_id)).collect()
}

/// The registry's imported layer ordered by (name, version) byte-wise (the columns collate "C").
pub(super) async fn imported(pool: &PgPool, registry: &str) -> StoreResult<Vec<ImportedEntry>> {
    let sql = format!("SELECT {IMPORTED_COLUMNS} FROM imported_entries WHERE registry = $1 ORDER BY name, version");
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(registry)
        .fetch_all(pool)
        .await
        .map_err(query_error("read imported layer"))?;
    rows.iter().map(|row| rows::imported_from_row(row, registry)).collect()
}
