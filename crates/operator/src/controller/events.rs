//! Kubernetes Events about a registry: which to emit is decided by a pure function of the previous and the
//! next status, so an Event marks a change (a new catalog, a new failure, a suspension) and a reconcile that
//! changes nothing emits nothing. Reasons are condition reasons.

use kube::runtime::events::{Event, EventType};
use thv_store::{FailureKind, SyncOutcome};

use super::status::{CatalogStep, catalog_summary, failure_reason};
use crate::McpRegistryStatus;
use crate::conditions::{self, ConditionType, Reason};

/// Longest Event note Kubernetes accepts (`events.k8s.io/v1` `note`), in bytes.
pub const NOTE_MAX: usize = 1024;

/// One Event to publish about the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// Warning for failures, Normal otherwise.
    pub warning: bool,
    /// The reason (a condition reason).
    pub reason: Reason,
    /// What the operator did (`Sync`, `Suspend`, `Validate`, `Deploy`).
    pub action: &'static str,
    /// The note, at most [`NOTE_MAX`] bytes.
    pub note: String,
}

impl Planned {
    fn new(warning: bool, reason: Reason, action: &'static str, note: impl Into<String>) -> Self {
        Self { warning, reason, action, note: bounded(note.into()) }
    }

    /// The Event as kube's recorder takes it.
    pub fn to_event(&self) -> Event {
        Event {
            type_: if self.warning { EventType::Warning } else { EventType::Normal },
            reason: self.reason.as_str().to_owned(),
            note: Some(self.note.clone()),
            action: self.action.to_owned(),
            secondary: None,
        }
    }
}

fn reason_of(status: &McpRegistryStatus, type_: ConditionType) -> Option<&str> {
    conditions::find(&status.conditions, type_).map(|c| c.reason.as_str())
}

fn is_true(status: &McpRegistryStatus, type_: ConditionType) -> bool {
    conditions::is_true(&status.conditions, type_)
}

/// The Events of one reconcile: what changed between `previous` and `next`.
pub fn plan(previous: &McpRegistryStatus, next: &McpRegistryStatus, step: &CatalogStep<'_>) -> Vec<Planned> {
    let mut events = Vec::new();
    let was_ready_for = |reason: Reason| reason_of(previous, ConditionType::Ready) == Some(reason.as_str());
    match step {
        CatalogStep::InvalidSpec(message) if !was_ready_for(Reason::InvalidSpec) => {
            events.push(Planned::new(true, Reason::InvalidSpec, "Validate", *message));
        }
        CatalogStep::Suspended if reason_of(previous, ConditionType::Synced) != Some(Reason::Suspended.as_str()) => {
            events.push(Planned::new(
                false,
                Reason::Suspended,
                "Suspend",
                "spec.suspend is true: syncs stop; the stored catalog stays served",
            ));
        }
        CatalogStep::Synced(run) => {
            let report = run.report;
            match report.outcome {
                SyncOutcome::Success => {
                    let c = report.counts;
                    events.push(Planned::new(
                        false,
                        Reason::SyncSucceeded,
                        "Sync",
                        format!(
                            "{} added, {} removed, {} updated; {}",
                            c.added,
                            c.removed,
                            c.updated,
                            catalog_summary(next)
                        ),
                    ));
                }
                SyncOutcome::Unchanged if !is_true(previous, ConditionType::Synced) => {
                    events.push(Planned::new(
                        false,
                        Reason::SyncSucceeded,
                        "Sync",
                        format!("no change; {}", catalog_summary(next)),
                    ));
                }
                SyncOutcome::Unchanged => {}
                SyncOutcome::Failed => {
                    let reason = failure_reason(report);
                    // A retryable failure is a SyncFailed; a stalled one names its cause.
                    let event_reason =
                        if report.failure == Some(FailureKind::Stalled) { reason } else { Reason::SyncFailed };
                    let error = report.error.as_deref().unwrap_or("the sync failed");
                    // The storage's refusal already says that the previous catalog is still served, and
                    // what to do (narrow the filter).
                    let note = match reason {
                        Reason::StorageTooLarge => error.to_owned(),
                        _ => format!("{error}; the stored catalog is kept"),
                    };
                    let previous_failure = reason_of(previous, ConditionType::Ready);
                    if previous_failure != Some(reason.as_str()) {
                        events.push(Planned::new(true, event_reason, "Sync", note));
                    }
                }
            }
        }
        CatalogStep::StorageUnavailable(problem, _) => {
            let reason = super::status::storage_reason(problem);
            if !was_ready_for(reason) {
                events.push(Planned::new(true, reason, "Store", problem.to_string()));
            }
        }
        _ => {}
    }
    let deployment_failed =
        |s: &McpRegistryStatus| reason_of(s, ConditionType::ApiReady) == Some(Reason::DeploymentFailed.as_str());
    if deployment_failed(next) && !deployment_failed(previous) {
        let message =
            conditions::find(&next.conditions, ConditionType::ApiReady).map(|c| c.message.clone()).unwrap_or_default();
        events.push(Planned::new(true, Reason::DeploymentFailed, "Deploy", message));
    }
    events
}

