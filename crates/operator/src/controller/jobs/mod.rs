//! The job controllers: one kube-runtime `Controller` per job kind, each driving the shared lifecycle
//! ([`crate::jobs::lifecycle`]) with its kind's attempt ([`JobKind::attempt`]).
//!
//! One reconcile: [`lifecycle::decide`] (start, retry, continue, wait, or TTL deletion) → the kind's attempt
//! → [`lifecycle::advance`] → one status patch when something changed → an Event when the phase changed.
//!
//! - [`sync`] (`MCPRegistrySyncJob`), also woken by its registries' changes (their status echoes the sync
//!   request);
//! - [`export`] (`MCPRegistryExportJob`);
//! - [`import`] (`MCPRegistryImportJob`).
//!
//! A job's detailed result (an export's or an import's per-entry report) goes to its `<job>-result`
//! ConfigMap ([`write_result`]).

/// The accessors of [`JobKind`] every kind implements alike, from its `spec.policy`, its `status` and that
/// status's `job` part; used inside each `impl JobKind`.
macro_rules! job_accessors {
    () => {
        fn policy(&self) -> $crate::jobs::JobPolicy {
            self.spec.policy
        }

        fn stored_status(&self) -> Option<&Self::Status> {
            self.status.as_ref()
        }

        fn common(status: &Self::Status) -> &$crate::jobs::JobStatus {
            &status.job
        }

        fn common_mut(status: &mut Self::Status) -> &mut $crate::jobs::JobStatus {
            &mut status.job
        }
    };
}

pub mod export;
pub mod import;
pub mod sync;

/// Key of the per-entry report in a job's result ConfigMap (`<job>-result`).
pub const REPORT_KEY: &str = "entries.json";

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::{info, warn};

use super::{Context, Error, FIELD_MANAGER};
use crate::conditions::{self, ConditionType};
use crate::jobs::lifecycle::{self, Decision, JobView, Next, Outcome};
use crate::jobs::{JobPhase, JobPolicy, JobStatus};

/// A job kind: its status type and its attempt.
#[async_trait::async_trait]
pub trait JobKind:
    Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
    + Clone
    + Debug
    + DeserializeOwned
    + Serialize
    + Send
    + Sync
    + 'static
{
    /// The kind's whole status.
    type Status: Clone + Default + PartialEq + Debug + Serialize + DeserializeOwned + Send + Sync;

    /// `spec.backoffLimit` and `spec.ttlSecondsAfterFinished`.
    fn policy(&self) -> JobPolicy;
    /// The status as stored on the object.
    fn stored_status(&self) -> Option<&Self::Status>;
    /// The lifecycle part of a status.
    fn common(status: &Self::Status) -> &JobStatus;
    /// The lifecycle part of a status, to change.
    fn common_mut(status: &mut Self::Status) -> &mut JobStatus;

    /// Runs the current attempt, or looks at where it stands: `fresh` when it has just started (the status
    /// says so already). The kind writes its own result fields into `status`.
    async fn attempt(
        &self,
        ctx: &JobContext,
        status: &mut Self::Status,
        fresh: bool,
        now: Timestamp,
    ) -> Result<Outcome, Error>;
}

/// What every job reconcile shares.
pub struct JobContext {
    /// The controller's context (client, backend, recorder, settings).
    pub ctx: Arc<Context>,
    /// The status this process last wrote, per job uid (serialized): the cache can lag behind these writes.
    statuses: Mutex<HashMap<String, serde_json::Value>>,
    /// Consecutive reconcile errors per job uid.
    errors: Mutex<HashMap<String, u32>>,
}

impl JobContext {
    /// A context over the controller's.
    pub fn new(ctx: Arc<Context>) -> Self {
        Self { ctx, statuses: Mutex::default(), errors: Mutex::default() }
    }

