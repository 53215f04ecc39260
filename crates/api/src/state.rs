//! Shared state of the API: the current snapshot, swapped atomically after each sync, the readiness flag,
//! the metrics, and what `thv registry serve` plugs in (store, registry specs, scheduler, auth).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;
use thv_store::{Store, StoreError};
use thv_sync::{RegistrySpec, SchedulerHandle};

use crate::auth::AuthConfig;
use crate::metrics::Metrics;
use crate::problem::Problem;
use crate::reclaim::Reclaimer;
use crate::snapshot::{RegistrySnapshot, Snapshot, reload_snapshot};

/// The handlers' state: the snapshot being served, whether the server is ready, and the metrics.
/// Cloning shares them (one reference count: the state is cloned several times per request).
#[derive(Debug, Clone, Default)]
pub struct AppState(Arc<Shared>);

#[derive(Debug, Default)]
struct Shared {
    current: ArcSwap<Snapshot>,
    ready: AtomicBool,
    metrics: Arc<Metrics>,
    store: OnceLock<StoreProbe>,
    registries: ArcSwap<Vec<RegistrySpec>>,
    scheduler: OnceLock<SchedulerHandle>,
    auth: OnceLock<AuthConfig>,
    /// Gives the memory of each replaced snapshot back to the operating system once it is freed.
    reclaimer: Reclaimer,
    /// Held while reloading (reloads run one at a time): the catalog versions the served snapshot was
    /// loaded at, by registry.
    loaded: tokio::sync::Mutex<BTreeMap<String, i64>>,
}

/// The store `GET /readyz` probes.
#[derive(Clone)]
struct StoreProbe(Arc<dyn Store>);

impl fmt::Debug for StoreProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreProbe")
    }
}

impl AppState {
    /// State serving `snapshot`, not yet ready (see [`AppState::set_ready`]).
    pub fn new(snapshot: Snapshot) -> Self {
        Self::with_reclaimer(snapshot, Reclaimer::default())
    }

    fn with_reclaimer(snapshot: Snapshot, reclaimer: Reclaimer) -> Self {
        reclaimer.release_when_dropped(snapshot.on_freed());
        Self(Arc::new(Shared { current: ArcSwap::from_pointee(snapshot), reclaimer, ..Shared::default() }))
    }

