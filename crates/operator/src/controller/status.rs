//! The status an MCPRegistry gets from one reconcile, computed once, by pure functions, from the previous
//! status and what the reconcile observed. The reconciler writes it with one status patch when it differs.
//!
//! Conditions follow kstatus: `Reconciling` (work in progress or a retry ahead) and `Stalled` (a failure that
//! waits for a change) are present only while true; `Ready` summarises the others; `SourceAvailable`,
//! `Synced` and `APIReady` are always present. `lastTransitionTime` moves only when a condition's status
//! flips ([`crate::conditions::set`]).

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use thv_store::{FailureKind, SyncOutcome};
use thv_sync::{FailureCause, SyncReport};

use super::schedule::SyncReason;
use crate::conditions::{self, ConditionStatus, ConditionType, Reason};
use crate::{ChangeCounts, McpRegistryStatus, StorageRef};

/// What the reconcile did about the catalog.
#[derive(Debug, Clone, Copy)]
pub enum CatalogStep<'a> {
    /// The spec cannot be used as written (the conversion's message).
    InvalidSpec(&'a str),
    /// `spec.suspend` is true: nothing synced.
    Suspended,
    /// A sync is about to start (the status written before a requested sync).
    Started(SyncReason),
    /// A sync ran.
    Synced(&'a SyncRun<'a>),
    /// Nothing was due: the sync conditions stay as they were.
    NotDue,
}

/// A sync that ran in this reconcile.
#[derive(Debug, Clone, Copy)]
pub struct SyncRun<'a> {
    /// Why it ran.
    pub reason: SyncReason,
    /// The pipeline's report.
    pub report: &'a SyncReport,
    /// Distinct server names in the stored catalog afterwards, when counted.
    pub servers: Option<i64>,
    /// When the next automatic attempt is due (for the retry message).
    pub next_attempt: Option<Duration>,
    /// Whether another retry follows (a retryable failure with retries left).
    pub retry_left: bool,
}

/// The API Deployment as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiState {
    /// `spec.api.enabled` is false.
    Disabled,
    /// Available with the replicas asked for.
    Available(String),
    /// Rolling out.
    Progressing(String),
    /// Failed (progress deadline exceeded, replica failure, or the objects could not be written).
    Failed(String),
}

impl ApiState {
    /// The API state as the previous status recorded it (before this reconcile applied anything).
    pub fn from_conditions(conditions: &[Condition], enabled: bool) -> Self {
        if !enabled {
            return Self::Disabled;
        }
        match conditions::find(conditions, ConditionType::ApiReady) {
            Some(c) if c.reason == Reason::DeploymentAvailable.as_str() => Self::Available(c.message.clone()),
            Some(c) if c.reason == Reason::DeploymentFailed.as_str() => Self::Failed(c.message.clone()),
            Some(c) => Self::Progressing(c.message.clone()),
            None => Self::Progressing("the API Deployment is not created yet".to_owned()),
        }
    }
}

/// Everything one reconcile observed.
#[derive(Debug, Clone)]
pub struct Observed<'a> {
    /// `metadata.generation`.
    pub generation: Option<i64>,
    /// Now.
    pub now: Timestamp,
    /// What happened to the catalog.
    pub catalog: CatalogStep<'a>,
    /// The API Deployment.
    pub api: ApiState,
    /// `status.apiEndpoint` (`None` when the API is disabled).
    pub api_endpoint: Option<String>,
    /// `status.storageRef`.
    pub storage_ref: StorageRef,
    /// The sync trigger this reconcile handled, if any.
    pub handled_trigger: Option<&'a str>,
}

/// One condition as computed, before `lastTransitionTime` is settled.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wanted {
    status: ConditionStatus,
    reason: Reason,
    message: String,
}

impl Wanted {
    fn new(status: ConditionStatus, reason: Reason, message: impl Into<String>) -> Self {
        Self { status, reason, message: message.into() }
    }

    fn from_condition(condition: &Condition) -> Option<Self> {
        let status = match condition.status.as_str() {
            "True" => ConditionStatus::True,
            "False" => ConditionStatus::False,
            _ => ConditionStatus::Unknown,
        };
        let reason = Reason::ALL.into_iter().find(|r| r.as_str() == condition.reason)?;
        Some(Self { status, reason, message: condition.message.clone() })
    }
}

