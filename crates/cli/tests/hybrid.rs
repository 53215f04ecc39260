//! Hybrid mode, end to end: the real `thv` binary against the fake API server over loopback HTTP, through a
//! temporary kubeconfig (never the machine's: `KUBECONFIG` and `HOME` point into the test's directory), with
//! the real MCPRegistry controller running in-process against the same fake. Detection, the SCOPE rows of
//! `thv registry list` in each format, `show` and `sync --wait` of an MCPRegistry, ambiguous names, and an
//! RBAC refusal worded for the user.

mod support;

use std::sync::Arc;
use std::time::Duration;

use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use support::Env;
use thv_kube_fake::{FakeApiServer, Fault, HttpListener, Verb};
use thv_operator::McpRegistry;
use thv_operator::controller::metrics::Metrics;
use thv_operator::controller::workload::ApiPodTemplate;
use thv_operator::controller::{ClusterBackend, Context, Readiness, Settings};
use thv_operator::jobs::lifecycle::Backoff;

const NS: &str = "team-a";
const CONTEXT: &str = "fake";
const SCOPE: &str = "kube:fake/team-a";
const WAIT: Duration = Duration::from_secs(20);

/// The fake with the operator's CRDs (unless `crds` is false), served over HTTP.
async fn cluster(crds: bool) -> (FakeApiServer, HttpListener) {
    let fake = FakeApiServer::new();
    let namespace: k8s_openapi::api::core::v1::Namespace =
        serde_json::from_value(json!({"metadata": {"name": NS}})).expect("namespace");
    fake.seed(&namespace).expect("namespace team-a");
    if crds {
        for crd in thv_operator::crds() {
            fake.register_crd(&crd);
        }
    }
    let listener = fake.listen_http().await.expect("listen");
    (fake, listener)
}

/// The MCPRegistry controller, as `thv operator run` starts it, against the fake (aborted when dropped).
struct Operator {
    task: tokio::task::JoinHandle<()>,
    /// Its Git cache, removed with it.
    _cache: tempfile::TempDir,
}

impl Operator {
    fn start(fake: &FakeApiServer) -> Self {
        let client = fake.client_as("operator");
        let cache = tempfile::tempdir().expect("cache dir");
        let backend = Arc::new(ClusterBackend::new(client.clone(), cache.path().to_path_buf()));
        let settings = Settings {
            namespace: None,
            concurrency: 2,
            api: ApiPodTemplate { image: "ghcr.io/thv-registry/thv-registry:test".into() },
            instance: Some("operator-0".into()),
            job_backoff: Backoff { initial: Duration::from_millis(300), max: Duration::from_secs(2) },
        };
        let ctx = Arc::new(Context::new(client, backend, settings, Arc::new(Metrics::new())));
        let task = tokio::spawn(thv_operator::controller::run(ctx, Arc::new(Readiness::default()), async {
            std::future::pending::<()>().await;
        }));
        Self { task, _cache: cache }
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn catalog(names: &[&str], version: &str) -> String {
    let servers: Vec<Value> = names
        .iter()
        .map(|name| {
            json!({"server": {
                "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
                "name": name, "version": version, "description": format!("The {name} server."),
                "packages": [{"registryType": "oci", "identifier": format!("ghcr.io/example/{}:{version}", name.replace('/', "-")),
                              "transport": {"type": "stdio"}}]
            }})
        })
        .collect();
    json!({"servers": servers, "metadata": {"count": names.len()}}).to_string()
}

async fn put_catalog(fake: &FakeApiServer, name: &str, document: &str) {
    let api: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(fake.client_as("admin"), NS);
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"registry.json": document}});
    api.patch(name, &PatchParams::apply("admin").force(), &Patch::Apply(&cm)).await.expect("apply the ConfigMap");
}

