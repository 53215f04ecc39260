//! One reconcile of one MCPRegistry, as an ordered list of small steps that stop at the first error:
//!
//! 1. **suspend**: `spec.suspend` skips the sync (the API keeps serving the stored catalog);
//! 2. **trigger**: a pending `toolhive.stacklok.io/sync-trigger` value makes a sync due and is echoed in
//!    `status.lastHandledSyncTrigger` once handled;
//! 3. **spec**: [`crate::convert::to_local`]; a spec that cannot be used is `Stalled` (`InvalidSpec`);
//! 4. **sync when due** ([`schedule::plan`]): `thv_sync::sync_registry` into the registry's store, from the
//!    source the [`Backend`] builds; a failed sync keeps the stored catalog;
//! 5. **API workload**: server-side apply of the `<name>-api` Deployment and Service (deleted when
//!    `spec.api.enabled` is false); `APIReady` from the Deployment's status;
//! 6. **status and Events**: computed once ([`status::next_status`], [`events::plan`]), written with one
//!    status patch when something changed.
//!
//! The requeue comes from the registry's own schedule: the backoff of a retry, else the interval.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use thv_store::{FailureKind, Store, SyncOutcome};
use thv_sync::{RegistryStatus, SyncError, SyncReport};
use tracing::{Instrument, info, warn};

use super::schedule::{self, Inputs, Plan, StoredSync, SyncReason};
use super::status::{self, ApiState, CatalogStep, Observed, SyncRun};
use super::{Context, Error, FIELD_MANAGER, events, inputs, workload};
use crate::conditions::{self, ConditionType, Reason};
use crate::labels::{self, pending_sync_trigger_after};
use crate::{ConfigMapRef, McpRegistry, McpRegistryStatus, PostgresRef, StorageRef, StorageSpec, StorageType};

/// Reconciles one registry (kube-runtime's reconciler).
pub async fn reconcile(registry: Arc<McpRegistry>, ctx: Arc<Context>) -> Result<Action, Error> {
    let mut guard = ctx.metrics.reconcile_started();
    let span = tracing::info_span!(
        "reconcile",
        namespace = registry.namespace().unwrap_or_default(),
        registry = registry.name_any()
    );
    let action = Reconcile::new(&registry, &ctx)?.run().instrument(span).await?;
    guard.succeeded();
    ctx.reconciled(&ObjectRef::from(registry.as_ref()));
    Ok(action)
}

/// What to do after a reconcile failed (kube-runtime's error policy): retry after a per-registry backoff.
pub fn error_policy(registry: Arc<McpRegistry>, error: &Error, ctx: Arc<Context>) -> Action {
    let delay = ctx.error_backoff(ObjectRef::from(registry.as_ref()));
    warn!(
        namespace = registry.namespace().unwrap_or_default(),
        registry = registry.name_any(),
        retry_in_seconds = delay.as_secs(),
        "reconcile failed: {error}"
    );
    Action::requeue(delay)
}

/// One reconcile in progress.
struct Reconcile<'a> {
    registry: &'a McpRegistry,
    ctx: &'a Context,
    namespace: String,
    name: String,
    uid: String,
    previous: McpRegistryStatus,
    now: Timestamp,
}

impl<'a> Reconcile<'a> {
    fn new(registry: &'a McpRegistry, ctx: &'a Context) -> Result<Self, Error> {
        let uid = registry.uid().ok_or(Error::Incomplete("metadata.uid"))?;
        // The cache may not have seen this process's last status write yet; that write is the freshest.
        let previous = ctx.written_status(&uid).unwrap_or_else(|| registry.status.clone().unwrap_or_default());
        Ok(Self {
            registry,
            ctx,
            namespace: registry.namespace().ok_or(Error::Incomplete("metadata.namespace"))?,
            name: registry.name_any(),
            uid,
            previous,
            now: Timestamp::now(),
        })
    }

