//! `MCPRegistrySyncJob`: each attempt requests a sync of every registry the job names or selects, through the
//! one manual-sync mechanism the MCPRegistry controller honours (the
//! [`SYNC_TRIGGER_ANNOTATION`] with a token of this job's generation and attempt), then waits until each
//! registry echoes the token in `status.lastHandledSyncTrigger` and records what its sync did.
//!
//! The decisions are pure ([`progress`], [`outcome`]); the attempt around them reads and annotates the
//! registries. A registry whose annotation another request replaced before the operator handled ours counts
//! as done when that later request is handled (its sync ran after ours was asked for).

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::core::Selector;

use super::{JobContext, JobKind};
use crate::McpRegistry;
use crate::conditions::{self, ConditionType};
use crate::controller::{Error, FIELD_MANAGER};
use crate::jobs::lifecycle::Outcome;
use crate::jobs::{JobReason, McpRegistrySyncJob, McpRegistrySyncJobStatus, RegistrySyncOutcome, RegistrySyncResult};
use crate::labels::SYNC_TRIGGER_ANNOTATION;

/// Longest wait between two looks at a running attempt (the registries' watch usually wakes the job first).
const RECHECK: Duration = Duration::from_secs(30);

/// The sync-trigger value of attempt `attempt` of `job`'s generation: unique per job object, generation and
/// attempt, so re-running a reconcile re-sets the same value (idempotent) and a new attempt a new one.
pub fn token(job: &McpRegistrySyncJob, attempt: i32) -> String {
    let uid = job.uid().unwrap_or_default();
    let short = uid.get(..8).unwrap_or(&uid);
    format!("syncjob/{}/{short}/g{}a{attempt}", job.name_any(), job.metadata.generation.unwrap_or(0))
}

/// Where one registry's requested sync stands, from the registry as it is now (`None`: it does not exist).
/// A finished entry stays as it is.
pub fn progress(
    entry: &RegistrySyncResult,
    registry: Option<&McpRegistry>,
    deadline_passed: bool,
) -> RegistrySyncResult {
    if entry.result != RegistrySyncOutcome::Pending {
        return entry.clone();
    }
    let failed = |reason: JobReason, message: String| RegistrySyncResult {
        result: RegistrySyncOutcome::Failed,
        reason: Some(reason.as_str().to_owned()),
        message: Some(message),
        ..entry.clone()
    };
    let Some(registry) = registry else {
        return failed(JobReason::RegistryNotFound, format!("MCPRegistry {} does not exist", entry.name));
    };
    if registry.spec.suspend {
        return failed(
            JobReason::RegistrySuspended,
            format!("MCPRegistry {} has spec.suspend: true, so it runs no sync", entry.name),
        );
    }
    let status = registry.status.clone().unwrap_or_default();
    let handled = status.last_handled_sync_trigger.as_deref();
    let requested = registry.annotations().get(SYNC_TRIGGER_ANNOTATION).map(String::as_str);
    let ours = entry.trigger.as_deref();
    let done = handled.is_some() && (handled == ours || (requested != ours && handled == requested));
    if !done {
        return if deadline_passed {
            failed(
                JobReason::DeadlineExceeded,
                format!("MCPRegistry {} did not handle the sync request within timeoutSeconds", entry.name),
            )
        } else {
            entry.clone()
        };
    }
    let synced = conditions::find(&status.conditions, ConditionType::Synced);
    let ready = conditions::find(&status.conditions, ConditionType::Ready);
    match synced {
        Some(c) if c.status == "True" => {
            let changed = status.last_sync_hash != entry.previous_revision;
            RegistrySyncResult {
                result: if changed { RegistrySyncOutcome::Synced } else { RegistrySyncOutcome::Unchanged },
                reason: Some(c.reason.clone()),
                message: Some(c.message.clone()),
                revision: status.last_sync_hash.clone(),
                servers: status.servers,
                ..entry.clone()
            }
        }
        _ => {
            // Ready names the failing step most precisely (SourceNotFound, FetchFailed, …).
            let cause = ready.filter(|c| c.status == "False").or(synced);
            RegistrySyncResult {
                result: RegistrySyncOutcome::Failed,
                reason: Some(cause.map_or_else(|| JobReason::SyncFailed.as_str().to_owned(), |c| c.reason.clone())),
                message: Some(cause.map_or_else(|| "the sync failed".to_owned(), |c| c.message.clone())),
                revision: status.last_sync_hash.clone(),
                servers: status.servers,
                ..entry.clone()
            }
        }
    }
}

