//! The sync pipeline end to end: real sources on loopback (or files), a real SQLite store.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use thv_model::filter::Criteria;
use thv_sources::{ApiSpec, FileSpec, GitSpec, SourceSpec, UrlSpec};
use thv_store::{
    Change, EventFeed, ImportedEntry, Lease, RegistryState, ServerVersion, SqliteStore, Store, StoreResult, SyncCommit,
    SyncOutcome, SyncRun,
};
use thv_sync::{FailureKind, RegistrySpec, RetryPolicy, Scheduler, SyncPolicy, ValidationMode, sync_spec};
use thv_testdata::servers::{ApiOptions, TestDocumentServer, TestRegistryApi};
use thv_testdata::{REAL_DUMP, TOOLHIVE_REGISTRY, read_json, shared_file};

fn spec(name: &str, source: SourceSpec) -> RegistrySpec {
    serde_json::from_value(json!({"name": name, "source": source})).expect("spec")
}

fn url_spec(url: String) -> SourceSpec {
    SourceSpec::Url(UrlSpec { timeout: Some(Duration::from_secs(10)), ..UrlSpec::new(url) })
}

fn api_spec(url: String) -> SourceSpec {
    SourceSpec::RegistryApi(ApiSpec::new(url))
}

struct Env {
    _dir: tempfile::TempDir,
    cache: std::path::PathBuf,
    store: SqliteStore,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path().join("registry.db")).await.expect("store");
    Env { cache: dir.path().join("cache"), _dir: dir, store }
}

fn dump_bytes() -> Option<Vec<u8>> {
    shared_file(REAL_DUMP).map(|p| std::fs::read(p).expect("read the dump"))
}

/// Checks the stored catalog holds the whole dump: every (name, version) once, one latest per name.
async fn assert_whole_dump(store: &dyn Store, registry: &str) {
    let catalog = store.catalog(registry).await.expect("catalog");
    assert_eq!(catalog.len(), 2_794);
    let names: BTreeSet<&str> = catalog.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names.len(), 1_108);
    let mut latest: HashMap<&str, usize> = HashMap::new();
    for v in catalog.iter().filter(|v| v.is_latest) {
        *latest.entry(v.name.as_str()).or_default() += 1;
    }
    assert_eq!(latest.len(), 1_108, "every name has a latest version");
    assert!(latest.values().all(|&n| n == 1), "exactly one latest per name");
}

#[tokio::test]
async fn url_source_stores_the_whole_dump_and_an_unchanged_resync_writes_nothing() {
    let Some(bytes) = dump_bytes() else { return };
    let env = env().await;
    let server = TestDocumentServer::start(bytes).await;
    let spec = spec("dump", url_spec(server.url()));

    let first = sync_spec(&spec, &env.store, &env.cache).await;
    assert_eq!(first.outcome, SyncOutcome::Success, "{:?}", first.error);
    assert_eq!(first.counts.added, 2_794);
    assert_eq!(first.invalid_kept, 395, "schema-invalid records are kept and counted by default");
    assert_whole_dump(&env.store, "dump").await;
    let runs_before = env.store.runs("dump", 100).await.expect("runs").len();

    let again = sync_spec(&spec, &env.store, &env.cache).await;
    assert_eq!(again.outcome, SyncOutcome::Unchanged);
    assert_eq!(again.run_id, None, "an unchanged re-sync records nothing");
    assert_eq!(server.counts(), (2, 1), "the second request was answered 304");
    assert_eq!(env.store.runs("dump", 100).await.expect("runs").len(), runs_before);
}

