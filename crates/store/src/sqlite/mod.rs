//! The embedded SQLite backend: [`SqliteStore`].
//!
//! One database file (WAL journal, `synchronous=NORMAL`, foreign keys on, a busy timeout) holds every
//! registry. The schema is in `crates/store/migrations/sqlite/` and is applied at open. Writes are serialized by a
//! lock in the process and by `BEGIN IMMEDIATE` between processes; readers use their own connections and, in
//! WAL mode, never wait for the writer and never see a half-applied commit.
//!
//! The module is split by job: `connect` opens the pool and runs migrations, `read` maps rows to records,
//! `write` batches the statements of a commit. Everything SQL-dialect specific stays in this module.
//!
//! The PostgreSQL backend (`crate::postgres`) has the same tables in PostgreSQL's types; the checks before a
//! write (`crate::check`), the value conversions (`crate::encode`) and the row mapping (`crate::rows`) are
//! shared, so only SQL and connection handling differ.

mod connect;
mod read;
mod replica;
mod write;

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::SqlitePool;
use tokio::sync::Mutex;

use crate::{
    Change, EventFeed, ImportedEntry, Lease, RegistryState, ServerVersion, Store, StoreError, StoreResult, SyncCommit,
    SyncRun,
};

/// A [`Store`] in an SQLite database: a file (the default for a laptop or a single VM) or memory (tests).
#[derive(Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Serializes this process's writers so they queue here instead of polling SQLite's busy handler.
    write_lock: Mutex<()>,
    /// Where the database is, for messages.
    location: String,
}

impl SqliteStore {
    /// Opens (creating it and its parent directory when missing) the database file at `path`, and brings
    /// its schema up to date.
    pub async fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        let path = path.as_ref();
        let pool = connect::open_file(path).await?;
        Ok(Self::with_pool(pool, path.display().to_string()))
    }

    /// Opens the database named by an `sqlite:` URL (`sqlite:///var/lib/thv/registry.db`,
    /// `sqlite://data.db?mode=rwc`, `sqlite::memory:`), creating a missing file and its parent directory, and
    /// brings its schema up to date.
    pub async fn open_url(url: &str) -> StoreResult<Self> {
        let pool = connect::open_url(url).await?;
        Ok(Self::with_pool(pool, url.to_owned()))
    }

    /// Opens a new, empty database in memory; it lives as long as this store. For tests and dry runs.
    pub async fn in_memory() -> StoreResult<Self> {
        let pool = connect::open_memory().await?;
        Ok(Self::with_pool(pool, ":memory:".to_owned()))
    }

    fn with_pool(pool: SqlitePool, location: String) -> Self {
        Self { pool, write_lock: Mutex::new(()), location }
    }

    /// Where the database is: the path or URL it was opened with.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Runs SQLite's `PRAGMA integrity_check` and `PRAGMA foreign_key_check`; an error lists what they found.
    pub async fn check_integrity(&self) -> StoreResult<()> {
        read::check_integrity(&self.pool, &self.location).await
    }

    /// Closes every connection, checkpointing the write-ahead log into the database file.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn registry_state(&self, registry: &str) -> StoreResult<Option<RegistryState>> {
        read::registry_state(&self.pool, registry).await
    }

    async fn registry_states(&self) -> StoreResult<Vec<RegistryState>> {
        read::registry_states(&self.pool).await
    }

    async fn catalog(&self, registry: &str) -> StoreResult<Vec<ServerVersion>> {
        read::catalog(&self.pool, registry).await
    }

    async fn commit_sync(&self, commit: &SyncCommit) -> StoreResult<i64> {
        self.commit(commit, None).await
    }

    async fn record_run(&self, run: &SyncRun, state: Option<&RegistryState>) -> StoreResult<i64> {
        self.record(run, state, None).await
    }

    async fn runs(&self, registry: &str, limit: u32) -> StoreResult<Vec<SyncRun>> {
        read::runs(&self.pool, registry, limit).await
    }

    async fn changes(&self, registry: &str, run_id: i64) -> StoreResult<Vec<Change>> {
        read::changes(&self.pool, registry, run_id).await
    }

    async fn imported(&self, registry: &str) -> StoreResult<Vec<ImportedEntry>> {
        read::imported(&self.pool, registry).await
    }

    async fn commit_import(&self, commit: &SyncCommit, layer: &[ImportedEntry]) -> StoreResult<i64> {
        crate::check::layer(layer)?;
        self.commit_with(commit, Some(layer), None).await
    }

    async fn remove_registry(&self, registry: &str) -> StoreResult<()> {
        let _writer = self.write_lock.lock().await;
        write::remove_registry(&self.pool, registry).await
    }

    async fn close(&self) {
        SqliteStore::close(self).await;
    }

    async fn commit_sync_leased(&self, commit: &SyncCommit, holder: &str) -> StoreResult<i64> {
        self.commit(commit, Some(holder)).await
    }

    async fn record_run_leased(&self, run: &SyncRun, state: Option<&RegistryState>, holder: &str) -> StoreResult<i64> {
        self.record(run, state, Some(holder)).await
    }

    async fn acquire_lease(&self, registry: &str, holder: &str, ttl: Duration) -> StoreResult<Lease> {
        let _writer = self.write_lock.lock().await;
        replica::acquire_lease(&self.pool, registry, holder, ttl).await
    }

    async fn release_lease(&self, registry: &str, holder: &str) -> StoreResult<()> {
        let _writer = self.write_lock.lock().await;
        replica::release_lease(&self.pool, registry, holder).await
    }

    async fn catalog_versions(&self) -> StoreResult<Vec<(String, i64)>> {
        replica::catalog_versions(&self.pool).await
    }

    async fn request_sync(&self, registry: &str, requested_by: &str) -> StoreResult<i64> {
        let _writer = self.write_lock.lock().await;
        replica::request_sync(&self.pool, registry, requested_by).await
    }

    async fn pending_sync_requests(&self, registry: &str) -> StoreResult<Vec<i64>> {
        replica::pending_sync_requests(&self.pool, registry).await
    }

    async fn complete_sync_requests(&self, ids: &[i64], report: &str) -> StoreResult<()> {
        let _writer = self.write_lock.lock().await;
        replica::complete_sync_requests(&self.pool, ids, report).await
    }

    async fn sync_request_report(&self, id: i64) -> StoreResult<Option<String>> {
        replica::sync_request_report(&self.pool, id).await
    }

    /// SQLite pushes nothing to other processes: readers poll [`Store::catalog_versions`].
    async fn events(&self) -> StoreResult<Option<Box<dyn EventFeed>>> {
        Ok(None)
    }
}

impl SqliteStore {
    async fn commit(&self, commit: &SyncCommit, fence: Option<&str>) -> StoreResult<i64> {
        self.commit_with(commit, None, fence).await
    }

    async fn commit_with(
        &self,
        commit: &SyncCommit,
        layer: Option<&[ImportedEntry]>,
        fence: Option<&str>,
    ) -> StoreResult<i64> {
        crate::check::commit(commit)?;
        let batch = write::EncodedCommit::new(commit).await?;
        let _writer = self.write_lock.lock().await;
        write::commit_sync(&self.pool, batch, layer, fence).await
    }

    async fn record(&self, run: &SyncRun, state: Option<&RegistryState>, fence: Option<&str>) -> StoreResult<i64> {
        crate::check::run(run, state, "record_run")?;
        let _writer = self.write_lock.lock().await;
        write::record_run(&self.pool, run, state, fence).await
    }
}

/// Maps a driver error to [`StoreError::Query`].
fn query_error(operation: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| StoreError::Query { operation, message: e.to_string() }
}
