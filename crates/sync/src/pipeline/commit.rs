//! Step 5, commit: a changed catalog is written with its run, change set and state in one transaction; an
//! unchanged one writes only what a later sync needs; a failure records the error and keeps the catalog.

use std::time::Instant;

use thv_sources::Validators;
use thv_store::{ChangeKind, Counts, RegistryState, Store, SyncCommit, SyncOutcome, SyncRun};

use super::fetch::Plan;
use super::judge::Judged;
use super::{SyncError, SyncReport, now_rfc3339};
use crate::diff::{Diff, catalog_digest};
use crate::spec::RegistrySpec;

/// What every outcome of one sync needs to know.
pub(crate) struct Context<'a> {
    /// The registry.
    pub spec: &'a RegistrySpec,
    /// Where it is stored.
    pub store: &'a dyn Store,
    /// Its state before this sync.
    pub previous: Option<&'a RegistryState>,
    /// When this sync started (RFC 3339).
    pub started_at: &'a str,
    /// What the catalog is now built from.
    pub plan: &'a Plan,
}

/// What the source said about the content.
pub(crate) struct Fetched {
    /// The source revision.
    pub revision: String,
    /// Validators for the next fetch.
    pub validators: Validators,
}

/// Commits `result`, the merge of the judged records: the new catalog, its run, change set and state in one
/// transaction, or, when it equals the stored catalog, only what [`unchanged`] writes.
pub(crate) async fn commit(
    ctx: &Context<'_>,
    mut result: Diff,
    judged: Judged,
    fetched: Fetched,
) -> Result<SyncReport, SyncError> {
    let Judged { filtered_out, invalid_kept, skipped, .. } = judged;
    let digest = catalog_digest(&result.catalog);
    let counts = Counts {
        total: result.catalog.len() as u64,
        added: result.count(ChangeKind::Added),
        removed: result.count(ChangeKind::Removed),
        updated: result.count(ChangeKind::Updated),
        skipped: skipped.len() as u64,
    };
    if result.is_empty() && ctx.previous.is_some_and(|p| p.content_digest.as_deref() == Some(&digest)) {
        let mut report = unchanged(ctx, Some(fetched.revision), &fetched.validators).await?;
        report.counts = counts;
        report.skipped = skipped;
        report.invalid_kept = invalid_kept;
        report.filtered_out = filtered_out;
        return Ok(report);
    }
    let finished_at = now_rfc3339();
    let state = RegistryState {
        registry: ctx.spec.name.clone(),
        spec_digest: Some(ctx.plan.build_digest.clone()),
        filter_digest: Some(ctx.plan.filter_digest.clone()),
        validators: serde_json::to_value(&fetched.validators).unwrap_or_default(),
        revision: Some(fetched.revision.clone()),
        content_digest: Some(digest.clone()),
        last_success_at: Some(finished_at.clone()),
        last_attempt_at: Some(finished_at.clone()),
        failed_attempts: 0,
        last_error: None,
        last_failure: None,
        server_count: counts.total,
    };
    let run = SyncRun {
        id: 0,
        registry: ctx.spec.name.clone(),
        started_at: ctx.started_at.to_owned(),
        finished_at,
        outcome: SyncOutcome::Success,
        error: None,
        revision: Some(fetched.revision.clone()),
        digest: Some(digest.clone()),
        counts,
    };
    let upserts = result.take_upserts();
    let commit = SyncCommit { run, state, upserts, removals: result.removals, changes: result.changes };
    let run_id = ctx.store.commit_sync(&commit).await?;
    Ok(SyncReport {
        run_id: Some(run_id),
        revision: Some(fetched.revision),
        digest: Some(digest),
        counts,
        invalid_kept,
        filtered_out,
        changes: commit.changes,
        skipped,
        ..SyncReport::new(&ctx.spec.name, SyncOutcome::Success)
    })
}

