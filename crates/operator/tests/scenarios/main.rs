//! Scenarios of the MCPRegistry controller: a real kube-runtime `Controller` (`thv operator run`'s) against the
//! stateful fake API server, with the real storage ConfigMap, the real ConfigMap source and, for URL sources,
//! a real HTTP server on loopback. Each scenario asserts the status, the Events and the stored objects.

mod harness;
mod jobs;
mod mcpservers;
mod rbac;

use std::time::{Duration, Instant};

use harness::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams};
use serde_json::json;
use thv_operator::conditions::ConditionType::{ApiReady, Ready, Reconciling, SourceAvailable, Stalled, Synced};
use thv_operator::controller::workload::CONFIG_HASH_ANNOTATION;
use thv_operator::labels::SYNC_TRIGGER_ANNOTATION;
use thv_testdata::servers::TestDocumentServer;

fn refs(names: &[String]) -> Vec<&str> {
    names.iter().map(String::as_str).collect()
}

#[tokio::test]
async fn a_new_registry_becomes_ready_with_full_status_and_storage() {
    let fake = fake();
    let servers = names("alpha", 3);
    put_configmap(&fake, "catalog", &catalog(&refs(&servers), "1.0.0")).await;
    let _operator = Operator::start(&fake);
    create_registry(&fake, "platform", configmap_spec("catalog", false)).await;

    let ready = wait_registry(&fake, "platform", |r| has(r, Ready, "True", "Succeeded")).await;
    let status = ready.status.clone().expect("status");
    assert_eq!(condition(&ready, SourceAvailable), Some(("True".into(), "Fetched".into())));
    assert_eq!(condition(&ready, Synced), Some(("True".into(), "SyncSucceeded".into())));
    assert_eq!(condition(&ready, ApiReady), Some(("True".into(), "APIDisabled".into())));
    assert_eq!(condition(&ready, Reconciling), None);
    assert_eq!(condition(&ready, Stalled), None);
    assert_eq!((status.servers, status.versions), (Some(3), Some(3)));
    assert!(status.last_sync_hash.as_deref().is_some_and(|h| h.starts_with("sha256:")), "{status:?}");
    assert!(status.last_sync_time.is_some() && status.last_attempt_time.is_some());
    assert_eq!(status.last_change.map(|c| (c.added, c.removed, c.updated)), Some((3, 0, 0)));
    assert_eq!(
        status.storage_ref.and_then(|s| s.config_map).map(|c| c.name).as_deref(),
        Some("platform-registry-storage")
    );
    assert_eq!(status.api_endpoint, None, "the API is disabled");

    let stored = stored_catalog(&fake, &ready).await;
    assert_eq!(stored.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(), servers);
    let storage = storage(&fake, "platform").expect("storage ConfigMap");
    assert_eq!(storage.owner_references()[0].uid, ready.uid().expect("uid"));
    let events = events(&fake, "platform", "SyncSucceeded");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0, "Normal");
    assert!(events[0].1.starts_with("3 added, 0 removed, 0 updated; 3 servers (3 versions)"), "{}", events[0].1);
}

#[tokio::test]
async fn a_missing_configmap_stalls_and_its_creation_syncs_at_once() {
    let fake = fake();
    let _operator = Operator::start(&fake);
    create_registry(&fake, "orphan", configmap_spec("late", false)).await;

    let stalled = wait_registry(&fake, "orphan", |r| has(r, Stalled, "True", "SourceNotFound")).await;
    assert_eq!(condition(&stalled, SourceAvailable), Some(("False".into(), "SourceNotFound".into())));
    assert_eq!(condition(&stalled, Ready), Some(("False".into(), "SourceNotFound".into())));
    assert_eq!(condition(&stalled, Reconciling), None, "stalled: no retry storm");
    let warnings = events(&fake, "orphan", "SourceNotFound");
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].0, "Warning");
    assert!(warnings[0].1.contains("late"), "names the ConfigMap: {}", warnings[0].1);
    assert_eq!(stored_catalog(&fake, &stalled).await, [], "no catalog stored");

    // The interval is an hour: only the watch on ConfigMaps can make this sync now.
    put_configmap(&fake, "late", &catalog(&["io.example/late"], "1.0.0")).await;
    let ready = wait_registry(&fake, "orphan", |r| has(r, Ready, "True", "Succeeded")).await;
    assert_eq!(condition(&ready, Stalled), None);
    assert_eq!(ready.status.and_then(|s| s.servers), Some(1));
}

