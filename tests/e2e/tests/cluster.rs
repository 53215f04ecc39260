//! The operator on a real cluster: see `tests/e2e/README.md`. Runs only when `THV_E2E_KUBECONFIG` names a
//! kubeconfig; fails instead of passing without one when `THV_E2E_REQUIRED=1`.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::wait::{Condition, await_condition, conditions};
use kube::{Client, Config, ResourceExt};
use serde_json::json;
use thv_operator::McpRegistry;
use thv_operator::labels::{SYNC_TRIGGER_ANNOTATION, api_name, storage_config_map_name};

const WAIT: Duration = Duration::from_secs(180);
const FIELD_MANAGER: &str = "thv-e2e";

/// The cluster's client, or `None` (after saying why) when no kubeconfig is given and none is required.
async fn cluster() -> Option<Client> {
    let required = std::env::var("THV_E2E_REQUIRED").is_ok_and(|v| v == "1");
    let Some(path) = std::env::var_os("THV_E2E_KUBECONFIG").filter(|p| !p.is_empty()) else {
        assert!(!required, "THV_E2E_REQUIRED=1 but THV_E2E_KUBECONFIG is not set");
        eprintln!("thv-e2e: THV_E2E_KUBECONFIG is not set: no cluster, the end-to-end suite did not run");
        return None;
    };
    let kubeconfig = Kubeconfig::read_from(&path).expect("THV_E2E_KUBECONFIG is a kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.expect("config");
    Some(Client::try_from(config).expect("client"))
}

/// A namespace of the test's own, with the API pods' ServiceAccount and Role of `deploy/registry-namespace`.
async fn namespace(client: &Client, name: &str) -> String {
    let suffix = jiff::Timestamp::now().as_second();
    let namespace = format!("thv-e2e-{name}-{suffix}");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let object = Namespace {
        metadata: ObjectMeta { name: Some(namespace.clone()), ..ObjectMeta::default() },
        ..Namespace::default()
    };
    namespaces.create(&PostParams::default(), &object).await.expect("create the namespace");
    let manifests = [
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "thv-registry-api"}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "thv-registry-api"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "thv-registry-api"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "thv-registry-api"},
            "subjects": [{"kind": "ServiceAccount", "name": "thv-registry-api"}]}),
    ];
    for manifest in manifests {
        let object: kube::api::DynamicObject = serde_json::from_value(manifest).expect("manifest");
        let gvk = kube::api::GroupVersionKind::try_from(object.types.as_ref().expect("types")).expect("gvk");
        let (resource, _) = kube::discovery::pinned_kind(client, &gvk).await.expect("discovery");
        let api: Api<kube::api::DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
        api.patch(&object.name_any(), &PatchParams::apply(FIELD_MANAGER), &Patch::Apply(&object)).await.expect("apply");
    }
    namespace
}

fn catalog(servers: &[&str]) -> String {
    let servers: Vec<_> = servers
        .iter()
        .map(|name| {
            json!({"name": name, "version": "1.0.0", "description": "An e2e test server",
            "packages": [{"registryType": "npm", "identifier": "@example/e2e", "transport": {"type": "stdio"}}]})
        })
        .collect();
    json!({"servers": servers}).to_string()
}

async fn put_catalog(client: &Client, namespace: &str, servers: &[&str]) {
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "catalog"},
        "data": {"registry.json": catalog(servers)}});
    configmaps.patch("catalog", &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&cm)).await.expect("catalog");
}

async fn create_registry(client: &Client, namespace: &str, name: &str) {
    let registries: Api<McpRegistry> = Api::namespaced(client.clone(), namespace);
    let registry: McpRegistry = serde_json::from_value(json!({
        "apiVersion": "toolhive.stacklok.io/v1alpha1", "kind": "MCPRegistry", "metadata": {"name": name},
        "spec": {"source": {"type": "configmap", "configMap": {"name": "catalog"}}}
    }))
    .expect("registry");
    registries.create(&PostParams::default(), &registry).await.expect("create the registry");
}

fn condition_is(type_: &'static str, status: &'static str) -> impl Condition<McpRegistry> {
    move |registry: Option<&McpRegistry>| {
        registry.and_then(|r| r.status.as_ref()).is_some_and(|s| {
            s.conditions.iter().any(|c| c.type_ == type_ && c.status == status)
                && s.observed_generation == registry.and_then(|r| r.metadata.generation)
        })
    }
}

