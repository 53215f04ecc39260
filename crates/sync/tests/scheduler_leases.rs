//! Schedulers of several replicas on one store: only the lease holder fetches, a manual sync asked of
//! another replica is run by the holder, a stopped holder's lease moves, a lease held elsewhere keeps a
//! replica from fetching until it expires, a holder that loses its lease mid-sync writes nothing, and a
//! renewal that waits for the write lock a slow commit holds does not stall that commit. Two stores on one
//! SQLite file stand for two processes; sources are real loopback servers.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use thv_store::{
    Change, EventFeed, ImportedEntry, Lease, RegistryState, ServerVersion, SqliteStore, Store, StoreResult, SyncCommit,
    SyncOutcome, SyncRun,
};
use thv_sync::{RegistrySpec, Scheduler};
use thv_testdata::servers::TestDocumentServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, timeout};

/// A `{server, _meta}` record.
fn record(name: &str, version: &str) -> Value {
    json!({
        "server": {"name": name, "description": format!("{name} {version}"), "version": version},
        "_meta": {"io.modelcontextprotocol.registry/official": {
            "status": "active", "publishedAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-01-02T00:00:00Z",
            "isLatest": true}}
    })
}

fn catalog(records: &[(&str, &str)]) -> Vec<u8> {
    Value::Array(records.iter().map(|(n, v)| record(n, v)).collect()).to_string().into_bytes()
}

/// A registry reading `url` every 6 s (a 2 s lease, renewed every 667 ms).
fn url_registry(url: &str) -> RegistrySpec {
    serde_json::from_value(json!({
        "name": "team",
        "source": {"url": {"url": url, "timeout": "10s"}},
        "syncPolicy": {"interval": "6s", "retry": {"maxRetries": 0}}
    }))
    .expect("spec")
}

struct Replicas {
    dir: tempfile::TempDir,
    path: std::path::PathBuf,
}

impl Replicas {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("shared.db");
        Self { dir, path }
    }

    /// A store of its own on the shared file, as another process would open.
    async fn store(&self) -> Arc<dyn Store> {
        Arc::new(SqliteStore::open(&self.path).await.expect("store"))
    }

    async fn start(&self, spec: &RegistrySpec, id: &str) -> Scheduler {
        let cache = self.dir.path().join(format!("cache-{id}"));
        Scheduler::start_as(vec![spec.clone()], self.store().await, cache, id.to_owned())
    }
}