pub(crate) fn bounded(mut note: String) -> String {
    if note.len() <= NOTE_MAX {
        return note;
    }
    let mut end = NOTE_MAX - '…'.len_utf8();
    while !note.is_char_boundary(end) {
        end -= 1;
    }
    note.truncate(end);
    note.push('…');
    note
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use thv_sync::FailureCause;

    use super::*;
    use crate::controller::schedule::SyncReason;
    use crate::controller::status::tests::{available, failed, observed, report, run};
    use crate::controller::status::{SyncRun, next_status};

    fn after(previous: &McpRegistryStatus, step: CatalogStep<'_>) -> (McpRegistryStatus, Vec<Planned>) {
        let next = next_status(previous, &observed(step, available(), 10));
        let events = plan(previous, &next, &step);
        (next, events)
    }

    #[test]
    fn events_mark_changes_not_reconciles() {
        let success = report(SyncOutcome::Success);
        let first = run(SyncReason::FirstSync, &success);
        let (synced, events) = after(&McpRegistryStatus::default(), CatalogStep::Synced(&first));
        assert_eq!(events.len(), 1);
        assert_eq!((events[0].warning, events[0].reason, events[0].action), (false, Reason::SyncSucceeded, "Sync"));
        assert_eq!(events[0].note, "52 added, 0 removed, 0 updated; 41 servers (52 versions) at revision sha256:abc");

        let unchanged = report(SyncOutcome::Unchanged);
        let again = run(SyncReason::Interval, &unchanged);
        assert_eq!(after(&synced, CatalogStep::Synced(&again)).1, [], "nothing new");
        assert_eq!(after(&synced, CatalogStep::NotDue).1, []);

        let down = failed(FailureKind::Retryable, FailureCause::Fetch, "https://x answered HTTP 500");
        let retry = run(SyncReason::Interval, &down);
        let (failing, events) = after(&synced, CatalogStep::Synced(&retry));
        assert_eq!(events.len(), 1);
        assert_eq!((events[0].warning, events[0].reason), (true, Reason::SyncFailed));
        assert_eq!(events[0].note, "https://x answered HTTP 500; the stored catalog is kept");
        assert_eq!(after(&failing, CatalogStep::Synced(&retry)).1, [], "the same failure again");

        // Recovery without a change is still news.
        let (_, events) = after(&failing, CatalogStep::Synced(&again));
        assert_eq!(events.iter().map(|e| e.reason).collect::<Vec<_>>(), [Reason::SyncSucceeded]);
        assert!(events[0].note.starts_with("no change; "), "{}", events[0].note);

        let missing = failed(FailureKind::Stalled, FailureCause::SourceNotFound, "ConfigMap a/b not found");
        let stalled = run(SyncReason::SourceChanged, &missing);
        let (_, events) = after(&failing, CatalogStep::Synced(&stalled));
        assert_eq!(events.iter().map(|e| (e.warning, e.reason)).collect::<Vec<_>>(), [(true, Reason::SourceNotFound)]);
    }

    #[test]
    fn suspension_and_bad_specs_are_announced_once() {
        let success = report(SyncOutcome::Success);
        let first: SyncRun<'_> = run(SyncReason::FirstSync, &success);
        let (synced, _) = after(&McpRegistryStatus::default(), CatalogStep::Synced(&first));
        let (suspended, events) = after(&synced, CatalogStep::Suspended);
        assert_eq!(events.iter().map(|e| (e.warning, e.reason)).collect::<Vec<_>>(), [(false, Reason::Suspended)]);
        assert_eq!(after(&suspended, CatalogStep::Suspended).1, []);
        let (invalid, events) = after(&synced, CatalogStep::InvalidSpec("spec.source: bad"));
        assert_eq!(events.iter().map(|e| (e.warning, e.reason)).collect::<Vec<_>>(), [(true, Reason::InvalidSpec)]);
        assert_eq!(after(&invalid, CatalogStep::InvalidSpec("spec.source: bad")).1, []);
    }

    #[test]
    fn a_storage_problem_is_announced_once_and_without_its_secret() {
        let success = report(SyncOutcome::Success);
        let first = run(SyncReason::FirstSync, &success);
        let (synced, _) = after(&McpRegistryStatus::default(), CatalogStep::Synced(&first));
        let missing = crate::postgres::StorageError::SecretNotFound {
            namespace: "team-a".into(),
            name: "registry-db".into(),
            problem: "has no key url".into(),
        };
        let (stalled, events) = after(&synced, CatalogStep::StorageUnavailable(&missing, None));
        assert_eq!(
            events.iter().map(|e| (e.warning, e.reason, e.action)).collect::<Vec<_>>(),
            [(true, Reason::StorageSecretNotFound, "Store")]
        );
        assert_eq!(
            events[0].note,
            "Secret team-a/registry-db has no key url (storage.postgres.secretRef); the stored catalog is kept"
        );
        assert_eq!(after(&stalled, CatalogStep::StorageUnavailable(&missing, None)).1, [], "once");
        let down =
            crate::postgres::StorageError::Unavailable("cannot open the store at postgres://db/r: refused".into());
        let (_, events) = after(&stalled, CatalogStep::StorageUnavailable(&down, Some(Duration::from_secs(30))));
        assert_eq!(events.iter().map(|e| e.reason).collect::<Vec<_>>(), [Reason::StorageFailed]);
    }

    #[test]
    fn notes_are_bounded() {
        let long = "é".repeat(NOTE_MAX);
        let planned = Planned::new(true, Reason::SyncFailed, "Sync", long);
        assert!(planned.note.len() <= NOTE_MAX && planned.note.ends_with('…'));
        let event = planned.to_event();
        assert_eq!((event.reason.as_str(), event.action.as_str()), ("SyncFailed", "Sync"));
    }
}