async fn wait_for(api: &Api<McpRegistry>, name: &str, condition: impl Condition<McpRegistry>) -> McpRegistry {
    tokio::time::timeout(WAIT, await_condition(api.clone(), name, condition))
        .await
        .expect("in time")
        .expect("watch")
        .expect("the registry exists")
}

/// `GET <path>` on the registry's API Service, through the API server's Service proxy.
async fn api_get(client: &Client, namespace: &str, registry: &str, path: &str) -> serde_json::Value {
    let uri = format!("/api/v1/namespaces/{namespace}/services/{}:8080/proxy{path}", api_name(registry));
    let request = http::Request::get(uri).body(Vec::new()).expect("request");
    let text = client.request_text(request).await.expect("the API answers");
    serde_json::from_str(&text).expect("JSON")
}

fn server_names(page: &serde_json::Value) -> Vec<String> {
    let mut names: Vec<String> = page["servers"]
        .as_array()
        .map(|list| list.iter().filter_map(|s| s["server"]["name"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    names.sort();
    names
}

async fn cleanup(client: &Client, namespace: &str) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let _ = namespaces.delete(namespace, &DeleteParams::default()).await;
}

#[tokio::test]
async fn a_registry_syncs_serves_resyncs_handles_a_trigger_and_is_collected() {
    let Some(client) = cluster().await else { return };
    let namespace = namespace(&client, "lifecycle").await;
    put_catalog(&client, &namespace, &["io.example/alpha", "io.example/beta"]).await;
    create_registry(&client, &namespace, "platform").await;
    let registries: Api<McpRegistry> = Api::namespaced(client.clone(), &namespace);

    let ready = wait_for(&registries, "platform", condition_is("Ready", "True")).await;
    let status = ready.status.expect("status");
    assert_eq!((status.servers, status.versions), (Some(2), Some(2)));
    assert!(status.last_sync_hash.as_deref().is_some_and(|h| h.starts_with("sha256:")));
    assert_eq!(status.api_endpoint, Some(format!("http://platform-api.{namespace}.svc:8080")));
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), &namespace);
    assert!(configmaps.get_opt(&storage_config_map_name("platform")).await.expect("get").is_some());
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
    tokio::time::timeout(
        WAIT,
        await_condition(deployments.clone(), &api_name("platform"), conditions::is_deployment_completed()),
    )
    .await
    .expect("the API Deployment completes in time")
    .expect("watch");
    let page = api_get(&client, &namespace, "platform", "/v0.1/servers").await;
    assert_eq!(server_names(&page), ["io.example/alpha", "io.example/beta"]);

    // An edit of the source ConfigMap syncs at once and reaches the API.
    put_catalog(&client, &namespace, &["io.example/alpha", "io.example/beta", "io.example/gamma"]).await;
    wait_for(&registries, "platform", |r: Option<&McpRegistry>| {
        r.and_then(|r| r.status.as_ref()).is_some_and(|s| s.servers == Some(3))
    })
    .await;
    let mut names = Vec::new();
    for _ in 0..30 {
        names = server_names(&api_get(&client, &namespace, "platform", "/v0.1/servers").await);
        if names.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(names, ["io.example/alpha", "io.example/beta", "io.example/gamma"]);

    // A sync trigger is handled once and echoed.
    let annotate = json!({"metadata": {"annotations": {SYNC_TRIGGER_ANNOTATION: "e2e-1"}}});
    registries.patch("platform", &PatchParams::default(), &Patch::Merge(&annotate)).await.expect("annotate");
    wait_for(&registries, "platform", |r: Option<&McpRegistry>| {
        r.and_then(|r| r.status.as_ref()).is_some_and(|s| s.last_handled_sync_trigger.as_deref() == Some("e2e-1"))
    })
    .await;

    // Deletion: owned objects are garbage-collected.
    let uid = registries.get("platform").await.expect("get").uid().expect("uid");
    registries.delete("platform", &DeleteParams::default()).await.expect("delete");
    tokio::time::timeout(WAIT, await_condition(registries.clone(), "platform", conditions::is_deleted(&uid)))
        .await
        .expect("deleted in time")
        .expect("watch");
    let services: Api<Service> = Api::namespaced(client.clone(), &namespace);
    let mut gone = false;
    for _ in 0..60 {
        let storage = configmaps.get_opt(&storage_config_map_name("platform")).await.expect("get");
        let deployment = deployments.get_opt(&api_name("platform")).await.expect("get");
        let service = services.get_opt(&api_name("platform")).await.expect("get");
        if storage.is_none() && deployment.is_none() && service.is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(gone, "the storage ConfigMap, Deployment and Service are garbage-collected");
    cleanup(&client, &namespace).await;
}

#[tokio::test]
async fn a_missing_configmap_stalls_with_an_event() {
    let Some(client) = cluster().await else { return };
    let namespace = namespace(&client, "missing").await;
    create_registry(&client, &namespace, "orphan").await;
    let registries: Api<McpRegistry> = Api::namespaced(client.clone(), &namespace);
    let stalled = wait_for(&registries, "orphan", condition_is("Stalled", "True")).await;
    let conditions = stalled.status.expect("status").conditions;
    let reason = |type_: &str| conditions.iter().find(|c| c.type_ == type_).map(|c| c.reason.clone());
    assert_eq!(reason("Stalled").as_deref(), Some("SourceNotFound"));
    assert_eq!(reason("SourceAvailable").as_deref(), Some("SourceNotFound"));
    let events: Api<Event> = Api::namespaced(client.clone(), &namespace);
    let mut found = false;
    for _ in 0..30 {
        let list = events.list(&ListParams::default()).await.expect("events");
        found = list
            .items
            .iter()
            .any(|e| e.reason.as_deref() == Some("SourceNotFound") && e.type_.as_deref() == Some("Warning"));
        if found {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(found, "a Warning Event SourceNotFound");
    // Creating the ConfigMap syncs at once.
    put_catalog(&client, &namespace, &["io.example/late"]).await;
    wait_for(&registries, "orphan", condition_is("Ready", "True")).await;
    cleanup(&client, &namespace).await;
}

/// Applies `manifest` (any kind) in `namespace` by server-side apply.
async fn apply(client: &Client, namespace: &str, manifest: serde_json::Value) {
    let object: kube::api::DynamicObject = serde_json::from_value(manifest).expect("manifest");
    let gvk = kube::api::GroupVersionKind::try_from(object.types.as_ref().expect("types")).expect("gvk");
    let (resource, _) = kube::discovery::pinned_kind(client, &gvk).await.expect("discovery");
    let api: Api<kube::api::DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    api.patch(&object.name_any(), &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&object))
        .await
        .expect("apply");
}

/// `storage.type: postgres` on a real cluster: a throwaway PostgreSQL pod in the test's namespace (image
/// `postgres:17-alpine`, pulled by the cluster), its URL in a Secret; the operator syncs into it and two API
/// replicas serve it with the URL from the Secret by `secretKeyRef`.
#[tokio::test]
async fn a_postgres_registry_is_served_by_two_replicas_from_its_secret() {
    let Some(client) = cluster().await else { return };
    let namespace = namespace(&client, "postgres").await;
    let password = format!("e2e-{}", jiff::Timestamp::now().as_nanosecond());
    apply(
        &client,
        &namespace,
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
        "spec": {"selector": {"app": "db"}, "ports": [{"port": 5432}]}}),
    )
    .await;
    apply(
        &client,
        &namespace,
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "db"},
        "spec": {"selector": {"matchLabels": {"app": "db"}}, "template": {"metadata": {"labels": {"app": "db"}},
            "spec": {"containers": [{"name": "postgres", "image": "postgres:17-alpine",
                "env": [{"name": "POSTGRES_PASSWORD", "value": password}], "ports": [{"containerPort": 5432}]}]}}}}),
    )
    .await;
    let url = format!("postgres://postgres:{password}@db.{namespace}.svc:5432/postgres?sslmode=disable");
    apply(
        &client,
        &namespace,
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "registry-db"},
        "stringData": {"url": url}}),
    )
    .await;
    put_catalog(&client, &namespace, &["io.example/pg-a", "io.example/pg-b"]).await;
    let registries: Api<McpRegistry> = Api::namespaced(client.clone(), &namespace);
    let registry: McpRegistry = serde_json::from_value(json!({
        "apiVersion": "toolhive.stacklok.io/v1alpha1", "kind": "MCPRegistry", "metadata": {"name": "platform"},
        "spec": {"source": {"type": "configmap", "configMap": {"name": "catalog"}}, "api": {"replicas": 2},
                 "storage": {"type": "postgres", "postgres": {"secretRef": {"name": "registry-db"}}}}
    }))
    .expect("registry");
    registries.create(&PostParams::default(), &registry).await.expect("create the registry");

    // The database takes a moment to start: StorageFailed retries until it answers, then Ready.
    let ready = wait_for(&registries, "platform", condition_is("Ready", "True")).await;
    let status = ready.status.expect("status");
    assert_eq!(status.servers, Some(2));
    let postgres = status.storage_ref.and_then(|s| s.postgres).expect("storageRef.postgres");
    assert_eq!(postgres.registry, format!("{namespace}/platform"));
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), &namespace);
    assert!(configmaps.get_opt(&storage_config_map_name("platform")).await.expect("get").is_none());
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
    let deployment = deployments.get(&api_name("platform")).await.expect("the API Deployment");
    let text = serde_json::to_string(&deployment).expect("JSON");
    assert!(!text.contains(&password), "the password is not in the Deployment");
    let page = api_get(&client, &namespace, "platform", "/v0.1/servers").await;
    assert_eq!(server_names(&page), ["io.example/pg-a", "io.example/pg-b"]);
    cleanup(&client, &namespace).await;
}

