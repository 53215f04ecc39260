//! Scenarios of the job controllers (`MCPRegistrySyncJob`, `MCPRegistryExportJob`, `MCPRegistryImportJob`) run by `thv operator run`'s
//! controller against the stateful fake API server, with real registries syncing real ConfigMap and URL
//! sources: success, failure, retry (attempts counted, backoff), TTL clean-up and once-per-generation.

use std::io::Read as _;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use thv_kube_fake::FakeApiServer;
use thv_operator::conditions::ConditionType::{Ready, Reconciling, Stalled};
use thv_operator::conditions::{self, ConditionType};
use thv_operator::jobs::{JobPhase, JobStatus, RegistrySyncOutcome};
use thv_operator::labels::SYNC_TRIGGER_ANNOTATION;
use thv_operator::{McpRegistryExportJob, McpRegistryImportJob, McpRegistrySyncJob};
use thv_testdata::servers::TestDocumentServer;

use crate::harness::*;

async fn create_job<K>(fake: &FakeApiServer, kind: &str, name: &str, spec: Value) -> K
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let job: K = serde_json::from_value(json!({
        "apiVersion": "toolhive.stacklok.io/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": spec
    }))
    .expect("job");
    let api: Api<K> = Api::namespaced(fake.client_as("user"), NS);
    api.create(&PostParams::default(), &job).await.expect("create the job")
}

async fn patch_job<K>(fake: &FakeApiServer, name: &str, patch: Value)
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(fake.client_as("user"), NS);
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await.expect("patch the job");
}

fn common_sync(job: &McpRegistrySyncJob) -> JobStatus {
    job.status.clone().map(|s| s.job).unwrap_or_default()
}

fn common_export(job: &McpRegistryExportJob) -> JobStatus {
    job.status.clone().map(|s| s.job).unwrap_or_default()
}

async fn wait_sync_job(
    fake: &FakeApiServer,
    name: &str,
    check: impl Fn(&McpRegistrySyncJob) -> bool,
) -> McpRegistrySyncJob {
    match fake.wait_for::<McpRegistrySyncJob>(NS, name, WAIT, |j| j.is_some_and(&check)).await {
        Ok(Some(job)) => job,
        other => {
            let now: Option<McpRegistrySyncJob> = fake.get(NS, name).expect("get");
            panic!(
                "MCPRegistrySyncJob {name} did not get there: {other:?}\nstatus now: {:#?}",
                now.and_then(|j| j.status)
            );
        }
    }
}

async fn wait_export_job(
    fake: &FakeApiServer,
    name: &str,
    check: impl Fn(&McpRegistryExportJob) -> bool,
) -> McpRegistryExportJob {
    match fake.wait_for::<McpRegistryExportJob>(NS, name, WAIT, |j| j.is_some_and(&check)).await {
        Ok(Some(job)) => job,
        other => {
            let now: Option<McpRegistryExportJob> = fake.get(NS, name).expect("get");
            panic!(
                "MCPRegistryExportJob {name} did not get there: {other:?}\nstatus now: {:#?}",
                now.and_then(|j| j.status)
            );
        }
    }
}

/// Whether the job finished its current generation in `phase`.
fn finished(status: &JobStatus, generation: Option<i64>, phase: JobPhase) -> bool {
    status.observed_generation == generation && status.phase == Some(phase)
}

fn reason(status: &JobStatus, type_: ConditionType) -> Option<(String, String)> {
    conditions::find(&status.conditions, type_).map(|c| (c.status.clone(), c.reason.clone()))
}

fn message(status: &JobStatus, type_: ConditionType) -> String {
    conditions::find(&status.conditions, type_).map(|c| c.message.clone()).unwrap_or_default()
}

/// A registry reading ConfigMap `configmap`, synced and Ready.
async fn ready_registry(fake: &FakeApiServer, name: &str, configmap: &str, servers: &[&str]) {
    put_configmap(fake, configmap, &catalog(servers, "1.0.0")).await;
    create_registry(fake, name, configmap_spec(configmap, false)).await;
    wait_registry(fake, name, |r| has(r, Ready, "True", "Succeeded")).await;
}