#[tokio::test]
async fn an_edited_configmap_syncs_at_once() {
    let fake = fake();
    put_configmap(&fake, "catalog", &catalog(&["io.example/a", "io.example/b"], "1.0.0")).await;
    let _operator = Operator::start(&fake);
    create_registry(&fake, "platform", configmap_spec("catalog", false)).await;
    let first = wait_registry(&fake, "platform", |r| has(r, Ready, "True", "Succeeded")).await;
    let first_hash = first.status.as_ref().and_then(|s| s.last_sync_hash.clone());

    let edited = Instant::now();
    put_configmap(&fake, "catalog", &catalog(&["io.example/a", "io.example/b", "io.example/c"], "1.0.1")).await;
    let resynced = wait_registry(&fake, "platform", |r| r.status.as_ref().is_some_and(|s| s.servers == Some(3))).await;
    assert!(edited.elapsed() < Duration::from_secs(5), "at once, not at the interval");
    let status = resynced.status.expect("status");
    assert_ne!(status.last_sync_hash, first_hash);
    // Two versions moved to 1.0.1 (a removal and an addition each) and one server was added.
    assert_eq!(status.last_change.map(|c| (c.added, c.removed)), Some((3, 2)));
    let stored = stored_catalog(&fake, &first).await;
    assert!(stored.iter().all(|(_, v)| v == "1.0.1"), "{stored:?}");
    assert_eq!(event_count(&fake, "platform", "SyncSucceeded"), 2);
}

/// A URL source reading `url` with the token of Secret `secret` (key `token`).
fn url_spec(url: &str, secret: Option<&str>) -> serde_json::Value {
    let mut source = json!({"url": url});
    if let Some(secret) = secret {
        source["authSecret"] = json!({"name": secret, "tokenKey": "token"});
    }
    json!({"source": {"type": "url", "url": source}, "api": {"enabled": false},
           "syncPolicy": {"retry": {"maxRetries": 2, "backoffInterval": "1s"}}})
}

/// Sets the sync-trigger annotation to `value`.
async fn trigger(fake: &thv_kube_fake::FakeApiServer, name: &str, value: &str) {
    patch_registry(fake, name, json!({"metadata": {"annotations": {SYNC_TRIGGER_ANNOTATION: value}}})).await;
}

#[tokio::test]
async fn a_rotated_secret_is_used_at_the_next_fetch() {
    let fake = fake();
    let server = TestDocumentServer::start(catalog(&["io.example/private"], "1.0.0").into_bytes()).await;
    server.require_authorization(Some("Bearer first-token-4711"));
    put_secret(&fake, "creds", "token", "first-token-4711").await;
    let _operator = Operator::start(&fake);
    create_registry(&fake, "private", url_spec(&server.url(), Some("creds"))).await;
    wait_registry(&fake, "private", |r| has(r, Ready, "True", "Succeeded")).await;

    // The server now wants the new token; a sync with the old one is refused and stalls, naming the cause.
    server.require_authorization(Some("Bearer second-token-0815"));
    server.set_body(catalog(&["io.example/private", "io.example/second"], "1.0.0").into_bytes());
    trigger(&fake, "private", "refused").await;
    let refused = wait_registry(&fake, "private", |r| has(r, Stalled, "True", "AuthenticationFailed")).await;
    assert_eq!(condition(&refused, SourceAvailable), Some(("False".into(), "AuthenticationFailed".into())));
    assert_eq!(condition(&refused, Reconciling), None, "stalled, not retried");
    let warnings = events(&fake, "private", "AuthenticationFailed");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(!format!("{refused:?} {warnings:?}").contains("token-"), "no token shown");
    assert_eq!(stored_catalog(&fake, &refused).await.len(), 1, "the catalog is kept");

    // Rotating the Secret syncs at once (the interval is an hour), with the new token.
    let requests_before = server.counts().0;
    put_secret(&fake, "creds", "token", "second-token-0815").await;
    let ready = wait_registry(&fake, "private", |r| has(r, Ready, "True", "Succeeded")).await;
    assert_eq!(ready.status.as_ref().and_then(|s| s.servers), Some(2));
    assert_eq!(condition(&ready, Stalled), None);
    assert_eq!(server.counts().0, requests_before + 1, "one fetch, with the rotated token");
}

