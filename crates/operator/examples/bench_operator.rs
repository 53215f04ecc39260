//! The operator's cost at scale, measured on its own process: this program serves the fake Kubernetes API
//! server (crates/kube-fake) over HTTP on loopback, seeds COUNT source ConfigMaps of ~50 servers, starts the
//! operator as a separate process of this same binary (`operator` mode: `thv_operator::controller::
//! run_operator` with the cluster backend, as `thv operator run` runs it, reaching the API through a
//! kubeconfig), creates COUNT MCPRegistries and prints, for the operator process only (from /proc): the time
//! and CPU to sync them all, its CPU while idle, the latency from a source ConfigMap edit to the storage
//! ConfigMap write (p50/p99), and its RSS.
//!   bench/operator.sh [COUNT] [IDLE_SECONDS]

use std::io::Read as _;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use thv_kube_fake::FakeApiServer;
use thv_operator::McpRegistry;
use thv_operator::conditions::{self, ConditionType};
use thv_operator::controller::workload::ApiPodTemplate;
use thv_operator::controller::{ClusterBackend, OperatorOptions, Settings};

/// The allocator of `thv` (its `jemalloc` feature), so that the RSS measured is the one `thv operator run` has.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

const NAMESPACE: &str = "default";

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("operator") => operator(),
        first => {
            let count: usize = first.map(str::parse).transpose()?.unwrap_or(100);
            let idle_seconds: u64 = args.next().map(|v| v.parse()).transpose()?.unwrap_or(60);
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?
                .block_on(drive(count, idle_seconds))
        }
    }
}

/// The operator process: runs until its stdin closes.
fn operator() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let client = kube::Client::try_default().await?;
        let cache = std::env::temp_dir().join(format!("thv-bench-operator-{}", std::process::id()));
        let backend = Arc::new(ClusterBackend::new(client.clone(), cache));
        let options = OperatorOptions {
            settings: Settings {
                namespace: None,
                concurrency: 2,
                api: ApiPodTemplate { image: "ghcr.io/thv-registry/thv-registry:bench".into() },
                instance: Some("bench".into()),
                job_backoff: Default::default(),
            },
            metrics_addr: "127.0.0.1:0".parse()?,
            leader: None,
        };
        let stdin_closed = async {
            let _ = tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await;
        };
        thv_operator::controller::run_operator(client, backend, options, stdin_closed).await?;
        Ok(())
    })
}