#[tokio::test]
async fn a_sync_job_syncs_its_registries_once_per_generation_with_per_registry_results() {
    let fake = fake();
    let server = TestDocumentServer::start(catalog(&["io.example/remote"], "1.0.0").into_bytes()).await;
    let operator = Operator::start(&fake);
    create_registry(
        &fake,
        "remote",
        json!({"source": {"type": "url", "url": {"url": server.url()}}, "api": {"enabled": false}}),
    )
    .await;
    wait_registry(&fake, "remote", |r| has(r, Ready, "True", "Succeeded")).await;
    ready_registry(&fake, "local", "local-catalog", &["io.example/a", "io.example/b"]).await;
    // The URL's content changes; with an hourly interval only the job's sync can pick it up.
    server.set_body(catalog(&["io.example/remote", "io.example/remote-2"], "1.0.0").into_bytes());

    create_job::<McpRegistrySyncJob>(
        &fake,
        "MCPRegistrySyncJob",
        "sync-now",
        json!({"registries": ["remote", "local"]}),
    )
    .await;
    let done =
        wait_sync_job(&fake, "sync-now", |j| finished(&common_sync(j), j.metadata.generation, JobPhase::Succeeded))
            .await;
    let status = done.status.clone().expect("status");
    assert_eq!(status.job.summary.as_deref(), Some("2 registries: 1 synced, 1 unchanged, 0 failed"));
    assert_eq!(status.job.attempts, Some(1));
    assert!(status.job.start_time.is_some() && status.job.completion_time.is_some());
    assert_eq!(reason(&status.job, Ready), Some(("True".into(), "Succeeded".into())));
    assert_eq!((reason(&status.job, Reconciling), reason(&status.job, Stalled)), (None, None));
    let results: Vec<(&str, RegistrySyncOutcome, Option<i64>)> =
        status.registries.iter().map(|r| (r.name.as_str(), r.result, r.servers)).collect();
    assert_eq!(
        results,
        [("remote", RegistrySyncOutcome::Synced, Some(2)), ("local", RegistrySyncOutcome::Unchanged, Some(2))]
    );
    let token = status.registries[0].trigger.clone().expect("token");
    let remote = wait_registry(&fake, "remote", |_| true).await;
    assert_eq!(remote.annotations().get(SYNC_TRIGGER_ANNOTATION), Some(&token));
    assert_eq!(remote.status.as_ref().and_then(|s| s.last_handled_sync_trigger.as_ref()), Some(&token));
    assert_eq!(remote.status.as_ref().and_then(|s| s.servers), Some(2));
    let succeeded = events(&fake, "sync-now", "Succeeded");
    assert_eq!(succeeded, [("Normal".to_owned(), "2 registries: 1 synced, 1 unchanged, 0 failed".to_owned())]);

    // Once per generation: nothing more runs while the spec stays the same.
    let syncs = (operator.syncs("remote", "success"), operator.syncs("local", "unchanged"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!((operator.syncs("remote", "success"), operator.syncs("local", "unchanged")), syncs);
    assert_eq!(common_sync(&wait_sync_job(&fake, "sync-now", |_| true).await), status.job);

    // A spec edit is a new generation: a new run from attempt 1, with a new request token, idempotent.
    patch_job::<McpRegistrySyncJob>(&fake, "sync-now", json!({"spec": {"timeoutSeconds": 300}})).await;
    let rerun = wait_sync_job(&fake, "sync-now", |j| {
        j.metadata.generation == Some(2) && finished(&common_sync(j), Some(2), JobPhase::Succeeded)
    })
    .await;
    let rerun_status = rerun.status.expect("status");
    assert_eq!(rerun_status.job.summary.as_deref(), Some("2 registries: 0 synced, 2 unchanged, 0 failed"));
    assert_eq!(rerun_status.job.attempts, Some(1));
    assert_ne!(rerun_status.registries[0].trigger.as_ref(), Some(&token));
    assert_eq!(operator.syncs("remote", "unchanged"), 1, "one more sync, which found nothing new");
}

#[tokio::test]
async fn a_sync_job_selects_registries_by_label() {
    let fake = fake();
    let _operator = Operator::start(&fake);
    ready_registry(&fake, "team-a", "a", &["io.example/a"]).await;
    ready_registry(&fake, "team-b", "b", &["io.example/b"]).await;
    ready_registry(&fake, "other", "o", &["io.example/o"]).await;
    for name in ["team-a", "team-b"] {
        patch_registry(&fake, name, json!({"metadata": {"labels": {"tier": "gold"}}})).await;
    }
    create_job::<McpRegistrySyncJob>(
        &fake,
        "MCPRegistrySyncJob",
        "gold",
        json!({"selector": {"matchLabels": {"tier": "gold"}}}),
    )
    .await;
    let done =
        wait_sync_job(&fake, "gold", |j| finished(&common_sync(j), j.metadata.generation, JobPhase::Succeeded)).await;
    let names: Vec<String> = done.status.expect("status").registries.into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["team-a", "team-b"]);
    let other = wait_registry(&fake, "other", |_| true).await;
    assert_eq!(other.annotations().get(SYNC_TRIGGER_ANNOTATION), None, "not selected, not touched");
}

#[tokio::test]
async fn a_sync_job_naming_a_missing_registry_retries_with_backoff_then_fails_naming_it() {
    let fake = fake();
    let _operator = Operator::start(&fake);
    ready_registry(&fake, "present", "p", &["io.example/p"]).await;
    let created = std::time::Instant::now();
    create_job::<McpRegistrySyncJob>(
        &fake,
        "MCPRegistrySyncJob",
        "doomed",
        json!({"registries": ["present", "absent"], "backoffLimit": 2}),
    )
    .await;
    // The first failure waits for its backoff before attempt 2 (Pending, Ready False, Reconciling True).
    let retrying = wait_sync_job(&fake, "doomed", |j| common_sync(j).phase == Some(JobPhase::Pending)).await;
    let pending = common_sync(&retrying);
    assert_eq!(pending.attempts, Some(1));
    assert!(pending.next_attempt_time.is_some());
    assert_eq!(reason(&pending, Reconciling), Some(("True".into(), "ProgressingWithRetry".into())));
    assert_eq!(reason(&pending, Ready), Some(("False".into(), "RegistryNotFound".into())));

    let failed =
        wait_sync_job(&fake, "doomed", |j| finished(&common_sync(j), j.metadata.generation, JobPhase::Failed)).await;
    let status = failed.status.expect("status");
    assert_eq!(status.job.attempts, Some(3), "the first attempt and backoffLimit retries");
    assert_eq!(reason(&status.job, Stalled), Some(("True".into(), "BackoffLimitExceeded".into())));
    assert_eq!(reason(&status.job, Ready), Some(("False".into(), "BackoffLimitExceeded".into())));
    assert_eq!(reason(&status.job, Reconciling), None);
    let words = message(&status.job, Ready);
    assert!(
        words.contains("failed after 3 attempts (backoffLimit 2)")
            && words.contains("MCPRegistry absent does not exist"),
        "{words}"
    );
    let absent = status.registries.iter().find(|r| r.name == "absent").expect("absent listed");
    assert_eq!((absent.result, absent.reason.as_deref()), (RegistrySyncOutcome::Failed, Some("RegistryNotFound")));
    let present = status.registries.iter().find(|r| r.name == "present").expect("present listed");
    assert_eq!(present.result, RegistrySyncOutcome::Unchanged);
    // One Warning per failed attempt: two retries announced, then the failure.
    assert_eq!(event_count(&fake, "doomed", "RegistryNotFound"), 2);
    assert_eq!(event_count(&fake, "doomed", "BackoffLimitExceeded"), 1);
    // Retries are spaced: 300 ms, then 600 ms (the scenarios' backoff; the status keeps whole seconds, and a
    // retry never starts before its backoff).
    assert!(created.elapsed() >= Duration::from_millis(900), "{:?}", created.elapsed());
}

#[tokio::test]
async fn a_sync_job_retry_succeeds_once_the_registry_appears() {
    let fake = fake();
    let _operator = Operator::start(&fake);
    create_job::<McpRegistrySyncJob>(
        &fake,
        "MCPRegistrySyncJob",
        "early",
        json!({"registries": ["late"], "backoffLimit": 6}),
    )
    .await;
    wait_sync_job(&fake, "early", |j| {
        common_sync(j).attempts.is_some_and(|a| a >= 1) && common_sync(j).phase == Some(JobPhase::Pending)
    })
    .await;
    ready_registry(&fake, "late", "late", &["io.example/late"]).await;
    let done =
        wait_sync_job(&fake, "early", |j| finished(&common_sync(j), j.metadata.generation, JobPhase::Succeeded)).await;
    let status = done.status.expect("status");
    assert!(status.job.attempts.is_some_and(|a| a >= 2), "{:?}", status.job.attempts);
    // Synced or unchanged, depending on whether the registry's own first sync ran before the job's request.
    assert_ne!(status.registries[0].result, RegistrySyncOutcome::Failed, "{:?}", status.registries);
    assert_eq!(reason(&status.job, Ready), Some(("True".into(), "Succeeded".into())));
}

#[tokio::test]
async fn a_failing_registry_sync_fails_the_job_with_the_registry_reason() {
    let fake = fake();
    let _operator = Operator::start(&fake);
    create_registry(&fake, "broken", configmap_spec("nowhere", false)).await;
    wait_registry(&fake, "broken", |r| has(r, Stalled, "True", "SourceNotFound")).await;
    create_job::<McpRegistrySyncJob>(
        &fake,
        "MCPRegistrySyncJob",
        "try",
        json!({"registries": ["broken"], "backoffLimit": 0}),
    )
    .await;
    let failed =
        wait_sync_job(&fake, "try", |j| finished(&common_sync(j), j.metadata.generation, JobPhase::Failed)).await;
    let status = failed.status.expect("status");
    assert_eq!(status.job.attempts, Some(1));
    let result = &status.registries[0];
    assert_eq!((result.result, result.reason.as_deref()), (RegistrySyncOutcome::Failed, Some("SourceNotFound")));
    assert!(result.message.as_deref().is_some_and(|m| m.contains("nowhere")), "{result:?}");
    assert!(message(&status.job, Ready).contains("broken (SourceNotFound"), "{}", message(&status.job, Ready));
}

#[tokio::test]
async fn a_finished_sync_job_is_deleted_after_its_ttl() {
    let fake = fake();
    let _operator = Operator::start(&fake);
    ready_registry(&fake, "platform", "c", &["io.example/a"]).await;
    create_job::<McpRegistrySyncJob>(
        &fake,
        "MCPRegistrySyncJob",
        "short-lived",
        json!({"registries": ["platform"], "ttlSecondsAfterFinished": 1}),
    )
    .await;
    wait_sync_job(&fake, "short-lived", |j| common_sync(j).phase == Some(JobPhase::Succeeded)).await;
    fake.wait_for::<McpRegistrySyncJob>(NS, "short-lived", WAIT, |j| j.is_none()).await.expect("deleted after its TTL");
    assert!(wait_registry(&fake, "platform", |_| true).await.status.is_some(), "the registry stays");
}

/// The ConfigMap `name`, if it exists.
fn configmap(fake: &FakeApiServer, name: &str) -> Option<ConfigMap> {
    fake.get(NS, name).expect("get")
}

/// The export under `key` of ConfigMap `name`, decompressed when it is in `binaryData`.
fn exported(fake: &FakeApiServer, name: &str, key: &str) -> Value {
    let cm = configmap(fake, name).expect("the export ConfigMap");
    if let Some(text) = cm.data.as_ref().and_then(|d| d.get(key)) {
        return serde_json::from_str(text).expect("JSON");
    }
    let gz = cm.binary_data.as_ref().and_then(|b| b.get(key)).expect("compressed under the same key");
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz.0.as_slice()).read_to_string(&mut text).expect("gzip");
    serde_json::from_str(&text).expect("JSON")
}