#[tokio::test]
async fn a_sync_job_and_an_export_job_run_once_and_clean_up() {
    use thv_operator::jobs::{JobPhase, RegistrySyncOutcome};
    use thv_operator::{McpRegistryExportJob, McpRegistrySyncJob};

    let Some(client) = cluster().await else { return };
    let namespace = namespace(&client, "jobs").await;
    put_catalog(&client, &namespace, &["io.example/alpha"]).await;
    create_registry(&client, &namespace, "platform").await;
    let registries: Api<McpRegistry> = Api::namespaced(client.clone(), &namespace);
    wait_for(&registries, "platform", condition_is("Ready", "True")).await;

    let sync_jobs: Api<McpRegistrySyncJob> = Api::namespaced(client.clone(), &namespace);
    let job: McpRegistrySyncJob = serde_json::from_value(json!({
        "apiVersion": "toolhive.stacklok.io/v1alpha1", "kind": "MCPRegistrySyncJob", "metadata": {"name": "now"},
        "spec": {"registries": ["platform"], "ttlSecondsAfterFinished": 5}
    }))
    .expect("sync job");
    sync_jobs.create(&PostParams::default(), &job).await.expect("create the sync job");
    let finished = |j: Option<&McpRegistrySyncJob>| {
        j.and_then(|j| j.status.as_ref()).is_some_and(|s| s.job.phase.is_some_and(JobPhase::is_finished))
    };
    let done = tokio::time::timeout(WAIT, await_condition(sync_jobs.clone(), "now", finished))
        .await
        .expect("in time")
        .expect("watch")
        .expect("the job exists");
    let uid = done.uid().expect("uid");
    let status = done.status.expect("status");
    assert_eq!(status.job.phase, Some(JobPhase::Succeeded), "{status:?}");
    assert_eq!(status.registries[0].result, RegistrySyncOutcome::Unchanged);
    tokio::time::timeout(WAIT, await_condition(sync_jobs, "now", conditions::is_deleted(&uid)))
        .await
        .expect("deleted after its TTL in time")
        .expect("watch");

    let export_jobs: Api<McpRegistryExportJob> = Api::namespaced(client.clone(), &namespace);
    let job: McpRegistryExportJob = serde_json::from_value(json!({
        "apiVersion": "toolhive.stacklok.io/v1alpha1", "kind": "MCPRegistryExportJob", "metadata": {"name": "backup"},
        "spec": {"registry": "platform", "format": "upstream", "configMap": {"name": "platform-export"}}
    }))
    .expect("export job");
    export_jobs.create(&PostParams::default(), &job).await.expect("create the export job");
    let succeeded = |j: Option<&McpRegistryExportJob>| {
        j.and_then(|j| j.status.as_ref()).is_some_and(|s| s.job.phase == Some(JobPhase::Succeeded))
    };
    tokio::time::timeout(WAIT, await_condition(export_jobs, "backup", succeeded))
        .await
        .expect("in time")
        .expect("watch");
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), &namespace);
    let export = configmaps.get("platform-export").await.expect("the export ConfigMap");
    let text = export.data.and_then(|d| d.get("registry.json").cloned()).expect("registry.json");
    let document: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(document["data"]["servers"][0]["name"], "io.example/alpha");
    cleanup(&client, &namespace).await;
}

