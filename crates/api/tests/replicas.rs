//! Several servers on one database, over real loopback HTTP: two `serve`-like servers with schedulers on
//! one SQLite file (one syncs, both serve each commit, a manual sync on either works, the lease metric),
//! and read-only replicas on PostgreSQL that serve what another process commits within 2 s of the commit
//! through `LISTEN`/`NOTIFY` alone, also after the listening connection was cut.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{commit, to_version};
use serde_json::{Value, json};
use thv_api::auth::{AuthConfig, Scopes, TokenSet, TokenSource, generate_token};
use thv_api::{Server, ServerBuilder};
use thv_store::{PostgresStore, PostgresUrl, SqliteStore, Store};
use thv_sync::RegistrySpec;
use thv_testdata::postgres::{fresh_database, shared_cluster};
use thv_testdata::servers::TestDocumentServer;
use tokio::sync::oneshot;

fn record(name: &str, version: &str) -> Value {
    json!({
        "server": {"name": name, "description": format!("{name} {version}"), "version": version},
        "_meta": {"io.modelcontextprotocol.registry/official": {
            "status": "active", "publishedAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-01-02T00:00:00Z",
            "isLatest": true}}
    })
}

fn catalog(names: &[&str]) -> Vec<u8> {
    Value::Array(names.iter().map(|n| record(n, "1.0.0")).collect()).to_string().into_bytes()
}

/// A registry `team` reading `url`, due every `interval`.
fn url_registry(url: &str, interval: &str) -> RegistrySpec {
    serde_json::from_value(
        json!({"name": "team", "source": {"url": {"url": url}}, "syncPolicy": {"interval": interval}}),
    )
    .expect("spec")
}

/// A server on a loopback port, stopped when `stop` is sent or dropped.
struct Running {
    base: String,
    client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<Result<(), thv_api::ServerError>>,
}

impl Running {
    async fn start(server: Server) -> Self {
        thv_sources::ensure_crypto_provider();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(server.run(listener, async move {
            let _ = stopped.await;
        }));
        Self { base, client: reqwest::Client::new(), stop: Some(stop), served }
    }

    async fn text(&self, path: &str) -> String {
        let response = self.client.get(format!("{}{path}", self.base)).send().await.expect("GET");
        response.text().await.expect("body")
    }