#[tokio::test]
async fn an_export_job_writes_the_catalog_in_each_format_and_reruns_on_a_spec_edit() {
    let fake = fake();
    let _operator = Operator::start(&fake);
    ready_registry(&fake, "platform", "c", &["io.example/alpha", "io.example/beta", "io.example/gamma"]).await;
    create_job::<McpRegistryExportJob>(
        &fake,
        "MCPRegistryExportJob",
        "backup",
        json!({"registry": "platform", "format": "toolhive", "configMap": {"name": "platform-export"}}),
    )
    .await;
    let done =
        wait_export_job(&fake, "backup", |j| finished(&common_export(j), j.metadata.generation, JobPhase::Succeeded))
            .await;
    let status = done.status.clone().expect("status");
    let export = status.export.clone().expect("export result");
    assert_eq!(
        (export.config_map.as_str(), export.key.as_str(), export.compressed),
        ("platform-export", "registry.json", false)
    );
    assert_eq!((export.servers, export.versions, export.skipped), (3, 3, 0));
    assert!(export.digest.starts_with("sha256:") && export.revision.is_some(), "{export:?}");
    let toolhive = exported(&fake, "platform-export", "registry.json");
    let mut names: Vec<&String> = toolhive["servers"].as_object().expect("ToolHive servers").keys().collect();
    names.sort();
    assert_eq!(names, ["alpha", "beta", "gamma"]);
    let cm = configmap(&fake, "platform-export").expect("ConfigMap");
    assert_eq!(cm.owner_references(), [], "the export outlives the job");
    assert_eq!(cm.annotations().get("toolhive.stacklok.io/export-job").map(String::as_str), Some("backup"));
    assert!(
        status
            .job
            .summary
            .as_deref()
            .is_some_and(|s| s.starts_with("exported 3 servers (3 versions) of platform as toolhive"))
    );
    let version = cm.resource_version();
    // The per-entry report (ToolHive-only details defaulted) is in the job's result ConfigMap, owned by the job.
    let result_ref = status.job.result_ref.clone().expect("resultRef");
    assert_eq!((result_ref.config_map.as_str(), result_ref.key.as_str()), ("backup-result", "entries.json"));
    let report = configmap(&fake, "backup-result").expect("result ConfigMap");
    assert_eq!(report.owner_references()[0].uid, done.uid().expect("uid"));
    let entries: Value = serde_json::from_str(&report.data.expect("data")["entries.json"]).expect("JSON");
    assert_eq!(entries.as_array().map(Vec::len), Some(usize::try_from(export.degraded).expect("count")));

    // Running again at the same generation writes nothing; a spec edit re-exports (upstream this time).
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(configmap(&fake, "platform-export").expect("cm").resource_version(), version);
    patch_job::<McpRegistryExportJob>(&fake, "backup", json!({"spec": {"format": "upstream"}})).await;
    let rerun = wait_export_job(&fake, "backup", |j| {
        j.metadata.generation == Some(2) && finished(&common_export(j), Some(2), JobPhase::Succeeded)
    })
    .await;
    let rerun_status = rerun.status.expect("status");
    assert_eq!(rerun_status.export.map(|e| e.versions), Some(3));
    assert_eq!(rerun_status.job.result_ref, None, "the new run's status has no report: the old reference is gone");
    let upstream = exported(&fake, "platform-export", "registry.json");
    let records = upstream.as_array().expect("upstream records");
    assert_eq!(records.len(), 3);
    assert_eq!(records[0]["server"]["name"], "io.example/alpha");
    assert_eq!(records[0]["_meta"]["io.modelcontextprotocol.registry/official"]["status"], "active");
}