    fn written<S: DeserializeOwned>(&self, uid: &str) -> Option<S> {
        let statuses = self.statuses.lock().unwrap_or_else(PoisonError::into_inner);
        statuses.get(uid).and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    fn wrote<S: Serialize>(&self, uid: &str, status: &S) {
        if let Ok(value) = serde_json::to_value(status) {
            self.statuses.lock().unwrap_or_else(PoisonError::into_inner).insert(uid.to_owned(), value);
        }
    }

    fn forget(&self, uid: &str) {
        self.statuses.lock().unwrap_or_else(PoisonError::into_inner).remove(uid);
        self.errors.lock().unwrap_or_else(PoisonError::into_inner).remove(uid);
    }

    fn error_backoff(&self, uid: &str) -> Duration {
        let mut errors = self.errors.lock().unwrap_or_else(PoisonError::into_inner);
        let count = errors.entry(uid.to_owned()).or_insert(0);
        *count = count.saturating_add(1);
        Duration::from_secs(1_u64 << (*count - 1).min(8)).min(Duration::from_secs(300))
    }

    fn reconciled(&self, uid: &str) {
        self.errors.lock().unwrap_or_else(PoisonError::into_inner).remove(uid);
    }
}

/// Reconciles one job of kind `K`.
pub async fn reconcile<K: JobKind>(job: Arc<K>, jobs: Arc<JobContext>) -> Result<Action, Error> {
    let uid = job.uid().ok_or(Error::Incomplete("metadata.uid"))?;
    let namespace = job.namespace().ok_or(Error::Incomplete("metadata.namespace"))?;
    let name = job.name_any();
    if job.meta().deletion_timestamp.is_some() {
        jobs.forget(&uid);
        return Ok(Action::await_change());
    }
    let previous: K::Status = jobs.written(&uid).or_else(|| job.stored_status().cloned()).unwrap_or_default();
    let now = Timestamp::now();
    let policy = job.policy();
    let view = JobView { generation: job.meta().generation, policy, status: K::common(&previous) };
    let (mut status, fresh) = match lifecycle::decide(view, now) {
        Decision::Delete => {
            let api: Api<K> = Api::namespaced(jobs.ctx.client.clone(), &namespace);
            match api.delete(&name, &DeleteParams::background()).await {
                Ok(_) => info!(
                    namespace,
                    job = name,
                    kind = K::kind(&()).as_ref(),
                    "deleted: ttlSecondsAfterFinished passed"
                ),
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(e) => return Err(Error::kube(format!("delete {}/{name}", namespace))(e)),
            }
            jobs.forget(&uid);
            return Ok(Action::await_change());
        }
        Decision::Done(after) => return Ok(after.map_or_else(Action::await_change, Action::requeue)),
        Decision::Wait(after) => return Ok(Action::requeue(after)),
        Decision::Start => (fresh_status::<K>(&previous, job.meta().generation, 1, now), true),
        Decision::Retry(attempt) => (fresh_status::<K>(&previous, job.meta().generation, attempt, now), true),
        Decision::Continue => (previous.clone(), false),
    };
    let outcome = match job.attempt(&jobs, &mut status, fresh, now).await {
        Ok(outcome) => outcome,
        Err(e) => {
            // Write that the attempt started, so a retry of this reconcile continues it.
            if fresh {
                patch_status::<K>(&jobs, &namespace, &name, &uid, &previous, &status).await?;
            }
            return Err(e);
        }
    };
    let (common, next) = lifecycle::advance(K::common(&status), policy, jobs.ctx.settings.job_backoff, &outcome, now);
    *K::common_mut(&mut status) = common;
    patch_status::<K>(&jobs, &namespace, &name, &uid, &previous, &status).await?;
    publish::<K>(&jobs, &job, K::common(&previous), K::common(&status)).await;
    jobs.reconciled(&uid);
    Ok(match next {
        Next::Requeue(after) => Action::requeue(after),
        // The delete happens in the next reconcile, through the same path as a TTL that passed.
        Next::Delete => Action::requeue(Duration::from_millis(1)),
        Next::AwaitChange => Action::await_change(),
    })
}

/// What to do after a job's reconcile failed: retry after a per-job backoff (1 s, doubling, at most 5 min).
pub fn error_policy<K: JobKind>(job: Arc<K>, error: &Error, jobs: Arc<JobContext>) -> Action {
    let delay = jobs.error_backoff(&job.uid().unwrap_or_default());
    warn!(
        namespace = job.namespace().unwrap_or_default(),
        job = job.name_any(),
        kind = K::kind(&()).as_ref(),
        retry_in_seconds = delay.as_secs(),
        "reconcile failed: {error}"
    );
    Action::requeue(delay)
}

fn fresh_status<K: JobKind>(previous: &K::Status, generation: Option<i64>, attempt: i32, now: Timestamp) -> K::Status {
    let mut status = if attempt <= 1 { K::Status::default() } else { previous.clone() };
    *K::common_mut(&mut status) = lifecycle::start_attempt(K::common(previous), generation, attempt, now);
    status
}

async fn patch_status<K: JobKind>(
    jobs: &JobContext,
    namespace: &str,
    name: &str,
    uid: &str,
    previous: &K::Status,
    next: &K::Status,
) -> Result<(), Error> {
    if next == previous {
        return Ok(());
    }
    let api: Api<K> = Api::namespaced(jobs.ctx.client.clone(), namespace);
    let (before, after) = (serde_json::to_value(previous), serde_json::to_value(next));
    let (Ok(before), Ok(after)) = (before, after) else { return Err(Error::Incomplete("a serializable status")) };
    let body = serde_json::json!({"status": merge_patch(&before, &after)});
    let params = PatchParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..PatchParams::default() };
    api.patch_status(name, &params, &Patch::Merge(&body))
        .await
        .map_err(Error::kube(format!("patch the status of {} {namespace}/{name}", K::kind(&()))))?;
    jobs.wrote(uid, next);
    Ok(())
}