#[tokio::test]
async fn a_manual_trigger_is_handled_once_and_echoed() {
    let fake = fake();
    put_configmap(&fake, "catalog", &catalog(&["io.example/a"], "1.0.0")).await;
    let operator = Operator::start(&fake);
    create_registry(&fake, "platform", configmap_spec("catalog", false)).await;
    let first = wait_registry(&fake, "platform", |r| has(r, Ready, "True", "Succeeded")).await;
    let attempt = first.status.as_ref().and_then(|s| s.last_attempt_time.clone());
    let checks = operator.syncs("platform", "unchanged") + operator.syncs("platform", "success");

    // Times have second resolution: let one pass so the trigger's attempt shows.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    trigger(&fake, "platform", "2026-12-01T12:00:00Z").await;
    let handled = wait_registry(&fake, "platform", |r| {
        r.status.as_ref().and_then(|s| s.last_handled_sync_trigger.as_deref()) == Some("2026-12-01T12:00:00Z")
    })
    .await;
    let status = handled.status.clone().expect("status");
    assert_ne!(status.last_attempt_time, attempt, "a real attempt");
    assert_eq!(condition(&handled, Ready), Some(("True".into(), "Succeeded".into())));
    assert_eq!(condition(&handled, Reconciling), None);

    // The echo (a status write) and any later reconcile do not sync again for the same value.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let runs = operator.syncs("platform", "unchanged") + operator.syncs("platform", "success");
    assert_eq!(runs, checks + 1, "exactly one sync for the trigger");
    let now: thv_operator::McpRegistry = fake.get(NS, "platform").expect("get").expect("exists");
    assert_eq!(now.status.and_then(|s| s.last_attempt_time), status.last_attempt_time);

    // A new value is another request.
    trigger(&fake, "platform", "second").await;
    wait_registry(&fake, "platform", |r| {
        r.status.as_ref().and_then(|s| s.last_handled_sync_trigger.as_deref()) == Some("second")
    })
    .await;
    let runs_after = operator.syncs("platform", "unchanged") + operator.syncs("platform", "success");
    assert_eq!(runs_after, checks + 2);
}

#[tokio::test]
async fn a_suspended_registry_does_not_sync_and_keeps_its_catalog() {
    let fake = fake();
    put_configmap(&fake, "catalog", &catalog(&["io.example/a"], "1.0.0")).await;
    let operator = Operator::start(&fake);
    create_registry(&fake, "platform", configmap_spec("catalog", false)).await;
    wait_registry(&fake, "platform", |r| has(r, Ready, "True", "Succeeded")).await;

    patch_registry(&fake, "platform", json!({"spec": {"suspend": true}})).await;
    let suspended = wait_registry(&fake, "platform", |r| has(r, Synced, "Unknown", "Suspended")).await;
    assert_eq!(condition(&suspended, Reconciling), None);
    assert_eq!(condition(&suspended, Stalled), None);
    assert_eq!(events(&fake, "platform", "Suspended").len(), 1);
    let syncs = operator.syncs("platform", "success") + operator.syncs("platform", "unchanged");

    // Edits of the source and triggers are ignored while suspended.
    put_configmap(&fake, "catalog", &catalog(&["io.example/a", "io.example/b"], "1.0.0")).await;
    trigger(&fake, "platform", "ignored").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(operator.syncs("platform", "success") + operator.syncs("platform", "unchanged"), syncs);
    assert_eq!(stored_catalog(&fake, &suspended).await.len(), 1, "the stored catalog stays");
    assert_eq!(events(&fake, "platform", "Suspended").len(), 1, "one Event for the suspension");

    // Resuming syncs the edit.
    patch_registry(&fake, "platform", json!({"spec": {"suspend": false}})).await;
    let resumed = wait_registry(&fake, "platform", |r| has(r, Ready, "True", "Succeeded")).await;
    assert_eq!(resumed.status.and_then(|s| s.servers), Some(2));
}

