//! The RBAC rules in `deploy/rbac/roles.yaml` grant exactly what the controller asks of the API server: a tour
//! through what it does (sync ConfigMap and URL sources with a Secret, read PostgreSQL storage's Secret, write
//! storage and status, apply and delete the API Deployment and Service, publish Events, label, apply and
//! recreate MCPServers, elect a leader), with
//! every request it sent taken from the fake's log, both for all namespaces (ClusterRole) and one namespace (the Role of
//! `components/namespaced`, which changes only the kinds).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use kube::api::{Api, DeleteParams};
use serde_json::{Value, json};
use thv_kube_fake::PatchType;
use thv_operator::McpRegistry;
use thv_operator::conditions::ConditionType::{ApiReady, Ready, Synced};
use thv_operator::controller::leader::{self, LeaderSettings};
use thv_operator::labels::SYNC_TRIGGER_ANNOTATION;
use thv_testdata::servers::TestDocumentServer;

use crate::harness::*;

/// One permission: (API group, resource or resource/subresource, verb).
type Permission = (String, String, String);

fn documents(relative: &str) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy").join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What the role of `kind` named `name` in `rbac/roles.yaml` grants.
fn granted(kind: &str, name: &str) -> BTreeSet<Permission> {
    let roles = documents("rbac/roles.yaml");
    let role = roles
        .iter()
        .find(|r| r["kind"] == kind && r["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in rbac/roles.yaml"));
    let strings = |v: &Value| -> Vec<String> {
        v.as_array().expect("a list").iter().map(|s| s.as_str().expect("a string").to_owned()).collect()
    };
    let mut permissions = BTreeSet::new();
    for rule in role["rules"].as_array().expect("rules") {
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                for verb in strings(&rule["verbs"]) {
                    permissions.insert((group.clone(), resource.clone(), verb));
                }
            }
        }
    }
    permissions
}

