//! The cluster's side of the `thv registry` commands: MCPRegistries read and asked to sync with the user's
//! kubeconfig credentials, so the cluster's RBAC decides what each person may do. A refusal is worded as
//! what the user may not do, where.

use std::time::{Duration, Instant};

use kube::ResourceExt as _;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde::Serialize;
use thv_operator::controller::jobs::sync::progress;
use thv_operator::jobs::{RegistrySyncOutcome, RegistrySyncResult};
use thv_operator::labels::SYNC_TRIGGER_ANNOTATION;
use thv_operator::{McpRegistry, McpRegistryStatus};

use super::list::{ReadyCondition, RegistryRow, interval};
use super::scope::{ClusterScope, label};

/// How often `sync --wait` looks at the registry.
const POLL: Duration = Duration::from_millis(500);

/// The error of an API call, worded for the user: a 403 says what they may not do, where.
pub fn api_error(error: kube::Error, verb: &str, what: &str, namespace: Option<&str>, context: &str) -> anyhow::Error {
    let place = namespace.map_or_else(|| "all namespaces".to_owned(), |ns| format!("namespace {ns}"));
    match &error {
        kube::Error::Api(status) if status.code == 403 => anyhow::anyhow!(
            "you may not {verb} {what} in {place} (kubeconfig context {context:?}; the cluster's RBAC refused it: {})",
            status.message
        ),
        kube::Error::Api(status) if status.code == 401 => anyhow::anyhow!(
            "the cluster of kubeconfig context {context:?} refused its credentials (HTTP 401 {}): {}",
            status.reason,
            status.message
        ),
        _ => anyhow::Error::new(error)
            .context(format!("cannot {verb} {what} in {place} (kubeconfig context {context:?})")),
    }
}

/// The MCPRegistry `name` in the scope's namespace, `None` when there is none.
pub async fn get(scope: &ClusterScope, name: &str) -> anyhow::Result<Option<McpRegistry>> {
    let api: Api<McpRegistry> = Api::namespaced(scope.cluster.client.clone(), &scope.namespace);
    api.get_opt(name)
        .await
        .map_err(|e| api_error(e, "get", "mcpregistries", Some(&scope.namespace), &scope.cluster.context))
}

/// The rows of the scope's MCPRegistries (of every namespace with `all_namespaces`), by namespace and name.
pub async fn rows(scope: &ClusterScope, all_namespaces: bool) -> anyhow::Result<Vec<RegistryRow>> {
    let client = scope.cluster.client.clone();
    let (api, namespace): (Api<McpRegistry>, _) = if all_namespaces {
        (Api::all(client), None)
    } else {
        (Api::namespaced(client, &scope.namespace), Some(scope.namespace.as_str()))
    };
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(|e| api_error(e, "list", "mcpregistries", namespace, &scope.cluster.context))?;
    let mut registries = list.items;
    registries.sort_by_key(|r| (r.namespace(), r.name_any()));
    Ok(registries.iter().map(|r| row(&scope.cluster.context, r)).collect())
}

/// One MCPRegistry as a row of `thv registry list`, from its spec and status.
pub fn row(context: &str, registry: &McpRegistry) -> RegistryRow {
    let name = registry.name_any();
    let status = registry.status.clone().unwrap_or_default();
    let local = thv_operator::convert::to_local(&name, &registry.spec).ok().map(|(spec, _)| spec);
    let ready = status.condition(thv_operator::conditions::ConditionType::Ready).map(|c| ReadyCondition {
        status: c.status.clone(),
        reason: c.reason.clone(),
        message: c.message.clone(),
    });
    let registry_status = status.registry_status();
    let last_error = (!registry_status.is_ready() && ready.as_ref().is_some_and(|c| c.status == "False"))
        .then(|| ready.as_ref().map(|c| c.message.clone()))
        .flatten();
    RegistryRow {
        scope: label(context, &registry.namespace().unwrap_or_default()),
        name,
        source_kind: local
            .as_ref()
            .map_or_else(|| registry.spec.source.type_.as_str().to_owned(), |s| s.source.kind().to_owned()),
        source: local.as_ref().map_or_else(String::new, |s| s.source.location()),
        servers: status.versions.and_then(|v| u64::try_from(v).ok()).unwrap_or(0),
        last_sync: status.last_sync_time.as_ref().map(|t| t.0.to_string()),
        last_attempt: status.last_attempt_time.as_ref().map(|t| t.0.to_string()),
        status: registry_status,
        last_error,
        revision: status.last_sync_hash.clone(),
        interval: local.as_ref().map_or_else(String::new, interval),
        ready,
    }
}

