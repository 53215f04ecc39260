//! The aggregate API pod (`thv operator api --all-registries`) on a real loopback port, with a
//! `kube::Client` on the fake API server: registries with an overlapping server name are served in `/v0.1`
//! by `spec.priority` then name and each under `/registry/{name}/v0.1`; a priority change, a new registry, a
//! deleted one and a new catalog show within moments; `/readyz` waits for every registry present at start;
//! PostgreSQL registries are left out; the cluster scope names registries `<namespace>.<name>`; and the
//! requests it makes are exactly what the Role of `deploy/aggregate` grants.

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use support::pod::LoopbackPod;
use support::{NAMESPACE, commit, fake, owner, version};
use thv_kube_fake::FakeApiServer;
use thv_operator::aggregate::{AggregateApiPod, Scope};
use thv_operator::{ConfigMapStore, McpRegistry};
use thv_store::Store;

/// How long a change may take to be served (it takes milliseconds).
const PICKUP_LIMIT: Duration = Duration::from_secs(5);
/// The client name of the pod in the fake's request log.
const POD: &str = "aggregate-pod";
const SHARED: &str = "io.example/shared";

/// The aggregate API pod on a loopback port.
struct Pod(LoopbackPod);

impl std::ops::Deref for Pod {
    type Target = LoopbackPod;
    fn deref(&self) -> &LoopbackPod {
        &self.0
    }
}

impl Pod {
    async fn start(fake: &FakeApiServer, scope: Scope) -> Self {
        let client = fake.client_as(POD);
        Self(
            LoopbackPod::start(PICKUP_LIMIT, |listener, shutdown| {
                AggregateApiPod::new(scope).run(client, listener, shutdown)
            })
            .await,
        )
    }

    /// `name@version` of every server `path` lists (`/v0.1` or `/registry/{name}/v0.1`).
    async fn listed(&self, prefix: &str) -> BTreeSet<String> {
        let body = self.json(&format!("{prefix}/servers?limit=100")).await;
        let servers = body["servers"].as_array().cloned().unwrap_or_default();
        servers
            .iter()
            .filter_map(|s| Some(format!("{}@{}", s["server"]["name"].as_str()?, s["server"]["version"].as_str()?)))
            .collect()
    }

    /// The registries `/api/v1/registries` describes, in its order.
    async fn registries(&self) -> Vec<String> {
        let body = self.json("/api/v1/registries").await;
        let list = body["registries"].as_array().cloned().unwrap_or_default();
        list.iter().filter_map(|r| r["name"].as_str().map(ToOwned::to_owned)).collect()
    }