    async fn run(self) -> Result<Action, Error> {
        // 1. Suspend.
        if self.registry.spec.suspend {
            let api = self.apply_api().await?;
            self.finish(CatalogStep::Suspended, api, None).await?;
            return Ok(Action::await_change());
        }
        // 2. Trigger (handled by whatever sync runs in this reconcile).
        let trigger = pending_sync_trigger_after(self.registry, self.previous.last_handled_sync_trigger.as_deref());
        // 3. Spec.
        let spec = match crate::convert::to_local(&self.name, &self.registry.spec) {
            Ok((spec, _cluster)) => spec,
            Err(e) => {
                let message = e.to_string();
                let api = self.apply_api().await?;
                self.finish(CatalogStep::InvalidSpec(&message), api, trigger).await?;
                return Ok(Action::await_change());
            }
        };
        // 4. Sync when due, into the storage the spec names.
        let store = match self.ctx.backend.store(self.registry).await {
            Ok(store) => store,
            Err(Error::Storage(problem)) => {
                // Nothing syncs; what the storage holds stays served. A Secret change wakes a stalled one.
                let retry_in = (!problem.is_stalled()).then_some(spec.sync_policy.retry.backoff_interval);
                warn!(namespace = self.namespace, registry = self.name, "storage unavailable: {problem}");
                let api = self.apply_api().await?;
                self.finish(CatalogStep::StorageUnavailable(&problem, retry_in), api, None).await?;
                return Ok(retry_in.map_or_else(Action::await_change, Action::requeue));
            }
            Err(e) => return Err(e),
        };
        let stored = store.registry_state(&spec.name).await.ok().flatten();
        let references = inputs::references(self.registry);
        let changes = self.ctx.inputs.changes(&self.uid, &references);
        let jitter = schedule::jitter_for(&self.uid);
        let last_attempt = self
            .previous
            .last_attempt_time
            .as_ref()
            .map(|t| t.0)
            .or_else(|| stored.as_ref().and_then(|s| s.last_attempt_at.as_deref()).and_then(|t| t.parse().ok()));
        let plan = schedule::plan(&Inputs {
            generation: self.registry.metadata.generation,
            observed_generation: self.previous.observed_generation,
            trigger_pending: trigger.is_some(),
            policy: &spec.sync_policy,
            stored: stored.as_ref().map(StoredSync::of),
            last_attempt,
            source_changed: changes.source,
            secret_changed: changes.secret,
            storage_was_down: conditions::find(&self.previous.conditions, ConditionType::Synced).is_some_and(|c| {
                c.status == "False"
                    && [Reason::StorageSecretNotFound, Reason::StorageFailed].iter().any(|r| r.as_str() == c.reason)
            }),
            jitter,
            now: self.now,
        });
        let (report, reason) = match plan {
            Plan::Wait(next) => {
                let api = self.apply_api().await?;
                self.finish(CatalogStep::NotDue, api, None).await?;
                return Ok(next.map_or_else(Action::await_change, Action::requeue));
            }
            Plan::SyncNow(reason) => {
                if reason.is_requested() {
                    let api = ApiState::from_conditions(&self.previous.conditions, self.registry.spec.api.enabled);
                    self.write_progress(reason, api, trigger).await?;
                }
                let versions = self.ctx.inputs.snapshot(&references);
                let report = self.sync(&spec, store.as_ref()).await;
                self.ctx.inputs.synced(&self.uid, versions);
                (report, reason)
            }
        };
        // The stored state after the sync, as the pipeline leaves it: failures counted, success resets.
        let failed_attempts = match (report.outcome, &stored) {
            (SyncOutcome::Failed, Some(s)) => s.failed_attempts.saturating_add(1),
            (SyncOutcome::Failed, None) => 1,
            _ => 0,
        };
        let after = StoredSync {
            status: match report.failure {
                Some(FailureKind::Stalled) => RegistryStatus::Stalled,
                Some(FailureKind::Retryable) => RegistryStatus::Failing,
                None => RegistryStatus::Ready,
            },
            failed_attempts,
        };
        let next = schedule::next_attempt(&spec.sync_policy, after, jitter);
        let servers = self.count_servers(&report, store.as_ref()).await;
        let run = SyncRun {
            reason,
            report: &report,
            servers,
            next_attempt: next.map(|(d, _)| d),
            retry_left: next.is_some_and(|(_, r)| r == SyncReason::Retry),
        };
        // 5. API workload.
        let api = self.apply_api().await?;
        // 6. Status and Events.
        self.finish(CatalogStep::Synced(&run), api, trigger).await?;
        // A quiet check leaves lastAttemptTime: wait for what was left of the interval.
        let wait = if reason.is_check() && report.run_id.is_none() && report.outcome != SyncOutcome::Failed {
            self.remaining(next.map(|(d, _)| d), last_attempt)
        } else {
            next.map(|(d, _)| d)
        };
        Ok(wait.map_or_else(Action::await_change, Action::requeue))
    }