/// A catalog of `count` servers whose descriptions are `bytes` of random hex each (they do not compress).
fn incompressible(count: usize, bytes: usize) -> String {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let servers: Vec<serde_json::Value> = (0..count)
        .map(|i| {
            let mut doc = server(&format!("io.example/noise-{i:05}"), "1.0.0");
            let noise: String = (0..bytes / 16)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    format!("{x:016x}")
                })
                .collect();
            doc["description"] = json!(noise);
            json!({"server": doc})
        })
        .collect();
    json!({"servers": servers, "metadata": {"count": count}}).to_string()
}

#[tokio::test]
async fn a_catalog_too_large_for_the_storage_stalls_and_keeps_the_stored_one() {
    let fake = fake();
    let server = TestDocumentServer::start(catalog(&["io.example/a", "io.example/b"], "1.0.0").into_bytes()).await;
    let _operator = Operator::start(&fake);
    create_registry(&fake, "platform", url_spec(&server.url(), None)).await;
    let ready = wait_registry(&fake, "platform", |r| has(r, Ready, "True", "Succeeded")).await;

    server.set_body(incompressible(1_000, 2_048).into_bytes());
    trigger(&fake, "platform", "big").await;
    let stalled = wait_registry(&fake, "platform", |r| has(r, Stalled, "True", "StorageTooLarge")).await;
    assert_eq!(condition(&stalled, Synced), Some(("False".into(), "StorageTooLarge".into())));
    assert_eq!(condition(&stalled, Ready), Some(("False".into(), "StorageTooLarge".into())));
    assert_eq!(condition(&stalled, Reconciling), None, "not retried");
    let warnings = events(&fake, "platform", "StorageTooLarge");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].0, "Warning");
    assert!(warnings[0].1.contains("spec.storage.type"), "points at PostgreSQL storage: {}", warnings[0].1);
    assert_eq!(stored_catalog(&fake, &ready).await.len(), 2, "the stored catalog is kept");
    let status = stalled.status.expect("status");
    assert_eq!(status.servers, Some(2));
}

#[tokio::test]
async fn a_failing_source_keeps_the_catalog_and_retries_with_backoff() {
    let fake = fake();
    let server = TestDocumentServer::start(catalog(&["io.example/a"], "1.0.0").into_bytes()).await;
    let operator = Operator::start(&fake);
    create_registry(&fake, "platform", url_spec(&server.url(), None)).await;
    let ready = wait_registry(&fake, "platform", |r| has(r, Ready, "True", "Succeeded")).await;
    let hash = ready.status.as_ref().and_then(|s| s.last_sync_hash.clone());

    server.fail_with(Some(500));
    let failed_at = Instant::now();
    trigger(&fake, "platform", "while-failing").await;
    let retrying = wait_registry(&fake, "platform", |r| has(r, Reconciling, "True", "ProgressingWithRetry")).await;
    assert_eq!(condition(&retrying, SourceAvailable), Some(("False".into(), "FetchFailed".into())));
    assert_eq!(condition(&retrying, Stalled), None, "retryable");
    assert_eq!(condition(&retrying, Ready).map(|c| c.0), Some("False".into()));
    assert_eq!(retrying.status.as_ref().and_then(|s| s.last_sync_hash.clone()), hash, "the last good sync stays");
    assert_eq!(stored_catalog(&fake, &ready).await.len(), 1, "the catalog is kept");
    assert_eq!(events(&fake, "platform", "SyncFailed").len(), 1);

    // maxRetries 2 with a 1 s backoff (0.5-1.5x, doubling): the 2 retries run within about 5 s, then the
    // registry waits for the interval (still Reconciling: an attempt is ahead) and says so.
    let given_up = wait_registry(&fake, "platform", |r| {
        let status = r.status.as_ref().map(|s| s.conditions.as_slice()).unwrap_or_default();
        thv_operator::conditions::find(status, Reconciling)
            .is_some_and(|c| c.message.contains("retries exhausted, next attempt at the interval in 1h"))
    })
    .await;
    let elapsed = failed_at.elapsed();
    assert_eq!(operator.syncs("platform", "failed"), 3, "the trigger's attempt and 2 retries");
    assert!(elapsed >= Duration::from_millis(1500), "backed off: {elapsed:?}");
    assert_eq!(condition(&given_up, Ready).map(|c| c.0), Some("False".into()));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(operator.syncs("platform", "failed"), 3, "no retry storm after the last retry");
    assert_eq!(event_count(&fake, "platform", "SyncFailed"), 1, "one Event for the failure");

    // The source recovers: a trigger syncs again.
    server.fail_with(None);
    trigger(&fake, "platform", "recovered").await;
    wait_registry(&fake, "platform", |r| has(r, Ready, "True", "Succeeded")).await;
}

