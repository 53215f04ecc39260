//! MCPServer relationships against the fake API server: the operator's controller labels the MCPServers a
//! person associated with a registry entry, applies each `syncPolicy.onUpdate` mode when the entry changes,
//! leaves the fields another field manager set alone, emits Events on both objects, and does nothing (and
//! fails nothing) when ToolHive's CRD is not installed.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};
use thv_kube_fake::FakeApiServer;
use thv_operator::conditions::ConditionType::Ready;
use thv_operator::mcpserver::managed::{Desired, find_entry};
use thv_operator::mcpserver::plan::Association;
use thv_operator::mcpserver::{
    CATEGORY_LABEL, ENTRY_DIGEST_ANNOTATION, REGISTRY_NAME_LABEL, REGISTRY_NAMESPACE_LABEL, SERVER_NAME_LABEL,
    TIER_LABEL, cluster,
};

use crate::harness::*;

/// ToolHive's MCPServer CRD as far as the fake needs it: the group, both served versions, a status.
pub(crate) fn toolhive_crd() -> CustomResourceDefinition {
    let version = |name: &str, storage: bool| {
        json!({"name": name, "served": true, "storage": storage, "subresources": {"status": {}},
               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}})
    };
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "mcpservers.toolhive.stacklok.dev"},
        "spec": {"group": "toolhive.stacklok.dev", "scope": "Namespaced",
                 "names": {"kind": "MCPServer", "plural": "mcpservers", "singular": "mcpserver", "listKind": "MCPServerList"},
                 "versions": [version("v1beta1", true), version("v1alpha1", false)]}
    }))
    .expect("CRD")
}

fn resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("toolhive.stacklok.dev", "v1beta1", "MCPServer"),
        "mcpservers",
    )
}

fn fake_with_toolhive() -> FakeApiServer {
    let fake = fake();
    fake.register_crd(&toolhive_crd());
    fake
}

/// A catalog with `io.example/fetch` at image tag `tag` (tier, category and an env default from ToolHive's
/// extension and the package), and `io.example/other`.
fn fetch_catalog(tag: &str, tier: &str) -> String {
    let image = format!("ghcr.io/example/fetch:{tag}");
    let fetch = json!({
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        "name": "io.example/fetch", "version": tag, "description": "Fetches web pages as Markdown.",
        "packages": [{"registryType": "oci", "identifier": image, "transport": {"type": "stdio"},
                      "environmentVariables": [{"name": "FETCH_TIMEOUT", "description": "Timeout in seconds", "default": "30"}]}],
        "_meta": {"io.modelcontextprotocol.registry/publisher-provided": {"io.github.stacklok": {
            image.clone(): {"tier": tier, "status": "Active", "tools": ["fetch"], "custom_metadata": {"category": "search"}}
        }}}
    });
    json!({"servers": [{"server": fetch}, {"server": server("io.example/other", "1.0.0")}], "metadata": {"count": 2}})
        .to_string()
}

fn association() -> Association {
    Association { registry: "platform".into(), registry_namespace: NS.into(), server: "fetch".into() }
}

/// The RBAC tour's part: a labelled server applied (`update`), then a changed entry recreated (`recreate`).
/// The fake must serve [`toolhive_crd`].
pub(crate) async fn rbac_tour(fake: &FakeApiServer) {
    registry_with(fake, "recreate", "1.0.0").await;
    kubectl_apply(
        fake,
        "fetch",
        json!({"apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": "MCPServer",
               "metadata": {"name": "fetch", "labels": {REGISTRY_NAME_LABEL: "platform", SERVER_NAME_LABEL: "fetch"}},
               "spec": {"image": "ghcr.io/example/fetch:1.0.0", "serviceAccount": "fetcher"}}),
        false,
    )
    .await;
    let before = wait_server(fake, "fetch", |o| digest(o).is_some()).await;
    put_configmap(fake, "fetch-catalog", &fetch_catalog("1.1.0", "Official")).await;
    wait_server(fake, "fetch", |o| o["metadata"]["uid"] != before["metadata"]["uid"] && digest(o).is_some()).await;
    servers(fake).delete("fetch", &Default::default()).await.expect("delete");
}