/// The attempt's outcome from its registries' results.
pub fn outcome(results: &[RegistrySyncResult], until_deadline: Duration) -> Outcome {
    let count = |kind| results.iter().filter(|r| r.result == kind).count();
    let pending: Vec<&str> =
        results.iter().filter(|r| r.result == RegistrySyncOutcome::Pending).map(|r| r.name.as_str()).collect();
    let (synced, unchanged, failed) =
        (count(RegistrySyncOutcome::Synced), count(RegistrySyncOutcome::Unchanged), count(RegistrySyncOutcome::Failed));
    let total = results.len();
    let plural = if total == 1 { "registry" } else { "registries" };
    if !pending.is_empty() {
        return Outcome::InProgress {
            message: format!("waiting for {} of {total} {plural} to sync: {}", pending.len(), list(&pending)),
            check_after: until_deadline.min(RECHECK).max(Duration::from_secs(1)),
        };
    }
    let summary = format!("{total} {plural}: {synced} synced, {unchanged} unchanged, {failed} failed");
    let failures: Vec<&RegistrySyncResult> =
        results.iter().filter(|r| r.result == RegistrySyncOutcome::Failed).collect();
    let Some(first) = failures.first() else {
        return Outcome::Succeeded { summary };
    };
    let reason = first
        .reason
        .as_deref()
        .and_then(|r| JobReason::ALL.into_iter().find(|j| j.as_str() == r))
        .unwrap_or(JobReason::SyncFailed);
    let details: Vec<String> = failures
        .iter()
        .map(|r| {
            format!("{} ({}: {})", r.name, r.reason.as_deref().unwrap_or("Failed"), r.message.as_deref().unwrap_or(""))
        })
        .collect();
    Outcome::Failed { reason, message: format!("{summary}: {}", details.join("; ")), retryable: true }
}

fn list(names: &[&str]) -> String {
    const SHOWN: usize = 5;
    let mut text = names.iter().take(SHOWN).copied().collect::<Vec<_>>().join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}

#[async_trait::async_trait]
impl JobKind for McpRegistrySyncJob {
    type Status = McpRegistrySyncJobStatus;

    job_accessors!();

    async fn attempt(
        &self,
        jobs: &JobContext,
        status: &mut Self::Status,
        fresh: bool,
        now: Timestamp,
    ) -> Result<Outcome, Error> {
        let namespace = self.namespace().ok_or(Error::Incomplete("metadata.namespace"))?;
        let api: Api<McpRegistry> = Api::namespaced(jobs.ctx.client.clone(), &namespace);
        let attempt = status.job.attempts.unwrap_or(1);
        if fresh {
            let targets = match targets(self, &api).await? {
                Ok(targets) => targets,
                Err(failure) => return Ok(failure),
            };
            status.registries = request_syncs(&api, &targets, &token(self, attempt)).await?;
        }
        let started = status.job.last_attempt_time.as_ref().map_or(now, |t| t.0);
        let timeout = Duration::from_secs(u64::try_from(self.spec.timeout_seconds).unwrap_or(0));
        let elapsed = Duration::try_from(now.duration_since(started)).unwrap_or(Duration::ZERO);
        let deadline_passed = elapsed >= timeout;
        let mut current = BTreeMap::new();
        for entry in status.registries.iter().filter(|e| e.result == RegistrySyncOutcome::Pending) {
            current.insert(entry.name.clone(), get(&api, &entry.name).await?);
        }
        for entry in &mut status.registries {
            let registry = current.get(&entry.name).and_then(Option::as_ref);
            if entry.result == RegistrySyncOutcome::Pending {
                *entry = progress(entry, registry, deadline_passed);
            }
        }
        Ok(outcome(&status.registries, timeout.saturating_sub(elapsed)))
    }
}

/// The registries an attempt syncs, or the attempt's failure when there are none or the selector is bad.
async fn targets(
    job: &McpRegistrySyncJob,
    api: &Api<McpRegistry>,
) -> Result<Result<Vec<(String, Option<McpRegistry>)>, Outcome>, Error> {
    if let Some(names) = &job.spec.registries {
        let mut targets = Vec::new();
        for name in names {
            targets.push((name.clone(), get(api, name).await?));
        }
        return Ok(Ok(targets));
    }
    let selector = job.spec.selector.clone().unwrap_or_default();
    let selector = match Selector::try_from(selector) {
        Ok(selector) => selector,
        Err(e) => {
            return Ok(Err(Outcome::Failed {
                reason: JobReason::InvalidSpec,
                message: format!("spec.selector: {e}"),
                retryable: false,
            }));
        }
    };
    let listed = api
        .list(&ListParams::default().labels_from(&selector))
        .await
        .map_err(Error::kube(format!("list the MCPRegistries selected by {selector}")))?;
    if listed.items.is_empty() {
        let shown = if selector.selects_all() { "(everything)".to_owned() } else { selector.to_string() };
        return Ok(Err(Outcome::Failed {
            reason: JobReason::NoRegistriesSelected,
            message: format!("spec.selector {shown} matches no MCPRegistry in the job's namespace"),
            retryable: true,
        }));
    }
    if listed.items.len() > crate::jobs::MAX_SYNC_JOB_REGISTRIES {
        return Ok(Err(Outcome::Failed {
            reason: JobReason::InvalidSpec,
            message: format!(
                "spec.selector {selector} matches {} MCPRegistries; one job syncs at most {}",
                listed.items.len(),
                crate::jobs::MAX_SYNC_JOB_REGISTRIES
            ),
            retryable: false,
        }));
    }
    let mut targets: Vec<(String, Option<McpRegistry>)> =
        listed.items.into_iter().map(|r| (r.name_any(), Some(r))).collect();
    targets.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Ok(targets))
}