async fn create_registry(fake: &FakeApiServer, name: &str, configmap: &str) {
    let registry: McpRegistry = serde_json::from_value(json!({
        "apiVersion": "toolhive.stacklok.io/v1alpha1", "kind": "MCPRegistry", "metadata": {"name": name},
        "spec": {"source": {"type": "configmap", "configMap": {"name": configmap}}, "api": {"enabled": false},
                 "syncPolicy": {"interval": "2h"}}
    }))
    .expect("registry");
    let api: Api<McpRegistry> = Api::namespaced(fake.client_as("admin"), NS);
    api.create(&PostParams::default(), &registry).await.expect("create the MCPRegistry");
}

/// Waits until the MCPRegistry `name` has a stored catalog.
async fn synced(fake: &FakeApiServer, name: &str) -> McpRegistry {
    let found = fake
        .wait_for::<McpRegistry>(NS, name, WAIT, |r| {
            r.and_then(|r| r.status.as_ref()).is_some_and(|s| s.last_sync_hash.is_some())
        })
        .await
        .expect("the operator syncs the registry");
    found.expect("registry")
}

/// An environment with one local registry, `local-one`, synced from a file, and the fake's kubeconfig.
fn env_with_local(listener: &HttpListener, token: &str) -> Env {
    let env = Env::with_kubeconfig(&listener.kubeconfig(CONTEXT, NS, token));
    let file = env.write("local.json", catalog(&["io.example/local"], "1.0.0").as_bytes());
    env.ok(&["registry", "add", "local-one", "--file", &file]);
    env.ok(&["registry", "sync", "local-one", "--local"]);
    env
}

/// Runs `thv` off the runtime's worker threads, so the fake keeps answering while it runs.
async fn thv(env: &Arc<Env>, args: &[&str]) -> support::Run {
    let (env, args) = (Arc::clone(env), args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>());
    tokio::task::spawn_blocking(move || env.run(&args.iter().map(String::as_str).collect::<Vec<_>>()))
        .await
        .expect("thv ran")
}

