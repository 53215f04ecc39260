//! The cost of the fake under a real kube-runtime `Controller`: N custom resources, each reading a source
//! ConfigMap (~50 servers of JSON) and writing an owned storage ConfigMap and its status. Prints the time
//! and CPU to reconcile all, the CPU while idle, the latency from a source edit to the storage write
//! (p50/p99), and the peak RSS of the process (fake and controller together).
//!   cargo run --release -p thv-kube-fake --example bench_controller [COUNT] [IDLE_SECONDS]

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, CustomResource, CustomResourceExt, Resource, ResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use thv_kube_fake::FakeApiServer;

#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, JsonSchema)]
#[kube(group = "example.com", version = "v1", kind = "Catalog", namespaced, status = "CatalogStatus")]
struct CatalogSpec {
    source: String,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct CatalogStatus {
    revision: String,
}

#[derive(Debug, thiserror::Error)]
enum Error {
    #[error(transparent)]
    Kube(#[from] kube::Error),
    #[error("incomplete object")]
    Incomplete,
}

const MANAGER: &str = "bench-controller";

async fn reconcile(catalog: Arc<Catalog>, client: Arc<Client>) -> Result<Action, Error> {
    let namespace = catalog.namespace().ok_or(Error::Incomplete)?;
    let configmaps: Api<ConfigMap> = Api::namespaced((*client).clone(), &namespace);
    let source = configmaps.get(&catalog.spec.source).await?;
    let revision = source.resource_version().unwrap_or_default();
    let data = source.data.unwrap_or_default();
    let storage = ConfigMap {
        metadata: ObjectMeta {
            name: Some(format!("{}-storage", catalog.name_any())),
            owner_references: Some(vec![catalog.controller_owner_ref(&()).ok_or(Error::Incomplete)?]),
            annotations: Some([("example.com/source-revision".to_string(), revision.clone())].into()),
            ..ObjectMeta::default()
        },
        data: Some(data),
        ..ConfigMap::default()
    };
    configmaps.patch(&storage.name_any(), &PatchParams::apply(MANAGER).force(), &Patch::Apply(&storage)).await?;
    let status = json!({"apiVersion": "example.com/v1", "kind": "Catalog", "status": {"revision": revision}});
    Api::<Catalog>::namespaced((*client).clone(), &namespace)
        .patch_status(&catalog.name_any(), &PatchParams::apply(MANAGER).force(), &Patch::Apply(&status))
        .await?;
    Ok(Action::await_change())
}

fn cpu_seconds() -> f64 {
    // utime + stime of the whole process, in clock ticks (100 per second on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or_default().split_whitespace().collect();
    let ticks = |index: usize| fields.get(index).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn servers_json(index: usize, version: usize) -> String {
    let servers: Vec<_> = (0..50)
        .map(|server| {
            json!({"name": format!("io.example/server-{index}-{server}"), "version": format!("1.0.{version}"),
                "description": "A benchmark MCP server with a description of typical length for the catalog.",
                "packages": [{"registryType": "npm", "identifier": format!("@example/server-{server}"), "transport": {"type": "stdio"}}]})
        })
        .collect();
    json!({"servers": servers}).to_string()
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().map(|v| v.parse()).transpose()?.unwrap_or(100);
    let idle_seconds: u64 = args.next().map(|v| v.parse()).transpose()?.unwrap_or(10);

    let fake = FakeApiServer::new();
    fake.register_crd(&Catalog::crd());
    let user = fake.client_as("user");
    let configmaps: Api<ConfigMap> = Api::default_namespaced(user.clone());
    let catalogs: Api<Catalog> = Api::default_namespaced(user);
    for index in 0..count {
        let source = ConfigMap {
            metadata: ObjectMeta { name: Some(format!("source-{index}")), ..ObjectMeta::default() },
            data: Some([("registry.json".to_string(), servers_json(index, 0))].into()),
            ..ConfigMap::default()
        };
        configmaps.create(&PostParams::default(), &source).await?;
    }
    let source_bytes = servers_json(0, 0).len();

    let client = fake.client_as("controller");
    let sources_to_catalogs = |source: ConfigMap| {
        let name = source.name_any();
        let index = name.strip_prefix("source-")?;
        Some(ObjectRef::<Catalog>::new(&format!("catalog-{index}")).within(&source.namespace()?))
    };
    let controller = Controller::new(Api::<Catalog>::all(client.clone()), watcher::Config::default())
        .owns(Api::<ConfigMap>::all(client.clone()), watcher::Config::default())
        .watches(Api::<ConfigMap>::all(client.clone()), watcher::Config::default(), sources_to_catalogs)
        .run(reconcile, |_, _, _| Action::requeue(Duration::from_millis(100)), Arc::new(client))
        .for_each(|_| async {});
    let controller = tokio::spawn(controller);

    let cpu_start = cpu_seconds();
    let started = Instant::now();
    for index in 0..count {
        let catalog = Catalog::new(&format!("catalog-{index}"), CatalogSpec { source: format!("source-{index}") });
        catalogs.create(&PostParams::default(), &catalog).await?;
    }
    for index in 0..count {
        fake.wait_for::<Catalog>("default", &format!("catalog-{index}"), Duration::from_secs(60), |c| {
            c.and_then(|c| c.status.as_ref()).is_some()
        })
        .await?;
    }
    let reconcile_all = started.elapsed();
    let reconcile_cpu = cpu_seconds() - cpu_start;
    println!(
        "reconcile {count} custom resources + {count} source ConfigMaps ({source_bytes} bytes each): {:.0} ms wall, {:.2} s CPU",
        reconcile_all.as_secs_f64() * 1000.0,
        reconcile_cpu
    );

    let idle_start = cpu_seconds();
    tokio::time::sleep(Duration::from_secs(idle_seconds)).await;
    let idle_cpu = cpu_seconds() - idle_start;
    println!("idle {idle_seconds} s: {:.3} s CPU = {:.4} cores", idle_cpu, idle_cpu / idle_seconds as f64);

    let mut latencies = Vec::new();
    let edit_cpu_start = cpu_seconds();
    for index in 0..count {
        let edited = configmaps
            .patch(
                &format!("source-{index}"),
                &PatchParams::default(),
                &Patch::Merge(json!({"data": {"registry.json": servers_json(index, 1)}})),
            )
            .await?;
        let revision = edited.resource_version().unwrap_or_default();
        let edit_started = Instant::now();
        fake.wait_for::<ConfigMap>("default", &format!("catalog-{index}-storage"), Duration::from_secs(10), |cm| {
            cm.and_then(|cm| cm.annotations().get("example.com/source-revision")) == Some(&revision)
        })
        .await?;
        latencies.push(edit_started.elapsed());
    }
    let edit_cpu = cpu_seconds() - edit_cpu_start;
    latencies.sort();
    println!(
        "source edit -> storage written ({count} edits, one at a time): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {:.2} s CPU",
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        edit_cpu
    );
    println!("requests answered: {}", fake.requests().len());
    println!("peak RSS: {:.1} MB", peak_rss_mb());
    controller.abort();
    Ok(())
}