async fn registry_with(fake: &FakeApiServer, on_update: &str, tag: &str) {
    put_configmap(fake, "fetch-catalog", &fetch_catalog(tag, "Official")).await;
    let mut spec = configmap_spec("fetch-catalog", false);
    spec["syncPolicy"] = json!({"onUpdate": on_update});
    create_registry(fake, "platform", spec).await;
    wait_registry(fake, "platform", |r| has(r, Ready, "True", "Succeeded")).await;
}

/// What the registry's storage holds for `fetch`, as the operator builds it.
async fn desired(fake: &FakeApiServer) -> Desired {
    let registry = wait_registry(fake, "platform", |_| true).await;
    let owner = kube::Resource::controller_owner_ref(&registry, &()).expect("owner");
    let store = thv_operator::ConfigMapStore::new(fake.client_as("test-reader"), NS, "platform", owner);
    let catalog = thv_store::Store::catalog(&store, "platform").await.expect("catalog");
    find_entry("default/platform", &catalog, "fetch").expect("entry")
}

/// Deploys `fetch` as `thv registry deploy` does, with a person's `env`.
async fn deploy(fake: &FakeApiServer, name: &str, env: &[(&str, &str)]) -> DynamicObject {
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let desired = desired(fake).await;
    cluster::deploy(&fake.client_as("user"), &resource(), NS, name, &association(), &desired, &env)
        .await
        .expect("deploy")
}

fn servers(fake: &FakeApiServer) -> Api<DynamicObject> {
    Api::namespaced_with(fake.client_as("user"), NS, &resource())
}

/// Server-side applies `body` as a person with `kubectl apply --server-side [--force-conflicts]`.
async fn kubectl_apply(fake: &FakeApiServer, name: &str, body: Value, force: bool) {
    let mut params = PatchParams::apply("kubectl");
    params.force = force;
    servers(fake).patch(name, &params, &Patch::Apply(&body)).await.expect("kubectl apply");
}

