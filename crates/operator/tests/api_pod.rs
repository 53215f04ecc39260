//! The per-registry API pod on a real loopback port, with a `kube::Client` on the fake API server: the
//! catalog the operator writes through `ConfigMapStore` is served within 5 s of the write (measured and
//! printed; it is milliseconds), readiness follows the storage's existence, a broken storage keeps the last
//! catalog, and a missing MCPRegistry is a clear error.

mod support;

use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, PostParams};
use support::pod::LoopbackPod;
use support::{NAMESPACE, commit, fake, owner, registry, run, state, version};
use thv_kube_fake::FakeApiServer;
use thv_operator::ConfigMapStore;
use thv_operator::api_pod::ApiPod;
use thv_operator::labels::storage_config_map_name;
use thv_operator::storage::layout;
use thv_store::{Store, SyncOutcome};

const REG: &str = "platform";
/// What the issue allows between a storage write and the new catalog being served.
const PICKUP_LIMIT: Duration = Duration::from_secs(5);

/// The per-registry API pod on a loopback port.
struct Pod(LoopbackPod);

impl std::ops::Deref for Pod {
    type Target = LoopbackPod;
    fn deref(&self) -> &LoopbackPod {
        &self.0
    }
}

impl Pod {
    async fn start(fake: &FakeApiServer) -> Self {
        let client = fake.client_as("api-pod");
        Self(
            LoopbackPod::start(PICKUP_LIMIT, |listener, shutdown| {
                ApiPod::new(NAMESPACE, REG).run(client, listener, shutdown)
            })
            .await,
        )
    }