/// Sets the sync-trigger annotation of every existing, unsuspended target to `token`; the entries of the
/// attempt, `Pending` for those asked.
async fn request_syncs(
    api: &Api<McpRegistry>,
    targets: &[(String, Option<McpRegistry>)],
    token: &str,
) -> Result<Vec<RegistrySyncResult>, Error> {
    let mut entries = Vec::new();
    for (name, registry) in targets {
        let entry = RegistrySyncResult {
            name: name.clone(),
            result: RegistrySyncOutcome::Pending,
            reason: None,
            message: None,
            revision: None,
            previous_revision: registry.as_ref().and_then(|r| r.status.as_ref()?.last_sync_hash.clone()),
            servers: None,
            trigger: Some(token.to_owned()),
        };
        let asked = match registry {
            Some(registry) if !registry.spec.suspend => {
                let patch = serde_json::json!({"metadata": {"annotations": {SYNC_TRIGGER_ANNOTATION: token}}});
                let params = PatchParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..PatchParams::default() };
                match api.patch(name, &params, &Patch::Merge(&patch)).await {
                    Ok(_) => entry,
                    Err(kube::Error::Api(status)) if status.code == 404 => progress(&entry, None, false),
                    Err(e) => return Err(Error::kube(format!("request a sync of MCPRegistry {name}"))(e)),
                }
            }
            other => progress(&entry, other.as_ref(), false),
        };
        entries.push(asked);
    }
    Ok(entries)
}

async fn get(api: &Api<McpRegistry>, name: &str) -> Result<Option<McpRegistry>, Error> {
    api.get_opt(name).await.map_err(Error::kube(format!("read MCPRegistry {name}")))
}

