//! Persistence of registries' synced catalogs, sync runs and change sets.
//!
//! The [`Store`] trait is what the sync pipeline and the API server use; backends implement it. A sync
//! that changes anything is committed with [`Store::commit_sync`] in **one transaction**, so a process
//! killed mid-sync leaves the last good catalog intact. The store never parses source formats: documents
//! are stored as the JSON values the pipeline hands it.
//!
//! Backends: [`SqliteStore`] (embedded, the default) and, with the `postgres` cargo feature,
//! `PostgresStore` (many replicas on one database). Each backend keeps its SQL in its own module
//! (`sqlite`, `postgres`) behind this trait; what must be the same for all of them lives once: the checks
//! before a write ([`check`], public so backends outside this crate — the operator's storage ConfigMap —
//! refuse the same things), value conversions (`encode`) and the mapping of rows to records (`rows`).
//! [`open`] opens whichever a [`StoreLocation`] names.
//!
//! Beside the catalog, each registry may have an **imported layer** ([`Store::imported`]): records imported
//! by hand, stored apart from the source's so that every sync merges them in again (`thv_sync::import`).
//!
//! Several processes may serve one database (`thv registry serve` replicas): the trait's coordination
//! methods — sync leases, sync requests, catalog versions, change events — are described in [`replica`].

pub mod check;
mod encode;
#[cfg(feature = "fixtures")]
pub mod fixtures;
mod json_text;
mod location;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod replica;
mod rows;
pub mod sqlite;
mod types;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use json_text::JsonText;
pub use location::{POSTGRES_SCHEMES, PostgresUrl, StoreLocation, is_postgres_url};
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use replica::{EventFeed, Lease, Leased, StoreEvent};
pub use sqlite::SqliteStore;
pub use types::{
    Change, ChangeKind, Counts, FailureKind, ImportedEntry, NameVersion, RegistryState, ServerVersion, SyncCommit,
    SyncOutcome, SyncRun,
};

/// Errors of a store backend.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or reached.
    #[error("cannot open the store at {location}: {message}")]
    Open {
        /// Where (a path or a URL without password).
        location: String,
        /// What happened.
        message: String,
    },
    /// A query failed.
    #[error("store query failed ({operation}): {message}")]
    Query {
        /// What was being done.
        operation: &'static str,
        /// What happened.
        message: String,
    },
    /// A stored value could not be decoded.
    #[error("corrupt stored data in {what}: {message}")]
    Corrupt {
        /// Which row or column.
        what: String,
        /// What is wrong.
        message: String,
    },
    /// A sync result was not written because the registry's sync lease is no longer held by the writer
    /// (it expired and another replica took it over).
    #[error(
        "the sync lease of registry {registry:?} is no longer held by {holder:?} (another replica took it over); \
         nothing was written"
    )]
    LeaseLost {
        /// Registry name.
        registry: String,
        /// The replica that tried to write.
        holder: String,
    },
    /// What a write would store is larger than the backend can hold (the operator's storage ConfigMap and
    /// its 1 MiB object limit); nothing was written and the previous catalog is kept. Retrying does not help.
    #[error(
        "{what} would need {size} bytes, over its limit of {limit} bytes; nothing was written and the previous \
         catalog is still served. {advice}"
    )]
    TooLarge {
        /// What would be too large (names the object and the registry).
        what: String,
        /// The bytes the write would need.
        size: u64,
        /// The most the backend accepts.
        limit: u64,
        /// What to do about it.
        advice: String,
    },
}

impl StoreError {
    /// Whether trying the same write again later may succeed: every error but [`StoreError::TooLarge`] (a
    /// catalog does not shrink by itself).
    pub fn is_retryable(&self) -> bool {
        !matches!(self, Self::TooLarge { .. })
    }
}

/// Result alias for store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// Persistence behind the sync pipeline and the API server.
#[async_trait]
pub trait Store: Send + Sync {
    /// The registry's sync state, if it was ever synced.
    async fn registry_state(&self, registry: &str) -> StoreResult<Option<RegistryState>>;

    /// Every registry with stored state.
    async fn registry_states(&self) -> StoreResult<Vec<RegistryState>>;

    /// The registry's current catalog: every stored version, ordered by (name, version).
    async fn catalog(&self, registry: &str) -> StoreResult<Vec<ServerVersion>>;

    /// Applies a successful sync atomically: upserts and removals of server versions, the change set, the
    /// run record and the new state, all in one transaction. Returns the run id.
    async fn commit_sync(&self, commit: &SyncCommit) -> StoreResult<i64>;

    /// Records a run that changed no catalog data (failed, or unchanged) and, when given, the new state
    /// (validators, attempt counters). The catalog is left as it was. Returns the run id.
    async fn record_run(&self, run: &SyncRun, state: Option<&RegistryState>) -> StoreResult<i64>;

    /// The registry's latest runs, newest first.
    async fn runs(&self, registry: &str, limit: u32) -> StoreResult<Vec<SyncRun>>;