/// The catalog did not change. Only what a later sync needs is written: new validators, new spec or filter
/// digests (else every later sync would rebuild from a full fetch), or cleared failure counters.
pub(crate) async fn unchanged(
    ctx: &Context<'_>,
    revision: Option<String>,
    validators: &Validators,
) -> Result<SyncReport, SyncError> {
    let validators = serde_json::to_value(validators).unwrap_or_default();
    let mut run_id = None;
    if let Some(p) = ctx.previous {
        let failed_before = p.failed_attempts > 0 || p.last_error.is_some() || p.last_failure.is_some();
        if p.validators != validators || ctx.plan.digests_differ(p) || failed_before {
            let now = now_rfc3339();
            let state = RegistryState {
                spec_digest: Some(ctx.plan.build_digest.clone()),
                filter_digest: Some(ctx.plan.filter_digest.clone()),
                validators,
                failed_attempts: 0,
                last_error: None,
                last_failure: None,
                last_success_at: Some(now.clone()),
                last_attempt_at: Some(now.clone()),
                ..p.clone()
            };
            let run = SyncRun {
                id: 0,
                registry: ctx.spec.name.clone(),
                started_at: ctx.started_at.to_owned(),
                finished_at: now,
                outcome: SyncOutcome::Unchanged,
                error: None,
                revision: revision.clone(),
                digest: p.content_digest.clone(),
                counts: Counts { total: p.server_count, ..Counts::default() },
            };
            run_id = Some(ctx.store.record_run(&run, Some(&state)).await?);
        }
    }
    Ok(SyncReport {
        run_id,
        revision: revision.or_else(|| ctx.previous.and_then(|p| p.revision.clone())),
        digest: ctx.previous.and_then(|p| p.content_digest.clone()),
        counts: Counts { total: ctx.previous.map_or(0, |p| p.server_count), ..Counts::default() },
        ..SyncReport::new(&ctx.spec.name, SyncOutcome::Unchanged)
    })
}