/// Whether a registry change may move `job` on: the job is not finished and names or selects the registry.
pub fn waits_for(job: &McpRegistrySyncJob, registry: &McpRegistry) -> bool {
    if job.namespace() != registry.namespace() {
        return false;
    }
    let status = job.status.as_ref().map(|s| &s.job);
    let finished = status.is_some_and(|s| {
        s.observed_generation == job.metadata.generation && s.phase.is_some_and(crate::jobs::JobPhase::is_finished)
    });
    if finished {
        return false;
    }
    let name = registry.name_any();
    match (&job.spec.registries, &job.spec.selector) {
        (Some(names), _) => names.contains(&name),
        (None, selector) => Selector::try_from(selector.clone().unwrap_or_default())
            .is_ok_and(|s| kube::core::SelectorExt::matches(&s, registry.labels())),
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

    use super::*;
    use crate::McpRegistryStatus;

    fn entry(name: &str) -> RegistrySyncResult {
        RegistrySyncResult {
            name: name.into(),
            result: RegistrySyncOutcome::Pending,
            reason: None,
            message: None,
            revision: None,
            previous_revision: Some("sha256:old".into()),
            servers: None,
            trigger: Some("t1".into()),
        }
    }

    fn condition(type_: &str, status: &str, reason: &str, message: &str) -> Condition {
        Condition {
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            message: message.into(),
            observed_generation: Some(1),
            last_transition_time: Time(Timestamp::UNIX_EPOCH),
        }
    }

    fn registry(
        annotation: Option<&str>,
        handled: Option<&str>,
        revision: &str,
        conditions: Vec<Condition>,
    ) -> McpRegistry {
        let mut registry: McpRegistry = serde_json::from_value(serde_json::json!({
            "apiVersion": "toolhive.stacklok.io/v1alpha1", "kind": "MCPRegistry",
            "metadata": {"name": "a", "namespace": "ns"},
            "spec": {"source": {"type": "configmap", "configMap": {"name": "c"}}}
        }))
        .expect("registry");
        if let Some(value) = annotation {
            registry.metadata.annotations = Some([(SYNC_TRIGGER_ANNOTATION.to_owned(), value.to_owned())].into());
        }
        registry.status = Some(McpRegistryStatus {
            last_handled_sync_trigger: handled.map(Into::into),
            last_sync_hash: Some(revision.into()),
            servers: Some(4),
            conditions,
            ..McpRegistryStatus::default()
        });
        registry
    }

    fn ok() -> Vec<Condition> {
        vec![
            condition("Ready", "True", "Succeeded", "4 servers"),
            condition("Synced", "True", "SyncSucceeded", "4 servers (4 versions)"),
        ]
    }

    #[test]
    fn a_handled_request_reads_synced_or_unchanged_from_the_revision() {
        let synced = progress(&entry("a"), Some(&registry(Some("t1"), Some("t1"), "sha256:new", ok())), false);
        assert_eq!(
            (synced.result, synced.revision.as_deref(), synced.servers),
            (RegistrySyncOutcome::Synced, Some("sha256:new"), Some(4))
        );
        let same = progress(&entry("a"), Some(&registry(Some("t1"), Some("t1"), "sha256:old", ok())), false);
        assert_eq!(same.result, RegistrySyncOutcome::Unchanged);
    }

    #[test]
    fn an_unhandled_request_waits_until_its_deadline() {
        let waiting = registry(Some("t1"), Some("t0"), "sha256:old", ok());
        assert_eq!(progress(&entry("a"), Some(&waiting), false).result, RegistrySyncOutcome::Pending);
        let late = progress(&entry("a"), Some(&waiting), true);
        assert_eq!((late.result, late.reason.as_deref()), (RegistrySyncOutcome::Failed, Some("DeadlineExceeded")));
        // A later request that replaced ours and was handled covers ours.
        let superseded = registry(Some("other"), Some("other"), "sha256:new", ok());
        assert_eq!(progress(&entry("a"), Some(&superseded), false).result, RegistrySyncOutcome::Synced);
        // A later request not yet handled: still waiting.
        let replaced = registry(Some("other"), Some("t0"), "sha256:old", ok());
        assert_eq!(progress(&entry("a"), Some(&replaced), false).result, RegistrySyncOutcome::Pending);
    }

    #[test]
    fn failures_carry_the_registry_reason_and_missing_or_suspended_registries_fail() {
        let failing = vec![
            condition("Ready", "False", "SourceNotFound", "ConfigMap c does not exist"),
            condition("Synced", "False", "SyncFailed", "the source is not available"),
        ];
        let failed = progress(&entry("a"), Some(&registry(Some("t1"), Some("t1"), "sha256:old", failing)), false);
        assert_eq!((failed.result, failed.reason.as_deref()), (RegistrySyncOutcome::Failed, Some("SourceNotFound")));
        assert_eq!(failed.message.as_deref(), Some("ConfigMap c does not exist"));

        let missing = progress(&entry("gone"), None, false);
        assert_eq!(missing.reason.as_deref(), Some("RegistryNotFound"));
        assert!(missing.message.as_deref().is_some_and(|m| m.contains("gone")));
        let mut suspended = registry(Some("t1"), Some("t0"), "sha256:old", ok());
        suspended.spec.suspend = true;
        assert_eq!(progress(&entry("a"), Some(&suspended), false).reason.as_deref(), Some("RegistrySuspended"));
        // A finished entry does not change.
        assert_eq!(progress(&missing, Some(&suspended), true), missing);
    }

    #[test]
    fn the_outcome_waits_for_all_then_summarises() {
        let mut a = entry("a");
        let b = entry("b");
        match outcome(&[a.clone(), b.clone()], Duration::from_secs(100)) {
            Outcome::InProgress { message, check_after } => {
                assert_eq!(message, "waiting for 2 of 2 registries to sync: a, b");
                assert_eq!(check_after, RECHECK);
            }
            other => panic!("{other:?}"),
        }
        a.result = RegistrySyncOutcome::Synced;
        let mut b_done = b.clone();
        b_done.result = RegistrySyncOutcome::Unchanged;
        assert_eq!(
            outcome(&[a.clone(), b_done], Duration::ZERO),
            Outcome::Succeeded { summary: "2 registries: 1 synced, 1 unchanged, 0 failed".into() }
        );
        let missing = progress(&b, None, false);
        match outcome(&[a, missing], Duration::ZERO) {
            Outcome::Failed { reason, message, retryable } => {
                assert_eq!((reason, retryable), (JobReason::RegistryNotFound, true));
                assert_eq!(
                    message,
                    "2 registries: 1 synced, 0 unchanged, 1 failed: b (RegistryNotFound: MCPRegistry b does not exist)"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