    async fn stop(self) {
        self.0.stop().await;
    }
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Creates the MCPRegistry `name` in `namespace` with `priority` (and `storage` when given).
async fn create(
    fake: &FakeApiServer,
    namespace: &str,
    name: &str,
    priority: i32,
    storage: Option<Value>,
) -> McpRegistry {
    let mut spec = json!({"source": {"type": "configmap", "configMap": {"name": "catalog"}}, "priority": priority});
    if let Some(storage) = storage {
        spec["storage"] = storage;
    }
    let api: Api<McpRegistry> = Api::namespaced(fake.client_as("user"), namespace);
    let registry = McpRegistry::new(name, serde_json::from_value(spec).expect("spec"));
    api.create(&PostParams::default(), &registry).await.expect("create the MCPRegistry")
}

/// Writes `servers` (`name@version`) as the catalog of `registry`, as the operator's sync does.
async fn write_catalog(fake: &FakeApiServer, registry: &McpRegistry, revision: &str, servers: &[&str]) {
    let namespace = registry.metadata.namespace.as_deref().expect("namespace");
    let name = registry.metadata.name.as_deref().expect("name");
    let store = ConfigMapStore::new(fake.client_as("operator"), namespace, name, owner(registry));
    let versions = servers
        .iter()
        .map(|s| {
            let (server, v) = s.split_once('@').expect("name@version");
            version(server, v, 1)
        })
        .collect::<Vec<_>>();
    let removed = store.catalog(name).await.expect("catalog");
    let removals = removed.iter().map(|v| support::nv(&v.name, &v.version)).collect();
    store.commit_sync(&commit(name, revision, servers.len() as u64, versions, removals)).await.expect("commit");
}

async fn set_priority(fake: &FakeApiServer, namespace: &str, name: &str, priority: i32) {
    let api: Api<McpRegistry> = Api::namespaced(fake.client_as("user"), namespace);
    api.patch(name, &PatchParams::default(), &Patch::Merge(json!({"spec": {"priority": priority}})))
        .await
        .expect("patch the priority");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_highest_priority_wins_a_name_and_every_change_is_served_within_moments() {
    let fake = fake();
    let alpha = create(&fake, NAMESPACE, "alpha", 0, None).await;
    let beta = create(&fake, NAMESPACE, "beta", 10, None).await;
    let pod = Pod::start(&fake, Scope::Namespace(NAMESPACE.into())).await;

    // Neither registry has storage yet: not ready. One of two is not enough either.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(pod.status("/readyz").await, Some(503));
    write_catalog(&fake, &alpha, "a1", &[&format!("{SHARED}@1.0.0"), "io.example/a@1.0.0"]).await;
    pod.wait_until("alpha served", || async { pod.listed("/registry/alpha/v0.1").await.len() == 2 }).await;
    assert_eq!(pod.status("/readyz").await, Some(503), "beta, present at start, has not been read yet");
    write_catalog(&fake, &beta, "b1", &[&format!("{SHARED}@2.0.0"), "io.example/b@1.0.0"]).await;
    pod.wait_until("ready", || async { pod.status("/readyz").await == Some(200) }).await;

    // beta (priority 10) serves the shared name, alpha (0) the rest of its own; both keep all theirs.
    let by_priority = set(&[&format!("{SHARED}@2.0.0"), "io.example/a@1.0.0", "io.example/b@1.0.0"]);
    pod.wait_until("the aggregate", || async { pod.listed("/v0.1").await == by_priority }).await;
    assert_eq!(pod.listed("/registry/alpha/v0.1").await, set(&[&format!("{SHARED}@1.0.0"), "io.example/a@1.0.0"]));
    assert_eq!(pod.listed("/registry/beta/v0.1").await, set(&[&format!("{SHARED}@2.0.0"), "io.example/b@1.0.0"]));
    assert_eq!(pod.registries().await, ["beta", "alpha"], "in precedence order");
    let detail = pod.json(&format!("/v0.1/servers/{}/versions/latest", SHARED.replace('/', "%2F"))).await;
    assert_eq!(detail["server"]["version"], "2.0.0", "{detail}");

    // alpha outranks beta now: the shared name flips.
    let flipped = {
        let started = Instant::now();
        set_priority(&fake, NAMESPACE, "alpha", 20).await;
        let flipped = set(&[&format!("{SHARED}@1.0.0"), "io.example/a@1.0.0", "io.example/b@1.0.0"]);
        pod.wait_until("the priority change", || async { pod.listed("/v0.1").await == flipped }).await;
        started.elapsed()
    };
    assert_eq!(pod.registries().await, ["alpha", "beta"]);

    // A tie goes to the name that sorts first.
    set_priority(&fake, NAMESPACE, "beta", 20).await;
    pod.wait_until("the tie", || async { pod.registries().await == ["alpha", "beta"] }).await;
    set_priority(&fake, NAMESPACE, "alpha", 10).await;
    pod.wait_until("beta first", || async { pod.registries().await == ["beta", "alpha"] }).await;
    assert!(pod.listed("/v0.1").await.contains(&format!("{SHARED}@2.0.0")));

    // A new catalog of one registry.
    let synced = {
        let started = Instant::now();
        write_catalog(&fake, &beta, "b2", &["io.example/b@1.1.0"]).await;
        let resynced = set(&[&format!("{SHARED}@1.0.0"), "io.example/a@1.0.0", "io.example/b@1.1.0"]);
        pod.wait_until("the re-sync", || async { pod.listed("/v0.1").await == resynced }).await;
        started.elapsed()
    };

    // A registry added later is served once its storage exists; readiness was never in question.
    let gamma = create(&fake, NAMESPACE, "gamma", -5, None).await;
    pod.wait_until("gamma listed", || async { pod.registries().await == ["beta", "alpha", "gamma"] }).await;
    write_catalog(&fake, &gamma, "g1", &["io.example/g@1.0.0", "io.example/a@9.0.0"]).await;
    pod.wait_until("gamma served", || async { pod.listed("/v0.1").await.contains("io.example/g@1.0.0") }).await;
    assert!(!pod.listed("/v0.1").await.contains("io.example/a@9.0.0"), "alpha outranks gamma for io.example/a");

    // A deleted registry disappears, paths and names.
    let deleted = {
        let started = Instant::now();
        let api: Api<McpRegistry> = Api::namespaced(fake.client_as("user"), NAMESPACE);
        api.delete("beta", &DeleteParams::default()).await.expect("delete beta");
        pod.wait_until("beta gone", || async { pod.status("/registry/beta/v0.1/servers").await == Some(404) }).await;
        started.elapsed()
    };
    assert!(!pod.listed("/v0.1").await.iter().any(|s| s.starts_with("io.example/b@")));
    assert_eq!(pod.registries().await, ["alpha", "gamma"]);
    assert_eq!(pod.status("/readyz").await, Some(200));
    println!("served after: priority change {flipped:?}, re-sync {synced:?}, deletion {deleted:?}");
    pod.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_registries_are_left_out_and_do_not_hold_readiness_back() {
    let fake = fake();
    let plain = create(&fake, NAMESPACE, "plain", 0, None).await;
    write_catalog(&fake, &plain, "p1", &["io.example/p@1.0.0"]).await;
    let postgres = json!({"type": "postgres", "postgres": {"secretRef": {"name": "db"}}});
    create(&fake, NAMESPACE, "big", 100, Some(postgres)).await;
    let pod = Pod::start(&fake, Scope::Namespace(NAMESPACE.into())).await;
    pod.wait_until("ready", || async { pod.status("/readyz").await == Some(200) }).await;
    assert_eq!(pod.registries().await, ["plain"]);
    assert_eq!(pod.status("/registry/big/v0.1/servers").await, Some(404));
    assert_eq!(pod.listed("/v0.1").await, set(&["io.example/p@1.0.0"]));
    pod.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_deleted_before_it_was_read_does_not_hold_readiness_back() {
    let fake = fake();
    create(&fake, NAMESPACE, "never-synced", 0, None).await;
    let synced = create(&fake, NAMESPACE, "synced", 0, None).await;
    write_catalog(&fake, &synced, "s1", &["io.example/s@1.0.0"]).await;
    let pod = Pod::start(&fake, Scope::Namespace(NAMESPACE.into())).await;
    pod.wait_until("synced served", || async { pod.listed("/v0.1").await.len() == 1 }).await;
    assert_eq!(pod.status("/readyz").await, Some(503), "never-synced was present at start");
    let api: Api<McpRegistry> = Api::namespaced(fake.client_as("user"), NAMESPACE);
    api.delete("never-synced", &DeleteParams::default()).await.expect("delete");
    pod.wait_until("ready", || async { pod.status("/readyz").await == Some(200) }).await;
    pod.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_scope_serves_every_namespace_as_namespace_dot_name() {
    let fake = fake();
    let namespaces: Api<Namespace> = Api::all(fake.client_as("admin"));
    let mut team_b = Namespace::default();
    team_b.metadata.name = Some("team-b".into());
    namespaces.create(&PostParams::default(), &team_b).await.expect("namespace team-b");
    let here = create(&fake, NAMESPACE, "platform", 0, None).await;
    let there = create(&fake, "team-b", "platform", 0, None).await;
    write_catalog(&fake, &here, "d1", &[&format!("{SHARED}@1.0.0")]).await;
    write_catalog(&fake, &there, "t1", &[&format!("{SHARED}@2.0.0")]).await;

    let pod = Pod::start(&fake, Scope::Cluster).await;
    pod.wait_until("ready", || async { pod.status("/readyz").await == Some(200) }).await;
    assert_eq!(pod.registries().await, ["default.platform", "team-b.platform"]);
    assert_eq!(pod.listed("/v0.1").await, set(&[&format!("{SHARED}@1.0.0")]), "a tie: default sorts first");
    assert_eq!(pod.listed("/registry/team-b.platform/v0.1").await, set(&[&format!("{SHARED}@2.0.0")]));
    set_priority(&fake, "team-b", "platform", 1).await;
    pod.wait_until("team-b wins", || async { pod.listed("/v0.1").await == set(&[&format!("{SHARED}@2.0.0")]) }).await;
    pod.stop().await;

    // Every request went to all namespaces (what a ClusterRole grants), and only lists and watches.
    let asked: BTreeSet<(String, Option<String>)> =
        fake.requests().into_iter().filter(|r| r.client == POD).map(|r| (r.verb.to_string(), r.namespace)).collect();
    assert_eq!(asked, BTreeSet::from([("list".into(), None), ("watch".into(), None)]));
}

/// `(group, resource, verb)` of each rule of the Role in `deploy/aggregate/rbac.yaml`.
fn granted() -> BTreeSet<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/aggregate/rbac.yaml");
    let text = std::fs::read_to_string(&path).expect("deploy/aggregate/rbac.yaml");
    let documents: Vec<Value> = serde_saphyr::from_multiple(&text).expect("YAML");
    let role = documents.iter().find(|d| d["kind"] == "Role").expect("a Role");
    let strings = |v: &Value| -> Vec<String> {
        v.as_array().expect("a list").iter().map(|s| s.as_str().expect("a string").to_owned()).collect()
    };
    let mut granted = BTreeSet::new();
    for rule in role["rules"].as_array().expect("rules") {
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                for verb in strings(&rule["verbs"]) {
                    granted.insert(format!("{verb} {group}/{resource}"));
                }
            }
        }
    }
    granted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_role_grants_exactly_what_the_pod_asks_for() {
    let fake = fake();
    let registry = create(&fake, NAMESPACE, "platform", 0, None).await;
    write_catalog(&fake, &registry, "r1", &["io.example/a@1.0.0"]).await;
    let pod = Pod::start(&fake, Scope::Namespace(NAMESPACE.into())).await;
    pod.wait_until("ready", || async { pod.status("/readyz").await == Some(200) }).await;
    set_priority(&fake, NAMESPACE, "platform", 3).await;
    write_catalog(&fake, &registry, "r2", &["io.example/b@1.0.0"]).await;
    pod.wait_until("the new catalog", || async { pod.listed("/v0.1").await == set(&["io.example/b@1.0.0"]) }).await;
    pod.stop().await;

    let requests: Vec<_> = fake.requests().into_iter().filter(|r| r.client == POD).collect();
    assert!(requests.iter().all(|r| r.namespace.as_deref() == Some(NAMESPACE)), "only its own namespace");
    let asked: BTreeSet<String> =
        requests.iter().map(|r| format!("{} {}/{}", r.verb, r.group, r.rbac_resource())).collect();
    assert_eq!(asked, granted(), "the Role of deploy/aggregate grants exactly what the pod asks for");
}

/// `thv_snapshot_swaps_total` of the pod's `/metrics`.
async fn swaps(pod: &Pod) -> u64 {
    let text = pod.text("/metrics").await;
    let line = text.lines().find(|l| l.starts_with("thv_snapshot_swaps_total")).expect("the swap counter");
    line.rsplit(' ').next().and_then(|n| n.parse().ok()).expect("a count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_updates_of_the_registries_do_not_rebuild_what_is_served() {
    let fake = fake();
    let registry = create(&fake, NAMESPACE, "platform", 0, None).await;
    write_catalog(&fake, &registry, "r1", &["io.example/a@1.0.0"]).await;
    let pod = Pod::start(&fake, Scope::Namespace(NAMESPACE.into())).await;
    pod.wait_until("ready", || async { pod.status("/readyz").await == Some(200) }).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = swaps(&pod).await;

    // The operator patches every registry's status at each sync; nothing served changes.
    let api: Api<McpRegistry> = Api::namespaced(fake.client_as("operator"), NAMESPACE);
    for servers in 1..=5 {
        let status = json!({"status": {"servers": servers}});
        api.patch_status("platform", &PatchParams::default(), &Patch::Merge(status)).await.expect("status");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(swaps(&pod).await, before, "a status write rebuilds nothing");

    // What does change is still served.
    write_catalog(&fake, &registry, "r2", &["io.example/b@1.0.0"]).await;
    pod.wait_until("the new catalog", || async { pod.listed("/v0.1").await == set(&["io.example/b@1.0.0"]) }).await;
    assert!(swaps(&pod).await > before);
    pod.stop().await;
}