#[tokio::test]
async fn a_large_export_is_gzip_compressed_in_binary_data() {
    let fake = fake();
    let _operator = Operator::start(&fake);
    let many = names("bulk", 1200);
    ready_registry(&fake, "big", "big", &many.iter().map(String::as_str).collect::<Vec<_>>()).await;
    create_job::<McpRegistryExportJob>(
        &fake,
        "MCPRegistryExportJob",
        "big-export",
        json!({"registry": "big", "format": "upstream", "configMap": {"name": "big-export", "key": "catalog.json"}}),
    )
    .await;
    let done = wait_export_job(&fake, "big-export", |j| {
        finished(&common_export(j), j.metadata.generation, JobPhase::Succeeded)
    })
    .await;
    let export = done.status.and_then(|s| s.export).expect("export");
    assert_eq!((export.key.as_str(), export.compressed, export.versions), ("catalog.json", true, 1200));
    assert!(export.bytes > 256 * 1024, "{}", export.bytes);
    let cm = configmap(&fake, "big-export").expect("ConfigMap");
    assert_eq!(cm.data, None, "nothing uncompressed");
    assert_eq!(exported(&fake, "big-export", "catalog.json").as_array().map(Vec::len), Some(1200));
}

#[tokio::test]
async fn an_export_job_leaves_a_foreign_configmap_alone_and_fails_without_retrying() {
    let fake = fake();
    let _operator = Operator::start(&fake);
    ready_registry(&fake, "platform", "c", &["io.example/a"]).await;
    put_configmap(&fake, "precious", "{\"mine\": true}").await;
    create_job::<McpRegistryExportJob>(
        &fake,
        "MCPRegistryExportJob",
        "clobber",
        json!({"registry": "platform", "configMap": {"name": "precious"}, "backoffLimit": 5}),
    )
    .await;
    let failed =
        wait_export_job(&fake, "clobber", |j| finished(&common_export(j), j.metadata.generation, JobPhase::Failed))
            .await;
    let status = failed.status.expect("status");
    assert_eq!(status.job.attempts, Some(1), "retrying cannot help");
    assert_eq!(reason(&status.job, Stalled), Some(("True".into(), "TargetConflict".into())));
    assert!(message(&status.job, Ready).contains("ConfigMap precious exists"), "{}", message(&status.job, Ready));
    let kept = configmap(&fake, "precious").expect("kept");
    assert_eq!(kept.data.and_then(|d| d.get("registry.json").cloned()).as_deref(), Some("{\"mine\": true}"));
}