#[tokio::test]
async fn deleting_a_registry_collects_what_it_owns() {
    let fake = fake();
    put_configmap(&fake, "catalog", &catalog(&["io.example/a"], "1.0.0")).await;
    let _operator = Operator::start(&fake);
    create_registry(&fake, "platform", configmap_spec("catalog", true)).await;
    wait_registry(&fake, "platform", |r| has(r, Synced, "True", "SyncSucceeded")).await;
    let deployments: Api<Deployment> = Api::namespaced(fake.client_as("user"), NS);
    let services: Api<Service> = Api::namespaced(fake.client_as("user"), NS);
    assert!(deployments.get_opt("platform-api").await.expect("get").is_some());
    assert!(services.get_opt("platform-api").await.expect("get").is_some());
    assert!(storage(&fake, "platform").is_some());

    let registries: Api<thv_operator::McpRegistry> = Api::namespaced(fake.client_as("user"), NS);
    registries.delete("platform", &DeleteParams::default()).await.expect("delete");
    fake.wait_for::<ConfigMap>(NS, "platform-registry-storage", WAIT, |c| c.is_none()).await.expect("storage gone");
    fake.wait_for::<Deployment>(NS, "platform-api", WAIT, |d| d.is_none()).await.expect("Deployment gone");
    fake.wait_for::<Service>(NS, "platform-api", WAIT, |s| s.is_none()).await.expect("Service gone");
    let source: Option<ConfigMap> = fake.get(NS, "catalog").expect("get");
    assert!(source.is_some(), "the source ConfigMap is not the registry's");
    // Nothing recreates them after the deletion.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(storage(&fake, "platform").is_none());
}

