//! The library entry point over real loopback HTTP: a read-only replica that reloads when told the store
//! changed, and a server running the scheduler that serves each committed sync.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{commit, to_version};
use serde_json::{Value, json};
use thv_api::auth::{AuthConfig, Scopes, TokenSet, TokenSource, generate_token};
use thv_api::{Server, ServerBuilder};
use thv_store::{SqliteStore, Store};
use thv_sync::RegistrySpec;
use tokio::sync::oneshot;

/// A `{server, _meta}` record of `name` at `version`.
fn record(name: &str, version: &str) -> Value {
    json!({
        "server": {"name": name, "description": format!("{name} {version}"), "version": version},
        "_meta": {"io.modelcontextprotocol.registry/official": {
            "status": "active", "publishedAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-01-02T00:00:00Z",
            "isLatest": true}}
    })
}

/// A registry reading the file at `path`, synced hourly (the first sync runs at once).
fn file_registry(name: &str, path: &std::path::Path) -> RegistrySpec {
    serde_json::from_value(json!({"name": name, "source": {"file": {"path": path}}, "syncPolicy": {"interval": "1h"}}))
        .expect("spec")
}

/// A server running on a loopback port; dropping `stop` (or sending on it) shuts it down.
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

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.client.get(format!("{}{path}", self.base)).send().await.expect("GET");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The server names of `/v0.1/servers`, in order.
    async fn names(&self) -> Vec<String> {
        let (status, body) = self.get("/v0.1/servers?limit=100").await;
        assert_eq!(status, 200, "{body}");
        body["servers"]
            .as_array()
            .expect("servers")
            .iter()
            .map(|item| {
                let text = |field: &str| item["server"][field].as_str().unwrap_or_default().to_owned();
                format!("{}@{}", text("name"), text("version"))
            })
            .collect()
    }

    /// Polls `/v0.1/servers` until it lists `expected`, for at most `within`; returns how long it took.
    async fn wait_for(&self, expected: &[&str], within: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let names = self.names().await;
            if names == expected {
                return started.elapsed();
            }
            assert!(started.elapsed() < within, "still serving {names:?} after {within:?}, expected {expected:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.served.await.expect("joined").expect("served until shutdown");
    }
}

#[tokio::test]
async fn a_read_only_replica_serves_what_others_commit_once_told() {
    let dir = tempfile::tempdir().expect("dir");
    let database = dir.path().join("shared.db");
    // The writer (an operator, another replica) and the replica have their own connections to one database.
    let writer = SqliteStore::open(&database).await.expect("writer");
    writer.commit_sync(&commit("team", vec![to_version(&record("io.example/one", "1.0.0"))])).await.expect("commit");
    let replica: Arc<dyn Store> = Arc::new(SqliteStore::open(&database).await.expect("replica"));
    let spec = file_registry("team", &dir.path().join("never-read.json"));
    let (writer_token, line) = generate_token("ci", Scopes { read: true, write: true }).expect("token");
    let tokens = Arc::new(TokenSource::fixed(TokenSet::parse(&line).expect("tokens")));
    let auth = AuthConfig { tokens: Some(tokens), ..AuthConfig::default() };
    let server = ServerBuilder::new(replica, vec![spec]).auth(auth).start().await.expect("start");
    assert!(server.state().is_ready(), "ready once the stored catalogs are loaded");
    let reload = server.reload_handle();
    let running = Running::start(server).await;

    assert_eq!(running.names().await, ["io.example/one@1.0.0"]);
    let (status, ready) = running.get("/readyz").await;
    assert_eq!((status, ready["registries"].as_u64()), (200, Some(1)), "{ready}");

    // A commit from outside is not served until the server is told.
    let two = vec![to_version(&record("io.example/one", "1.0.0")), to_version(&record("io.example/two", "2.0.0"))];
    writer.commit_sync(&commit("team", two)).await.expect("commit");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(running.names().await.len(), 1, "no scheduler and no request: the snapshot stays");
    reload.request();
    reload.request(); // Coalesced with the first.
    running.wait_for(&["io.example/one@1.0.0", "io.example/two@2.0.0"], Duration::from_secs(2)).await;

    // The awaited form returns once the change is served.
    writer.commit_sync(&commit("team", vec![to_version(&record("io.example/three", "3.0.0"))])).await.expect("commit");
    reload.reload().await.expect("reload");
    assert_eq!(running.names().await, ["io.example/one@1.0.0", "io.example/three@3.0.0", "io.example/two@2.0.0"]);
    let metrics = running.client.get(format!("{}/metrics", running.base)).send().await.expect("GET");
    let metrics = metrics.text().await.expect("text");
    assert!(metrics.contains("thv_registry_servers{registry=\"team\"} 3"), "{metrics}");

    // A replica runs no syncs: a write token gets 503, not a sync.
    let sync = running
        .client
        .post(format!("{}/api/v1/registries/team/sync", running.base))
        .bearer_auth(&writer_token)
        .send()
        .await
        .expect("POST");
    assert_eq!(sync.status().as_u16(), 503);
    assert!(sync.text().await.expect("text").contains("does not run syncs"));
    running.stop().await;
    writer.close().await;
}

#[tokio::test]
async fn with_a_scheduler_each_committed_sync_is_served() {
    let dir = tempfile::tempdir().expect("dir");
    let source = dir.path().join("catalog.json");
    std::fs::write(&source, Value::Array(vec![record("io.example/alpha", "1.0.0")]).to_string()).expect("write");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("serve.db")).await.expect("store"));
    let (writer, line) = generate_token("ci", Scopes { read: true, write: true }).expect("token");
    let tokens = Arc::new(TokenSource::fixed(TokenSet::parse(&line).expect("tokens")));
    let server = ServerBuilder::new(Arc::clone(&store), vec![file_registry("local", &source)])
        .auth(AuthConfig { tokens: Some(tokens), ..AuthConfig::default() })
        .scheduler(dir.path().join("cache"))
        .start()
        .await
        .expect("start");
    let running = Running::start(server).await;
    // The first sync of a registry that never synced runs at once.
    running.wait_for(&["io.example/alpha@1.0.0"], Duration::from_secs(10)).await;

    std::fs::write(
        &source,
        Value::Array(vec![record("io.example/alpha", "1.0.0"), record("io.example/beta", "1.0.0")]).to_string(),
    )
    .expect("write");
    let sync = running
        .client
        .post(format!("{}/api/v1/registries/local/sync", running.base))
        .bearer_auth(&writer)
        .send()
        .await
        .expect("POST");
    assert_eq!(sync.status().as_u16(), 200);
    assert_eq!(running.names().await, ["io.example/alpha@1.0.0", "io.example/beta@1.0.0"]);
    let metrics = running.client.get(format!("{}/metrics", running.base)).send().await.expect("GET");
    let metrics = metrics.text().await.expect("text");
    assert!(metrics.contains("thv_sync_runs_total{registry=\"local\",outcome=\"success\"} 2"), "{metrics}");
    running.stop().await;
}