    /// The server names of `/v0.1/servers`.
    async fn names(&self) -> Vec<String> {
        let body: Value = serde_json::from_str(&self.text("/v0.1/servers?limit=100").await).expect("JSON");
        body["servers"]
            .as_array()
            .expect("servers")
            .iter()
            .map(|s| s["server"]["name"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    /// Polls until `/v0.1/servers` lists `expected`, for at most `within`; how long it took.
    async fn wait_for(&self, expected: &[&str], within: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let names = self.names().await;
            if names == expected {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < within,
                "{}: still {names:?} after {within:?}, expected {expected:?}",
                self.base
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The value of the metric sample `sample` (name and labels), if present.
    async fn metric(&self, sample: &str) -> Option<f64> {
        self.text("/metrics")
            .await
            .lines()
            .find_map(|line| line.strip_prefix(sample).and_then(|rest| rest.trim().parse().ok()))
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.served.await.expect("joined").expect("served until shutdown");
    }
}

fn write_token() -> (String, AuthConfig) {
    let (token, line) = generate_token("ci", Scopes { read: true, write: true }).expect("token");
    let tokens = Arc::new(TokenSource::fixed(TokenSet::parse(&line).expect("tokens")));
    (token, AuthConfig { tokens: Some(tokens), ..AuthConfig::default() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_sqlite_file_sync_once_and_both_serve_each_commit() {
    let dir = tempfile::tempdir().expect("dir");
    let source = TestDocumentServer::start(catalog(&["io.example/one"])).await;
    let spec = url_registry(&source.url(), "1h");
    let database = dir.path().join("shared.db");
    let (token, auth) = write_token();
    let server = |id: &str| {
        let (spec, database, cache, auth) = (spec.clone(), database.clone(), dir.path().join(id), auth.clone());
        let id = id.to_owned();
        async move {
            let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&database).await.expect("store"));
            let server = ServerBuilder::new(store, vec![spec])
                .auth(auth)
                .replica_id(id)
                .catalog_poll_interval(Duration::from_millis(200))
                .scheduler(cache)
                .start()
                .await
                .expect("start");
            Running::start(server).await
        }
    };
    let a = server("replica-a").await;
    a.wait_for(&["io.example/one"], Duration::from_secs(10)).await;
    let b = server("replica-b").await;
    b.wait_for(&["io.example/one"], Duration::from_secs(2)).await;
    let held = r#"thv_sync_lease_held{registry="team",replica="#;
    assert_eq!(a.metric(&format!("{held}\"replica-a\"}}")).await, Some(1.0), "A syncs");
    assert_eq!(b.metric(&format!("{held}\"replica-b\"}}")).await, Some(0.0), "B does not");

    // A manual sync asked of B is run by A; B answers once it serves the result, A serves it too.
    source.set_body(catalog(&["io.example/one", "io.example/two"]));
    let asked = Instant::now();
    let reply = b
        .client
        .post(format!("{}/api/v1/registries/team/sync", b.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("POST");
    assert_eq!(reply.status().as_u16(), 200);
    // SQLite pushes no events: A finds B's request when its catalog poll (200 ms here) wakes its scheduler.
    assert!(asked.elapsed() < Duration::from_secs(2), "answered after {:?}", asked.elapsed());
    let body: Value = serde_json::from_str(&reply.text().await.expect("body")).expect("JSON");
    assert_eq!(body["report"]["outcome"], "success", "{body}");
    assert_eq!(b.names().await, ["io.example/one", "io.example/two"], "served before the answer");
    a.wait_for(&["io.example/one", "io.example/two"], Duration::from_secs(1)).await;
    assert_eq!(source.counts().0, 2, "two syncs, two fetches");
    let runs = r#"thv_sync_runs_total{registry="team",outcome="success"}"#;
    assert_eq!(a.metric(runs).await, Some(2.0), "both syncs ran on A");
    assert_eq!(b.metric(runs).await, None, "none on B");

    // A commit B did not ask for (the next one A makes) reaches B by the catalog-version poll.
    source.set_body(catalog(&["io.example/three"]));
    let again = a.client.post(format!("{}/api/v1/registries/team/sync", a.base)).bearer_auth(&token).send().await;
    assert_eq!(again.expect("POST").status().as_u16(), 200);
    let took = b.wait_for(&["io.example/three"], Duration::from_secs(2)).await;
    assert!(took < Duration::from_secs(1), "the 200 ms poll saw it after {took:?}");
    a.stop().await;
    b.stop().await;
}

fn url_of(db: &thv_testdata::postgres::TestDatabase) -> PostgresUrl {
    PostgresUrl::parse(&db.url).expect("url").with_password(db.password.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_replicas_on_postgres_serve_each_commit_within_2_s_by_notification() {
    let Some(db) = fresh_database() else { return };
    let writer = PostgresStore::open(&url_of(&db)).await.expect("writer");
    writer.commit_sync(&commit("team", vec![to_version(&record("io.example/one", "1.0.0"))])).await.expect("commit");
    let spec = url_registry("http://127.0.0.1:9/never-fetched.json", "1h");
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let store: Arc<dyn Store> = Arc::new(PostgresStore::open(&url_of(&db)).await.expect("replica"));
        // No poll to speak of: only a notification can make a replica reload in time.
        let server = ServerBuilder::new(store, vec![spec.clone()])
            .catalog_poll_interval(Duration::from_secs(3600))
            .start()
            .await
            .expect("start");
        replicas.push(Running::start(server).await);
    }
    for replica in &replicas {
        replica.wait_for(&["io.example/one"], Duration::from_secs(1)).await;
    }
    // Committed right away: a replica listens from before its first load, so misses nothing in between.

    let (one, two, three) = ("io.example/one", "io.example/two", "io.example/three");
    let gone = |name: &str| thv_store::NameVersion { name: name.to_owned(), version: "1.0.0".to_owned() };
    for (round, names, removals) in [(0, vec![one, two], vec![]), (1, vec![three], vec![gone(one), gone(two)])] {
        if round == 1 {
            // Cut every listening connection: the feeds reconnect and the replicas check every catalog.
            let cluster = shared_cluster().expect("cluster");
            let sql = format!(
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{}' AND query LIKE 'LISTEN%') t",
                db.name
            );
            assert_eq!(cluster.psql("postgres", &sql).trim(), "2", "one listener per replica");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let mut next = commit("team", names.iter().map(|n| to_version(&record(n, "1.0.0"))).collect());
        next.removals = removals;
        writer.commit_sync(&next).await.expect("commit");
        for replica in &replicas {
            let took = replica.wait_for(&names, Duration::from_secs(2)).await;
            eprintln!("round {round}: {} served the commit after {took:?}", replica.base);
        }
    }
    for replica in replicas {
        replica.stop().await;
    }
}