/// The tour; returns every permission the operator's requests needed, and whether any was cluster-wide (a
/// request without a namespace: all-namespace lists and watches).
async fn tour(namespace: Option<&str>) -> (BTreeSet<Permission>, bool) {
    let fake = fake();
    fake.register_crd(&crate::mcpservers::toolhive_crd());
    let server = TestDocumentServer::start(catalog(&["io.example/private"], "1.0.0").into_bytes()).await;
    server.require_authorization(Some("Bearer token-1"));
    put_secret(&fake, "creds", "token", "token-1").await;
    put_configmap(&fake, "catalog", &catalog(&["io.example/a"], "1.0.0")).await;
    let operator = Operator::start_in(&fake, namespace);

    create_registry(&fake, "cm", configmap_spec("catalog", true)).await;
    wait_registry(&fake, "cm", |r| has(r, Synced, "True", "SyncSucceeded")).await;
    set_deployment_status(&fake, "cm-api", 1).await;
    wait_registry(&fake, "cm", |r| has(r, ApiReady, "True", "DeploymentAvailable")).await;
    create_registry(
        &fake,
        "url",
        json!({"source": {"type": "url", "url": {"url": server.url(), "authSecret": {"name": "creds", "tokenKey": "token"}}},
               "api": {"enabled": false}}),
    )
    .await;
    wait_registry(&fake, "url", |r| has(r, Ready, "True", "Succeeded")).await;
    patch_registry(&fake, "url", json!({"metadata": {"annotations": {SYNC_TRIGGER_ANNOTATION: "now"}}})).await;
    wait_registry(&fake, "url", |r| {
        r.status.as_ref().and_then(|s| s.last_handled_sync_trigger.as_deref()) == Some("now")
    })
    .await;
    put_configmap(&fake, "catalog", &catalog(&["io.example/a", "io.example/b"], "1.0.0")).await;
    wait_registry(&fake, "cm", |r| r.status.as_ref().is_some_and(|s| s.servers == Some(2))).await;
    jobs_tour(&fake).await;
    mcpservers_tour(&fake).await;
    patch_registry(&fake, "cm", json!({"spec": {"api": {"enabled": false}}})).await;
    wait_registry(&fake, "cm", |r| has(r, ApiReady, "True", "APIDisabled")).await;
    patch_registry(&fake, "url", json!({"spec": {"suspend": true}})).await;
    wait_registry(&fake, "url", |r| has(r, Synced, "Unknown", "Suspended")).await;
    // PostgreSQL storage: its Secret read at each reconcile (missing here, so no database is needed).
    let mut postgres = configmap_spec("catalog", true);
    postgres["storage"] = json!({"type": "postgres", "postgres": {"secretRef": {"name": "no-db"}}});
    create_registry(&fake, "pg", postgres).await;
    wait_registry(&fake, "pg", |r| has(r, Synced, "False", "StorageSecretNotFound")).await;
    let registries: Api<McpRegistry> = Api::namespaced(fake.client_as("user"), NS);
    registries.delete("cm", &DeleteParams::default()).await.expect("delete");
    fake.wait_for::<McpRegistry>(NS, "cm", WAIT, |r| r.is_none()).await.expect("deleted");
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Leader election, as `thv operator run --leader-elect` does it in the operator's namespace.
    let settings = LeaderSettings {
        lease_name: "thv-operator".into(),
        namespace: NS.into(),
        identity: "operator-0".into(),
        lease_duration: Duration::from_secs(3),
        renew_before: Duration::from_secs(1),
    };
    let mut leadership = leader::join(fake.client_as(OPERATOR), &settings).await.expect("join");
    assert!(tokio::time::timeout(WAIT, leadership.acquired()).await.expect("leads in time"));
    tokio::time::sleep(Duration::from_secs(3)).await; // at least one renewal
    leadership.step_down().await;
    operator.stop().await;

    let requests: Vec<_> = fake.requests().into_iter().filter(|r| r.client == OPERATOR).collect();
    let cluster_wide = requests.iter().any(|r| r.namespace.is_none());
    let mut needed = BTreeSet::new();
    for r in &requests {
        needed.insert((r.group.clone(), r.rbac_resource(), r.verb.as_str().to_owned()));
        // The API server authorizes a server-side apply that creates its object as `create` as well
        // (kubernetes.io/docs/reference/using-api/server-side-apply, "RBAC and permissions"); a status apply
        // never creates.
        if r.patch == Some(PatchType::Apply) && r.subresource.is_none() {
            needed.insert((r.group.clone(), r.rbac_resource(), "create".to_owned()));
        }
    }
    (needed, cluster_wide)
}