/// Waits until `scheduler` says whether it holds the lease of `team`, for at most `within`.
async fn until_held(scheduler: &Scheduler, held: bool, within: Duration) {
    let mut leases = scheduler.leases();
    timeout(within, leases.wait_for(|l| l.get("team") == Some(&held)))
        .await
        .unwrap_or_else(|_| panic!("the lease was not {} within {within:?}", if held { "taken" } else { "lost" }))
        .expect("scheduler running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_holder_fetches_and_runs_manual_syncs_asked_elsewhere() {
    let source = TestDocumentServer::start(catalog(&[("io.example/one", "1.0.0")])).await;
    let spec = url_registry(&source.url());
    let replicas = Replicas::new();
    let a = replicas.start(&spec, "replica-a").await;
    let mut a_reports = a.subscribe();
    // A syncs first (the registry never synced); B starts once A holds the lease.
    until_held(&a, true, Duration::from_secs(5)).await;
    let first = timeout(Duration::from_secs(5), a_reports.recv()).await.expect("first sync").expect("open");
    assert_eq!(first.outcome, SyncOutcome::Success);
    let b = replicas.start(&spec, "replica-b").await;
    let mut b_reports = b.subscribe();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!b.leases().borrow()["team"], "B waits while A holds the lease");

    source.set_body(catalog(&[("io.example/one", "1.0.0"), ("io.example/two", "1.0.0")]));
    let asked = Instant::now();
    let report = timeout(Duration::from_secs(10), b.trigger("team").await.expect("known registry"))
        .await
        .expect("the holder answers within 10 s")
        .expect("a report");
    assert_eq!((report.outcome, report.counts.added), (SyncOutcome::Success, 1), "{report:?}");
    // SQLite pushes no events: the holder finds the request at its next renewal (667 ms).
    assert!(asked.elapsed() < Duration::from_secs(3), "answered after {:?}", asked.elapsed());
    let ran_on_a = a_reports.try_recv().expect("A ran the manual sync");
    assert_eq!(ran_on_a.run_id, report.run_id, "the report is the holder's");
    assert!(b_reports.try_recv().is_err(), "B synced nothing");
    let (requests, _) = source.counts();
    assert_eq!(requests, 2, "one fetch per sync, all by A");

    // Stopped, A gives the lease up; B takes it at its next try and is due when A's schedule was.
    a.stop().await;
    until_held(&b, true, Duration::from_secs(2)).await;
    let next = timeout(Duration::from_secs(8), b_reports.recv()).await.expect("B syncs when due").expect("open");
    assert_eq!(next.outcome, SyncOutcome::Unchanged);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_held_elsewhere_keeps_a_replica_from_fetching_until_it_expires() {
    let source = TestDocumentServer::start(catalog(&[("io.example/one", "1.0.0")])).await;
    let spec = url_registry(&source.url());
    let replicas = Replicas::new();
    // A replica that died holding the lease for 2 s more.
    let lease = replicas.store().await.acquire_lease("team", "dead-replica", Duration::from_secs(2)).await.unwrap();
    assert!(lease.is_held_by("dead-replica"));
    let started = Instant::now();
    let a = replicas.start(&spec, "replica-a").await;
    let mut reports = a.subscribe();
    let first = timeout(Duration::from_secs(6), reports.recv()).await.expect("A syncs").expect("open");
    let waited = started.elapsed();
    assert_eq!(first.outcome, SyncOutcome::Success);
    assert!(waited >= Duration::from_millis(1900), "A fetched while the lease ran: {waited:?}");
    assert!(waited <= Duration::from_millis(2000 + 667 + 1000), "the lease moved after {waited:?}");
    assert_eq!(source.counts().0, 1);
    a.stop().await;
}

/// A server that answers every request after `delay` (a slow source).
async fn slow_server(body: Vec<u8>, delay: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = [0_u8; 4096];
                let _ = stream.read(&mut request).await;
                tokio::time::sleep(delay).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
            });
        }
    });
    format!("http://{addr}/registry.json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_that_loses_its_lease_mid_sync_writes_nothing() {
    let url = slow_server(catalog(&[("io.example/one", "1.0.0")]), Duration::from_secs(3)).await;
    let replicas = Replicas::new();
    let a = replicas.start(&url_registry(&url), "replica-a").await;
    until_held(&a, true, Duration::from_secs(5)).await;
    // While A waits for the source, another replica takes the lease (as after A's renewals failed).
    let thief = replicas.store().await;
    let sql = "UPDATE sync_leases SET holder = 'replica-b', expires_at = expires_at + 600000";
    let mut conn = sqlx_connection(&replicas.path).await;
    sqlx::query(sql).execute(&mut conn).await.expect("steal the lease");
    until_held(&a, false, Duration::from_secs(2)).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(thief.catalog("team").await.unwrap().is_empty(), "nothing of A's sync was committed");
    assert!(thief.runs("team", 10).await.unwrap().is_empty(), "not even its run");
    a.stop().await;
}

/// A `SqliteStore` whose commits are slow: like `SqliteStore` itself, it holds one write lock across each
/// write (here a commit that takes `commit_delay`, as on a busy disk), and lease renewals wait for it.
struct SlowCommits {
    inner: SqliteStore,
    write_lock: tokio::sync::Mutex<()>,
    commit_delay: Duration,
}