/// `thv registry show` of an MCPRegistry (the JSON/YAML shape).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShownCluster {
    /// `kube:<context>/<namespace>`.
    pub scope: String,
    /// The MCPRegistry's name.
    pub name: String,
    /// Its spec in the local vocabulary, without secrets (as `thv registry show` of a local registry).
    pub spec: Option<thv_sync::RegistrySpec>,
    /// What the operator last wrote.
    pub status: McpRegistryStatus,
    /// The row of `thv registry list`.
    pub summary: RegistryRow,
}

/// What `thv registry show` prints of an MCPRegistry.
pub fn shown(scope: &ClusterScope, registry: &McpRegistry) -> ShownCluster {
    let name = registry.name_any();
    ShownCluster {
        scope: scope.label(),
        spec: thv_operator::convert::to_local(&name, &registry.spec).ok().map(|(spec, _)| spec.redacted()),
        status: registry.status.clone().unwrap_or_default(),
        summary: row(&scope.cluster.context, registry),
        name,
    }
}

/// Asks the operator to sync `registry` now, through the sync-trigger annotation the MCPRegistry controller
/// honours (as an MCPRegistrySyncJob does); with `wait`, waits up to `timeout` for the operator to handle it,
/// writing progress on stderr. Returns the request's result (`Pending` when not waited for).
pub async fn sync(
    scope: &ClusterScope,
    registry: &McpRegistry,
    wait: Option<Duration>,
) -> anyhow::Result<RegistrySyncResult> {
    let name = registry.name_any();
    let api: Api<McpRegistry> = Api::namespaced(scope.cluster.client.clone(), &scope.namespace);
    let token = format!("thv-cli/{}", jiff::Timestamp::now());
    let patch = serde_json::json!({"metadata": {"annotations": {SYNC_TRIGGER_ANNOTATION: token}}});
    api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| api_error(e, "patch", "mcpregistries", Some(&scope.namespace), &scope.cluster.context))?;
    let mut entry = RegistrySyncResult {
        name: name.clone(),
        result: RegistrySyncOutcome::Pending,
        reason: None,
        message: None,
        revision: None,
        previous_revision: registry.status.as_ref().and_then(|s| s.last_sync_hash.clone()),
        servers: None,
        trigger: Some(token.clone()),
    };
    let Some(timeout) = wait else { return Ok(entry) };
    crate::output::write_stderr(format_args!(
        "{name}: sync requested in {} ({SYNC_TRIGGER_ANNOTATION}={token}); waiting for the operator…",
        scope.label()
    ));
    let started = Instant::now();
    loop {
        let current = get(scope, &name).await?;
        let deadline_passed = started.elapsed() >= timeout;
        entry = progress(&entry, current.as_ref(), deadline_passed);
        // Past the deadline, `progress` says `DeadlineExceeded`.
        if entry.result != RegistrySyncOutcome::Pending {
            return Ok(entry);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The stored catalog of an MCPRegistry, read from its storage ConfigMap with the user's credentials
/// (`get` on `configmaps`) and decoded by the operator's own [`thv_operator::ConfigMapStore`].
pub async fn stored_catalog(
    scope: &ClusterScope,
    registry: &McpRegistry,
) -> anyhow::Result<Vec<thv_store::ServerVersion>> {
    use thv_store::Store as _;
    let name = registry.name_any();
    if registry.spec.storage.type_ != thv_operator::StorageType::Configmap {
        anyhow::bail!(
            "MCPRegistry {name} in {} keeps its catalog in PostgreSQL: export it with an MCPRegistryExportJob",
            scope.label()
        );
    }
    let store = thv_operator::ConfigMapStore::follower(&scope.namespace, &name);
    let api: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(scope.cluster.client.clone(), &scope.namespace);
    let object = api
        .get_opt(store.config_map_name())
        .await
        .map_err(|e| api_error(e, "get", "configmaps", Some(&scope.namespace), &scope.cluster.context))?;
    let Some(object) = object else {
        anyhow::bail!(
            "MCPRegistry {name} in {} has no stored catalog yet (its storage ConfigMap {} does not exist)",
            scope.label(),
            store.config_map_name()
        );
    };
    store.observe(Some(object))?;
    Ok(store.catalog(&name).await?)
}

/// How long a job the CLI creates is kept once finished, before the operator deletes it (one day).
pub const JOB_TTL_SECONDS: i32 = 24 * 3600;

/// What `thv registry import` did in a cluster (the JSON/YAML shape).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterImport {
    /// `kube:<context>/<namespace>`.
    pub scope: String,
    /// The MCPRegistryImportJob created.
    pub job: String,
    /// Its phase when the command returned (`Pending` without `--wait`).
    pub phase: String,
    /// The job's one-line result.
    pub summary: Option<String>,
    /// What the import did, once it succeeded.
    pub import: Option<thv_operator::jobs::ImportResult>,
}

/// Creates an `MCPRegistryImportJob` importing `document` (inline) into `registry`; with `wait`, waits up to
/// that long for the operator to finish it, writing progress on stderr.
pub async fn import(
    scope: &ClusterScope,
    registry: &str,
    document: &crate::input::InputDocument,
    mode: thv_operator::jobs::ImportMode,
    wait: Option<Duration>,
) -> anyhow::Result<ClusterImport> {
    use thv_operator::jobs::{JobPolicy, MAX_INLINE_BYTES, McpRegistryImportJob, McpRegistryImportJobSpec};
    let Ok(text) = std::str::from_utf8(&document.bytes) else {
        anyhow::bail!("{}: not UTF-8 text, which an MCPRegistryImportJob cannot hold inline", document.name);
    };
    if text.len() > MAX_INLINE_BYTES as usize {
        anyhow::bail!(
            "{}: {} bytes, more than an MCPRegistryImportJob holds inline ({} KiB): put the file in a ConfigMap \
             and create the job with spec.configMapRef (docs/operator.md)",
            document.name,
            text.len(),
            MAX_INLINE_BYTES / 1024
        );
    }
    let spec = McpRegistryImportJobSpec {
        registry: registry.to_owned(),
        mode,
        config_map_ref: None,
        url: None,
        inline: Some(text.to_owned()),
        policy: JobPolicy { ttl_seconds_after_finished: Some(JOB_TTL_SECONDS), ..JobPolicy::default() },
    };
    let mut job = McpRegistryImportJob::new("", spec);
    job.metadata.name = None;
    job.metadata.generate_name = Some(format!("{registry}-import-"));
    let api: Api<McpRegistryImportJob> = Api::namespaced(scope.cluster.client.clone(), &scope.namespace);
    let context = &scope.cluster.context;
    let created = api
        .create(&kube::api::PostParams::default(), &job)
        .await
        .map_err(|e| api_error(e, "create", "mcpregistryimportjobs", Some(&scope.namespace), context))?;
    let name = created.name_any();
    let mut current = created;
    if let Some(timeout) = wait {
        crate::output::write_stderr(format_args!(
            "{registry}: MCPRegistryImportJob {name} created in {}; waiting for the operator…",
            scope.label()
        ));
        let started = Instant::now();
        loop {
            let phase = current.status.as_ref().and_then(|s| s.job.phase);
            if phase.is_some_and(thv_operator::jobs::JobPhase::is_finished) {
                break;
            }
            if started.elapsed() >= timeout {
                anyhow::bail!(
                    "the operator did not finish MCPRegistryImportJob {name} in {} within {} (kubectl get mcpregimport {name})",
                    scope.label(),
                    humantime::format_duration(timeout)
                );
            }
            tokio::time::sleep(POLL).await;
            current = api
                .get(&name)
                .await
                .map_err(|e| api_error(e, "get", "mcpregistryimportjobs", Some(&scope.namespace), context))?;
        }
    }
    let status = current.status.unwrap_or_default();
    Ok(ClusterImport {
        scope: scope.label(),
        job: name,
        phase: status.job.phase.map_or("Pending", thv_operator::jobs::JobPhase::as_str).to_owned(),
        summary: status.job.summary,
        import: status.import,
    })
}
