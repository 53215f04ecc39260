//! [`NamespacedStore`]: the registries of one namespace in a database that several namespaces share.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use thv_store::{
    Change, EventFeed, ImportedEntry, Lease, RegistryState, ServerVersion, Store, StoreEvent, StoreResult, SyncCommit,
    SyncRun,
};

use super::registry_key;

/// A view of a shared store in which the registry `<name>` is stored as `<namespace>/<name>`
/// ([`registry_key`]): every name handed in is prefixed, every name handed back is stripped, and registries
/// of other namespaces are not visible (states, catalog versions, events). The sync pipeline and the API
/// server see plain registry names. Closing the view leaves the shared store open.
pub struct NamespacedStore {
    inner: Arc<dyn Store>,
    prefix: String,
}

impl NamespacedStore {
    /// The registries of `namespace` in `inner`.
    pub fn new(inner: Arc<dyn Store>, namespace: &str) -> Self {
        Self { inner, prefix: registry_key(namespace, "") }
    }

    fn key(&self, registry: &str) -> String {
        format!("{}{registry}", self.prefix)
    }

    /// The plain name of a stored key of this namespace; `None` for another namespace's.
    fn strip<'a>(&self, key: &'a str) -> Option<&'a str> {
        key.strip_prefix(self.prefix.as_str())
    }

    fn strip_owned(&self, key: &mut String) {
        if let Some(name) = self.strip(key) {
            *key = name.to_owned();
        }
    }

    fn run_in(&self, run: &SyncRun) -> SyncRun {
        SyncRun { registry: self.key(&run.registry), ..run.clone() }
    }

    fn state_in(&self, state: &RegistryState) -> RegistryState {
        RegistryState { registry: self.key(&state.registry), ..state.clone() }
    }

    fn commit_in(&self, commit: &SyncCommit) -> SyncCommit {
        SyncCommit { run: self.run_in(&commit.run), state: self.state_in(&commit.state), ..commit.clone() }
    }

    fn state_out(&self, mut state: RegistryState) -> RegistryState {
        self.strip_owned(&mut state.registry);
        state
    }

    fn run_out(&self, mut run: SyncRun) -> SyncRun {
        self.strip_owned(&mut run.registry);
        run
    }
}

#[async_trait]
impl Store for NamespacedStore {
    async fn registry_state(&self, registry: &str) -> StoreResult<Option<RegistryState>> {
        Ok(self.inner.registry_state(&self.key(registry)).await?.map(|s| self.state_out(s)))
    }

    async fn registry_states(&self) -> StoreResult<Vec<RegistryState>> {
        let states = self.inner.registry_states().await?;
        Ok(states.into_iter().filter(|s| self.strip(&s.registry).is_some()).map(|s| self.state_out(s)).collect())
    }

    async fn catalog(&self, registry: &str) -> StoreResult<Vec<ServerVersion>> {
        self.inner.catalog(&self.key(registry)).await
    }

    async fn commit_sync(&self, commit: &SyncCommit) -> StoreResult<i64> {
        self.inner.commit_sync(&self.commit_in(commit)).await
    }

    async fn record_run(&self, run: &SyncRun, state: Option<&RegistryState>) -> StoreResult<i64> {
        let state = state.map(|s| self.state_in(s));
        self.inner.record_run(&self.run_in(run), state.as_ref()).await
    }

    async fn runs(&self, registry: &str, limit: u32) -> StoreResult<Vec<SyncRun>> {
        let runs = self.inner.runs(&self.key(registry), limit).await?;
        Ok(runs.into_iter().map(|r| self.run_out(r)).collect())
    }

    async fn changes(&self, registry: &str, run_id: i64) -> StoreResult<Vec<Change>> {
        self.inner.changes(&self.key(registry), run_id).await
    }

    async fn imported(&self, registry: &str) -> StoreResult<Vec<ImportedEntry>> {
        self.inner.imported(&self.key(registry)).await
    }

    async fn commit_import(&self, commit: &SyncCommit, layer: &[ImportedEntry]) -> StoreResult<i64> {
        self.inner.commit_import(&self.commit_in(commit), layer).await
    }

    async fn remove_registry(&self, registry: &str) -> StoreResult<()> {
        self.inner.remove_registry(&self.key(registry)).await
    }

    /// The shared store stays open for the other registries.
    async fn close(&self) {}

    async fn commit_sync_leased(&self, commit: &SyncCommit, holder: &str) -> StoreResult<i64> {
        self.inner.commit_sync_leased(&self.commit_in(commit), holder).await
    }

