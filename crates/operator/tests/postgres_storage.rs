//! `storage.type: postgres` end to end without a cluster: the real controller (`thv operator run`'s) against the
//! fake API server, a REAL private PostgreSQL cluster (`thv_testdata::postgres`), and the real API pod
//! (`thv operator api`) on a loopback port reading that database as a read-only replica.
//!
//! What each layer proves: the fake API server stands in for Kubernetes only (Secrets, ConfigMaps, the
//! MCPRegistry, the Deployment and Events as objects); the catalog is really written to and read from
//! PostgreSQL; the API pod really serves HTTP and follows the database by LISTEN/NOTIFY. That the kubelet
//! resolves the Deployment's `secretKeyRef` into `THV_DATABASE` is Kubernetes' job, so the test hands the pod
//! the URL itself, as that environment variable would.
//!
//! Every log line (the operator's and the pod's), every object and every Event the fake holds is searched for
//! the database password: none may contain it.

#[path = "scenarios/harness.rs"]
mod harness;
#[path = "support/pod.rs"]
mod pod;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use harness::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::events::v1::Event;
use kube::ResourceExt;
use pod::LoopbackPod;
use serde_json::{Value, json};
use thv_kube_fake::FakeApiServer;
use thv_operator::McpRegistry;
use thv_operator::api_pod::ApiPod;
use thv_operator::conditions::ConditionType::{Ready, Reconciling, Stalled, Synced};
use thv_operator::controller::workload::{DATABASE_ENV, STORAGE_SECRET_VERSION_ANNOTATION};
use thv_store::{PostgresStore, PostgresUrl, Store};
use thv_testdata::postgres::{TestDatabase, shared_cluster};

/// The private cluster's fresh database, or `None` (with a note) where PostgreSQL is not installed and
/// `THV_REQUIRE_TOOLS` is not `1` (`scripts/test.sh` sets it, so the suite never skips there).
fn database() -> Option<TestDatabase> {
    Some(shared_cluster()?.create_database())
}

/// Every log line the test process wrote, captured once for the whole binary.
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&buffer);
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || Capture(Arc::clone(&writer)))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buffer
    })
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn captured_logs() -> String {
    String::from_utf8_lossy(&logs().lock().unwrap_or_else(std::sync::PoisonError::into_inner)).into_owned()
}

/// A registry reading ConfigMap `configmap`, stored in the database of Secret `secret` (key `url`).
fn postgres_spec(configmap: &str, secret: &str, api: bool) -> Value {
    json!({"source": {"type": "configmap", "configMap": {"name": configmap}}, "api": {"enabled": api, "replicas": 2},
           "storage": {"type": "postgres", "postgres": {"secretRef": {"name": secret}}}})
}

/// Every object the fake holds that could carry a value: no password in any of them.
fn assert_no_secret_anywhere(fake: &FakeApiServer, password: &str) {
    let registries: Vec<McpRegistry> = fake.list().expect("registries");
    let deployments: Vec<Deployment> = fake.list().expect("deployments");
    let config_maps: Vec<ConfigMap> = fake.list().expect("configmaps");
    let events: Vec<Event> = fake.list().expect("events");
    let text = serde_json::to_string(&(registries, deployments, config_maps, events)).expect("JSON");
    assert!(!text.contains(password), "the password is in an object: {text}");
    let logs = captured_logs();
    assert!(!logs.is_empty(), "the logs are captured");
    assert!(!logs.contains(password), "the password is in the logs");
}

