//! A real kube-runtime `Controller` (`thv_operator::controller::run`) against the fake API server, with
//! helpers to create sources and registries and to wait for what the controller writes.
#![allow(dead_code)] // The scenarios and the RBAC test use different parts.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use thv_kube_fake::FakeApiServer;
use thv_operator::McpRegistry;
use thv_operator::conditions::{self, ConditionType};
use thv_operator::controller::metrics::Metrics;
use thv_operator::controller::workload::ApiPodTemplate;
use thv_operator::controller::{ClusterBackend, Context, Readiness, Settings};
use thv_operator::jobs::lifecycle::Backoff;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Namespace of every test object.
pub const NS: &str = "default";
/// How long a scenario waits for the controller.
pub const WAIT: Duration = Duration::from_secs(15);
/// The client name of the controller's requests in the fake's log.
pub const OPERATOR: &str = "operator";

/// A fake API server that serves the operator's kinds (MCPRegistry and the jobs).
pub fn fake() -> FakeApiServer {
    let fake = FakeApiServer::new();
    for crd in thv_operator::crds() {
        fake.register_crd(&crd);
    }
    fake
}

/// The controller's context as `thv operator run` builds it, with its Git cache directory.
pub fn context(fake: &FakeApiServer, namespace: Option<&str>) -> (Arc<Context>, tempfile::TempDir) {
    let client = fake.client_as(OPERATOR);
    let cache = tempfile::tempdir().expect("cache dir");
    let backend = Arc::new(ClusterBackend::new(client.clone(), cache.path().to_path_buf()));
    let settings = Settings {
        namespace: namespace.map(ToOwned::to_owned),
        concurrency: 2,
        api: ApiPodTemplate { image: "ghcr.io/thv-registry/thv-registry:test".into() },
        instance: Some("operator-0".into()),
        // Short retries, so that the job scenarios see them within their wait.
        job_backoff: Backoff { initial: Duration::from_millis(300), max: Duration::from_secs(2) },
    };
    let metrics = Arc::new(Metrics::new());
    (Arc::new(Context::new(client, backend, settings, metrics)), cache)
}

/// A running controller.
pub struct Operator {
    task: JoinHandle<()>,
    stop: Option<oneshot::Sender<()>>,
    /// Its metrics.
    pub metrics: Arc<Metrics>,
    /// Its readiness.
    pub readiness: Arc<Readiness>,
    _cache: tempfile::TempDir,
}

impl Operator {
    /// Starts the controller for all namespaces (or `namespace`) against `fake`.
    pub fn start_in(fake: &FakeApiServer, namespace: Option<&str>) -> Self {
        let (ctx, cache) = context(fake, namespace);
        let metrics = Arc::clone(&ctx.metrics);
        let readiness = Arc::new(Readiness::default());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(thv_operator::controller::run(ctx, Arc::clone(&readiness), async {
            let _ = stopped.await;
        }));
        Self { task, stop: Some(stop), metrics, readiness, _cache: cache }
    }

    /// Starts the controller for all namespaces.
    pub fn start(fake: &FakeApiServer) -> Self {
        Self::start_in(fake, None)
    }

    /// Stops it gracefully and waits until it has.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(WAIT, &mut self.task).await.expect("the controller stops in time").expect("join");
    }

    /// Syncs the controller ran for `registry` with `outcome` (`success`, `unchanged`, `failed`).
    pub fn syncs(&self, registry: &str, outcome: &str) -> u64 {
        let text = self.metrics.encode().expect("metrics");
        let prefix =
            format!("thv_operator_syncs_total{{namespace=\"{NS}\",registry=\"{registry}\",outcome=\"{outcome}\"}} ");
        text.lines().find_map(|l| l.strip_prefix(&prefix)).and_then(|v| v.parse().ok()).unwrap_or(0)
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A `server.json` document.
pub fn server(name: &str, version: &str) -> Value {
    json!({
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        "name": name,
        "version": version,
        "description": format!("The {name} MCP server, version {version}."),
        "repository": {"url": format!("https://github.com/example/{}", name.replace('/', "-")), "source": "github"},
        "packages": [{"registryType": "oci", "identifier": format!("ghcr.io/example/{}:{version}", name.replace('/', "-")), "transport": {"type": "stdio"}}]
    })
}

/// A catalog document (an MCP Registry API page) of these servers at version `version`.
pub fn catalog(names: &[&str], version: &str) -> String {
    let servers: Vec<Value> = names.iter().map(|n| json!({"server": server(n, version)})).collect();
    json!({"servers": servers, "metadata": {"count": names.len()}}).to_string()
}

/// `count` servers `io.example/<prefix>-<i>`.
pub fn names(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("io.example/{prefix}-{i}")).collect()
}

/// Creates or replaces the source ConfigMap `name` with `document` under `registry.json`.
pub async fn put_configmap(fake: &FakeApiServer, name: &str, document: &str) {
    let api: Api<ConfigMap> = Api::namespaced(fake.client_as("user"), NS);
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"registry.json": document}});
    api.patch(name, &PatchParams::apply("user").force(), &Patch::Apply(&cm)).await.expect("apply the ConfigMap");
}

/// Creates or replaces the Secret `name` with one key.
pub async fn put_secret(fake: &FakeApiServer, name: &str, key: &str, value: &str) {
    let api: Api<Secret> = Api::namespaced(fake.client_as("user"), NS);
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": {}, "data": {key: base64(value)}});
    api.patch(name, &PatchParams::apply("user").force(), &Patch::Apply(&secret)).await.expect("apply the Secret");
}

