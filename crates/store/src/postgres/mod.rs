//! The PostgreSQL backend: [`PostgresStore`], for several replicas on one database and catalogs of any size.
//!
//! One database holds every registry, in the same tables as the SQLite backend (schema in
//! `crates/store/migrations/postgres/`, applied at open under an advisory lock, so replicas that start
//! together migrate once). Each write is one transaction; a commit upserts the registry's state row
//! first, and that row's lock serializes commits to one registry across processes. Reads are single
//! statements, so they never wait for a writer and never see half a commit.
//!
//! The module is split by job like the SQLite one: `connect` (options, first connection, migrations,
//! pool), `read` (queries; rows are mapped by `crate::rows`), `write` (array-bound batches).
//!
//! Every catalog change (a commit, a removed registry) sends a notification on [`CATALOG_CHANNEL`] with
//! the registry's name as payload, delivered when the transaction commits: a replica that `LISTEN`s on it
//! ([`Store::events`]) can reload that registry without polling. Sync requests are notified on
//! [`SYNC_REQUEST_CHANNEL`] the same way. Leases, requests and catalog versions are in `replica`.

mod connect;
mod read;
mod replica;
mod write;

use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;

pub use connect::PoolSettings;

use crate::{
    Change, EventFeed, ImportedEntry, Lease, PostgresUrl, RegistryState, ServerVersion, Store, StoreError, StoreResult,
    SyncCommit, SyncRun,
};

/// The notification channel of catalog changes; the payload is the registry name (empty when the name is
/// too long for a payload).
pub const CATALOG_CHANNEL: &str = "thv_registry_catalog";

/// The notification channel of sync requests ([`Store::request_sync`]); the payload is the registry name
/// (empty when the name is too long for a payload).
pub const SYNC_REQUEST_CHANNEL: &str = "thv_registry_sync_request";

/// A [`Store`] in a PostgreSQL database.
#[derive(Debug)]
pub struct PostgresStore {
    pool: PgPool,
    /// How to connect, for the event feed's own connection.
    options: PgConnectOptions,
    /// The URL without password, for messages.
    location: String,
}

impl PostgresStore {
    /// Connects to the database `url` names with the default pool settings, and brings its schema up to
    /// date. The error says why a server cannot be reached; it never contains the password.
    pub async fn open(url: &PostgresUrl) -> StoreResult<Self> {
        Self::open_with(url, PoolSettings::default()).await
    }

    /// [`PostgresStore::open`] with explicit pool settings.
    pub async fn open_with(url: &PostgresUrl, settings: PoolSettings) -> StoreResult<Self> {
        let (pool, options) = connect::open(url, settings).await?;
        Ok(Self { pool, options, location: url.to_string() })
    }

    /// The URL the store was opened with, without password.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl Store for PostgresStore {
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
        crate::check::commit(commit)?;
        write::commit_sync(&self.pool, commit, None, None).await
    }

    async fn record_run(&self, run: &SyncRun, state: Option<&RegistryState>) -> StoreResult<i64> {
        crate::check::run(run, state, "record_run")?;
        write::record_run(&self.pool, run, state, None).await
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
        crate::check::commit(commit)?;
        crate::check::layer(layer)?;
        write::commit_sync(&self.pool, commit, Some(layer), None).await
    }

    async fn remove_registry(&self, registry: &str) -> StoreResult<()> {
        write::remove_registry(&self.pool, registry).await
    }

    async fn close(&self) {
        PostgresStore::close(self).await;
    }

    async fn commit_sync_leased(&self, commit: &SyncCommit, holder: &str) -> StoreResult<i64> {
        crate::check::commit(commit)?;
        write::commit_sync(&self.pool, commit, None, Some(holder)).await
    }

    async fn record_run_leased(&self, run: &SyncRun, state: Option<&RegistryState>, holder: &str) -> StoreResult<i64> {
        crate::check::run(run, state, "record_run")?;
        write::record_run(&self.pool, run, state, Some(holder)).await
    }

    async fn acquire_lease(&self, registry: &str, holder: &str, ttl: Duration) -> StoreResult<Lease> {
        replica::acquire_lease(&self.pool, registry, holder, ttl).await
    }

    async fn release_lease(&self, registry: &str, holder: &str) -> StoreResult<()> {
        replica::release_lease(&self.pool, registry, holder).await
    }

    async fn catalog_versions(&self) -> StoreResult<Vec<(String, i64)>> {
        replica::catalog_versions(&self.pool).await
    }

    async fn request_sync(&self, registry: &str, requested_by: &str) -> StoreResult<i64> {
        replica::request_sync(&self.pool, registry, requested_by).await
    }

    async fn pending_sync_requests(&self, registry: &str) -> StoreResult<Vec<i64>> {
        replica::pending_sync_requests(&self.pool, registry).await
    }

    async fn complete_sync_requests(&self, ids: &[i64], report: &str) -> StoreResult<()> {
        replica::complete_sync_requests(&self.pool, ids, report).await
    }

    async fn sync_request_report(&self, id: i64) -> StoreResult<Option<String>> {
        replica::sync_request_report(&self.pool, id).await
    }

    /// `LISTEN` on [`CATALOG_CHANNEL`] and [`SYNC_REQUEST_CHANNEL`], on a connection of its own.
    async fn events(&self) -> StoreResult<Option<Box<dyn EventFeed>>> {
        Ok(Some(Box::new(replica::Events::listen(self.options.clone()).await?)))
    }
}

/// Maps a driver error to [`StoreError::Query`].
fn query_error(operation: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| StoreError::Query { operation, message: e.to_string() }
}
