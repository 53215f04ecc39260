//! Several `thv registry serve` processes (the built binary) on one PostgreSQL database, with a URL source
//! on a loopback server that counts its fetches: one fetch per sync, all by the lease holder, one full
//! fetch per change; every replica serves each commit within 2 s of it; a SIGKILLed holder's lease moves
//! within one interval, the survivors keep serving and the new holder syncs the next change; a manual
//! sync asked of a replica without the lease is run by the holder.
//!
//! Runs on the test binary's private PostgreSQL cluster; skips with a note when PostgreSQL is not
//! installed, unless `THV_REQUIRE_TOOLS=1`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use thv_store::{PostgresStore, PostgresUrl, Store, SyncOutcome};
use thv_testdata::postgres::{TestDatabase, fresh_database};
use thv_testdata::servers::TestDocumentServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn record(name: &str) -> Value {
    json!({
        "server": {"name": name, "description": format!("{name}, for the replica test"), "version": "1.0.0"},
        "_meta": {"io.modelcontextprotocol.registry/official": {
            "status": "active", "publishedAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-01-02T00:00:00Z",
            "isLatest": true}}
    })
}

fn catalog(names: &[&str]) -> Vec<u8> {
    Value::Array(names.iter().map(|n| record(n)).collect()).to_string().into_bytes()
}

/// A `thv registry serve` process, SIGKILLed when dropped; its log lines are collected.
struct Replica {
    id: String,
    addr: String,
    child: Child,
    log: Option<std::thread::JoinHandle<Vec<String>>>,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the replicas of one test live: the database, the config, the token file.
struct Cluster {
    dir: tempfile::TempDir,
    db: TestDatabase,
    config: PathBuf,
    tokens: PathBuf,
}

impl Cluster {
    fn new(db: TestDatabase, source: &str, interval: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("registries.yaml");
        std::fs::write(
            &config,
            format!(
                "registries:\n  - name: team\n    source:\n      url:\n        url: '{source}'\n    syncPolicy:\n      interval: {interval}\n"
            ),
        )
        .expect("config");
        let tokens = dir.path().join("tokens");
        Self { dir, db, config, tokens }
    }

    fn command(&self, id: &str) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_thv"));
        cmd.env("THV_CONFIG", &self.config)
            .env("THV_DATABASE", self.db.url_with_password())
            .env("THV_TOKEN_FILE", &self.tokens)
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("XDG_CACHE_HOME", self.dir.path().join(format!("cache-{id}")))
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .env_remove("THV_DATABASE_PASSWORD_FILE")
            .env_remove("PGPASSWORD")
            .stdin(Stdio::null());
        cmd
    }

    /// A write token in the replicas' token file.
    fn write_token(&self) -> String {
        let out = self
            .command("token")
            .args(["registry", "token", "create", "ci", "--scope", "write"])
            .output()
            .expect("thv");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf8").trim().to_owned()
    }

    /// Starts `thv registry serve --replica-id ID` and waits until it listens.
    fn start(&self, id: &str) -> Replica {
        let mut child = self
            .command(id)
            .args(["registry", "serve", "--listen", "127.0.0.1:0", "--replica-id", id])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("thv starts");
        let stderr = child.stderr.take().expect("stderr");
        let (listening, address) = std::sync::mpsc::channel();
        let log = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(event) = serde_json::from_str::<Value>(&line)
                    && event["message"] == "serving"
                {
                    let _ = listening.send(event["address"].as_str().unwrap_or_default().to_owned());
                }
                lines.push(line);
            }
            lines
        });
        let addr = address.recv_timeout(Duration::from_secs(30)).expect("the replica said where it listens");
        let addr = addr.trim_start_matches("http://").to_owned();
        Replica { id: id.to_owned(), addr, child, log: Some(log) }
    }

    async fn store(&self) -> PostgresStore {
        let url = PostgresUrl::parse(&self.db.url).expect("url").with_password(self.db.password.clone());
        PostgresStore::open(&url).await.expect("store")
    }
}