async fn wait_server(fake: &FakeApiServer, name: &str, check: impl Fn(&Value) -> bool) -> Value {
    let api = servers(fake);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let now = api.get_opt(name).await.expect("get").map(|o| serde_json::to_value(o).expect("json"));
        if let Some(object) = now.as_ref().filter(|o| check(o)) {
            return object.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "MCPServer {name} did not get there: {now:#?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn label<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object["metadata"]["labels"].get(key).and_then(Value::as_str)
}

fn env(object: &Value, name: &str) -> Option<String> {
    object["spec"]["env"].as_array()?.iter().find(|e| e["name"] == name)?["value"].as_str().map(ToOwned::to_owned)
}

fn image(object: &Value) -> &str {
    object["spec"]["image"].as_str().unwrap_or_default()
}

/// The digest the controller records once it applied (or baselined) `tag`'s entry.
fn digest(object: &Value) -> Option<&str> {
    object["metadata"]["annotations"].get(ENTRY_DIGEST_ANNOTATION).and_then(Value::as_str)
}

#[tokio::test]
async fn labelling_a_server_fills_in_tier_and_category_without_waiting_for_a_sync() {
    let fake = fake_with_toolhive();
    let operator = Operator::start(&fake);
    registry_with(&fake, "create", "1.0.0").await;
    assert_eq!(operator.syncs("platform", "success"), 1);

    // A server the person made and then labelled (`kubectl label`): spec and labels are theirs.
    kubectl_apply(
        &fake,
        "my-fetch",
        json!({"apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": "MCPServer",
               "metadata": {"name": "my-fetch", "labels": {REGISTRY_NAME_LABEL: "platform", REGISTRY_NAMESPACE_LABEL: NS, SERVER_NAME_LABEL: "fetch"}},
               "spec": {"image": "ghcr.io/example/fetch:0.9.0"}}),
        false,
    )
    .await;
    let labelled = wait_server(&fake, "my-fetch", |o| label(o, TIER_LABEL) == Some("Official")).await;
    assert_eq!(label(&labelled, CATEGORY_LABEL), Some("search"));
    assert_eq!(image(&labelled), "ghcr.io/example/fetch:0.9.0", "onUpdate: create never touches a running server");
    assert_eq!(operator.syncs("platform", "success"), 1, "the MCPServer watch handled it, not a sync");
    let on_server = events(&fake, "my-fetch", "MCPServerLabeled");
    assert_eq!(on_server.len(), 1, "{on_server:?}");
    assert!(on_server[0].1.contains("tier Official, category search"), "{}", on_server[0].1);
    let on_registry = events(&fake, "platform", "MCPServerLabeled");
    assert!(on_registry.iter().any(|(_, note)| note.starts_with("MCPServer default/my-fetch: ")), "{on_registry:?}");

    // A server naming an entry the registry does not have: a Warning naming the registry.
    kubectl_apply(
        &fake,
        "ghost",
        json!({"apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": "MCPServer",
               "metadata": {"name": "ghost", "labels": {REGISTRY_NAME_LABEL: "platform", SERVER_NAME_LABEL: "nope"}},
               "spec": {"image": "ghcr.io/example/ghost:1"}}),
        false,
    )
    .await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while events(&fake, "ghost", "MCPServerEntryNotFound").is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no MCPServerEntryNotFound Event");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let warning = &events(&fake, "ghost", "MCPServerEntryNotFound")[0];
    assert_eq!(warning.0, "Warning");
    assert_eq!(warning.1, "registry default/platform: no server named \"nope\"");
    operator.stop().await;
}

#[tokio::test]
async fn update_applies_a_changed_entry_and_leaves_the_fields_a_person_set_alone() {
    let fake = fake_with_toolhive();
    let operator = Operator::start(&fake);
    registry_with(&fake, "update", "1.0.0").await;
    // Deployed from the registry with the person's own timeout, then one pinned to a patched image by hand.
    deploy(&fake, "fetch", &[("FETCH_TIMEOUT", "5")]).await;
    deploy(&fake, "pinned", &[]).await;
    kubectl_apply(
        &fake,
        "pinned",
        json!({"apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": "MCPServer", "metadata": {"name": "pinned"},
               "spec": {"image": "ghcr.io/mine/fetch:patched"}}),
        true,
    )
    .await;
    let before = wait_server(&fake, "fetch", |o| digest(o).is_some()).await;
    assert_eq!(env(&before, "FETCH_TIMEOUT").as_deref(), Some("5"));

    put_configmap(&fake, "fetch-catalog", &fetch_catalog("1.1.0", "Official")).await;
    let updated = wait_server(&fake, "fetch", |o| image(o) == "ghcr.io/example/fetch:1.1.0").await;
    assert_eq!(env(&updated, "FETCH_TIMEOUT").as_deref(), Some("5"), "the person's value survives the update");
    assert_ne!(digest(&updated), digest(&before));
    assert_eq!(label(&updated, SERVER_NAME_LABEL), Some("fetch"), "the association stays");
    let pinned = wait_server(&fake, "pinned", |o| digest(o) == digest(&updated)).await;
    assert_eq!(image(&pinned), "ghcr.io/mine/fetch:patched", "an image set by another manager is never forced");

    let kept = events(&fake, "pinned", "MCPServerFieldsKept");
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0].0, "Warning");
    assert_eq!(
        kept[0].1,
        "left alone (never forced): spec.image is set by kubectl to \"ghcr.io/mine/fetch:patched\"; \
         the entry has \"ghcr.io/example/fetch:1.1.0\""
    );
    let kept = events(&fake, "fetch", "MCPServerFieldsKept");
    assert!(kept.iter().any(|(_, n)| n.contains("spec.env[FETCH_TIMEOUT] is set by thv-registry-deploy")), "{kept:?}");
    assert!(!kept.iter().any(|(_, n)| n.contains("\"5\"")), "a person's env value is never shown: {kept:?}");
    let updates = events(&fake, "fetch", "MCPServerUpdated");
    assert!(
        updates.iter().any(|(_, n)| n.contains(": image ghcr.io/example/fetch:1.1.0, transport stdio; ")),
        "{updates:?}"
    );
    let pinned_updates = events(&fake, "pinned", "MCPServerUpdated");
    assert!(
        pinned_updates.iter().any(|(_, n)| n.contains(": transport stdio, env FETCH_TIMEOUT; ")),
        "the kept image is not said to be applied: {pinned_updates:?}"
    );
    let on_registry = event_reasons(&fake, "platform");
    assert!(on_registry.iter().any(|r| r == "MCPServerUpdated"), "{on_registry:?}");
    assert!(on_registry.iter().any(|r| r == "MCPServerFieldsKept"), "{on_registry:?}");
    operator.stop().await;
}