fn base64(value: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(value)
}

/// Creates the MCPRegistry `name` with `spec`.
pub async fn create_registry(fake: &FakeApiServer, name: &str, spec: Value) -> McpRegistry {
    let registry: McpRegistry = serde_json::from_value(json!({
        "apiVersion": "toolhive.stacklok.io/v1alpha1", "kind": "MCPRegistry", "metadata": {"name": name}, "spec": spec
    }))
    .expect("registry");
    let api: Api<McpRegistry> = Api::namespaced(fake.client_as("user"), NS);
    api.create(&PostParams::default(), &registry).await.expect("create the MCPRegistry")
}

/// A spec reading ConfigMap `configmap`, without the API Deployment unless `api` is true.
pub fn configmap_spec(configmap: &str, api: bool) -> Value {
    json!({"source": {"type": "configmap", "configMap": {"name": configmap}}, "api": {"enabled": api}})
}

/// Merge-patches the MCPRegistry `name` (as a user would with `kubectl patch --type merge`).
pub async fn patch_registry(fake: &FakeApiServer, name: &str, patch: Value) {
    let api: Api<McpRegistry> = Api::namespaced(fake.client_as("user"), NS);
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await.expect("patch the MCPRegistry");
}

/// Waits until the MCPRegistry `name` satisfies `check`.
pub async fn wait_registry(fake: &FakeApiServer, name: &str, check: impl Fn(&McpRegistry) -> bool) -> McpRegistry {
    match fake.wait_for::<McpRegistry>(NS, name, WAIT, |r| r.is_some_and(&check)).await {
        Ok(Some(registry)) => registry,
        other => {
            let now: Option<McpRegistry> = fake.get(NS, name).expect("get");
            panic!("MCPRegistry {name} did not get there: {other:?}\nstatus now: {:#?}", now.and_then(|r| r.status));
        }
    }
}

/// The (status, reason) of condition `type_` of the registry.
pub fn condition(registry: &McpRegistry, type_: ConditionType) -> Option<(String, String)> {
    let status = registry.status.as_ref()?;
    conditions::find(&status.conditions, type_).map(|c| (c.status.clone(), c.reason.clone()))
}

/// Whether condition `type_` has `status` and `reason`, for the current generation.
pub fn has(registry: &McpRegistry, type_: ConditionType, status: &str, reason: &str) -> bool {
    registry.status.as_ref().is_some_and(|s| s.observed_generation == registry.metadata.generation)
        && condition(registry, type_) == Some((status.to_owned(), reason.to_owned()))
}

/// The Events about registry `name` with `reason`, as (type, note). kube's recorder folds an Event that
/// repeats within minutes into a series of one object (its note stays the first one's).
pub fn events(fake: &FakeApiServer, name: &str, reason: &str) -> Vec<(String, String)> {
    let events: Vec<Event> = fake.list().expect("events");
    events
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .filter(|e| e.reason.as_deref() == Some(reason))
        .map(|e| (e.type_.unwrap_or_default(), e.note.unwrap_or_default()))
        .collect()
}

/// How many times registry `name` got an Event with `reason`, series included.
pub fn event_count(fake: &FakeApiServer, name: &str, reason: &str) -> i32 {
    let events: Vec<Event> = fake.list().expect("events");
    events
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .filter(|e| e.reason.as_deref() == Some(reason))
        .map(|e| e.series.map_or(1, |s| s.count))
        .sum()
}

/// Every Event reason about registry `name`, in creation order.
pub fn event_reasons(fake: &FakeApiServer, name: &str) -> Vec<String> {
    let mut events: Vec<Event> = fake.list().expect("events");
    events.retain(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name));
    events.sort_by_key(|e| e.metadata.resource_version.as_deref().and_then(|v| v.parse::<u64>().ok()));
    events.into_iter().filter_map(|e| e.reason).collect()
}

/// Sets the API Deployment's status as a Deployment controller would once `available` of its replicas run.
pub async fn set_deployment_status(fake: &FakeApiServer, name: &str, available: i32) {
    let api: Api<Deployment> = Api::namespaced(fake.client_as("kube-controller-manager"), NS);
    let deployment = api.get(name).await.expect("the Deployment exists");
    let replicas = deployment.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let status = json!({"status": {
        "observedGeneration": deployment.metadata.generation,
        "replicas": replicas, "updatedReplicas": replicas,
        "readyReplicas": available, "availableReplicas": available,
        "conditions": [{"type": "Available", "status": if available >= replicas { "True" } else { "False" }, "reason": "MinimumReplicasAvailable"}]
    }});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status)).await.expect("patch the Deployment status");
}

/// The storage ConfigMap of `registry`, if it exists.
pub fn storage(fake: &FakeApiServer, registry: &str) -> Option<ConfigMap> {
    fake.get(NS, &thv_operator::labels::storage_config_map_name(registry)).expect("get")
}

/// The catalog stored for `registry`, as (name, version) pairs, read through a fresh ConfigMapStore.
pub async fn stored_catalog(fake: &FakeApiServer, registry: &McpRegistry) -> Vec<(String, String)> {
    use kube::{Resource, ResourceExt};
    use thv_store::Store;
    let owner = registry.controller_owner_ref(&()).expect("owner");
    let store = thv_operator::ConfigMapStore::new(fake.client_as("test-reader"), NS, registry.name_any(), owner);
    store
        .catalog(&registry.name_any())
        .await
        .expect("read the storage")
        .into_iter()
        .map(|v| (v.name, v.version))
        .collect()
}