#[tokio::test]
async fn an_export_job_retries_until_the_registry_has_a_catalog_and_is_deleted_after_its_ttl() {
    let fake = fake();
    let _operator = Operator::start(&fake);
    create_job::<McpRegistryExportJob>(
        &fake,
        "MCPRegistryExportJob",
        "eager",
        json!({"registry": "later", "configMap": {"name": "later-export"}, "backoffLimit": 8, "ttlSecondsAfterFinished": 0}),
    )
    .await;
    let waiting = wait_export_job(&fake, "eager", |j| common_export(j).phase == Some(JobPhase::Pending)).await;
    assert_eq!(reason(&common_export(&waiting), Ready), Some(("False".into(), "RegistryNotFound".into())));
    ready_registry(&fake, "later", "later", &["io.example/later"]).await;
    // Succeeded, then deleted at once (TTL 0); the export stays.
    fake.wait_for::<McpRegistryExportJob>(NS, "eager", WAIT, |j| j.is_none()).await.expect("deleted after its TTL");
    assert_eq!(exported(&fake, "later-export", "registry.json")["servers"].as_object().map(|s| s.len()), Some(1));
    assert!(event_count(&fake, "eager", "RegistryNotFound") >= 1);
    assert_eq!(event_count(&fake, "eager", "Succeeded"), 1);
}