    /// The snapshot being served; requests keep the one they started with.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.0.current.load_full()
    }

    /// What a request reads: the snapshot of `registry`, or the aggregate when `None`; 404 for an unknown
    /// registry.
    pub fn scope(&self, registry: Option<&str>) -> Result<Arc<RegistrySnapshot>, Problem> {
        let snapshot = self.snapshot();
        match registry {
            None => Ok(Arc::clone(snapshot.aggregate())),
            Some(name) => snapshot.registry(name).cloned().ok_or_else(|| Problem::unknown_registry(name)),
        }
    }

    /// Serves `snapshot` from now on (in-flight requests finish on the old one). Once the old one is
    /// freed (by the last request reading it), the memory the process no longer uses is given back to the
    /// operating system, on a blocking thread: a catalog load frees as much as it keeps.
    pub fn replace(&self, snapshot: Snapshot) {
        self.0.reclaimer.release_when_dropped(snapshot.on_freed());
        self.0.current.store(Arc::new(snapshot));
        self.metrics().record_snapshot_swap();
    }

    /// Marks the server ready (`GET /readyz` answers 200) or not (503). `thv registry serve` sets it once
    /// the snapshot has been loaded from the store.
    pub fn set_ready(&self, ready: bool) {
        self.0.ready.store(ready, Ordering::Release);
    }

    /// Whether the server is ready.
    pub fn is_ready(&self) -> bool {
        self.0.ready.load(Ordering::Acquire)
    }

    /// Makes `GET /readyz` also check that `store` answers a cheap query. Only the first call counts.
    pub fn set_store(&self, store: Arc<dyn Store>) {
        let _ = self.0.store.set(StoreProbe(store));
    }

    /// The store `GET /readyz` probes, if one was set.
    pub fn store(&self) -> Option<&Arc<dyn Store>> {
        self.0.store.get().map(|probe| &probe.0)
    }

    /// The metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.0.metrics
    }

    /// Sets the registries served (in config order: the first one wins a name in the aggregate) and
    /// described by the `/api/v1/registries` routes. A later call replaces them (the aggregate API pod
    /// follows the cluster's MCPRegistries); the next [`AppState::reload`] serves their catalogs.
    pub fn set_registries(&self, registries: Vec<RegistrySpec>) {
        self.0.registries.store(Arc::new(registries));
    }

    /// The registry specs, in config order (empty when none were set).
    pub fn registries(&self) -> Arc<Vec<RegistrySpec>> {
        self.0.registries.load_full()
    }

    /// Lets `POST /api/v1/registries/{name}/sync` request syncs. Only the first call counts.
    pub fn set_scheduler(&self, scheduler: SchedulerHandle) {
        let _ = self.0.scheduler.set(scheduler);
    }

    /// The scheduler, if one was set.
    pub fn scheduler(&self) -> Option<&SchedulerHandle> {
        self.0.scheduler.get()
    }

    /// Sets who may call the API. Only the first call counts; until then reads are anonymous and writes
    /// are refused.
    pub fn set_auth(&self, auth: AuthConfig) {
        let _ = self.0.auth.set(auth);
    }

    /// The authentication settings.
    pub fn auth(&self) -> &AuthConfig {
        static DEFAULT: OnceLock<AuthConfig> = OnceLock::new();
        self.0.auth.get().unwrap_or_else(|| DEFAULT.get_or_init(AuthConfig::default))
    }

    /// Rebuilds the snapshot of every registry from the store (set with [`AppState::set_store`] and
    /// [`AppState::set_registries`]), serves it, and sets each registry's server count in the metrics.
    /// Reloads run one at a time, so the last one to finish always saw the last commit. Without a store
    /// this does nothing.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let Some(store) = self.store().cloned() else {
            return Ok(());
        };
        let mut loaded = self.0.loaded.lock().await;
        let versions = self.versions(store.as_ref()).await?;
        self.load(store.as_ref(), |_| false).await?;
        *loaded = versions;
        Ok(())
    }

    /// [`AppState::reload`], only when a registry's catalog version in the store differs from the one
    /// served (a sync committed, here or by another process). Returns whether it reloaded.
    pub async fn reload_if_changed(&self) -> Result<bool, StoreError> {
        let Some(store) = self.store().cloned() else {
            return Ok(false);
        };
        let mut loaded = self.0.loaded.lock().await;
        // Read before the catalogs: a commit in between is loaded now and reloaded once more next time.
        let versions = self.versions(store.as_ref()).await?;
        if versions == *loaded {
            return Ok(false);
        }
        // A registry whose catalog version is the one served keeps its records; the others are read.
        let unchanged = |name: &str| loaded.get(name).is_some_and(|served| versions.get(name) == Some(served));
        self.load(store.as_ref(), unchanged).await?;
        *loaded = versions;
        Ok(true)
    }

    /// The catalog versions of the configured registries.
    async fn versions(&self, store: &dyn Store) -> Result<BTreeMap<String, i64>, StoreError> {
        let registries = self.registries();
        let configured: std::collections::HashSet<&str> = registries.iter().map(|s| s.name.as_str()).collect();
        Ok(store.catalog_versions().await?.into_iter().filter(|(name, _)| configured.contains(name.as_str())).collect())
    }

    /// Loads the snapshot of the configured registries and serves it; a registry for which `unchanged`
    /// holds keeps the served snapshot's records ([`reload_snapshot`]).
    async fn load(&self, store: &dyn Store, unchanged: impl Fn(&str) -> bool) -> Result<(), StoreError> {
        let names: Vec<String> = self.registries().iter().map(|spec| spec.name.clone()).collect();
        let snapshot = reload_snapshot(store, &names, &self.snapshot(), unchanged).await?;
        for name in &names {
            if let Some(registry) = snapshot.registry(name) {
                self.metrics().set_servers(name, registry.records().len() as u64);
            }
        }
        self.replace(snapshot);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Mutex, Weak};
    use std::time::Duration;

    use tokio::sync::mpsc;

    use super::*;
    use crate::snapshot::tests::version;
    use crate::snapshot::{Record, RegistrySnapshot};

    fn snapshot_of(name: &str) -> Snapshot {
        Snapshot::new(vec![("one".to_owned(), RegistrySnapshot::new(&[version(name, "1.0.0")]))])
    }

    /// The record of the served snapshot, to tell when it is freed.
    fn watch(state: &AppState) -> Weak<Record> {
        Arc::downgrade(&state.snapshot().aggregate().records()[0])
    }

    #[tokio::test]
    async fn memory_is_released_once_per_swap_after_the_old_snapshot_is_freed() {
        // Each release reports whether the watched snapshot had been freed by then.
        let watched = Arc::new(Mutex::new(Weak::<Record>::new()));
        let (released, mut releases) = mpsc::unbounded_channel();
        let seen = Arc::clone(&watched);
        let reclaimer = Reclaimer::new(move || {
            let freed = seen.lock().map(|record| record.upgrade().is_none()).unwrap_or(false);
            released.send(freed).expect("the test is listening");
        });
        let state = AppState::with_reclaimer(Snapshot::default(), reclaimer);
        let next_release = async |releases: &mut mpsc::UnboundedReceiver<bool>| {
            tokio::time::timeout(Duration::from_secs(10), releases.recv()).await.ok().flatten()
        };
        let no_release_within = async |releases: &mut mpsc::UnboundedReceiver<bool>| {
            tokio::time::timeout(Duration::from_millis(200), releases.recv()).await.is_err()
        };

        // The first load replaces the empty snapshot of the start: what the load freed is released.
        state.replace(snapshot_of("a/first"));
        assert!(next_release(&mut releases).await.is_some(), "released after the first load");
        assert!(no_release_within(&mut releases).await, "once");

        // A request still reads the served snapshot when the next one is swapped in: nothing is released
        // until it is done and the old snapshot is freed.
        *watched.lock().unwrap() = watch(&state);
        let reading = state.scope(Some("one")).unwrap();
        state.replace(snapshot_of("a/second"));
        assert!(no_release_within(&mut releases).await, "the old snapshot is still read");
        drop(reading);
        assert_eq!(next_release(&mut releases).await, Some(true), "released once the old snapshot is freed");
        assert!(no_release_within(&mut releases).await, "once");

        // Without readers, the swap frees it at once.
        *watched.lock().unwrap() = watch(&state);
        state.replace(snapshot_of("a/third"));
        assert_eq!(next_release(&mut releases).await, Some(true));
        assert!(no_release_within(&mut releases).await, "once per swap");
    }

    #[tokio::test]
    async fn a_reload_after_a_commit_reads_only_the_registry_that_changed() {
        use thv_store::fixtures::{commit, version};
        let dir = tempfile::tempdir().expect("dir");
        let store: Arc<dyn Store> =
            Arc::new(thv_store::SqliteStore::open(&dir.path().join("db.sqlite")).await.expect("open"));
        store.commit_sync(&commit("one", "r1", 1, vec![version("a/x", "1.0.0", 1)], vec![])).await.expect("one");
        store.commit_sync(&commit("two", "r1", 1, vec![version("b/y", "1.0.0", 1)], vec![])).await.expect("two");
        let spec = |name: &str| -> RegistrySpec {
            serde_json::from_value(serde_json::json!({"name": name, "source": {"file": {"path": "/catalog.json"}}}))
                .expect("spec")
        };
        let state = AppState::new(Snapshot::default());
        state.set_store(Arc::clone(&store));
        state.set_registries(vec![spec("one"), spec("two")]);
        assert!(state.reload_if_changed().await.expect("first load"));
        let first = |snapshot: &Snapshot, registry: &str| {
            Arc::clone(&snapshot.registry(registry).expect(registry).records()[0])
        };
        let (one, two) = (first(&state.snapshot(), "one"), first(&state.snapshot(), "two"));

        store.commit_sync(&commit("two", "r2", 1, vec![version("b/y", "1.0.0", 2)], vec![])).await.expect("two again");
        assert!(state.reload_if_changed().await.expect("reload"));
        let served = state.snapshot();
        assert!(Arc::ptr_eq(&first(&served, "one"), &one), "the unchanged registry keeps its records");
        let reread = first(&served, "two");
        assert!(!Arc::ptr_eq(&reread, &two), "the registry that committed is read again");
        assert!(std::str::from_utf8(reread.json()).expect("utf-8").contains("generation 2"));
        assert_eq!(&*first(&served, "one").registry, "one");
        // The aggregate is new and holds both registries' records.
        let aggregate: Vec<_> = served.aggregate().records().iter().map(|r| r.name.as_str()).collect();
        assert_eq!(aggregate, ["a/x", "b/y"]);
        assert!(Arc::ptr_eq(&served.aggregate().records()[0], &one));

        // A forced reload reads every registry again.
        state.reload().await.expect("forced reload");
        assert!(!Arc::ptr_eq(&first(&state.snapshot(), "one"), &one), "reload() reads everything");
    }
}