#[tokio::test]
async fn api_source_stores_the_whole_dump_and_merges_increments() {
    let Some(path) = shared_file(REAL_DUMP) else { return };
    let Value::Array(records) = read_json(&path) else { panic!("the dump is an array") };
    let env = env().await;
    let api = TestRegistryApi::start(records, ApiOptions::default()).await;
    let spec = spec("official", api_spec(api.url()));

    let first = sync_spec(&spec, &env.store, &env.cache).await;
    assert_eq!(first.outcome, SyncOutcome::Success, "{:?}", first.error);
    assert_whole_dump(&env.store, "official").await;

    let later = jiff::Timestamp::now().checked_add(jiff::SignedDuration::from_secs(1)).expect("time").to_string();
    let mut changed = Vec::new();
    api.update(|records| {
        for i in [10, 20] {
            let record = &mut records[i];
            record["server"]["description"] = json!("changed upstream");
            record["_meta"]["io.modelcontextprotocol.registry/official"]["updatedAt"] = json!(later);
            changed.push(thv_testdata::servers::record_key(record));
        }
    });
    api.clear_requests();
    let second = sync_spec(&spec, &env.store, &env.cache).await;
    assert_eq!(second.outcome, SyncOutcome::Success, "{:?}", second.error);
    assert_eq!(second.counts.updated, 2);
    assert_eq!((second.counts.added, second.counts.removed), (0, 0));
    assert!(api.requests().iter().all(|u| u.query().is_some_and(|q| q.contains("updated_since"))), "incremental");
    let catalog = env.store.catalog("official").await.expect("catalog");
    assert_eq!(catalog.len(), 2_794);
    for (name, version) in &changed {
        let v = catalog.iter().find(|v| &v.name == name && &v.version == version).expect("still there");
        assert_eq!(v.document.to_value()["description"], "changed upstream");
        assert_eq!(v.updated_at, later, "the source's updatedAt is kept");
    }

    let third = sync_spec(&spec, &env.store, &env.cache).await;
    assert_eq!(third.outcome, SyncOutcome::Unchanged);
}

#[tokio::test]
async fn a_failing_source_keeps_the_last_good_catalog() {
    let Some(path) = shared_file(TOOLHIVE_REGISTRY) else { return };
    let good = std::fs::read(path).expect("read");
    let env = env().await;
    let server = TestDocumentServer::start(good.clone()).await;
    let spec = spec("toolhive", url_spec(server.url()));
    assert_eq!(sync_spec(&spec, &env.store, &env.cache).await.outcome, SyncOutcome::Success);
    let catalog = env.store.catalog("toolhive").await.expect("catalog");
    assert_eq!(catalog.len(), 102);

    server.fail_with(Some(503));
    let failed = sync_spec(&spec, &env.store, &env.cache).await;
    assert_eq!(failed.outcome, SyncOutcome::Failed);
    assert_eq!(failed.failure, Some(FailureKind::Retryable), "a 503 is worth retrying");
    assert!(failed.error.as_deref().is_some_and(|e| e.contains("503") && e.contains(&server.url())), "{failed:?}");

    server.fail_with(None);
    server.set_body(good[..good.len() / 2].to_vec());
    let broken = sync_spec(&spec, &env.store, &env.cache).await;
    assert_eq!(broken.outcome, SyncOutcome::Failed);
    assert_eq!(broken.failure, Some(FailureKind::Stalled), "a broken document is not retried");
    assert!(broken.error.as_deref().is_some_and(|e| e.contains("not valid JSON")), "{broken:?}");

    assert_eq!(env.store.catalog("toolhive").await.expect("catalog"), catalog, "the good catalog is untouched");
    let state = env.store.registry_state("toolhive").await.expect("state").expect("present");
    assert_eq!(state.failed_attempts, 2);
    assert!(state.last_error.is_some());
    assert_eq!(state.last_failure, Some(FailureKind::Stalled), "the kind of the last failure is stored");

    server.set_body(good);
    let recovered = sync_spec(&spec, &env.store, &env.cache).await;
    assert_eq!(recovered.outcome, SyncOutcome::Unchanged, "same content as the last good catalog");
    let state = env.store.registry_state("toolhive").await.expect("state").expect("present");
    assert_eq!((state.failed_attempts, state.last_error, state.last_failure), (0, None, None));
}

