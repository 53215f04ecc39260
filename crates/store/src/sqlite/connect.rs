//! Opening an SQLite database: connection options, the pool and the embedded migrations.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::{StoreError, StoreResult};

/// The schema, embedded at build time from `crates/store/migrations/sqlite/`.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections of a file database: one writer at a time (SQLite's rule) plus a few concurrent readers.
const FILE_POOL_SIZE: u32 = 4;

/// Opens the file at `path`, creating it and its parent directory when missing.
pub(super) async fn open_file(path: &Path) -> StoreResult<SqlitePool> {
    let location = path.display().to_string();
    let options = SqliteConnectOptions::new().filename(path);
    open_file_with(options, path, &location).await
}

/// Opens the database an `sqlite:` URL names.
pub(super) async fn open_url(url: &str) -> StoreResult<SqlitePool> {
    let options = SqliteConnectOptions::from_str(url).map_err(|e| open_error(url, &e))?;
    if is_memory_url(url) {
        return open_memory_with(options, url).await;
    }
    let path = options.get_filename().to_path_buf();
    open_file_with(options, &path, url).await
}

/// Opens a new, private in-memory database.
pub(super) async fn open_memory() -> StoreResult<SqlitePool> {
    let location = "sqlite::memory:";
    let options = SqliteConnectOptions::from_str(location).map_err(|e| open_error(location, &e))?;
    open_memory_with(options, location).await
}

async fn open_file_with(options: SqliteConnectOptions, path: &Path, location: &str) -> StoreResult<SqlitePool> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(parent).await.map_err(|e| StoreError::Open {
            location: location.to_owned(),
            message: format!("cannot create the directory {}: {e}", parent.display()),
        })?;
    }
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // In WAL mode NORMAL is durable against a killed process (not against power loss) and fsyncs only at
        // checkpoints.
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(FILE_POOL_SIZE)
        .min_connections(1)
        .connect_with(options)
        .await
        .map_err(|e| open_error(location, &e))?;
    migrate(pool, location).await
}

async fn open_memory_with(options: SqliteConnectOptions, location: &str) -> StoreResult<SqlitePool> {
    // An in-memory database lives as long as a connection to it: keep exactly one, forever.
    let options = options.foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await
        .map_err(|e| open_error(location, &e))?;
    migrate(pool, location).await
}

/// Brings the schema up to date on the pool's connection and puts it back before returning: dropped, it
/// would go back from a task of its own, possibly after the first query found no idle connection and opened
/// another.
async fn migrate(pool: SqlitePool, location: &str) -> StoreResult<SqlitePool> {
    let mut connection = pool.acquire().await.map_err(|e| open_error(location, &e))?;
    MIGRATOR.run(&mut *connection).await.map_err(|e| StoreError::Open {
        location: location.to_owned(),
        message: format!("cannot bring the schema up to date: {e}"),
    })?;
    connection.return_to_pool().await;
    Ok(pool)
}

fn is_memory_url(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

fn open_error(location: &str, error: &sqlx::Error) -> StoreError {
    StoreError::Open { location: location.to_owned(), message: error.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_query_uses_the_connection_that_checked_the_schema() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pool = open_file(&dir.path().join("registry.db")).await.expect("open");
        assert_eq!((pool.size(), pool.num_idle()), (1, 1), "the migration's connection is idle in the pool");
        sqlx::query("SELECT count(*) FROM registry_state").fetch_one(&pool).await.expect("query");
        assert_eq!(pool.size(), 1, "the first query opened no other connection");
    }

    #[test]
    fn memory_urls_are_recognized() {
        assert!(is_memory_url("sqlite::memory:"));
        assert!(is_memory_url("sqlite://shared?mode=memory&cache=shared"));
        assert!(!is_memory_url("sqlite:///var/lib/thv/registry.db"));
    }
}