    fn remaining(&self, after: Option<Duration>, last_attempt: Option<Timestamp>) -> Option<Duration> {
        let after = after?;
        let elapsed = last_attempt.map_or(Duration::ZERO, |t| schedule::elapsed_since(t, self.now));
        Some(after.saturating_sub(elapsed).max(Duration::from_secs(1)))
    }

    /// Runs the pipeline. A source that cannot be built is a failed sync, recorded as such.
    async fn sync(&self, spec: &thv_sync::RegistrySpec, store: &dyn Store) -> SyncReport {
        let report = match self.ctx.backend.source(self.registry, spec) {
            Ok(source) => thv_sync::sync_registry(spec, source.as_ref(), store).await,
            Err(e) => thv_sync::record_failure(spec, store, SyncError::Source(e)).await,
        };
        self.ctx.metrics.record_sync(&self.namespace, &self.name, report.outcome, report.duration.as_secs_f64());
        match report.outcome {
            SyncOutcome::Failed => warn!(
                namespace = self.namespace,
                registry = self.name,
                failure = report.failure.map(FailureKind::as_str),
                "sync failed: {}",
                report.error.as_deref().unwrap_or_default()
            ),
            outcome => info!(
                namespace = self.namespace,
                registry = self.name,
                outcome = ?outcome,
                revision = report.revision.as_deref().unwrap_or_default(),
                versions = report.counts.total,
                added = report.counts.added,
                removed = report.counts.removed,
                updated = report.counts.updated,
                "synced"
            ),
        }
        report
    }

    /// Distinct server names in the stored catalog, counted when the catalog changed (or never was).
    async fn count_servers(&self, report: &SyncReport, store: &dyn Store) -> Option<i64> {
        let changed = report.outcome == SyncOutcome::Success
            || (report.outcome == SyncOutcome::Unchanged && self.previous.servers.is_none());
        if !changed {
            return None;
        }
        let catalog = store.catalog(&self.name).await.ok()?;
        let names: BTreeSet<&str> = catalog.iter().map(|v| v.name.as_str()).collect();
        Some(i64::try_from(names.len()).unwrap_or(i64::MAX))
    }

    /// Applies (or, when disabled, deletes) the API Deployment and Service, and reads `APIReady` back.
    async fn apply_api(&self) -> Result<ApiState, Error> {
        let deployments: Api<Deployment> = Api::namespaced(self.ctx.client.clone(), &self.namespace);
        let services: Api<Service> = Api::namespaced(self.ctx.client.clone(), &self.namespace);
        let object_name = labels::api_name(&self.name);
        if !self.registry.spec.api.enabled {
            let already_gone = conditions::find(&self.previous.conditions, ConditionType::ApiReady)
                .is_some_and(|c| c.reason == Reason::ApiDisabled.as_str());
            if !already_gone {
                delete_if_present(&deployments, &object_name).await?;
                delete_if_present(&services, &object_name).await?;
            }
            return Ok(ApiState::Disabled);
        }
        let owner = self.registry.controller_owner_ref(&()).ok_or(Error::Incomplete("metadata.uid"))?;
        let storage = &self.registry.spec.storage;
        let secret_version = self.storage_secret_version();
        let objects = workload::render(
            &self.ctx.settings.api,
            &self.namespace,
            &self.name,
            &self.registry.spec.api,
            workload::ApiStorage::of(storage, secret_version.as_deref()),
            owner,
        );
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let applied = match deployments.patch(&object_name, &params, &Patch::Apply(&objects.deployment)).await {
            Ok(deployment) => deployment,
            Err(e) if is_refused(&e) => {
                return Ok(ApiState::Failed(format!(
                    "the API server refused Deployment {object_name}: {}",
                    api_message(&e)
                )));
            }
            Err(e) => return Err(Error::kube(format!("apply Deployment {}/{object_name}", self.namespace))(e)),
        };
        match services.patch(&object_name, &params, &Patch::Apply(&objects.service)).await {
            Ok(_) => {}
            Err(e) if is_refused(&e) => {
                return Ok(ApiState::Failed(format!(
                    "the API server refused Service {object_name}: {}",
                    api_message(&e)
                )));
            }
            Err(e) => return Err(Error::kube(format!("apply Service {}/{object_name}", self.namespace))(e)),
        }
        Ok(workload::api_state(&applied))
    }