#[tokio::test]
async fn readiness_waits_for_the_job_watches_and_names_them_while_their_crds_are_missing() {
    // Only the MCPRegistry CRD installed (an operator upgraded before its CRDs): the job watches cannot list,
    // /readyz names them, and a shutdown still ends the process (kube's controller would wait for a first list).
    let partial = FakeApiServer::new();
    partial.register_crd(&thv_operator::crds().remove(0));
    let operator = Operator::start(&partial);
    let deadline = std::time::Instant::now() + WAIT;
    while operator.readiness.pending().len() > 3 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(operator.readiness.pending(), ["mcpregistryexportjobs", "mcpregistryimportjobs", "mcpregistrysyncjobs"]);
    operator.stop().await;

    // With every CRD: ready.
    let fake = fake();
    let operator = Operator::start(&fake);
    let deadline = std::time::Instant::now() + WAIT;
    while !operator.readiness.pending().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(operator.readiness.pending(), Vec::<&str>::new());
}

fn common_import(job: &McpRegistryImportJob) -> JobStatus {
    job.status.clone().map(|s| s.job).unwrap_or_default()
}

async fn wait_import_job(
    fake: &FakeApiServer,
    name: &str,
    check: impl Fn(&McpRegistryImportJob) -> bool,
) -> McpRegistryImportJob {
    match fake.wait_for::<McpRegistryImportJob>(NS, name, WAIT, |j| j.is_some_and(&check)).await {
        Ok(Some(job)) => job,
        other => {
            let now: Option<McpRegistryImportJob> = fake.get(NS, name).expect("get");
            panic!(
                "MCPRegistryImportJob {name} did not get there: {other:?}\nstatus now: {:#?}",
                now.and_then(|j| j.status)
            );
        }
    }
}

async fn import_done(fake: &FakeApiServer, name: &str, phase: JobPhase) -> McpRegistryImportJob {
    wait_import_job(fake, name, |j| finished(&common_import(j), j.metadata.generation, phase)).await
}