/// The job controllers' part of the tour: a sync job by name and by selector (deleted after its TTL of 0), and
/// an export job run twice (the ConfigMap created, then replaced; deleted after its TTL of 0), and an import
/// job (the registry's storage written, the result ConfigMap created; deleted after its TTL of 0).
async fn jobs_tour(fake: &thv_kube_fake::FakeApiServer) {
    use thv_operator::jobs::JobPhase;
    use thv_operator::{McpRegistryExportJob, McpRegistryImportJob, McpRegistrySyncJob};
    let create = |kind: &'static str, name: &'static str, spec: Value| {
        let api: Api<kube::api::DynamicObject> = Api::namespaced_with(
            fake.client_as("user"),
            NS,
            &kube::api::ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk(
                "toolhive.stacklok.io",
                "v1alpha1",
                kind,
            )),
        );
        async move {
            let object: kube::api::DynamicObject = serde_json::from_value(json!({
                "apiVersion": "toolhive.stacklok.io/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": spec
            }))
            .expect("job");
            api.create(&Default::default(), &object).await.expect("create the job");
        }
    };
    create("MCPRegistrySyncJob", "by-name", json!({"registries": ["cm"], "ttlSecondsAfterFinished": 0})).await;
    create("MCPRegistrySyncJob", "by-label", json!({"selector": {}})).await;
    fake.wait_for::<McpRegistrySyncJob>(NS, "by-name", WAIT, |j| j.is_none()).await.expect("deleted after its TTL");
    let phase = |j: &McpRegistrySyncJob| j.status.as_ref().and_then(|s| s.job.phase);
    fake.wait_for::<McpRegistrySyncJob>(NS, "by-label", WAIT, |j| j.and_then(phase).is_some_and(JobPhase::is_finished))
        .await
        .expect("finished");
    create("MCPRegistryExportJob", "export", json!({"registry": "cm", "configMap": {"name": "cm-export"}})).await;
    let exported = |j: Option<&McpRegistryExportJob>| {
        j.and_then(|j| j.status.as_ref()).is_some_and(|s| s.job.phase == Some(JobPhase::Succeeded))
    };
    fake.wait_for::<McpRegistryExportJob>(NS, "export", WAIT, exported).await.expect("exported");
    let exports: Api<McpRegistryExportJob> = Api::namespaced(fake.client_as("user"), NS);
    let patch = json!({"spec": {"format": "upstream", "ttlSecondsAfterFinished": 0}});
    exports.patch("export", &Default::default(), &kube::api::Patch::Merge(&patch)).await.expect("patch");
    fake.wait_for::<McpRegistryExportJob>(NS, "export", WAIT, |j| j.is_none()).await.expect("exported, deleted");
    let upstream: Option<k8s_openapi::api::core::v1::ConfigMap> = fake.get(NS, "cm-export").expect("get");
    assert!(upstream.and_then(|c| c.data).is_some_and(|d| d["registry.json"].contains("\"_meta\"")), "replaced");
    let inline = json!({"servers": [{"server": {"name": "io.example/imported", "version": "1.0.0",
        "description": "Imported by the tour."}}]})
    .to_string();
    create("MCPRegistryImportJob", "import", json!({"registry": "cm", "inline": inline, "ttlSecondsAfterFinished": 0}))
        .await;
    fake.wait_for::<McpRegistryImportJob>(NS, "import", WAIT, |j| j.is_none()).await.expect("imported, deleted");
}

/// MCPServers (ToolHive's CRD): a labelled server applied, then recreated for a changed entry, in a registry
/// of its own (`platform`, reading ConfigMap `fetch-catalog`).
async fn mcpservers_tour(fake: &thv_kube_fake::FakeApiServer) {
    crate::mcpservers::rbac_tour(fake).await;
}

fn split(needed: &BTreeSet<Permission>) -> (BTreeSet<Permission>, BTreeSet<Permission>) {
    needed.iter().cloned().partition(|(group, _, _)| group != "coordination.k8s.io")
}

#[tokio::test]
async fn the_cluster_role_grants_what_the_operator_uses_and_nothing_more() {
    let (needed, _) = tour(None).await;
    let (registries, leases) = split(&needed);
    assert_eq!(registries, granted("ClusterRole", "thv-operator"), "requested (left) vs granted (right)");
    assert_eq!(leases, granted("Role", "thv-operator-leader-election"), "requested (left) vs granted (right)");
}

#[tokio::test]
async fn the_namespaced_role_grants_what_the_operator_uses_in_its_namespace() {
    let (needed, cluster_wide) = tour(Some(NS)).await;
    assert!(!cluster_wide, "with --namespace every request stays in the namespace (a Role grants nothing else)");
    let (registries, _) = split(&needed);
    assert_eq!(registries, granted("ClusterRole", "thv-operator"), "requested (left) vs granted (right)");

    // The namespaced component turns the ClusterRole into a Role with the same rules: it changes only kinds.
    let component = &documents("components/namespaced/kustomization.yaml")[0];
    for patch in component["patches"].as_array().expect("patches") {
        let target = patch["target"]["kind"].as_str().expect("target kind");
        let ops: Vec<Value> = serde_saphyr::from_str(patch["patch"].as_str().expect("patch")).expect("JSON patch");
        for op in ops {
            let path = op["path"].as_str().expect("path");
            let allowed = match target {
                "ClusterRole" => path == "/kind",
                "ClusterRoleBinding" => path == "/kind" || path == "/roleRef/kind",
                _ => !path.contains("rules"),
            };
            assert!(allowed, "the component changes more than kinds: {target} {op}");
        }
    }
}