#[tokio::test]
async fn recreate_deletes_and_creates_a_changed_server_keeping_what_the_entry_does_not_manage() {
    let fake = fake_with_toolhive();
    let operator = Operator::start(&fake);
    registry_with(&fake, "recreate", "1.0.0").await;
    deploy(&fake, "fetch", &[]).await;
    kubectl_apply(
        &fake,
        "fetch",
        json!({"apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": "MCPServer",
               "metadata": {"name": "fetch", "labels": {"team": "web"}}, "spec": {"serviceAccount": "fetcher"}}),
        false,
    )
    .await;
    let before = wait_server(&fake, "fetch", |o| digest(o).is_some()).await;
    let uid = before["metadata"]["uid"].clone();

    put_configmap(&fake, "fetch-catalog", &fetch_catalog("1.1.0", "Community")).await;
    let recreated = wait_server(&fake, "fetch", |o| o["metadata"]["uid"] != uid).await;
    assert_eq!(image(&recreated), "ghcr.io/example/fetch:1.1.0");
    assert_eq!(label(&recreated, TIER_LABEL), Some("Community"));
    assert_eq!(label(&recreated, "team"), Some("web"));
    assert_eq!(label(&recreated, REGISTRY_NAME_LABEL), Some("platform"));
    assert_eq!(recreated["spec"]["serviceAccount"], "fetcher");
    assert_eq!(env(&recreated, "FETCH_TIMEOUT").as_deref(), Some("30"));
    let events = events(&fake, "fetch", "MCPServerRecreated");
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0].1.starts_with("recreated from entry io.example/fetch of MCPRegistry default/platform"));
    // Recreated once: the next reconcile finds the new digest.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let again = servers(&fake).get("fetch").await.expect("get");
    assert_eq!(serde_json::to_value(&again).expect("json")["metadata"]["uid"], recreated["metadata"]["uid"]);
    operator.stop().await;
}

#[tokio::test]
async fn create_leaves_running_servers_alone_when_their_entry_changes() {
    let fake = fake_with_toolhive();
    let operator = Operator::start(&fake);
    registry_with(&fake, "create", "1.0.0").await;
    deploy(&fake, "fetch", &[]).await;
    wait_server(&fake, "fetch", |o| label(o, TIER_LABEL) == Some("Official")).await;

    put_configmap(&fake, "fetch-catalog", &fetch_catalog("1.1.0", "Community")).await;
    // The tier label follows the entry (so the controller did see the change) …
    let after = wait_server(&fake, "fetch", |o| label(o, TIER_LABEL) == Some("Community")).await;
    // … but the running server's spec does not.
    assert_eq!(image(&after), "ghcr.io/example/fetch:1.0.0");
    assert!(events(&fake, "fetch", "MCPServerUpdated").is_empty());
    assert!(events(&fake, "fetch", "MCPServerRecreated").is_empty());
    operator.stop().await;
}

#[tokio::test]
async fn without_toolhive_crd_registries_work_and_no_mcpserver_is_asked_for() {
    let fake = fake();
    let operator = Operator::start(&fake);
    registry_with(&fake, "update", "1.0.0").await;
    let hash = |r: &thv_operator::McpRegistry| r.status.as_ref().and_then(|s| s.last_sync_hash.clone());
    let first = hash(&wait_registry(&fake, "platform", |_| true).await);
    put_configmap(&fake, "fetch-catalog", &fetch_catalog("1.1.0", "Official")).await;
    wait_registry(&fake, "platform", |r| has(r, Ready, "True", "Succeeded") && hash(r) != first).await;
    operator.stop().await;
    let asked: Vec<_> = fake.requests().into_iter().filter(|r| r.group == "toolhive.stacklok.dev").collect();
    assert_eq!(asked, [], "nothing about MCPServers is requested without their CRD");
    assert!(fake.requests().iter().filter(|r| r.client == OPERATOR).all(|r| r.code < 500));
    let names: Vec<String> = event_reasons(&fake, "platform");
    assert!(!names.iter().any(|r| r.starts_with("MCPServer")), "{names:?}");
}