#[async_trait::async_trait]
impl Store for SlowCommits {
    async fn registry_state(&self, registry: &str) -> StoreResult<Option<RegistryState>> {
        self.inner.registry_state(registry).await
    }
    async fn registry_states(&self) -> StoreResult<Vec<RegistryState>> {
        self.inner.registry_states().await
    }
    async fn catalog(&self, registry: &str) -> StoreResult<Vec<ServerVersion>> {
        self.inner.catalog(registry).await
    }
    async fn commit_sync(&self, commit: &SyncCommit) -> StoreResult<i64> {
        self.inner.commit_sync(commit).await
    }
    async fn record_run(&self, run: &SyncRun, state: Option<&RegistryState>) -> StoreResult<i64> {
        self.inner.record_run(run, state).await
    }
    async fn runs(&self, registry: &str, limit: u32) -> StoreResult<Vec<SyncRun>> {
        self.inner.runs(registry, limit).await
    }
    async fn changes(&self, registry: &str, run_id: i64) -> StoreResult<Vec<Change>> {
        self.inner.changes(registry, run_id).await
    }
    async fn imported(&self, registry: &str) -> StoreResult<Vec<ImportedEntry>> {
        self.inner.imported(registry).await
    }
    async fn commit_import(&self, commit: &SyncCommit, layer: &[ImportedEntry]) -> StoreResult<i64> {
        self.inner.commit_import(commit, layer).await
    }
    async fn remove_registry(&self, registry: &str) -> StoreResult<()> {
        self.inner.remove_registry(registry).await
    }
    async fn commit_sync_leased(&self, commit: &SyncCommit, holder: &str) -> StoreResult<i64> {
        let _writer = self.write_lock.lock().await;
        tokio::time::sleep(self.commit_delay).await;
        self.inner.commit_sync_leased(commit, holder).await
    }
    async fn record_run_leased(&self, run: &SyncRun, state: Option<&RegistryState>, holder: &str) -> StoreResult<i64> {
        let _writer = self.write_lock.lock().await;
        self.inner.record_run_leased(run, state, holder).await
    }
    async fn acquire_lease(&self, registry: &str, holder: &str, ttl: Duration) -> StoreResult<Lease> {
        let _writer = self.write_lock.lock().await;
        self.inner.acquire_lease(registry, holder, ttl).await
    }
    async fn release_lease(&self, registry: &str, holder: &str) -> StoreResult<()> {
        let _writer = self.write_lock.lock().await;
        self.inner.release_lease(registry, holder).await
    }
    async fn catalog_versions(&self) -> StoreResult<Vec<(String, i64)>> {
        self.inner.catalog_versions().await
    }
    async fn request_sync(&self, registry: &str, requested_by: &str) -> StoreResult<i64> {
        self.inner.request_sync(registry, requested_by).await
    }
    async fn pending_sync_requests(&self, registry: &str) -> StoreResult<Vec<i64>> {
        self.inner.pending_sync_requests(registry).await
    }
    async fn complete_sync_requests(&self, ids: &[i64], report: &str) -> StoreResult<()> {
        self.inner.complete_sync_requests(ids, report).await
    }
    async fn sync_request_report(&self, id: i64) -> StoreResult<Option<String>> {
        self.inner.sync_request_report(id).await
    }
    async fn events(&self) -> StoreResult<Option<Box<dyn EventFeed>>> {
        self.inner.events().await
    }
}

/// Regression: the holder renewed its lease *instead of* polling the sync, so a renewal due while the
/// sync's commit held the store's write lock waited for that lock forever — the registry never synced
/// again and `stop` never returned (seen as a `thv registry serve` that ignored SIGTERM in the soak).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_due_during_a_slow_commit_does_not_stall_it() {
    let source = TestDocumentServer::start(catalog(&[("io.example/one", "1.0.0")])).await;
    let spec = url_registry(&source.url());
    let dir = tempfile::tempdir().expect("tempdir");
    // Renewals come every 667 ms: at least one falls due during each 1.5 s commit.
    let store = SlowCommits {
        inner: SqliteStore::open(dir.path().join("slow.db")).await.expect("store"),
        write_lock: tokio::sync::Mutex::new(()),
        commit_delay: Duration::from_millis(1500),
    };
    let scheduler = Scheduler::start_as(vec![spec], Arc::new(store), dir.path().join("cache"), "replica-a".into());
    let mut reports = scheduler.subscribe();
    let first = timeout(Duration::from_secs(10), reports.recv()).await.expect("the first sync finishes").expect("open");
    assert_eq!(first.outcome, SyncOutcome::Success, "{:?}", first.error);
    timeout(Duration::from_secs(10), scheduler.stop()).await.expect("the scheduler stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_abandons_a_sync_still_running_after_the_grace() {
    let url = slow_server(catalog(&[("io.example/one", "1.0.0")]), Duration::from_secs(60)).await;
    let replicas = Replicas::new();
    let a = replicas.start(&url_registry(&url), "replica-a").await;
    until_held(&a, true, Duration::from_secs(5)).await;
    let started = Instant::now();
    let abandoned = timeout(Duration::from_secs(5), a.stop_within(Duration::from_millis(300))).await.expect("stopped");
    assert_eq!(abandoned, ["team"]);
    assert!(started.elapsed() < Duration::from_secs(2), "stop took {:?}", started.elapsed());
    assert!(replicas.store().await.runs("team", 10).await.unwrap().is_empty(), "nothing of the sync was committed");
}

async fn sqlx_connection(path: &std::path::Path) -> sqlx::SqliteConnection {
    use sqlx::Connection as _;
    sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.expect("connect")
}