#[tokio::test]
async fn a_changed_filter_rebuilds_from_an_unchanged_source() {
    let Some(path) = shared_file(TOOLHIVE_REGISTRY) else { return };
    let env = env().await;
    let mut spec = spec("toolhive", SourceSpec::File(FileSpec { path }));
    assert_eq!(sync_spec(&spec, &env.store, &env.cache).await.counts.total, 102);

    spec.filter.include = Criteria { tiers: vec!["official".into()], ..Criteria::default() };
    // A pattern without `/` is also tried against the short name.
    spec.filter.exclude = Criteria { names: vec!["github".into(), "*-mcp-server".into()], ..Criteria::default() };
    let rebuilt = sync_spec(&spec, &env.store, &env.cache).await;
    assert_eq!(rebuilt.outcome, SyncOutcome::Success);
    let catalog = env.store.catalog("toolhive").await.expect("catalog");
    assert!(!catalog.is_empty() && catalog.len() < 102, "{} kept: {rebuilt:?}", catalog.len());
    assert!(
        catalog.iter().all(|v| v.name != "io.github.stacklok/github" && !v.name.ends_with("-mcp-server")),
        "excluded names are gone"
    );
    assert_eq!(rebuilt.counts.removed as usize, 102 - catalog.len());
    assert_eq!(rebuilt.filtered_out as usize, 102 - catalog.len());
}

#[tokio::test]
async fn skip_mode_leaves_invalid_records_out_and_says_why() {
    let Some(path) = shared_file(REAL_DUMP) else { return };
    let env = env().await;
    let mut spec = spec("strict", SourceSpec::File(FileSpec { path }));
    spec.validation.mode = ValidationMode::Skip;
    let report = sync_spec(&spec, &env.store, &env.cache).await;
    assert_eq!(report.outcome, SyncOutcome::Success);
    assert_eq!(report.counts.total, 2_794 - 395);
    assert_eq!(report.skipped.len(), 395);
    assert!(report.skipped.iter().all(|s| s.server.is_some() && s.reason.starts_with("invalid:")));
}

#[tokio::test]
async fn the_scheduler_retries_a_failing_registry_without_delaying_the_others() {
    let Some(path) = shared_file(TOOLHIVE_REGISTRY) else { return };
    let env = env().await;
    let retry = RetryPolicy { max_retries: 2, backoff_interval: Duration::from_millis(20) };
    let policy = SyncPolicy { enabled: true, interval: Duration::from_secs(3600), retry };
    // A missing file is an I/O error, which is retryable.
    let mut bad = spec("bad", SourceSpec::File(FileSpec { path: "/nonexistent/registry.json".into() }));
    bad.sync_policy = policy.clone();
    let mut good = spec("good", SourceSpec::File(FileSpec { path }));
    good.sync_policy = policy.clone();
    // A document that is not a catalog is a stalled failure: not retried before the next interval.
    let garbage = env.cache.with_file_name("garbage.json");
    std::fs::write(&garbage, "{ not json").expect("write");
    let mut broken = spec("broken", SourceSpec::File(FileSpec { path: garbage }));
    broken.sync_policy = policy;
    let Env { _dir, cache, store } = env;
    let store: Arc<dyn Store> = Arc::new(store);
    let scheduler = Scheduler::start(vec![bad, good, broken], store.clone(), cache);
    let mut reports = scheduler.subscribe();
    let mut seen: HashMap<String, Vec<SyncOutcome>> = HashMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while seen.get("bad").map_or(0, Vec::len) < 3 || !seen.contains_key("good") || !seen.contains_key("broken") {
        let report = tokio::time::timeout_at(deadline, reports.recv()).await.expect("reports in time").expect("open");
        seen.entry(report.registry.clone()).or_default().push(report.outcome);
    }
    // The retries of `bad` took 20 + 40 ms of backoff; a retry of `broken` would have come by now too.
    while let Ok(Ok(report)) = tokio::time::timeout(Duration::from_millis(300), reports.recv()).await {
        seen.entry(report.registry.clone()).or_default().push(report.outcome);
    }
    assert_eq!(seen["good"], vec![SyncOutcome::Success]);
    assert_eq!(seen["bad"], vec![SyncOutcome::Failed; 3], "one attempt and two retries");
    assert_eq!(seen["broken"], vec![SyncOutcome::Failed], "a stalled failure is not retried");
    let manual = scheduler.trigger("good").await.expect("known registry").await.expect("a report");
    assert_eq!(manual.outcome, SyncOutcome::Unchanged);
    assert!(scheduler.trigger("nope").await.is_none());
    scheduler.stop().await;
    let state = store.registry_state("bad").await.expect("state").expect("present");
    assert_eq!(state.failed_attempts, 3);
}

/// A small upstream catalog of `names`, one version each.
fn small_catalog(names: &[&str]) -> Vec<u8> {
    let records: Vec<Value> = names
        .iter()
        .map(|name| json!({"server": {"name": format!("io.example/{name}"), "description": "d", "version": "1.0.0"}}))
        .collect();
    Value::Array(records).to_string().into_bytes()
}