/// ToolHive's MCPServer CRD, or a stand-in of ours (its group, kind, versions and `spec.env` as a map keyed by
/// `name`, as ToolHive's schema declares it) when ToolHive is not installed; `true` when the stand-in was
/// created (and must be deleted afterwards).
async fn mcpserver_crd(client: &Client) -> bool {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    if crds.get_opt("mcpservers.toolhive.stacklok.dev").await.expect("get the CRD").is_some() {
        return false;
    }
    let schema = json!({"openAPIV3Schema": {"type": "object", "properties": {
        "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {
            "image": {"type": "string"},
            "env": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "object", "required": ["name"],
                              "properties": {"name": {"type": "string"}, "value": {"type": "string"}}}}}},
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}});
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "mcpservers.toolhive.stacklok.dev"},
        "spec": {"group": "toolhive.stacklok.dev", "scope": "Namespaced",
                 "names": {"kind": "MCPServer", "plural": "mcpservers", "singular": "mcpserver", "listKind": "MCPServerList"},
                 "versions": [{"name": "v1beta1", "served": true, "storage": true, "schema": schema, "subresources": {"status": {}}}]}
    }))
    .expect("CRD");
    crds.create(&PostParams::default(), &crd).await.expect("create the stand-in CRD");
    tokio::time::sleep(Duration::from_secs(5)).await; // established
    true
}