/// The conditions that come from syncing, carried from the previous status when nothing synced.
#[derive(Debug, Clone, Default)]
struct SyncConditions {
    source: Option<Wanted>,
    synced: Option<Wanted>,
    stalled: Option<Wanted>,
    reconciling: Option<Wanted>,
}

/// The condition reason of a failed sync.
pub fn failure_reason(report: &SyncReport) -> Reason {
    match report.cause {
        Some(FailureCause::Spec) => Reason::InvalidSpec,
        Some(FailureCause::SourceNotFound) => Reason::SourceNotFound,
        Some(FailureCause::Unauthorized) => Reason::AuthenticationFailed,
        Some(FailureCause::Document) => Reason::InvalidDocument,
        Some(FailureCause::Storage) => Reason::StorageFailed,
        Some(FailureCause::Fetch) | None => Reason::FetchFailed,
    }
}

/// Whether a failure happened before the document was read (the source is not available).
fn failed_at_source(reason: Reason) -> bool {
    matches!(
        reason,
        Reason::InvalidSpec
            | Reason::SourceNotFound
            | Reason::SecretNotFound
            | Reason::AuthenticationFailed
            | Reason::FetchFailed
    )
}

/// The status after this reconcile.
pub fn next_status(previous: &McpRegistryStatus, observed: &Observed<'_>) -> McpRegistryStatus {
    let mut next = previous.clone();
    next.api_endpoint.clone_from(&observed.api_endpoint);
    next.storage_ref = Some(observed.storage_ref.clone());
    if let Some(trigger) = observed.handled_trigger {
        next.last_handled_sync_trigger = Some(trigger.to_owned());
    }
    let now = Time(observed.now);
    let mut sync = carried(previous);
    match observed.catalog {
        CatalogStep::InvalidSpec(message) => {
            let wanted = Wanted::new(ConditionStatus::False, Reason::InvalidSpec, message);
            sync.source = Some(wanted.clone());
            sync.synced = Some(Wanted::new(
                ConditionStatus::False,
                Reason::InvalidSpec,
                format!("no sync until the spec is fixed: {message}"),
            ));
            sync.stalled = Some(Wanted { status: ConditionStatus::True, ..wanted });
            sync.reconciling = None;
            next.observed_generation = observed.generation;
        }
        CatalogStep::Suspended => {
            sync.synced = Some(Wanted::new(
                ConditionStatus::Unknown,
                Reason::Suspended,
                "spec.suspend is true: no sync runs and the stored catalog stays served",
            ));
            sync.source.get_or_insert_with(|| {
                Wanted::new(ConditionStatus::Unknown, Reason::Suspended, "not fetched: spec.suspend is true")
            });
            sync.stalled = None;
            sync.reconciling = None;
            next.observed_generation = observed.generation;
        }
        CatalogStep::Started(reason) => {
            sync.reconciling =
                Some(Wanted::new(ConditionStatus::True, Reason::Progressing, started(reason, previous, observed)));
            sync.stalled = None;
        }
        CatalogStep::Synced(run) => {
            apply_run(&mut next, &mut sync, run, &now);
            next.observed_generation = observed.generation;
        }
        CatalogStep::NotDue => next.observed_generation = observed.generation,
    }
    let sync_stalled = sync.stalled.is_some();
    let api = api_condition(&observed.api);
    match &observed.api {
        ApiState::Failed(message) if !sync_stalled => {
            sync.stalled = Some(Wanted::new(ConditionStatus::True, Reason::DeploymentFailed, message.clone()));
        }
        ApiState::Progressing(message) if sync.reconciling.is_none() && !sync_stalled => {
            sync.reconciling = Some(Wanted::new(
                ConditionStatus::True,
                Reason::Progressing,
                format!("waiting for the API Deployment: {message}"),
            ));
        }
        _ => {}
    }
    let ready = ready(&sync, &api, &next, observed);
    let generation = next.observed_generation;
    let mut conditions = std::mem::take(&mut next.conditions);
    let wanted = [
        (ConditionType::Ready, Some(ready)),
        (ConditionType::Reconciling, sync.reconciling),
        (ConditionType::Stalled, sync.stalled),
        (ConditionType::SourceAvailable, sync.source),
        (ConditionType::Synced, sync.synced),
        (ConditionType::ApiReady, Some(api)),
    ];
    for (type_, wanted) in wanted {
        match wanted {
            Some(w) => {
                conditions::set(&mut conditions, type_, w.status, w.reason, &w.message, generation, observed.now);
            }
            None => {
                conditions::remove(&mut conditions, type_);
            }
        }
    }
    conditions.sort_by_key(|c| ConditionType::ALL.iter().position(|t| t.as_str() == c.type_).unwrap_or(usize::MAX));
    next.conditions = conditions;
    next
}