#[tokio::test]
async fn a_filter_change_that_excludes_nothing_is_remembered() {
    let env = env().await;
    let server = TestDocumentServer::start(small_catalog(&["alpha", "beta"])).await;
    let mut spec = spec("small", url_spec(server.url()));
    assert_eq!(sync_spec(&spec, &env.store, &env.cache).await.outcome, SyncOutcome::Success);
    assert_eq!(sync_spec(&spec, &env.store, &env.cache).await.outcome, SyncOutcome::Unchanged);
    assert_eq!(server.counts(), (2, 1), "the second sync was answered 304");

    // A filter that keeps everything: the rebuild fetches in full once, and finds nothing to change.
    spec.filter.exclude = Criteria { names: vec!["nonexistent.zzz/*".into()], ..Criteria::default() };
    let rebuilt = sync_spec(&spec, &env.store, &env.cache).await;
    assert_eq!(rebuilt.outcome, SyncOutcome::Unchanged, "{rebuilt:?}");
    assert_eq!(server.counts(), (3, 1), "a changed filter fetches in full");

    // From then on the new filter is the one on record: conditional requests again.
    for _ in 0..2 {
        assert_eq!(sync_spec(&spec, &env.store, &env.cache).await.outcome, SyncOutcome::Unchanged);
    }
    assert_eq!(server.counts(), (5, 3), "later syncs are answered 304");
    let state = env.store.registry_state("small").await.expect("state").expect("present");
    assert_eq!(state.filter_digest, Some(spec.filter.digest()));
    assert_eq!(state.spec_digest, Some(spec.build_digest()));

    // The same for a change of the build spec (here the validation policy) that changes no record.
    spec.validation.strict = true;
    assert_eq!(sync_spec(&spec, &env.store, &env.cache).await.outcome, SyncOutcome::Unchanged);
    assert_eq!(sync_spec(&spec, &env.store, &env.cache).await.outcome, SyncOutcome::Unchanged);
    assert_eq!(server.counts(), (7, 4), "one full fetch after the spec change, then 304");
}

#[tokio::test]
async fn a_huge_timeout_fails_the_sync_naming_the_field_instead_of_panicking() {
    let env = env().await;
    let repository = format!("file://{}", env.cache.join("nowhere.git").display());
    let source: GitSpec =
        serde_json::from_value(json!({"repository": repository, "timeout": "400000000000y"})).expect("git spec");
    let spec = spec("huge", SourceSpec::Git(source));
    let report = sync_spec(&spec, &env.store, &env.cache).await;
    assert_eq!(report.outcome, SyncOutcome::Failed);
    let error = report.error.as_deref().unwrap_or_default();
    assert!(error.contains("registry huge: source.git.timeout: 400000000000years"), "{error}");
    assert!(error.contains("(allowed: 100ms to 1day)"), "{error}");
    assert_eq!(report.failure, Some(FailureKind::Stalled), "an invalid spec waits for a fix");
}

/// A store that lists the operations asked of it, by name.
struct Recording {
    inner: SqliteStore,
    calls: std::sync::Mutex<Vec<&'static str>>,
}

impl Recording {
    fn note(&self, call: &'static str) {
        self.calls.lock().expect("calls").push(call);
    }

    fn take(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.calls.lock().expect("calls"))
    }
}