fn fetch_catalog(tag: &str) -> String {
    let image = format!("ghcr.io/example/fetch:{tag}");
    json!({"servers": [{
        "name": "io.example/fetch", "version": tag, "description": "Fetches web pages as Markdown.",
        "packages": [{"registryType": "oci", "identifier": image, "transport": {"type": "stdio"},
                      "environmentVariables": [{"name": "FETCH_TIMEOUT", "description": "Timeout in seconds", "default": "30"}]}],
        "_meta": {"io.modelcontextprotocol.registry/publisher-provided": {"io.github.stacklok": {
            image.clone(): {"tier": "Official", "status": "Active", "tools": ["fetch"]}}}}
    }]})
    .to_string()
}

#[tokio::test]
async fn an_mcpserver_is_labelled_and_updated_keeping_a_persons_value() {
    use thv_operator::mcpserver::{cluster as mcp, managed, plan::Association};
    let Some(client) = cluster().await else { return };
    let created_crd = mcpserver_crd(&client).await;
    let namespace = namespace(&client, "mcpserver").await;
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), &namespace);
    let put = |tag: &'static str| {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "catalog"},
            "data": {"registry.json": fetch_catalog(tag)}});
        let configmaps = configmaps.clone();
        async move {
            configmaps
                .patch("catalog", &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&cm))
                .await
                .expect("catalog");
        }
    };
    put("1.0.0").await;
    create_registry(&client, &namespace, "platform").await;
    let registries: Api<McpRegistry> = Api::namespaced(client.clone(), &namespace);
    wait_for(&registries, "platform", condition_is("Ready", "True")).await;

    // Deployed as `thv registry deploy fetch --registry platform --env FETCH_TIMEOUT=5` does it.
    let resource = mcp::discover(&client).await.expect("discovery").expect("the MCPServer kind");
    let server: thv_operator::mcpserver::managed::Desired = {
        let document: serde_json::Value = serde_json::from_str(&fetch_catalog("1.0.0")).expect("json");
        let server = serde_json::from_value(document["servers"][0].clone()).expect("server.json");
        managed::Desired::from_server(&server).expect("desired")
    };
    let association =
        Association { registry: "platform".into(), registry_namespace: namespace.clone(), server: "fetch".into() };
    let env = [("FETCH_TIMEOUT".to_owned(), "5".to_owned())];
    mcp::deploy(&client, &resource, &namespace, "fetch", &association, &server, &env).await.expect("deploy");

    put("1.1.0").await;
    let servers = mcp::api(&client, &resource, &namespace);
    let mut object = serde_json::Value::Null;
    for _ in 0..120 {
        object = serde_json::to_value(servers.get("fetch").await.expect("get")).expect("json");
        if object["spec"]["image"] == "ghcr.io/example/fetch:1.1.0" {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(object["spec"]["image"], "ghcr.io/example/fetch:1.1.0", "onUpdate: update applied: {object:#}");
    assert_eq!(object["spec"]["env"], json!([{"name": "FETCH_TIMEOUT", "value": "5"}]), "the person's value stays");
    assert_eq!(object["metadata"]["labels"]["toolhive.stacklok.io/tier"], "Official");
    let events: Api<Event> = Api::namespaced(client.clone(), &namespace);
    let reasons: Vec<String> =
        events.list(&ListParams::default()).await.expect("events").into_iter().filter_map(|e| e.reason).collect();
    assert!(reasons.iter().any(|r| r == "MCPServerUpdated"), "{reasons:?}");
    assert!(reasons.iter().any(|r| r == "MCPServerFieldsKept"), "{reasons:?}");
    cleanup(&client, &namespace).await;
    if created_crd {
        use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        let _ = crds.delete("mcpservers.toolhive.stacklok.dev", &DeleteParams::default()).await;
    }
}