/// The sync conditions of the previous status, as they stand when nothing syncs in this reconcile. A
/// `Reconciling` of a sync that started but never finished, and the API's own `Stalled` and `Reconciling`,
/// are recomputed rather than carried.
fn carried(previous: &McpRegistryStatus) -> SyncConditions {
    let find = |type_| conditions::find(&previous.conditions, type_).and_then(Wanted::from_condition);
    SyncConditions {
        source: find(ConditionType::SourceAvailable),
        synced: find(ConditionType::Synced),
        stalled: find(ConditionType::Stalled).filter(|w| w.reason != Reason::DeploymentFailed),
        reconciling: find(ConditionType::Reconciling).filter(|w| w.reason == Reason::ProgressingWithRetry),
    }
}

fn started(reason: SyncReason, previous: &McpRegistryStatus, observed: &Observed<'_>) -> String {
    match reason {
        SyncReason::NewGeneration => match (previous.observed_generation, observed.generation) {
            (Some(from), Some(to)) => format!("syncing: new generation {from} -> {to}"),
            _ => "syncing: new generation".to_owned(),
        },
        SyncReason::Trigger => {
            format!(
                "syncing: requested by {} {}",
                crate::labels::SYNC_TRIGGER_ANNOTATION,
                observed.handled_trigger.unwrap_or_default()
            )
        }
        _ => "syncing: first sync".to_owned(),
    }
}

fn apply_run(next: &mut McpRegistryStatus, sync: &mut SyncConditions, run: &SyncRun<'_>, now: &Time) {
    let report = run.report;
    let quiet = run.reason.is_check() && report.run_id.is_none() && report.outcome != SyncOutcome::Failed;
    if !quiet {
        next.last_attempt_time = Some(now.clone());
    }
    let revision = report.revision.as_deref().unwrap_or("unknown");
    match report.outcome {
        SyncOutcome::Success | SyncOutcome::Unchanged => {
            if !quiet {
                next.last_sync_time = Some(now.clone());
            }
            next.last_sync_hash.clone_from(&report.revision);
            next.versions = Some(i64::try_from(report.counts.total).unwrap_or(i64::MAX));
            if let Some(servers) = run.servers {
                next.servers = Some(servers);
            }
            if report.outcome == SyncOutcome::Success {
                next.last_change = Some(ChangeCounts {
                    added: to_i64(report.counts.added),
                    removed: to_i64(report.counts.removed),
                    updated: to_i64(report.counts.updated),
                });
            }
            let fetched = if report.outcome == SyncOutcome::Unchanged {
                format!("source unchanged at revision {revision}")
            } else {
                format!("fetched revision {revision}")
            };
            sync.source = Some(Wanted::new(ConditionStatus::True, Reason::Fetched, fetched));
            sync.synced = Some(Wanted::new(ConditionStatus::True, Reason::SyncSucceeded, catalog_summary(next)));
            sync.stalled = None;
            sync.reconciling = None;
        }
        SyncOutcome::Failed => {
            let reason = failure_reason(report);
            let error = report.error.as_deref().unwrap_or("the sync failed");
            if failed_at_source(reason) {
                sync.source = Some(Wanted::new(ConditionStatus::False, reason, error));
                sync.synced = Some(Wanted::new(
                    ConditionStatus::False,
                    Reason::SyncFailed,
                    format!("the source is not available; the stored catalog is kept: {error}"),
                ));
            } else {
                sync.source =
                    Some(Wanted::new(ConditionStatus::True, Reason::Fetched, "fetched; the document was not stored"));
                sync.synced =
                    Some(Wanted::new(ConditionStatus::False, reason, format!("{error}; the stored catalog is kept")));
            }
            if report.failure == Some(FailureKind::Stalled) {
                sync.stalled = Some(Wanted::new(ConditionStatus::True, reason, error));
                sync.reconciling = None;
            } else {
                let when = run.next_attempt.map_or_else(String::new, |d| format!(" in {}", human(d)));
                let next_step =
                    if run.retry_left { "retrying" } else { "retries exhausted, next attempt at the interval" };
                sync.reconciling = Some(Wanted::new(
                    ConditionStatus::True,
                    Reason::ProgressingWithRetry,
                    format!("{error}; {next_step}{when}"),
                ));
                sync.stalled = None;
            }
        }
    }
}