    async fn stop(self) {
        self.0.stop().await;
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pod_serves_each_catalog_written_to_the_storage_within_seconds() {
    let fake = fake();
    let registry = registry(&fake, REG).await;
    let pod = Pod::start(&fake).await;

    // No storage yet: serving nothing, and not ready, so the Service sends no traffic here.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(pod.status("/readyz").await, Some(503));
    assert!(pod.names().await.is_empty());

    let store = ConfigMapStore::new(fake.client_as("operator"), NAMESPACE, REG, owner(&registry));
    let first = vec![version("io.example/a", "1.0.0", 1), version("io.example/b", "1.0.0", 1)];
    store.commit_sync(&commit(REG, "r1", 2, first, vec![])).await.expect("commit");
    let created = pod
        .wait_until("the first catalog", || async { pod.names().await == names(&["io.example/a", "io.example/b"]) })
        .await;
    assert_eq!(pod.status("/readyz").await, Some(200));

    let second = vec![version("io.example/c", "1.0.0", 2)];
    store.commit_sync(&commit(REG, "r2", 2, second, vec![support::nv("io.example/b", "1.0.0")])).await.expect("commit");
    let changed = pod
        .wait_until("the changed catalog", || async { pod.names().await == names(&["io.example/a", "io.example/c"]) })
        .await;
    println!("storage write to served catalog: {created:?} (created), {changed:?} (changed)");

    // The storage is deleted (its registry is going away): not ready any more.
    let api: Api<ConfigMap> = Api::namespaced(fake.client_as("user"), NAMESPACE);
    api.delete(&storage_config_map_name(REG), &DeleteParams::default()).await.expect("delete");
    pod.wait_until("not ready without storage", || async { pod.status("/readyz").await == Some(503) }).await;
    pod.stop().await;

    // What the pod's Role must grant, and nothing it writes.
    let mut asked: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|r| r.client == "api-pod")
        .map(|r| format!("{} {}/{}", r.verb, r.group, r.rbac_resource()))
        .collect();
    asked.sort();
    asked.dedup();
    assert_eq!(asked, ["get toolhive.stacklok.io/mcpregistries", "list /configmaps", "watch /configmaps"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_with_state_but_no_catalog_is_ready_and_empty() {
    let fake = fake();
    let registry = registry(&fake, REG).await;
    let store = ConfigMapStore::new(fake.client_as("operator"), NAMESPACE, REG, owner(&registry));
    let mut failed = state(REG, "r0", 0);
    failed.last_error = Some("ConfigMap default/catalog: not found".into());
    store.record_run(&run(REG, SyncOutcome::Failed), Some(&failed)).await.expect("record");

    let pod = Pod::start(&fake).await;
    pod.wait_until("ready on a known-empty storage", || async { pod.status("/readyz").await == Some(200) }).await;
    assert!(pod.names().await.is_empty());
    let registries = pod.json("/api/v1/registries").await;
    assert_eq!(registries.to_string().matches("\"platform\"").count(), 1, "{registries}");
    pod.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_storage_keeps_the_last_catalog_served() {
    let fake = fake();
    let registry = registry(&fake, REG).await;
    let store = ConfigMapStore::new(fake.client_as("operator"), NAMESPACE, REG, owner(&registry));
    store.commit_sync(&commit(REG, "r1", 1, vec![version("io.example/a", "1.0.0", 1)], vec![])).await.expect("commit");
    let pod = Pod::start(&fake).await;
    pod.wait_until("the catalog", || async { pod.names().await == names(&["io.example/a"]) }).await;

    break_storage(&fake).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(pod.names().await, names(&["io.example/a"]), "the last good catalog stays");
    assert_eq!(pod.status("/readyz").await, Some(200));

    // The operator's store does not build on what it cannot read either: its error names the ConfigMap.
    let err = store
        .commit_sync(&commit(REG, "r2", 1, vec![version("io.example/z", "1.0.0", 2)], vec![]))
        .await
        .expect_err("the store refuses to build on a catalog it cannot read");
    assert!(err.to_string().contains("ConfigMap default/platform-registry-storage"), "{err}");
    pod.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_that_never_read_a_good_catalog_stays_unready() {
    let fake = fake();
    let registry = registry(&fake, REG).await;
    let store = ConfigMapStore::new(fake.client_as("operator"), NAMESPACE, REG, owner(&registry));
    store.commit_sync(&commit(REG, "r1", 1, vec![version("io.example/a", "1.0.0", 1)], vec![])).await.expect("commit");
    break_storage(&fake).await;

    let pod = Pod::start(&fake).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(pod.status("/readyz").await, Some(503), "a storage it cannot read is not something to serve");
    assert!(pod.names().await.is_empty());

    // The storage is repaired (deleted, then written again by the operator): served and ready.
    let api: Api<ConfigMap> = Api::namespaced(fake.client_as("user"), NAMESPACE);
    api.delete(&storage_config_map_name(REG), &DeleteParams::default()).await.expect("delete");
    store.commit_sync(&commit(REG, "r2", 1, vec![version("io.example/b", "1.0.0", 2)], vec![])).await.expect("commit");
    pod.wait_until("the repaired catalog", || async { pod.names().await == names(&["io.example/b"]) }).await;
    pod.wait_until("ready", || async { pod.status("/readyz").await == Some(200) }).await;
    pod.stop().await;
}

/// Replaces the stored catalog with bytes that are not gzip, as a hand edit might.
async fn break_storage(fake: &FakeApiServer) {
    let api: Api<ConfigMap> = Api::namespaced(fake.client_as("user"), NAMESPACE);
    let mut broken = api.get(&storage_config_map_name(REG)).await.expect("get");
    broken
        .binary_data
        .get_or_insert_with(Default::default)
        .insert(layout::CATALOG_KEY.into(), ByteString(b"junk".to_vec()));
    broken.metadata.managed_fields = None;
    api.replace(&storage_config_map_name(REG), &PostParams::default(), &broken).await.expect("break it");
}

#[tokio::test]
async fn a_missing_registry_is_a_clear_error() {
    let fake = fake();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let err = ApiPod::new(NAMESPACE, "nowhere")
        .run(fake.client_as("api-pod"), listener, std::future::pending())
        .await
        .expect_err("no MCPRegistry");
    assert!(err.to_string().starts_with("cannot read MCPRegistry default/nowhere:"), "{err}");
}
