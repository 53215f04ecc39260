//! What several processes serving one database coordinate with: a **sync lease** per registry (only its
//! holder syncs the registry, and only its holder's results are written), **sync requests** (a manual sync
//! asked of a replica that does not hold the lease, run by the one that does), **catalog versions** (a
//! cheap number that grows with every commit, so a replica can tell whether its snapshot is current) and
//! **change events** (pushed by backends that can: PostgreSQL `LISTEN`/`NOTIFY`).
//!
//! Lease times are measured by the database's clock, never by the replicas', so replicas whose clocks
//! disagree still agree on who holds a lease. The rules are the same in every backend and are tested by
//! the store suite on each.

use std::time::Duration;

use async_trait::async_trait;

use crate::{Change, ImportedEntry, RegistryState, ServerVersion, Store, StoreResult, SyncCommit, SyncRun};

/// A registry's sync lease as the database sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Registry name.
    pub registry: String,
    /// Who holds (or last held) it: a replica id.
    pub holder: String,
    /// Milliseconds until it expires, by the database's clock; zero or less once expired.
    pub expires_in_ms: i64,
}

impl Lease {
    /// Whether `holder` holds the lease now.
    pub fn is_held_by(&self, holder: &str) -> bool {
        self.holder == holder && self.expires_in_ms > 0
    }
}

/// The lease duration as the whole milliseconds a backend stores, at least 1.
pub(crate) fn ttl_millis(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1)
}

/// How long a sync request is kept: a request nobody completed in this time is dropped, and so is a
/// completed one whose requester has long stopped waiting.
pub const SYNC_REQUEST_RETENTION: Duration = Duration::from_secs(3600);

/// Something another process did to the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreEvent {
    /// A registry's catalog changed (a sync committed, the registry was removed). `None` when the backend
    /// could not say which.
    CatalogChanged(Option<String>),
    /// A replica asked for a sync of a registry ([`Store::request_sync`]). `None` when the backend could
    /// not say which.
    SyncRequested(Option<String>),
    /// Events may have been missed (the connection was lost and is back): everything may have changed.
    Missed,
}

/// A stream of [`StoreEvent`]s from one backend connection.
#[async_trait]
pub trait EventFeed: Send {
    /// The next event. An error means the connection is down; calling again reconnects (and answers
    /// [`StoreEvent::Missed`] once it is back).
    async fn next(&mut self) -> StoreResult<StoreEvent>;
}

/// A view of a store in which every sync result is written only while `holder` holds the registry's
/// lease: [`Store::commit_sync`] and [`Store::record_run`] become [`Store::commit_sync_leased`] and
/// [`Store::record_run_leased`], and fail with [`StoreError::LeaseLost`](crate::StoreError::LeaseLost)
/// once another replica took the lease over. Reads pass through. The scheduler hands this to the sync
/// pipeline, which does not know about leases.
pub struct Leased<'a> {
    store: &'a dyn Store,
    holder: &'a str,
}

impl<'a> Leased<'a> {
    /// `store` with writes fenced by `holder`'s lease.
    pub fn new(store: &'a dyn Store, holder: &'a str) -> Self {
        Self { store, holder }
    }
}

#[async_trait]
impl Store for Leased<'_> {
    async fn registry_state(&self, registry: &str) -> StoreResult<Option<RegistryState>> {
        self.store.registry_state(registry).await
    }

    async fn registry_states(&self) -> StoreResult<Vec<RegistryState>> {
        self.store.registry_states().await
    }

    async fn catalog(&self, registry: &str) -> StoreResult<Vec<ServerVersion>> {
        self.store.catalog(registry).await
    }

    async fn commit_sync(&self, commit: &SyncCommit) -> StoreResult<i64> {
        self.store.commit_sync_leased(commit, self.holder).await
    }

    async fn record_run(&self, run: &SyncRun, state: Option<&RegistryState>) -> StoreResult<i64> {
        self.store.record_run_leased(run, state, self.holder).await
    }

    async fn runs(&self, registry: &str, limit: u32) -> StoreResult<Vec<SyncRun>> {
        self.store.runs(registry, limit).await
    }

    async fn changes(&self, registry: &str, run_id: i64) -> StoreResult<Vec<Change>> {
        self.store.changes(registry, run_id).await
    }

    async fn imported(&self, registry: &str) -> StoreResult<Vec<ImportedEntry>> {
        self.store.imported(registry).await
    }

    async fn commit_import(&self, commit: &SyncCommit, layer: &[ImportedEntry]) -> StoreResult<i64> {
        self.store.commit_import(commit, layer).await
    }

    async fn remove_registry(&self, registry: &str) -> StoreResult<()> {
        self.store.remove_registry(registry).await
    }

    async fn commit_sync_leased(&self, commit: &SyncCommit, holder: &str) -> StoreResult<i64> {
        self.store.commit_sync_leased(commit, holder).await
    }

    async fn record_run_leased(&self, run: &SyncRun, state: Option<&RegistryState>, holder: &str) -> StoreResult<i64> {
        self.store.record_run_leased(run, state, holder).await
    }

    async fn acquire_lease(&self, registry: &str, holder: &str, ttl: Duration) -> StoreResult<Lease> {
        self.store.acquire_lease(registry, holder, ttl).await
    }

    async fn release_lease(&self, registry: &str, holder: &str) -> StoreResult<()> {
        self.store.release_lease(registry, holder).await
    }

    async fn catalog_versions(&self) -> StoreResult<Vec<(String, i64)>> {
        self.store.catalog_versions().await
    }

    async fn request_sync(&self, registry: &str, requested_by: &str) -> StoreResult<i64> {
        self.store.request_sync(registry, requested_by).await
    }

    async fn pending_sync_requests(&self, registry: &str) -> StoreResult<Vec<i64>> {
        self.store.pending_sync_requests(registry).await
    }

    async fn complete_sync_requests(&self, ids: &[i64], report: &str) -> StoreResult<()> {
        self.store.complete_sync_requests(ids, report).await
    }

    async fn sync_request_report(&self, id: i64) -> StoreResult<Option<String>> {
        self.store.sync_request_report(id).await
    }

    async fn events(&self) -> StoreResult<Option<Box<dyn EventFeed>>> {
        self.store.events().await
    }
}