/// Serves `fake` over HTTP on loopback; returns its URL.
async fn serve(fake: FakeApiServer) -> Result<String> {
    async fn forward(
        axum::extract::State(fake): axum::extract::State<FakeApiServer>,
        request: axum::extract::Request,
    ) -> axum::response::Response {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
        let request = axum::http::Request::from_parts(parts, kube::client::Body::from(bytes));
        let mut fake = fake;
        match tower::Service::call(&mut fake, request).await {
            Ok(response) => response.map(axum::body::Body::new),
            Err(never) => match never {},
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = axum::Router::new().fallback(forward).with_state(fake);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

fn kubeconfig(url: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters: [{{name: fake, cluster: {{server: \"{url}\"}}}}]\n\
         users: [{{name: bench, user: {{}}}}]\ncontexts: [{{name: fake, context: {{cluster: fake, user: bench, \
         namespace: {NAMESPACE}}}}}]\ncurrent-context: fake\n"
    )
}

/// A catalog of 50 `server.json` records (an MCP Registry API page), at `version`.
fn catalog(index: usize, version: usize) -> String {
    let servers: Vec<Value> = (0..50)
        .map(|server| {
            let name = format!("io.example/server-{index}-{server}");
            json!({"server": {
                "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
                "name": name,
                "version": format!("1.0.{version}"),
                "description": "A benchmark MCP server with a description of typical length for the catalog.",
                "repository": {"url": format!("https://github.com/example/server-{server}"), "source": "github"},
                "packages": [{"registryType": "npm", "identifier": format!("@example/server-{server}"),
                              "version": format!("1.0.{version}"), "transport": {"type": "stdio"}}]
            }})
        })
        .collect();
    json!({"servers": servers, "metadata": {"count": 50}}).to_string()
}

/// Clock ticks of user and system CPU of process `pid`, in seconds (100 ticks per second on Linux).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or_default().split_whitespace().collect();
    let ticks = |index: usize| fields.get(index).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// A `/proc/<pid>/status` line in MB (`VmRSS`, `VmHWM`).
fn memory_mb(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

fn synced(registry: Option<&McpRegistry>) -> bool {
    registry.and_then(|r| r.status.as_ref()).is_some_and(|s| conditions::is_true(&s.conditions, ConditionType::Synced))
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "OVER TARGET" }
}

async fn drive(count: usize, idle_seconds: u64) -> Result<()> {
    let fake = FakeApiServer::new();
    // Every kind the operator watches (the MCPRegistries and the jobs), as `kubectl apply -k deploy/` installs.
    for crd in thv_operator::crds() {
        fake.register_crd(&crd);
    }
    let url = serve(fake.clone()).await?;
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("kubeconfig");
    std::fs::write(&config, kubeconfig(&url))?;

    let user = fake.client_as("user");
    let configmaps: Api<ConfigMap> = Api::namespaced(user.clone(), NAMESPACE);
    let registries: Api<McpRegistry> = Api::namespaced(user, NAMESPACE);
    for index in 0..count {
        let source = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("source-{index}")},
                            "data": {"registry.json": catalog(index, 0)}});
        configmaps.create(&PostParams::default(), &serde_json::from_value(source)?).await?;
    }
    let source_bytes = catalog(0, 0).len();

    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .arg("operator")
        .env("KUBECONFIG", &config)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().ok_or("the operator exited at once")?;

    let started = Instant::now();
    for index in 0..count {
        let registry = json!({"apiVersion": "toolhive.stacklok.io/v1alpha1", "kind": "MCPRegistry",
                              "metadata": {"name": format!("registry-{index}")},
                              "spec": {"source": {"type": "configmap", "configMap": {"name": format!("source-{index}")}}}});
        registries.create(&PostParams::default(), &serde_json::from_value(registry)?).await?;
    }
    for index in 0..count {
        fake.wait_for::<McpRegistry>(NAMESPACE, &format!("registry-{index}"), Duration::from_secs(300), synced).await?;
    }
    let sync_all = started.elapsed();
    println!(
        "sync {count} MCPRegistries (ConfigMap sources of 50 servers, {source_bytes} bytes each; API Deployments on): \
         {:.0} ms wall, {:.2} s operator CPU",
        sync_all.as_secs_f64() * 1000.0,
        cpu_seconds(pid)
    );

    // Let the last status writes and their watch events settle before measuring idleness.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle_start = cpu_seconds(pid);
    tokio::time::sleep(Duration::from_secs(idle_seconds)).await;
    let idle_cores = (cpu_seconds(pid) - idle_start) / idle_seconds as f64;
    println!("idle {idle_seconds} s: {idle_cores:.4} cores (target <= 0.01: {})", verdict(idle_cores <= 0.01));

    let mut latencies = Vec::new();
    let edit_cpu_start = cpu_seconds(pid);
    for index in 0..count {
        let storage = thv_operator::labels::storage_config_map_name(&format!("registry-{index}"));
        let before: Option<ConfigMap> = fake.get(NAMESPACE, &storage)?;
        let before = before.and_then(|c| c.metadata.resource_version);
        let patch = json!({"data": {"registry.json": catalog(index, 1)}});
        let edit_started = Instant::now();
        configmaps.patch(&format!("source-{index}"), &PatchParams::default(), &Patch::Merge(&patch)).await?;
        fake.wait_for::<ConfigMap>(NAMESPACE, &storage, Duration::from_secs(30), |c| {
            c.and_then(|c| c.metadata.resource_version.clone()) != before
        })
        .await?;
        latencies.push(edit_started.elapsed());
    }
    let edit_cpu = cpu_seconds(pid) - edit_cpu_start;
    latencies.sort();
    let p99 = percentile(&latencies, 0.99);
    println!(
        "source ConfigMap edit -> storage ConfigMap written ({count} edits, one at a time): p50 {:.1} ms, p99 {:.1} ms, \
         max {:.1} ms, {edit_cpu:.2} s operator CPU (target p99 <= 1 s: {})",
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        p99.as_secs_f64() * 1000.0,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        verdict(p99 <= Duration::from_secs(1))
    );
    let peak = memory_mb(pid, "VmHWM");
    println!(
        "operator RSS: {:.1} MB now, {peak:.1} MB peak (target <= 50 MB: {})",
        memory_mb(pid, "VmRSS"),
        verdict(peak <= 50.0)
    );
    println!("requests the fake answered: {}", fake.requests().len());

    drop(child.stdin.take());
    match tokio::time::timeout(Duration::from_secs(10), child.wait()).await {
        Ok(status) => println!("operator stopped on its own after stdin closed: {}", status?),
        Err(_) => {
            child.kill().await?;
            println!("operator did not stop within 10 s: killed");
        }
    }
    Ok(())
}