    async fn record_run_leased(&self, run: &SyncRun, state: Option<&RegistryState>, holder: &str) -> StoreResult<i64> {
        let state = state.map(|s| self.state_in(s));
        self.inner.record_run_leased(&self.run_in(run), state.as_ref(), holder).await
    }

    async fn acquire_lease(&self, registry: &str, holder: &str, ttl: Duration) -> StoreResult<Lease> {
        let mut lease = self.inner.acquire_lease(&self.key(registry), holder, ttl).await?;
        self.strip_owned(&mut lease.registry);
        Ok(lease)
    }

    async fn release_lease(&self, registry: &str, holder: &str) -> StoreResult<()> {
        self.inner.release_lease(&self.key(registry), holder).await
    }

    async fn catalog_versions(&self) -> StoreResult<Vec<(String, i64)>> {
        let versions = self.inner.catalog_versions().await?;
        Ok(versions
            .into_iter()
            .filter_map(|(key, version)| self.strip(&key).map(|name| (name.to_owned(), version)))
            .collect())
    }

    async fn request_sync(&self, registry: &str, requested_by: &str) -> StoreResult<i64> {
        self.inner.request_sync(&self.key(registry), requested_by).await
    }

    async fn pending_sync_requests(&self, registry: &str) -> StoreResult<Vec<i64>> {
        self.inner.pending_sync_requests(&self.key(registry)).await
    }

    async fn complete_sync_requests(&self, ids: &[i64], report: &str) -> StoreResult<()> {
        self.inner.complete_sync_requests(ids, report).await
    }

    async fn sync_request_report(&self, id: i64) -> StoreResult<Option<String>> {
        self.inner.sync_request_report(id).await
    }

    async fn events(&self) -> StoreResult<Option<Box<dyn EventFeed>>> {
        let feed = self.inner.events().await?;
        Ok(feed.map(|inner| Box::new(NamespacedFeed { inner, prefix: self.prefix.clone() }) as Box<dyn EventFeed>))
    }
}

/// The events of one namespace's registries, with plain names; other namespaces' are skipped.
struct NamespacedFeed {
    inner: Box<dyn EventFeed>,
    prefix: String,
}

/// The event as the namespace of `prefix` sees it; `None` for another namespace's registry.
fn scoped(prefix: &str, event: StoreEvent) -> Option<StoreEvent> {
    let strip = |key: Option<String>| match key {
        None => Some(None),
        Some(key) => key.strip_prefix(prefix).map(|name| Some(name.to_owned())),
    };
    match event {
        StoreEvent::CatalogChanged(key) => strip(key).map(StoreEvent::CatalogChanged),
        StoreEvent::SyncRequested(key) => strip(key).map(StoreEvent::SyncRequested),
        StoreEvent::Missed => Some(StoreEvent::Missed),
    }
}