/// The JSON merge patch (RFC 7386) from `before` to `after`: `after`, with `null` for every member of
/// `before` that `after` no longer has, so a field the new status leaves out (a finished run's `resultRef`)
/// is removed rather than left behind.
pub fn merge_patch(before: &serde_json::Value, after: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match (before, after) {
        (Value::Object(old), Value::Object(new)) => {
            let mut patch = serde_json::Map::new();
            for (key, value) in new {
                let value = old.get(key).map_or_else(|| value.clone(), |previous| merge_patch(previous, value));
                patch.insert(key.clone(), value);
            }
            for key in old.keys().filter(|k| !new.contains_key(*k)) {
                patch.insert(key.clone(), Value::Null);
            }
            Value::Object(patch)
        }
        _ => after.clone(),
    }
}

/// The Event of a phase change: `Succeeded` (Normal) when the job succeeded; the failure's reason (Warning)
/// when an attempt failed, whether a retry follows or the job failed.
pub fn planned_event(previous: &JobStatus, next: &JobStatus) -> Option<Event> {
    let changed = previous.phase != next.phase || previous.attempts != next.attempts;
    let failed_now = next.phase == Some(JobPhase::Pending) && previous.phase != Some(JobPhase::Pending);
    if !changed || !(next.phase.is_some_and(JobPhase::is_finished) || failed_now) {
        return None;
    }
    let ready = conditions::find(&next.conditions, ConditionType::Ready)?;
    let warning = next.phase != Some(JobPhase::Succeeded);
    Some(Event {
        type_: if warning { EventType::Warning } else { EventType::Normal },
        reason: ready.reason.clone(),
        note: Some(super::events::bounded(ready.message.clone())),
        action: "Run".to_owned(),
        secondary: None,
    })
}

async fn publish<K: JobKind>(jobs: &JobContext, job: &K, previous: &JobStatus, next: &JobStatus) {
    let Some(event) = planned_event(previous, next) else { return };
    if let Err(e) = jobs.ctx.recorder.publish(&event, &job.object_ref(&())).await {
        warn!(job = job.name_any(), reason = event.reason, "cannot publish an Event: {e}");
    }
}