fn api_condition(api: &ApiState) -> Wanted {
    match api {
        ApiState::Disabled => Wanted::new(ConditionStatus::True, Reason::ApiDisabled, "spec.api.enabled is false"),
        ApiState::Available(m) => Wanted::new(ConditionStatus::True, Reason::DeploymentAvailable, m.clone()),
        ApiState::Progressing(m) => Wanted::new(ConditionStatus::False, Reason::DeploymentProgressing, m.clone()),
        ApiState::Failed(m) => Wanted::new(ConditionStatus::False, Reason::DeploymentFailed, m.clone()),
    }
}

/// `Ready`: Unknown while work is in progress, False with the reason of what stands in the way, True when
/// the catalog is stored and the API (if enabled) is available.
fn ready(sync: &SyncConditions, api: &Wanted, next: &McpRegistryStatus, observed: &Observed<'_>) -> Wanted {
    let is = |w: &Option<Wanted>, status| w.as_ref().is_some_and(|w| w.status == status);
    if let Some(stalled) = &sync.stalled {
        return Wanted { status: ConditionStatus::False, ..stalled.clone() };
    }
    if let Some(reconciling) = sync.reconciling.as_ref().filter(|w| w.reason == Reason::Progressing) {
        return Wanted { status: ConditionStatus::Unknown, ..reconciling.clone() };
    }
    if is(&sync.source, ConditionStatus::False) {
        let source = sync.source.clone().unwrap_or_else(|| api.clone());
        return Wanted { message: retry_message(sync, &source.message), ..source };
    }
    if is(&sync.synced, ConditionStatus::False) {
        let synced = sync.synced.clone().unwrap_or_else(|| api.clone());
        return Wanted { message: retry_message(sync, &synced.message), ..synced };
    }
    if api.status != ConditionStatus::True {
        return Wanted { status: ConditionStatus::False, ..api.clone() };
    }
    let endpoint = observed.api_endpoint.as_deref().map_or_else(String::new, |e| format!("; API at {e}"));
    if matches!(observed.catalog, CatalogStep::Suspended) {
        return match next.last_sync_time {
            Some(_) => Wanted::new(
                ConditionStatus::True,
                Reason::Suspended,
                format!("suspended, serving {}{endpoint}", catalog_summary(next)),
            ),
            None => Wanted::new(
                ConditionStatus::False,
                Reason::Suspended,
                "suspended before the first sync: no catalog is stored",
            ),
        };
    }
    Wanted::new(ConditionStatus::True, Reason::Succeeded, format!("{}{endpoint}", catalog_summary(next)))
}

/// A failure's message with what happens next (the retry), when a retry is ahead.
fn retry_message(sync: &SyncConditions, message: &str) -> String {
    match &sync.reconciling {
        Some(retry) if retry.reason == Reason::ProgressingWithRetry => retry.message.clone(),
        _ => message.to_owned(),
    }
}

/// "41 servers (52 versions) at revision sha256:…".
pub fn catalog_summary(status: &McpRegistryStatus) -> String {
    let servers = status.servers.unwrap_or(0);
    let versions = status.versions.unwrap_or(0);
    let revision = status.last_sync_hash.as_deref().unwrap_or("unknown");
    format!("{servers} servers ({versions} versions) at revision {revision}")
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A duration for people, in whole seconds (`1m 30s`).
pub fn human(duration: Duration) -> String {
    humantime::format_duration(Duration::from_secs(duration.as_secs().max(1))).to_string()
}