/// `METHOD path` with an optional bearer token over a fresh connection: (status, body).
async fn http(addr: &str, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let request =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

impl Replica {
    /// The names `/v0.1/servers` lists (the body is small: no chunking or gzip for this client).
    async fn names(&self) -> Vec<String> {
        let (status, body) = http(&self.addr, "GET", "/v0.1/servers?limit=100", None).await;
        assert_eq!(status, 200, "{}: {body}", self.id);
        let body: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{}: {e}: {body}", self.id));
        body["servers"]
            .as_array()
            .expect("servers")
            .iter()
            .map(|s| s["server"]["name"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    /// The value of a metric sample (name with labels), 0 when absent.
    async fn metric(&self, sample: &str) -> f64 {
        let (status, body) = http(&self.addr, "GET", "/metrics", None).await;
        assert_eq!(status, 200, "{}", self.id);
        body.lines().find_map(|l| l.strip_prefix(sample).and_then(|v| v.trim().parse().ok())).unwrap_or(0.0)
    }

    async fn holds_lease(&self) -> bool {
        self.metric(&format!("thv_sync_lease_held{{registry=\"team\",replica=\"{}\"}}", self.id)).await == 1.0
    }

    async fn syncs(&self, outcome: &str) -> f64 {
        self.metric(&format!("thv_sync_runs_total{{registry=\"team\",outcome=\"{outcome}\"}}")).await
    }

    fn logs(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.log.take().map(|log| log.join().expect("log")).unwrap_or_default()
    }
}

/// Polls every replica until each serves `expected`, for at most `within`; when each was first seen
/// serving it.
async fn until_served(replicas: &[&Replica], expected: &[&str], within: Duration) -> Vec<SystemTime> {
    let started = Instant::now();
    let mut seen = vec![None; replicas.len()];
    while seen.iter().any(Option::is_none) {
        for (i, replica) in replicas.iter().enumerate() {
            if seen[i].is_none() && replica.names().await == expected {
                seen[i] = Some(SystemTime::now());
            }
        }
        assert!(started.elapsed() < within, "not every replica served {expected:?} within {within:?}: {seen:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    seen.into_iter().flatten().collect()
}

/// When the last committed run of `team` finished (its commit follows at once).
async fn last_commit(store: &PostgresStore) -> SystemTime {
    let runs = store.runs("team", 100).await.expect("runs");
    let run = runs.iter().find(|r| r.outcome == SyncOutcome::Success).expect("a committed run");
    let at: jiff::Timestamp = run.finished_at.parse().expect("RFC 3339");
    SystemTime::from(at)
}

/// Full fetches (answered 200, not 304) of the source so far.
fn full_fetches(source: &TestDocumentServer) -> usize {
    let (requests, not_modified) = source.counts();
    requests - not_modified
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_sync_once_serve_each_commit_and_survive_the_holder_s_death() {
    let Some(db) = fresh_database() else { return };
    let (one, two, three) = ("io.example/one", "io.example/two", "io.example/three");
    let source = TestDocumentServer::start(catalog(&[one])).await;
    // A 4 s interval: a 2 s lease, renewed (and tried by the others) every 667 ms.
    let interval = Duration::from_secs(4);
    let cluster = Cluster::new(db, &source.url(), "4s");
    let store = cluster.store().await;
    let mut replicas: Vec<Replica> = ["r1", "r2", "r3"].iter().map(|id| cluster.start(id)).collect();
    let all: Vec<&Replica> = replicas.iter().collect();
    until_served(&all, &[one], Duration::from_secs(20)).await;
    let mut holders = Vec::new();
    for replica in &replicas {
        if replica.holds_lease().await {
            holders.push(replica.id.clone());
        }
    }
    assert_eq!(holders.len(), 1, "exactly one replica holds the lease: {holders:?}");
    let holder = replicas.iter().position(|r| r.id == holders[0]).expect("holder");

    // A change: synced once, by the holder, and served by all three within 2 s of the commit.
    source.set_body(catalog(&[one, two]));
    let seen = until_served(&all, &[one, two], interval + Duration::from_secs(5)).await;
    let committed = last_commit(&store).await;
    for (replica, at) in replicas.iter().zip(&seen) {
        let after = at.duration_since(committed).unwrap_or_default();
        eprintln!("{} served the commit {after:?} after it", replica.id);
        assert!(after <= Duration::from_secs(2), "{} served the commit {after:?} after it", replica.id);
    }
    assert_eq!(full_fetches(&source), 2, "one full fetch per change");
    // Fetches, stored runs and each replica's sync counts agree (read again when a sync was under way).
    let mut attempts = 0;
    let (runs, synced_here) = loop {
        let fetches = source.counts().0;
        let runs = store.runs("team", 1_000).await.expect("runs").len();
        let mut synced_here = Vec::new();
        for replica in &replicas {
            synced_here.push(replica.syncs("success").await + replica.syncs("unchanged").await);
        }
        if fetches == runs && synced_here[holder] as usize == runs || attempts == 20 {
            assert_eq!(fetches, runs, "one fetch per sync");
            break (runs, synced_here);
        }
        attempts += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for (i, count) in synced_here.iter().enumerate() {
        if i == holder {
            assert_eq!(*count as usize, runs, "every sync ran on the holder");
        } else {
            assert_eq!(*count, 0.0, "{} fetched the source", replicas[i].id);
        }
    }

    // SIGKILL the holder: another replica takes the lease within one interval; the others keep serving.
    let dead = replicas.remove(holder);
    let dead_id = dead.id.clone();
    let dead_logs = dead.logs();
    let killed = Instant::now();
    let survivors: Vec<&Replica> = replicas.iter().collect();
    let new_holder = loop {
        for replica in &survivors {
            assert_eq!(replica.names().await, [one, two], "{} kept serving", replica.id);
        }
        let mut held = None;
        for replica in &survivors {
            if replica.holds_lease().await {
                held = Some(replica.id.clone());
            }
        }
        if let Some(id) = held {
            break id;
        }
        assert!(killed.elapsed() <= interval, "the lease of {dead_id} did not move within {interval:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!("{new_holder} took the lease {:?} after {dead_id} was killed", killed.elapsed());

    // The next change is synced by the new holder and served by both survivors.
    source.set_body(catalog(&[one, three, two]));
    let seen = until_served(&survivors, &[one, three, two], interval + Duration::from_secs(5)).await;
    let committed = last_commit(&store).await;
    for (replica, at) in survivors.iter().zip(&seen) {
        let after = at.duration_since(committed).unwrap_or_default();
        assert!(after <= Duration::from_secs(2), "{} served the commit {after:?} after it", replica.id);
    }
    let new = survivors.iter().find(|r| r.id == new_holder).expect("new holder");
    assert_eq!(new.syncs("success").await, 1.0, "the new holder committed the change");
    assert_eq!(full_fetches(&source), 3, "still one full fetch per change");
    // Nothing was lost: the stored catalog is the last change, no sync failed.
    let stored: Vec<String> = store.catalog("team").await.expect("catalog").into_iter().map(|v| v.name).collect();
    assert_eq!(stored, [one, three, two]);
    let runs = store.runs("team", 1_000).await.expect("runs");
    assert!(runs.iter().all(|r| r.outcome != SyncOutcome::Failed), "{runs:?}");

    let password = cluster.db.password.clone();
    let mut logs = dead_logs;
    for replica in replicas {
        logs.extend(replica.logs());
    }
    assert!(logs.iter().all(|l| !l.contains(&password)), "the database password was logged");
    assert!(logs.iter().any(|l| l.contains("holding the sync lease")), "lease changes are logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_sync_asked_of_a_replica_without_the_lease_is_run_by_the_holder() {
    let Some(db) = fresh_database() else { return };
    let source = TestDocumentServer::start(catalog(&["io.example/one"])).await;
    let cluster = Cluster::new(db, &source.url(), "1h");
    let token = cluster.write_token();
    let replicas = [cluster.start("r1"), cluster.start("r2")];
    let all: Vec<&Replica> = replicas.iter().collect();
    until_served(&all, &["io.example/one"], Duration::from_secs(20)).await;
    let holder = if replicas[0].holds_lease().await { 0 } else { 1 };
    let (holder, other) = (&replicas[holder], &replicas[1 - holder]);
    assert!(!other.holds_lease().await);

    source.set_body(catalog(&["io.example/one", "io.example/two"]));
    let asked = Instant::now();
    let (status, body) = http(&other.addr, "POST", "/api/v1/registries/team/sync", Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(body["report"]["outcome"], "success", "{body}");
    assert_eq!(body["report"]["counts"]["added"], 1, "{body}");
    eprintln!("the manual sync answered after {:?}", asked.elapsed());
    assert_eq!(other.names().await, ["io.example/one", "io.example/two"], "served before the answer");
    assert_eq!((holder.syncs("success").await, other.syncs("success").await), (2.0, 0.0), "the holder ran it");
    assert_eq!(source.counts().0, 2);
}