/// Writes `text` (JSON) to the job's result ConfigMap `<job>-result` under [`REPORT_KEY`], owned by the job
/// (deleted with it); an unchanged report is not written again.
pub async fn write_result<K: JobKind>(
    jobs: &JobContext,
    job: &K,
    namespace: &str,
    text: String,
) -> Result<crate::jobs::ResultRef, Error> {
    use std::collections::BTreeMap;

    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::{ObjectMeta, PostParams};

    let name = format!("{}-result", job.name_any());
    let api: Api<ConfigMap> = Api::namespaced(jobs.ctx.client.clone(), namespace);
    let mut object = ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(namespace.to_owned()),
            owner_references: job.controller_owner_ref(&()).map(|o| vec![o]),
            labels: Some(BTreeMap::from([(
                "app.kubernetes.io/managed-by".to_owned(),
                crate::labels::MANAGED_BY.to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([(REPORT_KEY.to_owned(), text)])),
        ..ConfigMap::default()
    };
    let action = format!("write ConfigMap {namespace}/{name}");
    match api.get_opt(&name).await.map_err(Error::kube(action.clone()))? {
        None => {
            api.create(&PostParams::default(), &object).await.map_err(Error::kube(action))?;
        }
        Some(current) if current.data != object.data => {
            object.metadata.resource_version = current.resource_version();
            api.replace(&name, &PostParams::default(), &object).await.map_err(Error::kube(action))?;
        }
        Some(_) => {}
    }
    Ok(crate::jobs::ResultRef { config_map: name, key: REPORT_KEY.to_owned() })
}

/// Runs the job controllers until `shutdown` resolves, then lets the reconciles in flight finish.
///
/// | controller | watches | triggers |
/// |---|---|---|
/// | MCPRegistrySyncJob | the jobs; MCPRegistries | a job change; a registry change, for the unfinished jobs naming or selecting it |
/// | MCPRegistryExportJob | the jobs | a job change |
/// | MCPRegistryImportJob | the jobs | a job change |
///
/// The job watches report to `readiness` (`/readyz`) when they have listed everything once; a deleted job's
/// cached status is dropped.
pub async fn run(
    ctx: Arc<Context>,
    readiness: Arc<super::Readiness>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    use futures::{FutureExt as _, StreamExt as _};
    use kube::runtime::controller::{self, Controller};
    use kube::runtime::reflector::ObjectRef;
    use kube::runtime::watcher;

    use crate::{McpRegistry, McpRegistryExportJob, McpRegistryImportJob, McpRegistrySyncJob};

    let client = ctx.client.clone();
    let namespace = ctx.settings.namespace.clone();
    let ns = namespace.as_deref();
    let concurrency = ctx.settings.concurrency;
    let jobs = Arc::new(JobContext::new(ctx));
    let shutdown = shutdown.shared();

    let (sync_reader, sync_stream) = job_stream::<McpRegistrySyncJob>(&client, ns, &jobs, &readiness);
    let waiting = sync_reader.clone();
    let sync_listed = sync_reader.clone();
    let sync_jobs = Controller::for_stream(sync_stream, sync_reader)
        .watches(super::run::scoped::<McpRegistry>(&client, ns), watcher::Config::default(), move |registry| {
            waiting
                .state()
                .iter()
                .filter(|job| sync::waits_for(job, &registry))
                .map(|job| ObjectRef::from(job.as_ref()))
                .collect::<Vec<_>>()
        })
        .with_config(controller::Config::default().concurrency(concurrency))
        .graceful_shutdown_on(shutdown.clone())
        .run(reconcile::<McpRegistrySyncJob>, error_policy::<McpRegistrySyncJob>, Arc::clone(&jobs))
        .for_each(log_result);
    let (export_reader, export_stream) = job_stream::<McpRegistryExportJob>(&client, ns, &jobs, &readiness);
    let export_listed = export_reader.clone();
    let export_jobs = Controller::for_stream(export_stream, export_reader)
        .with_config(controller::Config::default().concurrency(concurrency))
        .graceful_shutdown_on(shutdown.clone())
        .run(reconcile::<McpRegistryExportJob>, error_policy::<McpRegistryExportJob>, Arc::clone(&jobs))
        .for_each(log_result);
    let (import_reader, import_stream) = job_stream::<McpRegistryImportJob>(&client, ns, &jobs, &readiness);
    let import_listed = import_reader.clone();
    let import_jobs = Controller::for_stream(import_stream, import_reader)
        .with_config(controller::Config::default().concurrency(concurrency))
        .graceful_shutdown_on(shutdown.clone())
        .run(reconcile::<McpRegistryImportJob>, error_policy::<McpRegistryImportJob>, jobs)
        .for_each(log_result);
    futures::join!(
        super::run::unless_never_listed(sync_jobs, sync_listed, shutdown.clone()),
        super::run::unless_never_listed(export_jobs, export_listed, shutdown.clone()),
        super::run::unless_never_listed(import_jobs, import_listed, shutdown)
    );
}

/// The watch of the jobs of kind `K` in a reflector: reports the first full list to `readiness` (under the
/// kind's plural) and forgets what was kept for deleted jobs.
fn job_stream<K: JobKind>(
    client: &kube::Client,
    namespace: Option<&str>,
    jobs: &Arc<JobContext>,
    readiness: &Arc<super::Readiness>,
) -> (
    kube::runtime::reflector::Store<K>,
    impl futures::Stream<Item = Result<K, kube::runtime::watcher::Error>> + Send + 'static,
) {
    use futures::TryStreamExt as _;
    use kube::runtime::WatchStreamExt as _;
    use kube::runtime::watcher::{self, Event};

    let (reader, writer) = kube::runtime::reflector::store::<K>();
    let jobs = Arc::clone(jobs);
    let readiness = Arc::clone(readiness);
    let plural = K::plural(&()).into_owned();
    let stream = watcher::watcher(super::run::scoped::<K>(client, namespace), watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .inspect_ok(move |event| match event {
            Event::InitDone => readiness.synced(&plural),
            Event::Delete(job) => {
                if let Some(uid) = job.uid() {
                    jobs.forget(&uid);
                }
            }
            _ => {}
        })
        .applied_objects();
    (reader, stream)
}

fn log_result<K: Resource, E: std::fmt::Display>(
    result: Result<(kube::runtime::reflector::ObjectRef<K>, Action), kube::runtime::controller::Error<Error, E>>,
) -> futures::future::Ready<()>
where
    K::DynamicType: Debug + Eq + std::hash::Hash + Clone,
{
    use kube::runtime::controller;
    match result {
        Ok((object, action)) => tracing::debug!(job = %object, ?action, "reconciled"),
        Err(controller::Error::ReconcilerFailed(..)) => {}
        Err(e) => warn!("job controller: {e}"),
    }
    futures::future::ready(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_merge_patch_removes_what_the_new_status_leaves_out() {
        let before = json!({"phase": "Succeeded", "resultRef": {"configMap": "r", "key": "k"}, "export": {"bytes": 1, "revision": "a"}});
        let after = json!({"phase": "Running", "export": {"bytes": 2}});
        assert_eq!(
            merge_patch(&before, &after),
            json!({"phase": "Running", "resultRef": null, "export": {"bytes": 2, "revision": null}})
        );
        assert_eq!(merge_patch(&json!({}), &after), after);
    }

    #[test]
    fn events_mark_phase_changes_only() {
        let now = Timestamp::from_second(1_800_000_000).expect("time");
        let policy = JobPolicy { backoff_limit: 1, ttl_seconds_after_finished: None };
        let running = lifecycle::start_attempt(&JobStatus::default(), Some(1), 1, now);
        let failure = Outcome::Failed {
            reason: crate::jobs::JobReason::RegistryNotFound,
            message: "no x".into(),
            retryable: true,
        };
        let (pending, _) = lifecycle::advance(&running, policy, lifecycle::Backoff::default(), &failure, now);
        let retry = planned_event(&running, &pending).expect("an attempt failed");
        assert_eq!((retry.type_, retry.reason.as_str()), (EventType::Warning, "RegistryNotFound"));
        assert!(planned_event(&pending, &pending).is_none(), "nothing changed");
        let second = lifecycle::start_attempt(&pending, Some(1), 2, now);
        assert!(planned_event(&pending, &second).is_none(), "a retry starting is no Event");
        let (failed, _) = lifecycle::advance(&second, policy, lifecycle::Backoff::default(), &failure, now);
        let last = planned_event(&second, &failed).expect("failed");
        assert_eq!((last.type_, last.reason.as_str()), (EventType::Warning, "BackoffLimitExceeded"));
        let done = Outcome::Succeeded { summary: "ok".into() };
        let (succeeded, _) = lifecycle::advance(&second, policy, lifecycle::Backoff::default(), &done, now);
        let ok = planned_event(&second, &succeeded).expect("succeeded");
        assert_eq!((ok.type_, ok.reason.as_str(), ok.note.as_deref()), (EventType::Normal, "Succeeded", Some("ok")));
    }
}