/// The Events with `reason` about `registry`, once there is one (the status is written just before them).
async fn events_soon(fake: &FakeApiServer, registry: &str, reason: &str) -> Vec<(String, String)> {
    let start = Instant::now();
    loop {
        let found = events(fake, registry, reason);
        if !found.is_empty() || start.elapsed() > Duration::from_secs(5) {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The catalog stored in PostgreSQL under `key`, as server names.
async fn stored_names(db: &TestDatabase, key: &str) -> Vec<String> {
    let store = PostgresStore::open(&PostgresUrl::parse(&db.url_with_password()).expect("URL")).await.expect("open");
    let names = store.catalog(key).await.expect("catalog").into_iter().map(|v| v.name).collect();
    store.close().await;
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_registry_syncs_into_the_database_and_its_api_pod_serves_it() {
    let _ = logs();
    let Some(db) = database() else { return };
    let fake = fake();
    let servers = names("pg", 3);
    put_configmap(&fake, "catalog", &catalog(&servers.iter().map(String::as_str).collect::<Vec<_>>(), "1.0.0")).await;
    put_secret(&fake, "registry-db", "url", &db.url_with_password()).await;
    let operator = Operator::start(&fake);
    create_registry(&fake, "platform", postgres_spec("catalog", "registry-db", true)).await;

    // Synced: the status says so before the API is up.
    let synced = wait_registry(&fake, "platform", |r| has(r, Synced, "True", "SyncSucceeded")).await;
    assert_eq!(stored_names(&db, "default/platform").await, servers, "the catalog is in PostgreSQL");
    assert_eq!(stored_names(&db, "platform").await, Vec::<String>::new(), "under the namespaced key only");
    assert!(storage(&fake, "platform").is_none(), "no storage ConfigMap for a postgres registry");
    let status = synced.status.clone().expect("status");
    let storage_ref = status.storage_ref.expect("storageRef");
    assert_eq!(storage_ref.type_, thv_operator::StorageType::Postgres);
    assert_eq!(storage_ref.config_map, None);
    let postgres = storage_ref.postgres.expect("postgres");
    assert_eq!((postgres.secret_ref.name.as_str(), postgres.secret_ref.key.as_str()), ("registry-db", "url"));
    assert_eq!(postgres.registry, "default/platform");
    assert_eq!((status.servers, status.versions), (Some(3), Some(3)));

    // The Deployment gets the URL from the Secret, never as a value.
    let deployment: Deployment = fake.get(NS, "platform-api").expect("get").expect("the API Deployment");
    let spec = deployment.spec.as_ref().expect("spec");
    assert_eq!(spec.replicas, Some(2));
    let container = &spec.template.spec.as_ref().expect("pod").containers[0];
    let env = container.env.as_deref().expect("env");
    assert_eq!(env.len(), 1, "{env:?}");
    assert_eq!((env[0].name.as_str(), env[0].value.as_deref()), (DATABASE_ENV, None));
    let from = env[0].value_from.as_ref().and_then(|v| v.secret_key_ref.as_ref()).expect("secretKeyRef");
    assert_eq!((from.name.as_str(), from.key.as_str()), ("registry-db", "url"));
    set_deployment_status(&fake, "platform-api", 2).await;
    wait_registry(&fake, "platform", |r| has(r, Ready, "True", "Succeeded")).await;

    // The API pod, as the Deployment runs it (THV_DATABASE from the Secret), serves the catalog as `platform`.
    let pod = Pod::start(&fake, "platform", &db.url_with_password()).await;
    pod.wait_until("ready", || async { pod.status("/readyz").await == Some(200) }).await;
    assert_eq!(pod.names().await, servers);
    let registries = pod.json("/api/v1/registries").await;
    assert_eq!(registries.to_string().matches("\"platform\"").count(), 1, "the plain name: {registries}");
    assert!(!registries.to_string().contains("default/platform"), "{registries}");

    // An edit of the source reaches the pod through the database (LISTEN/NOTIFY), within seconds.
    let edited = Instant::now();
    let more = names("pg", 4);
    put_configmap(&fake, "catalog", &catalog(&more.iter().map(String::as_str).collect::<Vec<_>>(), "1.0.0")).await;
    let expected = more.clone();
    pod.wait_until("the edited catalog", || async { pod.names().await == expected }).await;
    println!("ConfigMap edit to served by the PostgreSQL API pod: {:?}", edited.elapsed());

    assert_no_secret_anywhere(&fake, &db.password);
    pod.stop().await;

    // An operator restart does not roll the API pods: the Secret's version annotation is the one it read.
    let template_annotations = || {
        let deployment: Deployment = fake.get(NS, "platform-api").expect("get").expect("the API Deployment");
        deployment.spec.and_then(|s| s.template.metadata).and_then(|m| m.annotations).unwrap_or_default()
    };
    let before = template_annotations();
    assert!(before.contains_key(STORAGE_SECRET_VERSION_ANNOTATION), "{before:?}");
    operator.stop().await;
    let restarted = Operator::start(&fake);
    let start = Instant::now();
    while restarted.syncs("platform", "unchanged") == 0 {
        assert!(start.elapsed() < WAIT, "the restarted operator checks the registry");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(template_annotations(), before, "no rollout on a restart");

    // An edit of the Secret rolls them (they read it only at start).
    put_secret(&fake, "registry-db", "url", &format!("{}?application_name=rotated", db.url_with_password())).await;
    let start = Instant::now();
    while template_annotations() == before {
        assert!(start.elapsed() < WAIT, "a Secret edit rolls the API pods");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_secret_or_key_stalls_naming_them_and_the_fix_syncs_at_once() {
    let _ = logs();
    let Some(db) = database() else { return };
    let fake = fake();
    put_configmap(&fake, "catalog", &catalog(&["io.example/late"], "1.0.0")).await;
    let _operator = Operator::start(&fake);
    create_registry(&fake, "orphan", postgres_spec("catalog", "late-db", false)).await;

    let stalled = wait_registry(&fake, "orphan", |r| has(r, Stalled, "True", "StorageSecretNotFound")).await;
    let message = |r: &McpRegistry, type_| {
        let status = r.status.as_ref().expect("status");
        thv_operator::conditions::find(&status.conditions, type_).map(|c| c.message.clone()).unwrap_or_default()
    };
    assert_eq!(
        message(&stalled, Stalled),
        "Secret default/late-db not found; create it in the registry's namespace (storage.postgres.secretRef); \
         the stored catalog is kept"
    );
    assert_eq!(condition(&stalled, Ready), Some(("False".into(), "StorageSecretNotFound".into())));
    assert_eq!(condition(&stalled, Synced), Some(("False".into(), "StorageSecretNotFound".into())));
    assert_eq!(condition(&stalled, Reconciling), None, "stalled: no retry storm");
    let warnings = events_soon(&fake, "orphan", "StorageSecretNotFound").await;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].0, "Warning");
    assert!(warnings[0].1.contains("Secret default/late-db not found"), "{}", warnings[0].1);

    // The Secret exists but under another key: the message names the key.
    put_secret(&fake, "late-db", "DATABASE_URL", &db.url_with_password()).await;
    let wrong_key = wait_registry(&fake, "orphan", |r| message(r, Stalled).contains("has no key url")).await;
    assert_eq!(condition(&wrong_key, Ready), Some(("False".into(), "StorageSecretNotFound".into())));

    // A value that is not a PostgreSQL URL: named, and not shown.
    put_secret(&fake, "late-db", "url", "mysql://root:hunter2@db/registry").await;
    let not_a_url = wait_registry(&fake, "orphan", |r| message(r, Stalled).contains("not a postgres://")).await;
    assert!(!serde_json::to_string(&not_a_url).expect("JSON").contains("hunter2"));

    // The interval is an hour: only the watch on Secrets can make this sync now.
    put_secret(&fake, "late-db", "url", &db.url_with_password()).await;
    let ready = wait_registry(&fake, "orphan", |r| has(r, Ready, "True", "Succeeded")).await;
    assert_eq!(condition(&ready, Stalled), None);
    assert_eq!(stored_names(&db, "default/orphan").await, ["io.example/late"]);
    assert!(!captured_logs().contains("hunter2"), "a bad value is not logged either");
    assert_no_secret_anywhere(&fake, &db.password);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_is_retried_and_the_catalog_in_it_stays() {
    let _ = logs();
    let Some(db) = database() else { return };
    let fake = fake();
    put_configmap(&fake, "catalog", &catalog(&["io.example/kept"], "1.0.0")).await;
    put_secret(&fake, "registry-db", "url", &db.url_with_password()).await;
    let _operator = Operator::start(&fake);
    let mut spec = postgres_spec("catalog", "registry-db", false);
    spec["syncPolicy"] = json!({"retry": {"backoffInterval": "1s"}});
    create_registry(&fake, "platform", spec).await;
    wait_registry(&fake, "platform", |r| has(r, Ready, "True", "Succeeded")).await;

    // The Secret now names a port nobody listens on (a moved database, a typo): retried, not stalled.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port();
    let wrong = format!("postgres://postgres:{}@127.0.0.1:{closed}/{}", db.password, db.name);
    put_secret(&fake, "registry-db", "url", &wrong).await;
    let failing = wait_registry(&fake, "platform", |r| has(r, Ready, "False", "StorageFailed")).await;
    assert_eq!(condition(&failing, Stalled), None);
    assert_eq!(condition(&failing, Reconciling), Some(("True".into(), "ProgressingWithRetry".into())));
    assert_eq!(failing.status.as_ref().and_then(|s| s.servers), Some(1), "the last counts stay");
    assert_eq!(stored_names(&db, "default/platform").await, ["io.example/kept"], "nothing lost");
    assert_eq!(events_soon(&fake, "platform", "StorageFailed").await.len(), 1);

    // Back to the right URL: the next retry syncs (the backoff is 1 s).
    put_secret(&fake, "registry-db", "url", &db.url_with_password()).await;
    wait_registry(&fake, "platform", |r| has(r, Ready, "True", "Succeeded")).await;
    assert_no_secret_anywhere(&fake, &db.password);
}

/// The API pod (`thv operator api`) on a loopback port.
struct Pod(LoopbackPod);

impl std::ops::Deref for Pod {
    type Target = LoopbackPod;
    fn deref(&self) -> &LoopbackPod {
        &self.0
    }
}

impl Pod {
    async fn start(fake: &FakeApiServer, registry: &str, url: &str) -> Self {
        let client = fake.client_as("api-pod");
        let mut pod = ApiPod::new(NS, registry);
        pod.database = Some(PostgresUrl::parse(url).expect("URL"));
        Self(
            LoopbackPod::start(Duration::from_secs(10), |listener, shutdown| pod.run(client, listener, shutdown)).await,
        )
    }

    async fn stop(self) {
        self.0.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_api_pod_is_unready_until_the_registry_is_synced() {
    let _ = logs();
    let Some(db) = database() else { return };
    let fake = fake();
    create_registry(&fake, "platform", postgres_spec("catalog", "registry-db", true)).await;
    let pod = Pod::start(&fake, "platform", &db.url_with_password()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(pod.status("/readyz").await, Some(503), "nothing synced yet: no traffic");

    // The operator syncs it: the pod becomes ready with the catalog.
    put_configmap(&fake, "catalog", &catalog(&["io.example/a"], "1.0.0")).await;
    put_secret(&fake, "registry-db", "url", &db.url_with_password()).await;
    let _operator = Operator::start(&fake);
    pod.wait_until("ready", || async { pod.status("/readyz").await == Some(200) }).await;
    assert_eq!(pod.names().await, ["io.example/a"]);
    pod.stop().await;

    // Without THV_DATABASE the pod says what it needs.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let err = ApiPod::new(NS, "platform").run(fake.client_as("api-pod"), listener, async {}).await.expect_err("no URL");
    assert!(err.to_string().contains("set THV_DATABASE"), "{err}");
    let registry: McpRegistry = fake.get(NS, "platform").expect("get").expect("registry");
    assert_eq!(registry.name_any(), "platform");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_a_registry_to_postgres_syncs_it_there_and_leaves_the_old_config_map() {
    let _ = logs();
    let Some(db) = database() else { return };
    let fake = fake();
    put_configmap(&fake, "catalog", &catalog(&["io.example/moved"], "1.0.0")).await;
    put_secret(&fake, "registry-db", "url", &db.url_with_password()).await;
    let _operator = Operator::start(&fake);
    create_registry(&fake, "platform", configmap_spec("catalog", false)).await;
    wait_registry(&fake, "platform", |r| has(r, Ready, "True", "Succeeded")).await;
    assert!(storage(&fake, "platform").is_some());

    patch_registry(
        &fake,
        "platform",
        json!({"spec": {"storage": {"type": "postgres", "postgres": {"secretRef": {"name": "registry-db"}}}}}),
    )
    .await;
    let moved = wait_registry(&fake, "platform", |r| {
        has(r, Ready, "True", "Succeeded")
            && r.status.as_ref().and_then(|s| s.storage_ref.as_ref()).is_some_and(|s| s.postgres.is_some())
    })
    .await;
    assert_eq!(stored_names(&db, "default/platform").await, ["io.example/moved"], "synced into PostgreSQL");
    assert_eq!(moved.status.as_ref().and_then(|s| s.servers), Some(1));
    // The storage ConfigMap is left as it was (deleted with the registry, by its owner reference).
    let left = stored_catalog(&fake, &moved).await;
    assert_eq!(left, [("io.example/moved".to_owned(), "1.0.0".to_owned())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registries_of_the_same_name_in_two_namespaces_share_one_database_apart() {
    use kube::api::{Api, Patch, PatchParams, PostParams};
    let _ = logs();
    let Some(db) = database() else { return };
    let fake = fake();
    let _operator = Operator::start(&fake);
    for (namespace, server) in [("team-a", "io.example/a"), ("team-b", "io.example/b")] {
        let user = fake.client_as("user");
        let ns: k8s_openapi::api::core::v1::Namespace =
            serde_json::from_value(json!({"metadata": {"name": namespace}})).expect("namespace");
        Api::<k8s_openapi::api::core::v1::Namespace>::all(user.clone())
            .create(&PostParams::default(), &ns)
            .await
            .expect("create the namespace");
        let document = catalog(&[server], "1.0.0");
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "catalog"},
                        "data": {"registry.json": document}});
        Api::<ConfigMap>::namespaced(user.clone(), namespace)
            .patch("catalog", &PatchParams::apply("user").force(), &Patch::Apply(&cm))
            .await
            .expect("ConfigMap");
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "registry-db"},
                            "stringData": {"url": db.url_with_password()}});
        Api::<k8s_openapi::api::core::v1::Secret>::namespaced(user.clone(), namespace)
            .patch("registry-db", &PatchParams::apply("user").force(), &Patch::Apply(&secret))
            .await
            .expect("Secret");
        let registry: McpRegistry = serde_json::from_value(json!({
            "apiVersion": "toolhive.stacklok.io/v1alpha1", "kind": "MCPRegistry",
            "metadata": {"name": "platform", "namespace": namespace},
            "spec": postgres_spec("catalog", "registry-db", false),
        }))
        .expect("registry");
        Api::<McpRegistry>::namespaced(user, namespace)
            .create(&PostParams::default(), &registry)
            .await
            .expect("create");
    }
    for namespace in ["team-a", "team-b"] {
        let ready = fake
            .wait_for::<McpRegistry>(namespace, "platform", WAIT, |r| {
                r.is_some_and(|r| has(r, Ready, "True", "Succeeded"))
            })
            .await;
        assert!(matches!(ready, Ok(Some(_))), "{namespace}: {ready:?}");
    }
    assert_eq!(stored_names(&db, "team-a/platform").await, ["io.example/a"]);
    assert_eq!(stored_names(&db, "team-b/platform").await, ["io.example/b"]);
}