fn header(table: &str) -> Vec<String> {
    let first = table.lines().next().unwrap_or_default();
    first.split("  ").map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_shows_local_and_cluster_rows_with_their_scope_in_each_format() {
    let (fake, listener) = cluster(true).await;
    let _operator = Operator::start(&fake);
    put_catalog(&fake, "platform-source", &catalog(&["io.example/a", "io.example/b"], "1.0.0")).await;
    create_registry(&fake, "platform", "platform-source").await;
    let platform = synced(&fake, "platform").await;
    let env = Arc::new(env_with_local(&listener, "alice"));

    let rows = thv(&env, &["registry", "list", "-o", "json"]).await.expect_code(0, "list").json();
    let scopes: Vec<(&str, &str)> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["scope"].as_str().unwrap()))
        .collect();
    assert_eq!(scopes, [("local-one", "local"), ("platform", SCOPE)], "{rows}");
    let cluster_row = &rows[1];
    let status = platform.status.expect("status");
    assert_eq!(cluster_row["servers"], 2, "versions in the stored catalog: {cluster_row}");
    assert_eq!(cluster_row["status"], "ready");
    assert_eq!(cluster_row["sourceKind"], "configMap");
    assert_eq!(cluster_row["source"], "configmap/platform-source:registry.json");
    assert_eq!(cluster_row["interval"], "2h");
    assert_eq!(cluster_row["revision"].as_str(), status.last_sync_hash.as_deref());
    assert_eq!(cluster_row["ready"]["status"], "True", "{cluster_row}");
    assert!(cluster_row["lastSync"].as_str().is_some_and(|t| t.parse::<jiff::Timestamp>().is_ok()), "{cluster_row}");
    assert!(rows[0].get("ready").is_none(), "local rows have no Ready condition");

    let yaml = thv(&env, &["registry", "list", "-o", "yaml"]).await.expect_code(0, "list yaml");
    let from_yaml: Value = serde_saphyr::from_str(&yaml.stdout).expect("YAML");
    assert_eq!(from_yaml, rows, "YAML carries the same rows as JSON");

    let table = thv(&env, &["registry", "list"]).await.expect_code(0, "list table").stdout;
    assert_eq!(header(&table), ["NAME", "SCOPE", "SOURCE", "SERVERS", "LAST SYNC", "STATUS"]);
    let line = table.lines().find(|l| l.trim_start().starts_with("platform ")).expect("platform row");
    assert!(line.contains(SCOPE) && line.contains(" 2 ") && line.trim_end().ends_with("ready"), "{line}");
    assert!(table.lines().any(|l| l.trim_start().starts_with("local-one") && l.contains(" local ")), "{table}");

    // Each side alone.
    let local = thv(&env, &["registry", "list", "--local", "-o", "json"]).await.expect_code(0, "--local").json();
    assert_eq!(local.as_array().map(Vec::len), Some(1), "{local}");
    let kube = thv(&env, &["registry", "list", "--kube", "-o", "json"]).await.expect_code(0, "--kube").json();
    assert_eq!(
        kube.as_array().map(|r| r.iter().map(|r| r["scope"].clone()).collect::<Vec<_>>()),
        Some(vec![json!(SCOPE)])
    );
    // Another namespace, and all of them.
    let other = thv(&env, &["registry", "list", "--kube", "-n", "default", "-o", "json"]).await.expect_code(0, "-n");
    assert_eq!(other.json(), json!([]));
    let all = thv(&env, &["registry", "list", "--kube", "-A", "-o", "json"]).await.expect_code(0, "-A").json();
    assert_eq!(all[0]["scope"], SCOPE);
    // The CLI used the kubeconfig's credentials: its requests carry alice's token.
    assert!(
        fake.requests().iter().any(|r| r.client == "alice" && r.verb == Verb::List && r.resource == "mcpregistries")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_kubeconfig_or_the_crd_only_local_registries_are_listed() {
    // No kubeconfig: KUBECONFIG unset, no ~/.kube/config under the private HOME.
    let env = Env::new();
    let file = env.write("local.json", catalog(&["io.example/local"], "1.0.0").as_bytes());
    env.ok(&["registry", "add", "local-one", "--file", &file]);
    let run = env.ok(&["registry", "list", "-o", "json"]);
    assert_eq!(run.json()[0]["scope"], "local");
    assert_eq!(run.json().as_array().map(Vec::len), Some(1));
    assert!(run.stderr.is_empty(), "no note without a kubeconfig: {}", run.stderr);
    let kube = env.run(&["registry", "list", "--kube"]).expect_code(2, "--kube without a kubeconfig");
    assert!(kube.stderr.contains("cannot reach the Kubernetes API"), "{}", kube.stderr);

    // A kubeconfig whose cluster has no MCPRegistry CRD: local only, silently; --kube says why.
    let (_fake, listener) = cluster(false).await;
    let env = Arc::new(env_with_local(&listener, "alice"));
    let run = thv(&env, &["registry", "list", "-o", "json"]).await.expect_code(0, "no CRD");
    assert_eq!(
        run.json().as_array().map(|r| r.iter().map(|r| r["scope"].clone()).collect::<Vec<_>>()),
        Some(vec![json!("local")])
    );
    assert!(run.stderr.is_empty(), "a cluster without the CRD is not this CLI's: {}", run.stderr);
    let kube = thv(&env, &["registry", "list", "--kube"]).await.expect_code(2, "--kube without the CRD");
    assert!(
        kube.stderr.contains("the MCPRegistry CRD (toolhive.stacklok.io/v1alpha1) is not installed"),
        "{}",
        kube.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_cluster_is_skipped_in_auto_mode_and_an_error_with_kube() {
    // A port that accepts connections and never answers: auto mode gives up after its short timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let (fake, listener) = cluster(true).await;
    let kubeconfig = listener
        .kubeconfig(CONTEXT, NS, "alice")
        .replace(&listener.url(), &format!("http://{}", silent.local_addr().unwrap()));
    drop((fake, listener));
    let env = Arc::new(Env::with_kubeconfig(&kubeconfig));
    let file = env.write("local.json", catalog(&["io.example/local"], "1.0.0").as_bytes());
    env.ok(&["registry", "add", "local-one", "--file", &file]);
    let started = std::time::Instant::now();
    let run = thv(&env, &["registry", "list", "-o", "json"]).await.expect_code(0, "auto mode, silent cluster");
    assert!(started.elapsed() < Duration::from_secs(10), "skipped after the short timeout: {:?}", started.elapsed());
    assert_eq!(run.json().as_array().map(Vec::len), Some(1));
    assert!(
        run.stderr.contains("note: local registries only: the cluster of context \"fake\" did not answer within 3s"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);

    // A closed port: --kube fails (exit 2) naming the context.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = closed.local_addr().unwrap();
    drop(closed);
    let refused = kubeconfig.replace(&silent.local_addr().unwrap().to_string(), &address.to_string());
    let env = Arc::new(Env::with_kubeconfig(&refused));
    env.write_empty_config();
    let run = thv(&env, &["registry", "list", "--kube"]).await.expect_code(2, "--kube, refused");
    assert!(run.stderr.contains("cannot reach the cluster of context \"fake\""), "{}", run.stderr);
    let auto = thv(&env, &["registry", "list"]).await.expect_code(0, "auto, refused");
    assert!(auto.stderr.starts_with("note: local registries only: cannot reach the cluster"), "{}", auto.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_and_sync_an_mcpregistry_through_the_operator() {
    let (fake, listener) = cluster(true).await;
    let operator = Operator::start(&fake);
    put_catalog(&fake, "platform-source", &catalog(&["io.example/a"], "1.0.0")).await;
    create_registry(&fake, "platform", "platform-source").await;
    let before = synced(&fake, "platform").await;
    let env = Arc::new(env_with_local(&listener, "alice"));

    // Found in the cluster only, so no flag is needed.
    let shown = thv(&env, &["registry", "show", "platform", "-o", "json"]).await.expect_code(0, "show").json();
    assert_eq!(shown["scope"], SCOPE);
    assert_eq!(shown["spec"]["source"]["configMap"]["name"], "platform-source", "{shown}");
    assert_eq!(shown["status"]["versions"], 1);
    assert_eq!(shown["summary"]["status"], "ready");
    let table = thv(&env, &["registry", "show", "platform"]).await.expect_code(0, "show table").stdout;
    assert!(table.starts_with(&format!("MCPRegistry platform in {SCOPE}")), "{table}");
    assert!(table.contains("Conditions:") && table.contains("Synced"), "{table}");

    // A new version in the source while the operator is down (it would sync a ConfigMap edit at once): sync
    // --wait asks for a sync, waits for the operator to come back and run it, and reports what it did.
    drop(operator);
    put_catalog(&fake, "platform-source", &catalog(&["io.example/a", "io.example/b"], "2.0.0")).await;
    let waiting = tokio::spawn({
        let env = Arc::clone(&env);
        async move { thv(&env, &["registry", "sync", "platform", "--wait", "-o", "json"]).await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!waiting.is_finished(), "sync --wait waits for the operator");
    let _operator = Operator::start(&fake);
    let run = tokio::time::timeout(WAIT, waiting).await.expect("the sync finishes").expect("thv ran");
    let result = run.expect_code(0, "sync --wait").json();
    assert_eq!(result[0]["scope"], SCOPE);
    assert_eq!(result[0]["name"], "platform");
    assert_eq!(result[0]["result"], "Synced", "{result}");
    assert_eq!(result[0]["servers"], 2);
    assert_ne!(result[0]["revision"].as_str(), before.status.as_ref().and_then(|s| s.last_sync_hash.as_deref()));
    let trigger = result[0]["trigger"].as_str().expect("the trigger it set");
    let after: McpRegistry = fake.get(NS, "platform").expect("get").expect("registry");
    assert_eq!(after.status.and_then(|s| s.last_handled_sync_trigger).as_deref(), Some(trigger));

    // Export reads the stored catalog from the registry's storage ConfigMap, with the user's credentials.
    let run = thv(&env, &["registry", "export", "platform"]).await.expect_code(0, "export --kube");
    let records: Value = serde_json::from_str(&run.stdout).expect("upstream records");
    let names: Vec<(&str, &str)> = records
        .as_array()
        .expect("records")
        .iter()
        .map(|r| (r["server"]["name"].as_str().unwrap(), r["server"]["version"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [("io.example/a", "2.0.0"), ("io.example/b", "2.0.0")], "{}", run.stdout);
    assert!(run.stderr.contains("MCPRegistry platform in kube:fake/team-a"), "{}", run.stderr);
    assert!(fake.requests().iter().any(|r| r.client == "alice" && r.resource == "configmaps" && r.verb == Verb::Get));

    // Again, with nothing new: Unchanged, in a table, progress on stderr.
    let run = thv(&env, &["registry", "sync", "platform", "--kube", "--wait"]).await.expect_code(0, "sync again");
    assert!(run.stderr.contains("platform: sync requested in kube:fake/team-a"), "{}", run.stderr);
    let line = run.stdout.lines().find(|l| l.trim_start().starts_with("platform")).expect("result row");
    assert!(line.contains("Unchanged"), "{}", run.stdout);

    // The source goes away: the operator's sync fails, and so does the command (exit 1), with its reason.
    let configmaps: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(fake.client_as("admin"), NS);
    configmaps.delete("platform-source", &Default::default()).await.expect("delete the source");
    let run = thv(&env, &["registry", "sync", "platform", "--wait", "-o", "json"]).await.expect_code(1, "failed sync");
    assert_eq!(run.json()[0]["result"], "Failed", "{}", run.stdout);
    assert_eq!(run.json()[0]["reason"], "SourceNotFound", "{}", run.stdout);

    // Without --wait the request is made and the command returns.
    let run = thv(&env, &["registry", "sync", "platform"]).await.expect_code(0, "sync without --wait");
    assert!(run.stderr.contains("sync requested"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_both_local_and_in_the_cluster_needs_local_or_kube() {
    let (fake, listener) = cluster(true).await;
    let _operator = Operator::start(&fake);
    put_catalog(&fake, "src", &catalog(&["io.example/a"], "1.0.0")).await;
    create_registry(&fake, "local-one", "src").await;
    synced(&fake, "local-one").await;
    let env = Arc::new(env_with_local(&listener, "alice"));

    for args in [&["registry", "show", "local-one"][..], &["registry", "sync", "local-one"]] {
        let run = thv(&env, args).await.expect_code(2, "ambiguous");
        assert!(
            run.stderr.contains(&format!(
                "registry local-one exists both locally and in {SCOPE} as an MCPRegistry: pass --local or --kube"
            )),
            "{}",
            run.stderr
        );
    }
    let local = thv(&env, &["registry", "show", "local-one", "--local", "-o", "json"]).await.expect_code(0, "--local");
    assert!(local.json().get("scope").is_none() && local.json()["spec"]["name"] == "local-one", "{}", local.stdout);
    let kube = thv(&env, &["registry", "show", "local-one", "--kube", "-o", "json"]).await.expect_code(0, "--kube");
    assert_eq!(kube.json()["scope"], SCOPE);
    let unknown = thv(&env, &["registry", "show", "nowhere"]).await.expect_code(2, "unknown");
    assert!(
        unknown.stderr.contains("no registry named nowhere, neither locally nor as an MCPRegistry in kube:fake/team-a"),
        "{}",
        unknown.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rbac_refusal_says_what_the_user_may_not_do_where() {
    let (fake, listener) = cluster(true).await;
    fake.inject(Fault::forbidden().from_client("bob").on(Verb::List, "mcpregistries"));
    fake.inject(Fault::forbidden().from_client("bob").on(Verb::Patch, "mcpregistries"));
    put_catalog(&fake, "src", &catalog(&["io.example/a"], "1.0.0")).await;
    create_registry(&fake, "platform", "src").await;
    let env = Arc::new(env_with_local(&listener, "bob"));

    let run = thv(&env, &["registry", "list", "--kube"]).await.expect_code(2, "forbidden list");
    assert!(
        run.stderr.contains("you may not list mcpregistries in namespace team-a (kubeconfig context \"fake\"; the cluster's RBAC refused it: mcpregistries.toolhive.stacklok.io is forbidden: User \"bob\" cannot list resource \"mcpregistries\""),
        "{}",
        run.stderr
    );
    // Auto mode keeps the local rows and says why the cluster's are missing, in one line.
    let auto = thv(&env, &["registry", "list", "-o", "json"]).await.expect_code(0, "auto, forbidden");
    assert_eq!(auto.json().as_array().map(Vec::len), Some(1));
    assert!(
        auto.stderr.starts_with("note: local registries only: you may not list mcpregistries in namespace team-a"),
        "{}",
        auto.stderr
    );
    // bob may get the registry but not patch it: sync is refused, and nothing changed.
    let sync = thv(&env, &["registry", "sync", "platform", "--kube"]).await.expect_code(2, "forbidden sync");
    assert!(sync.stderr.contains("you may not patch mcpregistries in namespace team-a"), "{}", sync.stderr);
    let registry: McpRegistry = fake.get(NS, "platform").expect("get").expect("registry");
    assert!(registry.metadata.annotations.unwrap_or_default().is_empty(), "no trigger was set");
    // Nor may bob read the registry's storage ConfigMap.
    fake.inject(Fault::forbidden().from_client("bob").on(Verb::Get, "configmaps"));
    let export = thv(&env, &["registry", "export", "platform", "--kube"]).await.expect_code(2, "forbidden export");
    assert!(export.stderr.contains("you may not get configmaps in namespace team-a"), "{}", export.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_into_an_mcpregistry_creates_an_import_job_and_waits_for_it() {
    let (fake, listener) = cluster(true).await;
    let _operator = Operator::start(&fake);
    put_catalog(&fake, "platform-source", &catalog(&["io.example/a"], "1.0.0")).await;
    create_registry(&fake, "platform", "platform-source").await;
    synced(&fake, "platform").await;
    let env = Arc::new(env_with_local(&listener, "alice"));
    let file = env.write("extra.json", catalog(&["io.example/internal"], "0.1.0").as_bytes());

    let run =
        thv(&env, &["registry", "import", "--file", &file, "--registry", "platform", "--wait", "-o", "json"]).await;
    let done = run.expect_code(0, "import --wait").json();
    assert_eq!(done["scope"], SCOPE);
    assert_eq!(done["phase"], "Succeeded", "{done}");
    assert_eq!(done["import"]["added"], 1, "{done}");
    assert_eq!(done["import"]["input"], "spec.inline");
    let job = done["job"].as_str().expect("job name");
    assert!(job.starts_with("platform-import-"), "{job}");
    let stored: Option<thv_operator::McpRegistryImportJob> = fake.get(NS, job).expect("get");
    let stored = stored.expect("the job exists");
    assert_eq!(stored.spec.policy.ttl_seconds_after_finished, Some(24 * 3600), "the operator cleans it up");
    assert!(stored.spec.inline.as_deref().is_some_and(|d| d.contains("io.example/internal")));

    // The imported entry is served next to the source's: export shows both.
    let exported = thv(&env, &["registry", "export", "platform", "--kube"]).await.expect_code(0, "export");
    assert!(
        exported.stdout.contains("io.example/internal") && exported.stdout.contains("io.example/a"),
        "{}",
        exported.stdout
    );

    // Without --wait the job is created and the command returns; --clear is for local registries.
    let run =
        thv(&env, &["registry", "import", "--file", &file, "--registry", "platform"]).await.expect_code(0, "no wait");
    assert!(run.stdout.contains("MCPRegistryImportJob platform-import-"), "{}", run.stdout);
    let clear =
        thv(&env, &["registry", "import", "--registry", "platform", "--clear", "--kube"]).await.expect_code(2, "clear");
    assert!(clear.stderr.contains("--clear is for local registries"), "{}", clear.stderr);
}