    /// The `resourceVersion` of the PostgreSQL storage Secret: as this reconcile read it (the API pods roll
    /// only on a real edit, not when the operator restarts), else as the Secret watch last saw it.
    fn storage_secret_version(&self) -> Option<String> {
        let postgres = self.registry.spec.storage.postgres.as_ref()?;
        if let Some(version) = self.ctx.backend.storage_secret_version(&self.uid) {
            return Some(version);
        }
        let input = inputs::InputRef {
            kind: inputs::InputKind::Secret,
            namespace: self.namespace.clone(),
            name: postgres.secret_ref.name.clone(),
        };
        self.ctx.inputs.snapshot(std::slice::from_ref(&input)).remove(&input).flatten()
    }

    fn observed<'s>(&'s self, catalog: CatalogStep<'s>, api: ApiState, trigger: Option<&'s str>) -> Observed<'s> {
        let enabled = self.registry.spec.api.enabled;
        Observed {
            generation: self.registry.metadata.generation,
            now: self.now,
            catalog,
            api,
            api_endpoint: enabled.then(|| labels::api_endpoint(&self.name, &self.namespace)),
            storage_ref: storage_ref(&self.namespace, &self.name, &self.registry.spec.storage),
            handled_trigger: trigger,
        }
    }

    /// Writes `Reconciling` before a requested sync starts, so `kubectl wait` and GitOps tools see the work.
    async fn write_progress(&self, reason: SyncReason, api: ApiState, trigger: Option<&str>) -> Result<(), Error> {
        let observed = self.observed(CatalogStep::Started(reason), api, trigger);
        let next = status::next_status(&self.previous, &observed);
        // The trigger is echoed when the sync has run, not before.
        let next =
            McpRegistryStatus { last_handled_sync_trigger: self.previous.last_handled_sync_trigger.clone(), ..next };
        self.patch_status(&next).await
    }

    /// Computes the status and Events, writes the status when it changed, publishes the Events.
    async fn finish(&self, catalog: CatalogStep<'_>, api: ApiState, trigger: Option<&str>) -> Result<(), Error> {
        let observed = self.observed(catalog, api, trigger);
        let next = status::next_status(&self.previous, &observed);
        let planned = events::plan(&self.previous, &next, &catalog);
        self.patch_status(&next).await?;
        let reference = self.registry.object_ref(&());
        for event in planned {
            if let Err(e) = self.ctx.recorder.publish(&event.to_event(), &reference).await {
                warn!(
                    namespace = self.namespace,
                    registry = self.name,
                    reason = event.reason.as_str(),
                    "cannot publish an Event: {e}"
                );
            }
        }
        Ok(())
    }

    async fn patch_status(&self, next: &McpRegistryStatus) -> Result<(), Error> {
        if *next == self.previous {
            return Ok(());
        }
        let api: Api<McpRegistry> = Api::namespaced(self.ctx.client.clone(), &self.namespace);
        let body = serde_json::json!({
            "apiVersion": McpRegistry::api_version(&()),
            "kind": McpRegistry::kind(&()),
            "status": next,
        });
        api.patch_status(&self.name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&body))
            .await
            .map_err(Error::kube(format!("patch the status of {}/{}", self.namespace, self.name)))?;
        self.ctx.wrote_status(&self.uid, next);
        Ok(())
    }
}

/// `status.storageRef` for the storage `spec` names.
pub fn storage_ref(namespace: &str, name: &str, spec: &StorageSpec) -> StorageRef {
    match (spec.type_, &spec.postgres) {
        (StorageType::Postgres, Some(postgres)) => StorageRef {
            type_: StorageType::Postgres,
            config_map: None,
            postgres: Some(PostgresRef {
                secret_ref: postgres.secret_ref.clone(),
                registry: crate::postgres::registry_key(namespace, name),
            }),
        },
        _ => StorageRef {
            type_: StorageType::Configmap,
            config_map: Some(ConfigMapRef { name: labels::storage_config_map_name(name) }),
            postgres: None,
        },
    }
}

async fn delete_if_present<K>(api: &Api<K>, name: &str) -> Result<(), Error>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(e) => Err(Error::kube(format!("delete {name}"))(e)),
    }
}

/// Whether the API server refused an object as invalid (a fix to the spec is needed, not a retry).
fn is_refused(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if matches!(status.code, 400 | 422))
}

fn api_message(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => status.message.clone(),
        other => other.to_string(),
    }
}