/// The per-entry results of an import job, from its result ConfigMap: (server, outcome) pairs.
fn import_entries(fake: &FakeApiServer, job: &McpRegistryImportJob) -> Vec<(String, String)> {
    let result_ref = job.status.as_ref().and_then(|s| s.job.result_ref.clone()).expect("resultRef");
    let cm = configmap(fake, &result_ref.config_map).expect("result ConfigMap");
    assert_eq!(cm.owner_references()[0].uid, job.uid().expect("uid"), "owned by the job");
    let entries: Value = serde_json::from_str(&cm.data.expect("data")[&result_ref.key]).expect("JSON");
    let mut pairs: Vec<(String, String)> = entries
        .as_array()
        .expect("array")
        .iter()
        .map(|e| (e["server"].as_str().unwrap_or("?").to_owned(), e["outcome"].as_str().unwrap_or("?").to_owned()))
        .collect();
    pairs.sort();
    pairs
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

#[tokio::test]
async fn an_import_job_merges_then_replaces_with_per_entry_results_and_the_layer_survives_a_sync() {
    let fake = fake();
    let _operator = Operator::start(&fake);
    ready_registry(&fake, "platform", "c", &["io.example/alpha"]).await;
    create_job::<McpRegistryImportJob>(
        &fake,
        "MCPRegistryImportJob",
        "add",
        json!({"registry": "platform", "inline": catalog(&["io.example/beta", "io.example/gamma"], "1.0.0")}),
    )
    .await;
    let added = import_done(&fake, "add", JobPhase::Succeeded).await;
    let result = added.status.as_ref().and_then(|s| s.import.clone()).expect("import result");
    assert_eq!((result.added, result.updated, result.removed, result.rejected), (2, 0, 0, 0));
    assert_eq!((result.layer, result.total, result.changed, result.input.as_str()), (2, 3, true, "spec.inline"));
    assert_eq!(import_entries(&fake, &added), pairs(&[("io.example/beta", "added"), ("io.example/gamma", "added")]));
    let registry = wait_registry(&fake, "platform", |_| true).await;
    let names = |catalog: Vec<(String, String)>| catalog.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
    assert_eq!(
        names(stored_catalog(&fake, &registry).await),
        ["io.example/alpha", "io.example/beta", "io.example/gamma"]
    );

    // replace, from a ConfigMap: gamma is imported again unchanged, delta is new, beta leaves the layer.
    put_configmap(&fake, "swap-input", &catalog(&["io.example/gamma", "io.example/delta"], "1.0.0")).await;
    create_job::<McpRegistryImportJob>(
        &fake,
        "MCPRegistryImportJob",
        "swap",
        json!({"registry": "platform", "mode": "replace", "configMapRef": {"name": "swap-input"}}),
    )
    .await;
    let swapped = import_done(&fake, "swap", JobPhase::Succeeded).await;
    let result = swapped.status.as_ref().and_then(|s| s.import.clone()).expect("import result");
    assert_eq!((result.added, result.unchanged, result.removed, result.layer, result.total), (1, 1, 1, 2, 3));
    assert_eq!(result.input, "configmap default/swap-input key registry.json");
    assert_eq!(
        import_entries(&fake, &swapped),
        pairs(&[("io.example/beta", "removed"), ("io.example/delta", "added"), ("io.example/gamma", "unchanged")])
    );
    assert_eq!(
        names(stored_catalog(&fake, &registry).await),
        ["io.example/alpha", "io.example/delta", "io.example/gamma"]
    );

    // A new generation runs again and is idempotent: everything unchanged, nothing written.
    let storage_version = storage(&fake, "platform").expect("storage").resource_version();
    patch_job::<McpRegistryImportJob>(&fake, "swap", json!({"spec": {"backoffLimit": 1}})).await;
    let again = wait_import_job(&fake, "swap", |j| {
        j.metadata.generation == Some(2) && finished(&common_import(j), Some(2), JobPhase::Succeeded)
    })
    .await;
    let result = again.status.and_then(|s| s.import).expect("import result");
    assert_eq!((result.added, result.unchanged, result.removed, result.changed), (0, 2, 0, false));
    assert_eq!(storage(&fake, "platform").expect("storage").resource_version(), storage_version);

    // The source changes and syncs: the imported layer stays.
    put_configmap(&fake, "c", &catalog(&["io.example/alpha", "io.example/omega"], "1.0.0")).await;
    wait_registry(&fake, "platform", |r| r.status.as_ref().and_then(|s| s.versions) == Some(4)).await;
    assert_eq!(
        names(stored_catalog(&fake, &registry).await),
        ["io.example/alpha", "io.example/delta", "io.example/gamma", "io.example/omega"]
    );
}

#[tokio::test]
async fn a_broken_import_fails_naming_the_input_and_changes_nothing() {
    let fake = fake();
    let _operator = Operator::start(&fake);
    ready_registry(&fake, "platform", "c", &["io.example/alpha"]).await;
    let before = storage(&fake, "platform").expect("storage");
    create_job::<McpRegistryImportJob>(
        &fake,
        "MCPRegistryImportJob",
        "broken",
        json!({"registry": "platform", "inline": "{\"servers\": 42", "backoffLimit": 5}),
    )
    .await;
    let failed = import_done(&fake, "broken", JobPhase::Failed).await;
    let status = failed.status.expect("status");
    assert_eq!(status.job.attempts, Some(1), "retrying cannot help");
    assert_eq!(reason(&status.job, Stalled), Some(("True".into(), "InvalidInput".into())));
    let said = message(&status.job, Ready);
    assert!(said.contains("spec.inline: not valid JSON") && said.contains("nothing was imported"), "{said}");
    assert_eq!(status.import, None);
    let after = storage(&fake, "platform").expect("storage");
    assert_eq!(after.resource_version(), before.resource_version(), "the stored catalog is untouched");

    // A ConfigMap input that does not exist: retried with backoff, then failed, naming it.
    create_job::<McpRegistryImportJob>(
        &fake,
        "MCPRegistryImportJob",
        "missing",
        json!({"registry": "platform", "configMapRef": {"name": "nowhere", "key": "r.json"}, "backoffLimit": 1}),
    )
    .await;
    let failed = import_done(&fake, "missing", JobPhase::Failed).await;
    let status = failed.status.expect("status");
    assert_eq!(status.job.attempts, Some(2), "one retry");
    assert_eq!(reason(&status.job, Stalled), Some(("True".into(), "BackoffLimitExceeded".into())));
    assert!(message(&status.job, Ready).contains("nowhere"), "{}", message(&status.job, Ready));
    assert!(event_count(&fake, "missing", "InputUnavailable") >= 1);
    assert_eq!(storage(&fake, "platform").expect("storage").resource_version(), before.resource_version());
}

#[tokio::test]
async fn an_import_job_retries_until_the_registry_and_its_storage_exist_then_is_deleted_after_its_ttl() {
    let fake = fake();
    let _operator = Operator::start(&fake);
    let server = TestDocumentServer::start(catalog(&["io.example/from-url"], "2.0.0").into_bytes()).await;
    create_job::<McpRegistryImportJob>(
        &fake,
        "MCPRegistryImportJob",
        "eager",
        json!({"registry": "later", "url": server.url(), "backoffLimit": 10, "ttlSecondsAfterFinished": 0}),
    )
    .await;
    let waiting = wait_import_job(&fake, "eager", |j| common_import(j).phase == Some(JobPhase::Pending)).await;
    assert_eq!(reason(&common_import(&waiting), Ready), Some(("False".into(), "RegistryNotFound".into())));
    // The registry exists but its source does not yet: no storage, the import waits for the first sync.
    create_registry(&fake, "later", configmap_spec("later-source", false)).await;
    wait_import_job(&fake, "eager", |j| {
        reason(&common_import(j), Ready) == Some(("False".into(), "RegistryNotSynced".into()))
    })
    .await;
    put_configmap(&fake, "later-source", &catalog(&["io.example/synced"], "1.0.0")).await;
    fake.wait_for::<McpRegistryImportJob>(NS, "eager", WAIT, |j| j.is_none()).await.expect("deleted after its TTL");
    let registry = wait_registry(&fake, "later", |_| true).await;
    assert_eq!(
        stored_catalog(&fake, &registry).await,
        pairs(&[("io.example/from-url", "2.0.0"), ("io.example/synced", "1.0.0")])
    );
    assert_eq!(event_count(&fake, "eager", "Succeeded"), 1);
}

/// The export's bytes under `key` of ConfigMap `name` (decompressed when in `binaryData`).
fn exported_bytes(fake: &FakeApiServer, name: &str, key: &str) -> Vec<u8> {
    serde_json::to_vec(&exported(fake, name, key)).expect("JSON")
}

#[tokio::test]
async fn export_then_import_then_export_is_a_fixed_point_in_both_formats() {
    let fake = fake();
    let _operator = Operator::start(&fake);
    ready_registry(&fake, "origin", "origin-source", &["io.example/alpha", "io.example/beta"]).await;
    put_configmap(&fake, "copy-source", &catalog(&[], "1.0.0")).await;
    create_registry(&fake, "copy", configmap_spec("copy-source", false)).await;
    wait_registry(&fake, "copy", |r| has(r, Ready, "True", "Succeeded")).await;
    for format in ["upstream", "toolhive"] {
        let export = |registry: &str, job: &str| json!({"registry": registry, "format": format, "configMap": {"name": format!("{job}-out")}});
        create_job::<McpRegistryExportJob>(
            &fake,
            "MCPRegistryExportJob",
            &format!("first-{format}"),
            export("origin", &format!("first-{format}")),
        )
        .await;
        wait_export_job(&fake, &format!("first-{format}"), |j| {
            finished(&common_export(j), j.metadata.generation, JobPhase::Succeeded)
        })
        .await;
        let import =
            json!({"registry": "copy", "mode": "replace", "configMapRef": {"name": format!("first-{format}-out")}});
        create_job::<McpRegistryImportJob>(&fake, "MCPRegistryImportJob", &format!("import-{format}"), import).await;
        let imported = import_done(&fake, &format!("import-{format}"), JobPhase::Succeeded).await;
        assert_eq!(imported.status.and_then(|s| s.import).map(|i| (i.rejected, i.total)), Some((0, 2)), "{format}");
        create_job::<McpRegistryExportJob>(
            &fake,
            "MCPRegistryExportJob",
            &format!("second-{format}"),
            export("copy", &format!("second-{format}")),
        )
        .await;
        wait_export_job(&fake, &format!("second-{format}"), |j| {
            finished(&common_export(j), j.metadata.generation, JobPhase::Succeeded)
        })
        .await;
        assert_eq!(
            String::from_utf8(exported_bytes(&fake, &format!("second-{format}-out"), "registry.json")),
            String::from_utf8(exported_bytes(&fake, &format!("first-{format}-out"), "registry.json")),
            "{format}"
        );
        // The job wrote the bytes of the one rendering `thv registry export` writes too.
        let origin = wait_registry(&fake, "origin", |_| true).await;
        let versions = {
            use thv_store::Store as _;
            let owner = origin.controller_owner_ref(&()).expect("owner");
            let store = thv_operator::ConfigMapStore::new(fake.client_as("test-reader"), NS, "origin", owner);
            store.catalog("origin").await.expect("read the storage")
        };
        let one = thv_sync::export::export(
            &versions,
            match format {
                "upstream" => thv_sync::export::ExportFormat::Upstream,
                _ => thv_sync::export::ExportFormat::Toolhive,
            },
        );
        let written = configmap(&fake, &format!("first-{format}-out")).and_then(|c| c.data).expect("data");
        assert_eq!(written["registry.json"].as_bytes(), one.bytes.as_slice(), "{format}");
    }
}