#[tokio::test]
async fn a_restarted_operator_resumes_from_storage_without_resyncing() {
    let fake = fake();
    for i in 0..5 {
        put_configmap(&fake, &format!("catalog-{i}"), &catalog(&refs(&names(&format!("r{i}"), 20)), "1.0.0")).await;
    }
    let first = Operator::start(&fake);
    for i in 0..5 {
        create_registry(&fake, &format!("reg-{i}"), configmap_spec(&format!("catalog-{i}"), false)).await;
    }
    let mut before = Vec::new();
    for i in 0..5 {
        let ready = wait_registry(&fake, &format!("reg-{i}"), |r| has(r, Ready, "True", "Succeeded")).await;
        before.push((
            ready.status.clone(),
            storage(&fake, &format!("reg-{i}")).and_then(|c| c.metadata.resource_version),
        ));
    }
    first.stop().await;
    let events_before: Vec<Vec<String>> = (0..5).map(|i| event_reasons(&fake, &format!("reg-{i}"))).collect();

    let second = Operator::start(&fake);
    tokio::time::timeout(WAIT, async {
        while (0..5).any(|i| second.syncs(&format!("reg-{i}"), "unchanged") == 0) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the new operator checks each registry once");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    for i in 0..5 {
        let name = format!("reg-{i}");
        assert_eq!(second.syncs(&name, "success"), 0, "{name}: no re-sync");
        assert_eq!(second.syncs(&name, "unchanged"), 1, "{name}: one check against the stored revision");
        let now: thv_operator::McpRegistry = fake.get(NS, &name).expect("get").expect("exists");
        assert_eq!(
            (now.status, storage(&fake, &name).and_then(|c| c.metadata.resource_version)),
            before[i],
            "{name}: status and storage untouched (no spurious change set)"
        );
        assert_eq!(event_reasons(&fake, &name), events_before[i], "{name}: no new Event");
    }
}

#[tokio::test]
async fn the_api_deployment_is_rendered_and_api_ready_follows_its_status() {
    let fake = fake();
    put_configmap(&fake, "catalog", &catalog(&["io.example/a"], "1.0.0")).await;
    let _operator = Operator::start(&fake);
    create_registry(
        &fake,
        "platform",
        json!({"source": {"type": "configmap", "configMap": {"name": "catalog"}},
               "api": {"replicas": 2, "resources": {"limits": {"memory": "96Mi"}, "requests": {"cpu": "20m"}}}}),
    )
    .await;
    let progressing = wait_registry(&fake, "platform", |r| has(r, ApiReady, "False", "DeploymentProgressing")).await;
    assert_eq!(condition(&progressing, Synced), Some(("True".into(), "SyncSucceeded".into())));
    assert_eq!(condition(&progressing, Ready).map(|c| c.0), Some("Unknown".into()), "not ready before the API");
    assert_eq!(condition(&progressing, Reconciling).map(|c| c.1), Some("Progressing".into()));
    assert_eq!(
        progressing.status.as_ref().and_then(|s| s.api_endpoint.clone()).as_deref(),
        Some("http://platform-api.default.svc:8080")
    );

    let deployment: Deployment = fake.get(NS, "platform-api").expect("get").expect("the Deployment");
    assert_eq!(deployment.owner_references()[0].uid, progressing.uid().expect("uid"));
    assert_eq!(
        deployment.metadata.managed_fields.as_ref().map(|f| f[0].manager.clone()),
        Some(Some("thv-operator".into()))
    );
    let spec = deployment.spec.clone().expect("spec");
    assert_eq!(spec.replicas, Some(2));
    let pod = spec.template.spec.clone().expect("pod spec");
    let container = &pod.containers[0];
    assert_eq!(container.image.as_deref(), Some("ghcr.io/thv-registry/thv-registry:test"));
    let security = container.security_context.clone().expect("security context");
    assert_eq!(security.read_only_root_filesystem, Some(true));
    assert_eq!(security.allow_privilege_escalation, Some(false));
    assert_eq!(pod.security_context.and_then(|s| s.run_as_non_root), Some(true));
    let probe_path = |p: Option<k8s_openapi::api::core::v1::Probe>| p.and_then(|p| p.http_get).and_then(|h| h.path);
    assert_eq!(probe_path(container.liveness_probe.clone()).as_deref(), Some("/healthz"));
    assert_eq!(probe_path(container.readiness_probe.clone()).as_deref(), Some("/readyz"));
    let resources = container.resources.clone().expect("resources");
    assert_eq!(resources.limits.and_then(|l| l.get("memory").cloned()).map(|q| q.0), Some("96Mi".into()));
    let hash = spec.template.metadata.and_then(|m| m.annotations).and_then(|a| a.get(CONFIG_HASH_ANNOTATION).cloned());
    assert!(hash.is_some(), "the pod template carries the config hash");
    let service: Service = fake.get(NS, "platform-api").expect("get").expect("the Service");
    assert_eq!(service.spec.and_then(|s| s.ports).map(|p| p[0].port), Some(8080));

    set_deployment_status(&fake, "platform-api", 1).await;
    wait_registry(&fake, "platform", |r| has(r, ApiReady, "False", "DeploymentProgressing")).await;
    set_deployment_status(&fake, "platform-api", 2).await;
    let ready = wait_registry(&fake, "platform", |r| has(r, ApiReady, "True", "DeploymentAvailable")).await;
    assert_eq!(condition(&ready, Ready), Some(("True".into(), "Succeeded".into())));
    assert_eq!(condition(&ready, Reconciling), None);

    // A config change rolls the pods: the hash moves.
    patch_registry(&fake, "platform", json!({"spec": {"api": {"resources": {"limits": {"memory": "128Mi"}}}}})).await;
    let rolled = fake
        .wait_for::<Deployment>(NS, "platform-api", WAIT, |d| {
            d.and_then(|d| {
                d.spec.as_ref()?.template.metadata.as_ref()?.annotations.as_ref()?.get(CONFIG_HASH_ANNOTATION).cloned()
            })
            .is_some_and(|h| Some(h) != hash)
        })
        .await;
    assert!(matches!(rolled, Ok(Some(_))), "the config hash changed: {rolled:?}");

    // Disabling the API deletes the Deployment and the Service.
    patch_registry(&fake, "platform", json!({"spec": {"api": {"enabled": false}}})).await;
    let disabled = wait_registry(&fake, "platform", |r| has(r, ApiReady, "True", "APIDisabled")).await;
    assert_eq!(disabled.status.and_then(|s| s.api_endpoint), None);
    let gone: Option<Deployment> = fake.get(NS, "platform-api").expect("get");
    assert!(gone.is_none(), "the Deployment is deleted");
    let gone: Option<Service> = fake.get(NS, "platform-api").expect("get");
    assert!(gone.is_none(), "the Service is deleted");
}

/// The controller's cache can lag behind its own status write: a reconcile of the object as it was before
/// (no status yet) must start from the status the operator wrote, not redo the sync and regress the status.
#[tokio::test]
async fn a_reconcile_of_a_stale_cached_object_starts_from_the_status_it_wrote() {
    let fake = fake();
    put_configmap(&fake, "catalog", &catalog(&["io.example/a", "io.example/b"], "1.0.0")).await;
    let created = std::sync::Arc::new(create_registry(&fake, "platform", configmap_spec("catalog", false)).await);
    let (ctx, _cache) = context(&fake, None);
    let metrics = std::sync::Arc::clone(&ctx.metrics);
    let reconcile = thv_operator::controller::reconcile::reconcile;

    reconcile(std::sync::Arc::clone(&created), std::sync::Arc::clone(&ctx)).await.expect("first reconcile");
    let first: thv_operator::McpRegistry = fake.get(NS, "platform").expect("readable").expect("exists");
    assert!(has(&first, Ready, "True", "Succeeded"), "{:?}", first.status);
    let status_writes = || fake.requests().iter().filter(|r| r.subresource.as_deref() == Some("status")).count();
    let writes = status_writes();

    // The same object again, as a cache that has not seen the status write yet hands it over.
    reconcile(created, ctx).await.expect("second reconcile");
    let second: thv_operator::McpRegistry = fake.get(NS, "platform").expect("readable").expect("exists");
    assert_eq!(second.status, first.status, "the status is not regressed");
    assert_eq!(status_writes(), writes, "nothing new to write");
    let syncs = metrics.encode().expect("metrics");
    let syncs: Vec<&str> = syncs.lines().filter(|l| l.starts_with("thv_operator_syncs_total{")).collect();
    assert_eq!(syncs.len(), 1, "one sync, not a second one for a generation already synced: {syncs:?}");
    assert!(syncs[0].ends_with(" 1"), "{syncs:?}");
}

#[tokio::test]
async fn an_operator_started_before_its_crds_still_stops_on_shutdown() {
    // No CRD installed: no watch of the operator's kinds can list. kube's controller holds its runner until a
    // first list, so a graceful shutdown used to wait for ever here.
    let bare = thv_kube_fake::FakeApiServer::new();
    let operator = Operator::start(&bare);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(operator.readiness.pending().contains(&"mcpregistries"), "{:?}", operator.readiness.pending());
    operator.stop().await;
}
