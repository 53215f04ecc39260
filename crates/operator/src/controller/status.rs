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
use crate::postgres::StorageError;
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
    /// The registry's storage cannot be used (its Secret, its database); nothing synced, the stored
    /// catalog is kept. `retry_in`: when the next attempt is (`None` for a stalled problem).
    StorageUnavailable(&'a StorageError, Option<Duration>),
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
        Some(FailureCause::CredentialsNotFound) => Reason::SecretNotFound,
        Some(FailureCause::Unauthorized) => Reason::AuthenticationFailed,
        Some(FailureCause::Document) => Reason::InvalidDocument,
        Some(FailureCause::StorageTooLarge) => Reason::StorageTooLarge,
        Some(FailureCause::Storage) => Reason::StorageFailed,
        Some(FailureCause::Fetch) | None => Reason::FetchFailed,
    }
}

/// The condition reason of a storage that cannot be used.
pub fn storage_reason(problem: &StorageError) -> Reason {
    match problem {
        StorageError::SecretNotFound { .. } | StorageError::SecretInvalid { .. } => Reason::StorageSecretNotFound,
        StorageError::Unavailable(_) => Reason::StorageFailed,
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
        CatalogStep::StorageUnavailable(problem, retry_in) => {
            let reason = storage_reason(problem);
            let message = problem.to_string();
            sync.synced = Some(Wanted::new(ConditionStatus::False, reason, message.clone()));
            match retry_in {
                Some(delay) if !problem.is_stalled() => {
                    sync.reconciling = Some(Wanted::new(
                        ConditionStatus::True,
                        Reason::ProgressingWithRetry,
                        format!("{message}; retrying in {}", human(delay)),
                    ));
                    sync.stalled = None;
                }
                _ => {
                    sync.stalled = Some(Wanted::new(ConditionStatus::True, reason, message));
                    sync.reconciling = None;
                }
            }
            next.observed_generation = observed.generation;
        }
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
            // The same words whether the content was new or not, so a check that found nothing writes nothing.
            let fetched = format!("source at revision {revision}");
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
                let message = match reason {
                    // The storage's refusal already says the previous catalog is still served.
                    Reason::StorageTooLarge => error.to_owned(),
                    _ => format!("{error}; the stored catalog is kept"),
                };
                sync.synced = Some(Wanted::new(ConditionStatus::False, reason, message));
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

#[cfg(test)]
pub(crate) mod tests {
    use thv_store::Counts;

    use super::*;
    use crate::{ConfigMapRef, StorageType};

    pub(crate) fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).expect("timestamp")
    }

    pub(crate) fn report(outcome: SyncOutcome) -> SyncReport {
        SyncReport {
            registry: "platform".into(),
            outcome,
            run_id: Some(1),
            error: None,
            failure: None,
            cause: None,
            revision: Some("sha256:abc".into()),
            digest: Some("sha256:def".into()),
            counts: Counts { total: 52, added: 52, removed: 0, updated: 0, skipped: 0 },
            invalid_kept: 0,
            filtered_out: 0,
            changes: Vec::new(),
            skipped: Vec::new(),
            duration: Duration::from_millis(20),
        }
    }

    pub(crate) fn failed(kind: FailureKind, cause: FailureCause, error: &str) -> SyncReport {
        SyncReport {
            error: Some(error.into()),
            failure: Some(kind),
            cause: Some(cause),
            counts: Counts { total: 52, ..Counts::default() },
            ..report(SyncOutcome::Failed)
        }
    }

    pub(crate) fn run(reason: SyncReason, report: &SyncReport) -> SyncRun<'_> {
        SyncRun { reason, report, servers: Some(41), next_attempt: Some(Duration::from_secs(60)), retry_left: true }
    }

    pub(crate) fn observed<'a>(catalog: CatalogStep<'a>, api: ApiState, now: i64) -> Observed<'a> {
        Observed {
            generation: Some(2),
            now: at(now),
            catalog,
            api,
            api_endpoint: Some("http://platform-api.team-a.svc:8080".into()),
            storage_ref: StorageRef {
                type_: StorageType::Configmap,
                config_map: Some(ConfigMapRef { name: "platform-registry-storage".into() }),
                postgres: None,
            },
            handled_trigger: None,
        }
    }

    pub(crate) fn available() -> ApiState {
        ApiState::Available("Deployment platform-api: 1/1 replicas available".into())
    }

    fn condition(status: &McpRegistryStatus, type_: ConditionType) -> Option<(&str, &str, &str)> {
        conditions::find(&status.conditions, type_).map(|c| (c.status.as_str(), c.reason.as_str(), c.message.as_str()))
    }

    fn short(status: &McpRegistryStatus, type_: ConditionType) -> Option<(&str, &str)> {
        condition(status, type_).map(|(s, r, _)| (s, r))
    }

    fn synced_once() -> McpRegistryStatus {
        let report = report(SyncOutcome::Success);
        let run = run(SyncReason::FirstSync, &report);
        next_status(&McpRegistryStatus::default(), &observed(CatalogStep::Synced(&run), available(), 0))
    }

    #[test]
    fn a_first_sync_gives_a_full_ready_status() {
        let report = report(SyncOutcome::Success);
        let run = run(SyncReason::Trigger, &report);
        let observed =
            Observed { handled_trigger: Some("1714644000"), ..observed(CatalogStep::Synced(&run), available(), 0) };
        let status = next_status(&McpRegistryStatus::default(), &observed);
        assert_eq!(status.observed_generation, Some(2));
        assert_eq!(
            condition(&status, ConditionType::Ready),
            Some((
                "True",
                "Succeeded",
                "41 servers (52 versions) at revision sha256:abc; API at http://platform-api.team-a.svc:8080"
            ))
        );
        assert_eq!(short(&status, ConditionType::SourceAvailable), Some(("True", "Fetched")));
        assert_eq!(short(&status, ConditionType::Synced), Some(("True", "SyncSucceeded")));
        assert_eq!(short(&status, ConditionType::ApiReady), Some(("True", "DeploymentAvailable")));
        assert_eq!(condition(&status, ConditionType::Reconciling), None);
        assert_eq!(condition(&status, ConditionType::Stalled), None);
        let types: Vec<&str> = status.conditions.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(types, ["Ready", "SourceAvailable", "Synced", "APIReady"]);
        assert!(status.conditions.iter().all(|c| c.observed_generation == Some(2)));
        assert_eq!(status.last_sync_time, Some(Time(at(0))));
        assert_eq!(status.last_attempt_time, Some(Time(at(0))));
        assert_eq!(status.last_sync_hash.as_deref(), Some("sha256:abc"));
        assert_eq!((status.servers, status.versions), (Some(41), Some(52)));
        assert_eq!(status.last_change, Some(ChangeCounts { added: 52, removed: 0, updated: 0 }));
        assert_eq!(status.api_endpoint.as_deref(), Some("http://platform-api.team-a.svc:8080"));
        assert_eq!(
            status.storage_ref.and_then(|s| s.config_map).map(|c| c.name).as_deref(),
            Some("platform-registry-storage")
        );
        assert_eq!(status.last_handled_sync_trigger.as_deref(), Some("1714644000"));
    }

    #[test]
    fn a_retryable_failure_keeps_the_catalog_and_says_when_it_retries() {
        let before = synced_once();
        let report = failed(FailureKind::Retryable, FailureCause::Fetch, "https://x/r.json answered HTTP 500");
        let run = run(SyncReason::Interval, &report);
        let status = next_status(&before, &observed(CatalogStep::Synced(&run), available(), 100));
        assert_eq!(
            condition(&status, ConditionType::Reconciling),
            Some(("True", "ProgressingWithRetry", "https://x/r.json answered HTTP 500; retrying in 1m"))
        );
        assert_eq!(
            condition(&status, ConditionType::Ready),
            Some(("False", "FetchFailed", "https://x/r.json answered HTTP 500; retrying in 1m"))
        );
        assert_eq!(short(&status, ConditionType::SourceAvailable), Some(("False", "FetchFailed")));
        assert_eq!(short(&status, ConditionType::Synced), Some(("False", "SyncFailed")));
        assert_eq!(condition(&status, ConditionType::Stalled), None);
        // The stored catalog is what it was; only the attempt is new.
        assert_eq!((status.last_sync_hash.as_deref(), status.servers), (Some("sha256:abc"), Some(41)));
        assert_eq!(status.last_sync_time, Some(Time(at(0))));
        assert_eq!(status.last_attempt_time, Some(Time(at(100))));
        // Transition times: flipped conditions moved, APIReady did not.
        let time =
            |s: &McpRegistryStatus, t| conditions::find(&s.conditions, t).map(|c| c.last_transition_time.clone());
        assert_eq!(time(&status, ConditionType::Ready), Some(Time(at(100))));
        assert_eq!(time(&status, ConditionType::ApiReady), Some(Time(at(0))));
        // Retries exhausted: still reconciling at the interval.
        let exhausted = SyncRun { retry_left: false, next_attempt: Some(Duration::from_secs(3600)), ..run };
        let status = next_status(&status, &observed(CatalogStep::Synced(&exhausted), available(), 200));
        assert_eq!(
            condition(&status, ConditionType::Reconciling).map(|c| c.2),
            Some("https://x/r.json answered HTTP 500; retries exhausted, next attempt at the interval in 1h")
        );
        assert_eq!(time(&status, ConditionType::Ready), Some(Time(at(100))), "still False: time kept");
    }

    #[test]
    fn stalled_failures_name_their_cause_and_do_not_reconcile() {
        let before = synced_once();
        let missing = failed(FailureKind::Stalled, FailureCause::SourceNotFound, "ConfigMap team-a/catalog not found");
        let check = run(SyncReason::SourceChanged, &missing);
        let status = next_status(&before, &observed(CatalogStep::Synced(&check), available(), 100));
        assert_eq!(
            condition(&status, ConditionType::Stalled),
            Some(("True", "SourceNotFound", "ConfigMap team-a/catalog not found"))
        );
        assert_eq!(short(&status, ConditionType::Ready), Some(("False", "SourceNotFound")));
        assert_eq!(short(&status, ConditionType::SourceAvailable), Some(("False", "SourceNotFound")));
        assert_eq!(condition(&status, ConditionType::Reconciling), None);
        // A document that is not a catalog: the source was available, the sync was not.
        let unreadable = failed(FailureKind::Stalled, FailureCause::Document, "ConfigMap team-a/catalog: not JSON");
        let check = run(SyncReason::SourceChanged, &unreadable);
        let status = next_status(&before, &observed(CatalogStep::Synced(&check), available(), 100));
        assert_eq!(short(&status, ConditionType::SourceAvailable), Some(("True", "Fetched")));
        assert_eq!(short(&status, ConditionType::Synced), Some(("False", "InvalidDocument")));
        assert_eq!(short(&status, ConditionType::Stalled), Some(("True", "InvalidDocument")));
        // Fixed: Stalled goes away.
        let fixed = report(SyncOutcome::Success);
        let check = run(SyncReason::SourceChanged, &fixed);
        let status = next_status(&status, &observed(CatalogStep::Synced(&check), available(), 200));
        assert_eq!(condition(&status, ConditionType::Stalled), None);
        assert_eq!(short(&status, ConditionType::Ready), Some(("True", "Succeeded")));
    }

    #[test]
    fn nothing_due_carries_the_sync_conditions_and_follows_the_api() {
        let before = synced_once();
        let rolling = ApiState::Progressing("Deployment platform-api: 0/1 replicas available, 1/1 updated".into());
        let status = next_status(&before, &observed(CatalogStep::NotDue, rolling, 50));
        assert_eq!(short(&status, ConditionType::Synced), Some(("True", "SyncSucceeded")));
        assert_eq!(short(&status, ConditionType::ApiReady), Some(("False", "DeploymentProgressing")));
        assert_eq!(short(&status, ConditionType::Reconciling), Some(("True", "Progressing")));
        assert_eq!(short(&status, ConditionType::Ready), Some(("Unknown", "Progressing")));
        let status = next_status(&status, &observed(CatalogStep::NotDue, available(), 60));
        assert_eq!(condition(&status, ConditionType::Reconciling), None);
        assert_eq!(short(&status, ConditionType::Ready), Some(("True", "Succeeded")));
        assert_eq!(status.last_attempt_time, Some(Time(at(0))));
        // A failed Deployment stalls the registry until it is fixed, without touching the sync conditions.
        let failed = ApiState::Failed("Deployment platform-api: ProgressDeadlineExceeded".into());
        let status = next_status(&status, &observed(CatalogStep::NotDue, failed, 70));
        assert_eq!(short(&status, ConditionType::Stalled), Some(("True", "DeploymentFailed")));
        assert_eq!(short(&status, ConditionType::Ready), Some(("False", "DeploymentFailed")));
        let status = next_status(&status, &observed(CatalogStep::NotDue, available(), 80));
        assert_eq!(condition(&status, ConditionType::Stalled), None);
        assert_eq!(short(&status, ConditionType::Synced), Some(("True", "SyncSucceeded")));
    }

    #[test]
    fn a_quiet_check_changes_nothing() {
        let before = synced_once();
        let quiet = SyncReport { run_id: None, ..report(SyncOutcome::Unchanged) };
        let run = SyncRun { servers: None, ..run(SyncReason::SourceChanged, &quiet) };
        let status = next_status(&before, &observed(CatalogStep::Synced(&run), available(), 500));
        assert_eq!(status, before);
        // The same on a due sync moves the times (the interval's check is an attempt).
        let run = SyncRun { reason: SyncReason::Interval, ..run };
        let status = next_status(&before, &observed(CatalogStep::Synced(&run), available(), 500));
        assert_eq!((status.last_attempt_time, status.last_sync_time), (Some(Time(at(500))), Some(Time(at(500)))));
        assert_eq!(status.last_change, before.last_change, "no new change set");
    }

    #[test]
    fn suspension_invalid_specs_and_started_syncs() {
        let before = synced_once();
        let status = next_status(&before, &observed(CatalogStep::Suspended, available(), 10));
        assert_eq!(short(&status, ConditionType::Synced), Some(("Unknown", "Suspended")));
        assert_eq!(short(&status, ConditionType::Ready), Some(("True", "Suspended")));
        let never = next_status(&McpRegistryStatus::default(), &observed(CatalogStep::Suspended, available(), 10));
        assert_eq!(short(&never, ConditionType::Ready), Some(("False", "Suspended")));
        assert_eq!(short(&never, ConditionType::SourceAvailable), Some(("Unknown", "Suspended")));

        let message = "spec.source: set only the block that source.type names";
        let status = next_status(&before, &observed(CatalogStep::InvalidSpec(message), available(), 20));
        assert_eq!(condition(&status, ConditionType::Stalled), Some(("True", "InvalidSpec", message)));
        assert_eq!(short(&status, ConditionType::Ready), Some(("False", "InvalidSpec")));
        assert_eq!(status.observed_generation, Some(2));

        let previous = McpRegistryStatus { observed_generation: Some(1), ..before };
        let status =
            next_status(&previous, &observed(CatalogStep::Started(SyncReason::NewGeneration), available(), 30));
        assert_eq!(
            condition(&status, ConditionType::Reconciling),
            Some(("True", "Progressing", "syncing: new generation 1 -> 2"))
        );
        assert_eq!(short(&status, ConditionType::Ready), Some(("Unknown", "Progressing")));
        assert_eq!(status.observed_generation, Some(1), "not handled yet");
    }

    #[test]
    fn the_api_state_is_read_back_from_the_conditions() {
        let status = synced_once();
        assert_eq!(ApiState::from_conditions(&status.conditions, true), available());
        assert_eq!(ApiState::from_conditions(&status.conditions, false), ApiState::Disabled);
        assert!(matches!(ApiState::from_conditions(&[], true), ApiState::Progressing(_)));
    }

    #[test]
    fn a_storage_problem_keeps_the_catalog_and_stalls_or_retries() {
        let success = report(SyncOutcome::Success);
        let synced = next_status(
            &McpRegistryStatus::default(),
            &observed(CatalogStep::Synced(&run(SyncReason::FirstSync, &success)), available(), 0),
        );
        let missing = StorageError::SecretNotFound {
            namespace: "team-a".into(),
            name: "registry-db".into(),
            problem: "not found; create it in the registry's namespace".into(),
        };
        let status = next_status(&synced, &observed(CatalogStep::StorageUnavailable(&missing, None), available(), 60));
        let message = "Secret team-a/registry-db not found; create it in the registry's namespace \
                       (storage.postgres.secretRef); the stored catalog is kept";
        assert_eq!(condition(&status, ConditionType::Stalled), Some(("True", "StorageSecretNotFound", message)));
        assert_eq!(short(&status, ConditionType::Synced), Some(("False", "StorageSecretNotFound")));
        assert_eq!(short(&status, ConditionType::Ready), Some(("False", "StorageSecretNotFound")));
        assert_eq!(condition(&status, ConditionType::Reconciling), None);
        assert_eq!(status.versions, synced.versions, "the catalog's counts are kept");
        assert_eq!(status.last_sync_time, synced.last_sync_time);

        let down = StorageError::Unavailable("cannot open the store at postgres://db/r: connection refused".into());
        let step = CatalogStep::StorageUnavailable(&down, Some(Duration::from_secs(30)));
        let status = next_status(&status, &observed(step, available(), 120));
        assert_eq!(condition(&status, ConditionType::Stalled), None, "a retry is ahead, not a stall");
        assert_eq!(
            condition(&status, ConditionType::Reconciling),
            Some((
                "True",
                "ProgressingWithRetry",
                "cannot open the store at postgres://db/r: connection refused; the stored catalog is kept; retrying in 30s"
            ))
        );
        assert_eq!(short(&status, ConditionType::Ready), Some(("False", "StorageFailed")));
    }
}