/// The sync failed: the error and its kind are recorded (when the store works) and the catalog is kept.
pub(crate) async fn failed(
    spec: &RegistrySpec,
    store: &dyn Store,
    previous: Option<RegistryState>,
    started_at: &str,
    clock: Instant,
    error: &SyncError,
) -> SyncReport {
    let message = error.to_string();
    let kind = error.kind();
    let finished_at = now_rfc3339();
    let mut state =
        previous.unwrap_or_else(|| RegistryState { registry: spec.name.clone(), ..RegistryState::default() });
    state.failed_attempts = state.failed_attempts.saturating_add(1);
    state.last_error = Some(message.clone());
    state.last_failure = Some(kind);
    state.last_attempt_at = Some(finished_at.clone());
    let run = SyncRun {
        id: 0,
        registry: spec.name.clone(),
        started_at: started_at.to_owned(),
        finished_at,
        outcome: SyncOutcome::Failed,
        error: Some(message.clone()),
        revision: None,
        digest: state.content_digest.clone(),
        counts: Counts { total: state.server_count, ..Counts::default() },
    };
    let run_id = store.record_run(&run, Some(&state)).await.ok();
    SyncReport {
        run_id,
        error: Some(message),
        failure: Some(kind),
        revision: state.revision,
        digest: state.content_digest,
        counts: run.counts,
        duration: clock.elapsed(),
        ..SyncReport::new(&spec.name, SyncOutcome::Failed)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use thv_store::{FailureKind, SqliteStore};

    use super::*;
    use crate::diff::{candidate, diff};
    use crate::pipeline::fetch::plan;

    const T0: &str = "2026-01-01T00:00:00Z";

    fn spec() -> RegistrySpec {
        serde_json::from_value(json!({"name": "r", "source": {"file": {"path": "r.json"}}})).expect("spec")
    }

    fn judged() -> Judged {
        Judged { candidates: Vec::new(), delta: false, filtered_out: 2, invalid_kept: 1, skipped: Vec::new() }
    }

    fn fetched(revision: &str) -> Fetched {
        Fetched {
            revision: revision.into(),
            validators: Validators { etag: Some("\"e\"".into()), ..Validators::default() },
        }
    }

    fn one_server() -> Diff {
        let record = serde_json::from_value(json!({"server": {"name": "io.x/a", "version": "1"}})).expect("record");
        diff(&[], vec![candidate(record, T0)], T0)
    }

    #[tokio::test]
    async fn a_changed_catalog_is_committed_with_the_new_digests() {
        let store = SqliteStore::in_memory().await.expect("store");
        let spec = spec();
        let plan = plan(&spec, None);
        let ctx = Context { spec: &spec, store: &store, previous: None, started_at: T0, plan: &plan };
        let report = commit(&ctx, one_server(), judged(), fetched("sha256:1")).await.expect("commit");
        assert_eq!((report.outcome, report.counts.added, report.filtered_out), (SyncOutcome::Success, 1, 2));
        assert!(report.run_id.is_some());
        let state = store.registry_state("r").await.expect("read").expect("state");
        assert_eq!(state.spec_digest.as_deref(), Some(plan.build_digest.as_str()));
        assert_eq!(state.filter_digest.as_deref(), Some(plan.filter_digest.as_str()));
        assert_eq!(state.validators["etag"], "\"e\"");
        assert_eq!(store.catalog("r").await.expect("catalog").len(), 1);
    }

    #[tokio::test]
    async fn an_unchanged_catalog_writes_nothing_unless_a_later_sync_needs_it() {
        let store = SqliteStore::in_memory().await.expect("store");
        let spec = spec();
        let first = plan(&spec, None);
        let ctx = Context { spec: &spec, store: &store, previous: None, started_at: T0, plan: &first };
        commit(&ctx, one_server(), judged(), fetched("sha256:1")).await.expect("commit");
        let stored = store.registry_state("r").await.expect("read").expect("state");

        let same = plan(&spec, Some(&stored));
        let ctx = Context { spec: &spec, store: &store, previous: Some(&stored), started_at: T0, plan: &same };
        let report =
            unchanged(&ctx, Some("sha256:1".into()), &fetched("sha256:1").validators).await.expect("unchanged");
        assert_eq!((report.outcome, report.run_id), (SyncOutcome::Unchanged, None), "nothing to write");

        // A new filter changes no record but must be remembered.
        let mut filtered = spec.clone();
        filtered.filter.exclude.names = vec!["nonexistent.zzz/*".into()];
        let new_filter = plan(&filtered, Some(&stored));
        let ctx =
            Context { spec: &filtered, store: &store, previous: Some(&stored), started_at: T0, plan: &new_filter };
        let report =
            unchanged(&ctx, Some("sha256:1".into()), &fetched("sha256:1").validators).await.expect("unchanged");
        assert!(report.run_id.is_some(), "the new digests are written");
        let state = store.registry_state("r").await.expect("read").expect("state");
        assert_eq!(state.filter_digest.as_deref(), Some(new_filter.filter_digest.as_str()));
        assert_eq!(state.content_digest, stored.content_digest, "the catalog is the same");
    }

    #[tokio::test]
    async fn a_failure_records_its_kind_and_keeps_the_catalog() {
        let store = SqliteStore::in_memory().await.expect("store");
        let spec = spec();
        let plan = plan(&spec, None);
        let ctx = Context { spec: &spec, store: &store, previous: None, started_at: T0, plan: &plan };
        commit(&ctx, one_server(), judged(), fetched("sha256:1")).await.expect("commit");
        let previous = store.registry_state("r").await.expect("read");
        let error = SyncError::Spec("registry r: bad".into());
        let report = failed(&spec, &store, previous, T0, Instant::now(), &error).await;
        assert_eq!((report.outcome, report.failure), (SyncOutcome::Failed, Some(FailureKind::Stalled)));
        assert_eq!(report.counts.total, 1);
        let state = store.registry_state("r").await.expect("read").expect("state");
        assert_eq!((state.failed_attempts, state.last_failure), (1, Some(FailureKind::Stalled)));
        assert_eq!(state.last_error.as_deref(), Some("registry r: bad"));
        assert_eq!(store.catalog("r").await.expect("catalog").len(), 1, "the catalog is kept");
    }
}