#[async_trait]
impl EventFeed for NamespacedFeed {
    async fn next(&mut self) -> StoreResult<StoreEvent> {
        loop {
            let event = self.inner.next().await?;
            if let Some(event) = scoped(&self.prefix, event) {
                return Ok(event);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use thv_store::{Counts, SqliteStore, SyncOutcome};

    use super::*;

    fn run(registry: &str) -> SyncRun {
        SyncRun {
            id: 0,
            registry: registry.into(),
            started_at: "2026-12-01T00:00:00Z".into(),
            finished_at: "2026-12-01T00:00:01Z".into(),
            outcome: SyncOutcome::Success,
            error: None,
            revision: Some("sha256:1".into()),
            digest: Some("sha256:2".into()),
            counts: Counts { total: 1, added: 1, ..Counts::default() },
        }
    }

    fn commit(registry: &str, server: &str) -> SyncCommit {
        let version = ServerVersion {
            name: server.into(),
            version: "1.0.0".into(),
            document: thv_store::JsonText::from_value(&serde_json::json!({"name": server})),
            extra_meta: serde_json::Value::Null,
            digest: "sha256:3".into(),
            status: "active".into(),
            status_changed_at: None,
            status_message: None,
            published_at: "2026-12-01T00:00:00Z".into(),
            updated_at: "2026-12-01T00:00:00Z".into(),
            is_latest: true,
        };
        SyncCommit {
            run: run(registry),
            state: RegistryState { registry: registry.into(), server_count: 1, ..RegistryState::default() },
            upserts: vec![version],
            removals: Vec::new(),
            changes: vec![thv_store::Change {
                kind: thv_store::ChangeKind::Added,
                name: server.into(),
                version: "1.0.0".into(),
            }],
        }
    }

    #[tokio::test]
    async fn namespaces_sharing_a_database_see_their_own_registries_by_plain_name() {
        let dir = tempfile::tempdir().expect("dir");
        let shared: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("db.sqlite")).await.expect("open"));
        let team_a = NamespacedStore::new(Arc::clone(&shared), "team-a");
        let team_b = NamespacedStore::new(Arc::clone(&shared), "team-b");
        team_a.commit_sync(&commit("platform", "io.example/a")).await.expect("commit a");
        team_b.commit_sync(&commit("platform", "io.example/b")).await.expect("commit b");

        let names = |catalog: Vec<ServerVersion>| catalog.into_iter().map(|v| v.name).collect::<Vec<_>>();
        assert_eq!(names(team_a.catalog("platform").await.expect("a")), ["io.example/a"]);
        assert_eq!(names(team_b.catalog("platform").await.expect("b")), ["io.example/b"]);
        // Stored under the namespaced key; handed back under the plain name.
        assert_eq!(names(shared.catalog("team-a/platform").await.expect("key")), ["io.example/a"]);
        let state = team_a.registry_state("platform").await.expect("state").expect("synced");
        assert_eq!(state.registry, "platform");
        let states = team_a.registry_states().await.expect("states");
        assert_eq!(states.iter().map(|s| s.registry.as_str()).collect::<Vec<_>>(), ["platform"]);
        let versions = team_b.catalog_versions().await.expect("versions");
        assert_eq!(versions.iter().map(|(r, _)| r.as_str()).collect::<Vec<_>>(), ["platform"]);
        let runs = team_b.runs("platform", 5).await.expect("runs");
        assert_eq!(runs.iter().map(|r| r.registry.as_str()).collect::<Vec<_>>(), ["platform"]);
        let changed = |changes: Vec<thv_store::Change>| changes.into_iter().map(|c| c.name).collect::<Vec<_>>();
        assert_eq!(changed(team_b.changes("platform", runs[0].id).await.expect("b's changes")), ["io.example/b"]);
        assert!(
            team_a.changes("platform", runs[0].id).await.expect("b's run asked by a").is_empty(),
            "another namespace's change set, asked by its run id"
        );
        let lease = team_a.acquire_lease("platform", "op", Duration::from_secs(5)).await.expect("lease");
        assert_eq!(lease.registry, "platform");
        let layer = [ImportedEntry {
            name: "io.example/imported".into(),
            version: "1.0.0".into(),
            record: thv_store::JsonText::from_value(&serde_json::json!({"server": {"name": "io.example/imported"}})),
            imported_at: "2026-12-01T00:00:00Z".into(),
        }];
        team_a.commit_import(&commit("platform", "io.example/a"), &layer).await.expect("import a");
        let imported = |entries: Vec<ImportedEntry>| entries.into_iter().map(|e| e.name).collect::<Vec<_>>();
        assert_eq!(imported(team_a.imported("platform").await.expect("layer a")), ["io.example/imported"]);
        assert!(team_b.imported("platform").await.expect("layer b").is_empty(), "another namespace's layer");

        // Removing one namespace's registry leaves the other's, and closing a view leaves the database open.
        team_a.remove_registry("platform").await.expect("remove");
        team_a.close().await;
        assert_eq!(team_a.registry_state("platform").await.expect("state"), None);
        assert_eq!(names(team_b.catalog("platform").await.expect("b")), ["io.example/b"]);
    }

    #[test]
    fn events_of_other_namespaces_are_skipped_and_names_made_plain() {
        let prefix = registry_key("team-a", "");
        let changed = |key: &str| StoreEvent::CatalogChanged(Some(key.into()));
        assert!(matches!(scoped(&prefix, changed("team-a/platform")),
            Some(StoreEvent::CatalogChanged(Some(name))) if name == "platform"));
        assert!(scoped(&prefix, changed("team-b/platform")).is_none());
        assert!(scoped(&prefix, changed("platform")).is_none(), "a local registry is not this namespace's");
        assert!(matches!(scoped(&prefix, StoreEvent::CatalogChanged(None)), Some(StoreEvent::CatalogChanged(None))));
        assert!(matches!(scoped(&prefix, StoreEvent::Missed), Some(StoreEvent::Missed)));
    }
}