    /// The changes run `run_id` of `registry` committed: empty for a run that committed nothing, and for a
    /// run of another registry (a scoped view of a shared store never reaches another tenant's runs).
    async fn changes(&self, registry: &str, run_id: i64) -> StoreResult<Vec<Change>>;

    /// The registry's imported layer, ordered by (name, version): the entries imported into it, merged into
    /// its catalog by every sync (empty when nothing was imported).
    async fn imported(&self, registry: &str) -> StoreResult<Vec<ImportedEntry>>;

    /// [`Store::commit_sync`] that also replaces the registry's imported layer with `layer`, in the same
    /// transaction: the catalog rebuilt with the new layer and the layer itself change together or not at all.
    async fn commit_import(&self, commit: &SyncCommit, layer: &[ImportedEntry]) -> StoreResult<i64>;

    /// Deletes everything stored for a registry (its imported layer included).
    async fn remove_registry(&self, registry: &str) -> StoreResult<()>;

    /// Closes the store's connections (flushing any write-ahead log). Further calls may fail.
    async fn close(&self) {}

    // --- Coordination of several replicas on one database (see [`replica`]) ---------------------------

    /// [`Store::commit_sync`], written only if `holder` holds the registry's sync lease when the
    /// transaction commits; else [`StoreError::LeaseLost`] and nothing is written. The lease cannot change
    /// hands between that check and the commit.
    async fn commit_sync_leased(&self, commit: &SyncCommit, holder: &str) -> StoreResult<i64>;

    /// [`Store::record_run`], written only if `holder` holds the run's registry's sync lease; else
    /// [`StoreError::LeaseLost`] and nothing is written.
    async fn record_run_leased(&self, run: &SyncRun, state: Option<&RegistryState>, holder: &str) -> StoreResult<i64>;

    /// Takes or renews the registry's sync lease for `holder`, to expire `ttl` from now by the database's
    /// clock: granted when nobody holds it, when it expired, or when `holder` already holds it. Returns the
    /// lease as it stands afterwards, held by `holder` or by someone else ([`Lease::is_held_by`]).
    async fn acquire_lease(&self, registry: &str, holder: &str, ttl: Duration) -> StoreResult<Lease>;

    /// Gives the registry's sync lease up if `holder` holds it, so another replica can take it at once.
    async fn release_lease(&self, registry: &str, holder: &str) -> StoreResult<()>;

    /// For every registry with stored state, a number that grows with each commit to its catalog (the id
    /// of the run that committed it; 0 before the first commit). A registry that was removed is absent.
    async fn catalog_versions(&self) -> StoreResult<Vec<(String, i64)>>;

    /// Records a request that whichever replica holds the registry's lease sync it now; returns the
    /// request id, whose report [`Store::sync_request_report`] gives once a sync completed it. Requests
    /// older than [`replica::SYNC_REQUEST_RETENTION`] are dropped.
    async fn request_sync(&self, registry: &str, requested_by: &str) -> StoreResult<i64>;

    // A store that takes no sync requests (its `request_sync` refuses them: a read-only view, or a store
    // whose one writer is the operator) keeps the three defaults below: nothing is ever pending, completing
    // nothing succeeds, no report exists. The SQLite and PostgreSQL stores override all three.

    /// The registry's requests no sync has completed yet, oldest first.
    async fn pending_sync_requests(&self, _registry: &str) -> StoreResult<Vec<i64>> {
        Ok(Vec::new())
    }

    /// Completes requests with the report (JSON text) of the sync that served them.
    async fn complete_sync_requests(&self, _ids: &[i64], _report: &str) -> StoreResult<()> {
        Ok(())
    }

    /// The report of a completed request; `None` while it is pending (or when it is unknown).
    async fn sync_request_report(&self, _id: i64) -> StoreResult<Option<String>> {
        Ok(None)
    }

    /// A feed of what other processes do to the database, for backends that push it (PostgreSQL);
    /// `None` (the default) for those that do not, whose readers poll [`Store::catalog_versions`] instead.
    async fn events(&self) -> StoreResult<Option<Box<dyn EventFeed>>> {
        Ok(None)
    }
}

/// Whether this build can open PostgreSQL stores (the `postgres` cargo feature).
pub const POSTGRES_SUPPORTED: bool = cfg!(feature = "postgres");

/// Opens the store at `location`: an SQLite file (created with its directory when missing) or a PostgreSQL
/// database. Either way the schema is brought up to date first.
pub async fn open(location: &StoreLocation) -> StoreResult<Arc<dyn Store>> {
    match location {
        StoreLocation::Sqlite(path) => Ok(Arc::new(SqliteStore::open(path).await?)),
        #[cfg(feature = "postgres")]
        StoreLocation::Postgres(url) => Ok(Arc::new(PostgresStore::open(url).await?)),
        #[cfg(not(feature = "postgres"))]
        StoreLocation::Postgres(url) => Err(StoreError::Open {
            location: url.to_string(),
            message: "this build of thv-registry has no PostgreSQL support (the `postgres` cargo feature)".into(),
        }),
    }
}