#[async_trait::async_trait]
impl Store for Recording {
    async fn registry_state(&self, registry: &str) -> StoreResult<Option<RegistryState>> {
        self.note("registry_state");
        self.inner.registry_state(registry).await
    }
    async fn registry_states(&self) -> StoreResult<Vec<RegistryState>> {
        self.note("registry_states");
        self.inner.registry_states().await
    }
    async fn catalog(&self, registry: &str) -> StoreResult<Vec<ServerVersion>> {
        self.note("catalog");
        self.inner.catalog(registry).await
    }
    async fn commit_sync(&self, commit: &SyncCommit) -> StoreResult<i64> {
        self.note("commit_sync");
        self.inner.commit_sync(commit).await
    }
    async fn record_run(&self, run: &SyncRun, state: Option<&RegistryState>) -> StoreResult<i64> {
        self.note("record_run");
        self.inner.record_run(run, state).await
    }
    async fn runs(&self, registry: &str, limit: u32) -> StoreResult<Vec<SyncRun>> {
        self.note("runs");
        self.inner.runs(registry, limit).await
    }
    async fn changes(&self, registry: &str, run_id: i64) -> StoreResult<Vec<Change>> {
        self.note("changes");
        self.inner.changes(registry, run_id).await
    }
    async fn imported(&self, registry: &str) -> StoreResult<Vec<ImportedEntry>> {
        self.note("imported");
        self.inner.imported(registry).await
    }
    async fn commit_import(&self, commit: &SyncCommit, layer: &[ImportedEntry]) -> StoreResult<i64> {
        self.note("commit_import");
        self.inner.commit_import(commit, layer).await
    }
    async fn remove_registry(&self, registry: &str) -> StoreResult<()> {
        self.note("remove_registry");
        self.inner.remove_registry(registry).await
    }
    async fn commit_sync_leased(&self, commit: &SyncCommit, holder: &str) -> StoreResult<i64> {
        self.note("commit_sync_leased");
        self.inner.commit_sync_leased(commit, holder).await
    }
    async fn record_run_leased(&self, run: &SyncRun, state: Option<&RegistryState>, holder: &str) -> StoreResult<i64> {
        self.note("record_run_leased");
        self.inner.record_run_leased(run, state, holder).await
    }
    async fn acquire_lease(&self, registry: &str, holder: &str, ttl: Duration) -> StoreResult<Lease> {
        self.note("acquire_lease");
        self.inner.acquire_lease(registry, holder, ttl).await
    }
    async fn release_lease(&self, registry: &str, holder: &str) -> StoreResult<()> {
        self.note("release_lease");
        self.inner.release_lease(registry, holder).await
    }
    async fn catalog_versions(&self) -> StoreResult<Vec<(String, i64)>> {
        self.note("catalog_versions");
        self.inner.catalog_versions().await
    }
    async fn request_sync(&self, registry: &str, requested_by: &str) -> StoreResult<i64> {
        self.note("request_sync");
        self.inner.request_sync(registry, requested_by).await
    }
    async fn pending_sync_requests(&self, registry: &str) -> StoreResult<Vec<i64>> {
        self.note("pending_sync_requests");
        self.inner.pending_sync_requests(registry).await
    }
    async fn complete_sync_requests(&self, ids: &[i64], report: &str) -> StoreResult<()> {
        self.note("complete_sync_requests");
        self.inner.complete_sync_requests(ids, report).await
    }
    async fn sync_request_report(&self, id: i64) -> StoreResult<Option<String>> {
        self.note("sync_request_report");
        self.inner.sync_request_report(id).await
    }
    async fn events(&self) -> StoreResult<Option<Box<dyn EventFeed>>> {
        self.note("events");
        self.inner.events().await
    }
}

#[tokio::test]
async fn an_unchanged_registry_api_resync_reads_the_state_asks_once_and_records_one_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inner = SqliteStore::open(dir.path().join("registry.db")).await.expect("store");
    let store = Recording { inner, calls: std::sync::Mutex::new(Vec::new()) };
    let Value::Array(records) = serde_json::from_slice(&small_catalog(&["a", "b", "c"])).expect("catalog") else {
        panic!("an array")
    };
    let api = TestRegistryApi::start(records, ApiOptions::default()).await;
    let spec = spec("upstream", api_spec(api.url()));
    let cache = dir.path().join("cache");
    let first = sync_spec(&spec, &store, &cache).await;
    assert_eq!(first.outcome, SyncOutcome::Success, "{:?}", first.error);
    store.take();
    api.clear_requests();

    let again = sync_spec(&spec, &store, &cache).await;
    assert_eq!(again.outcome, SyncOutcome::Unchanged, "{:?}", again.error);
    assert!(again.run_id.is_some(), "the new walk time is recorded with the run");
    assert_eq!(store.take(), ["registry_state", "record_run"], "no stored document is read");
    let requests = api.requests();
    assert_eq!(requests.len(), 1, "one page: {requests:?}");
    assert!(requests[0].query().is_some_and(|q| q.contains("updated_since")), "{requests:?}");
}
