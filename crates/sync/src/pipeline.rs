//! One sync of one registry: fetch → detect → convert → validate → filter → diff → commit.
//!
//! All or nothing: a failed fetch or an unreadable document records the error and leaves the last good
//! catalog in place. Records that cannot be read, lack an identity or (with `validation.mode: skip`) fail
//! validation are skipped and reported by name; the rest syncs. An unchanged source, or a result equal to
//! the stored catalog, writes no catalog data.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use thv_model::detect::FormatHint;
use thv_model::load::load_bytes;
use thv_model::upstream::ServerResponse;
use thv_model::validate::{ValidateOptions, validate_server};
use thv_sources::{FetchOutcome, Payload, Source, Validators};
use thv_store::{Change, Counts, RegistryState, Store, StoreError, SyncCommit, SyncOutcome, SyncRun};

use crate::diff::{Candidate, candidate_with_document, catalog_digest, diff};
use crate::spec::{RegistrySpec, ValidationMode};

/// A record the sync left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRecord {
    /// Server name, when known.
    pub server: Option<String>,
    /// Version, when known.
    pub version: Option<String>,
    /// JSON pointer in the source document, when known.
    pub pointer: Option<String>,
    /// Why.
    pub reason: String,
}

/// What one sync did. Read back too: a replica that handed a manual sync to the lease holder answers with
/// the holder's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    /// Registry name.
    pub registry: String,
    /// Outcome.
    pub outcome: SyncOutcome,
    /// Stored run id, when a run was recorded.
    pub run_id: Option<i64>,
    /// Error of a failed sync.
    pub error: Option<String>,
    /// Whether retrying may help (network trouble, 5xx, timeouts).
    pub retryable: bool,
    /// Source revision.
    pub revision: Option<String>,
    /// Content digest of the catalog after the sync.
    pub digest: Option<String>,
    /// Counts.
    pub counts: Counts,
    /// Records kept although validation found problems (`validation.mode: warn`).
    pub invalid_kept: u64,
    /// Records left out by the filter.
    pub filtered_out: u64,
    /// The change set.
    pub changes: Vec<Change>,
    /// Records left out, with reasons.
    pub skipped: Vec<SkippedRecord>,
    /// Wall time of the sync.
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
}

/// Why a sync failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Fetching failed.
    #[error(transparent)]
    Source(#[from] thv_sources::SourceError),
    /// The document is not a catalog.
    #[error("{location}: {error}")]
    Document {
        /// The source location.
        location: String,
        /// What is wrong.
        error: thv_model::detect::DetectError,
    },
    /// The registry spec is unusable.
    #[error("{0}")]
    Spec(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SyncError {
    /// Whether retrying may help.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Source(e) => e.is_retryable(),
            Self::Store(_) => true,
            Self::Document { .. } | Self::Spec(_) => false,
        }
    }
}

/// Current time, RFC 3339 with microseconds (the registry's precision).
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now().round(jiff::Unit::Microsecond).map(|t| t.to_string()).unwrap_or_default()
}

/// Syncs one registry from `source` into `store` and reports what happened. Never panics on input; a
/// failure is recorded in the store (when the store works) and returned in the report.
pub async fn sync_registry(spec: &RegistrySpec, source: &dyn Source, store: &dyn Store) -> SyncReport {
    let clock = Instant::now();
    let started_at = now_rfc3339();
    let previous = match store.registry_state(&spec.name).await {
        Ok(state) => state,
        Err(e) => return failed_report(spec, None, &started_at, clock, SyncError::Store(e), store).await,
    };
    match run(spec, source, store, previous.as_ref(), &started_at).await {
        Ok(mut report) => {
            report.duration = clock.elapsed();
            report
        }
        Err(e) => failed_report(spec, previous, &started_at, clock, e, store).await,
    }
}

async fn failed_report(
    spec: &RegistrySpec,
    previous: Option<RegistryState>,
    started_at: &str,
    clock: Instant,
    error: SyncError,
    store: &dyn Store,
) -> SyncReport {
    let message = error.to_string();
    let finished_at = now_rfc3339();
    let mut state =
        previous.unwrap_or_else(|| RegistryState { registry: spec.name.clone(), ..RegistryState::default() });
    state.failed_attempts = state.failed_attempts.saturating_add(1);
    state.last_error = Some(message.clone());
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
        registry: spec.name.clone(),
        outcome: SyncOutcome::Failed,
        run_id,
        error: Some(message),
        retryable: error.is_retryable(),
        revision: state.revision.clone(),
        digest: state.content_digest.clone(),
        counts: run.counts,
        invalid_kept: 0,
        filtered_out: 0,
        changes: Vec::new(),
        skipped: Vec::new(),
        duration: clock.elapsed(),
    }
}

async fn run(
    spec: &RegistrySpec,
    source: &dyn Source,
    store: &dyn Store,
    previous: Option<&RegistryState>,
    started_at: &str,
) -> Result<SyncReport, SyncError> {
    let build_digest = spec.build_digest();
    let filter_digest = spec.filter.digest();
    let rebuild = previous.is_none_or(|p| {
        p.spec_digest.as_deref() != Some(&build_digest) || p.filter_digest.as_deref() != Some(&filter_digest)
    });
    let validators: Option<Validators> =
        if rebuild { None } else { previous.and_then(|p| serde_json::from_value(p.validators.clone()).ok()) };
    let outcome = source.fetch(validators.as_ref()).await?;
    let (payload, revision, new_validators) = match outcome {
        FetchOutcome::NotModified { revision, validators: v } => {
            return unchanged(spec, store, previous, started_at, Some(revision), &v).await;
        }
        FetchOutcome::Fetched(f) => (f.payload, f.revision, f.validators),
    };

    let now = now_rfc3339();
    let mut skipped = Vec::new();
    let (entries, delta) = read_payload(spec, source, &payload, &mut skipped)?;
    drop(payload);
    let validation = ValidateOptions {
        against: spec.validation.against().map_err(SyncError::Spec)?,
        strict: spec.validation.strict,
    };
    let filter = spec.filter.compile();
    let mut filtered_out = 0u64;
    let mut invalid_kept = 0;
    let mut candidates = Vec::with_capacity(entries.len());
    let mut seen: HashSet<(String, String)> = HashSet::with_capacity(entries.len());
    for entry in entries {
        let key = (entry.server.name_str().to_owned(), entry.server.version_str().to_owned());
        if !seen.insert(key.clone()) {
            skipped.push(SkippedRecord {
                server: Some(key.0),
                version: Some(key.1),
                pointer: None,
                reason: "duplicate name and version; the first record was kept".into(),
            });
            continue;
        }
        let keep = filter.matches(&entry.server);
        filtered_out += u64::from(!keep);
        if !keep && !delta {
            continue;
        }
        let document = serde_json::to_value(&entry.server).unwrap_or_default();
        // Records the filter drops are not judged: they are neither kept nor reported as invalid. (An
        // incremental sync still carries them, to remove versions the filter no longer keeps.)
        let findings = if keep { validate_server(&document, &validation) } else { Vec::new() };
        if !findings.is_empty() {
            if spec.validation.mode == ValidationMode::Skip {
                let first = &findings[0];
                skipped.push(SkippedRecord {
                    server: Some(key.0),
                    version: Some(key.1),
                    pointer: Some(first.pointer.clone()),
                    reason: format!("invalid: {} ({} findings)", first.message, findings.len()),
                });
                continue;
            }
            invalid_kept += 1;
        }
        candidates.push((candidate_with_document(entry, document, &now), keep));
    }

    let stored = store.catalog(&spec.name).await?;
    let next: Vec<Candidate> = if delta {
        merge_delta(&stored, candidates)
    } else {
        candidates.into_iter().filter_map(|(c, keep)| keep.then_some(c)).collect()
    };
    let mut result = diff(&stored, next, &now);
    drop(stored);
    let digest = catalog_digest(&result.catalog);
    let counts = Counts {
        total: result.catalog.len() as u64,
        added: result.count(thv_store::ChangeKind::Added),
        removed: result.count(thv_store::ChangeKind::Removed),
        updated: result.count(thv_store::ChangeKind::Updated),
        skipped: skipped.len() as u64,
    };
    let finished_at = now_rfc3339();
    let state = RegistryState {
        registry: spec.name.clone(),
        spec_digest: Some(build_digest),
        filter_digest: Some(filter_digest),
        validators: serde_json::to_value(&new_validators).unwrap_or_default(),
        revision: Some(revision.clone()),
        content_digest: Some(digest.clone()),
        last_success_at: Some(finished_at.clone()),
        last_attempt_at: Some(finished_at.clone()),
        failed_attempts: 0,
        last_error: None,
        server_count: counts.total,
    };
    let mut report = SyncReport {
        registry: spec.name.clone(),
        outcome: SyncOutcome::Success,
        run_id: None,
        error: None,
        retryable: false,
        revision: Some(revision.clone()),
        digest: Some(digest.clone()),
        counts,
        invalid_kept,
        filtered_out,
        changes: Vec::new(),
        skipped,
        duration: Duration::ZERO,
    };
    if result.is_empty() && previous.is_some_and(|p| p.content_digest.as_deref() == Some(&digest)) {
        let mut unchanged = unchanged(spec, store, previous, started_at, Some(revision), &new_validators).await?;
        unchanged.counts = report.counts;
        unchanged.skipped = report.skipped;
        unchanged.invalid_kept = invalid_kept;
        unchanged.filtered_out = filtered_out;
        return Ok(unchanged);
    }
    let run = SyncRun {
        id: 0,
        registry: spec.name.clone(),
        started_at: started_at.to_owned(),
        finished_at,
        outcome: SyncOutcome::Success,
        error: None,
        revision: Some(revision),
        digest: Some(digest),
        counts,
    };
    let upserts = result.take_upserts();
    let commit = SyncCommit { run, state, upserts, removals: result.removals, changes: result.changes };
    report.run_id = Some(store.commit_sync(&commit).await?);
    report.changes = commit.changes;
    Ok(report)
}

/// Parses the payload into canonical records; a document that is not a catalog fails the sync.
fn read_payload(
    spec: &RegistrySpec,
    source: &dyn Source,
    payload: &Payload,
    skipped: &mut Vec<SkippedRecord>,
) -> Result<(Vec<ServerResponse>, bool), SyncError> {
    let (bytes, delta, hint) = match payload {
        Payload::Full(b) => (b, false, spec.format.hint()),
        Payload::Delta(b) => (b, true, FormatHint::Upstream),
    };
    let loaded = load_bytes(bytes, hint).map_err(|error| SyncError::Document { location: source.describe(), error })?;
    skipped.extend(loaded.skipped.into_iter().map(|i| SkippedRecord {
        server: i.server,
        version: i.version,
        pointer: Some(i.pointer),
        reason: i.message,
    }));
    Ok((loaded.catalog.entries, delta))
}

/// Applies an incremental page of changes to the stored catalog: kept records replace theirs, records the
/// filter now drops are removed.
fn merge_delta(stored: &[thv_store::ServerVersion], changes: Vec<(Candidate, bool)>) -> Vec<Candidate> {
    let mut next: Vec<Candidate> = stored.iter().map(Candidate::stored).collect();
    let index: HashMap<(String, String), usize> =
        next.iter().enumerate().map(|(i, c)| ((c.version.name.clone(), c.version.version.clone()), i)).collect();
    let mut drop = HashSet::new();
    for (c, keep) in changes {
        let key = (c.version.name.clone(), c.version.version.clone());
        match (index.get(&key), keep) {
            (Some(&i), true) => next[i] = c,
            (Some(&i), false) => {
                drop.insert(i);
            }
            (None, true) => next.push(c),
            (None, false) => {}
        }
    }
    next.into_iter().enumerate().filter(|(i, _)| !drop.contains(i)).map(|(_, c)| c).collect()
}

async fn unchanged(
    spec: &RegistrySpec,
    store: &dyn Store,
    previous: Option<&RegistryState>,
    started_at: &str,
    revision: Option<String>,
    validators: &Validators,
) -> Result<SyncReport, SyncError> {
    let validators = serde_json::to_value(validators).unwrap_or_default();
    let mut run_id = None;
    if let Some(p) = previous {
        // Only what a later sync needs is written: new validators, or cleared failure counters.
        if p.validators != validators || p.failed_attempts > 0 || p.last_error.is_some() {
            let now = now_rfc3339();
            let state = RegistryState {
                validators,
                failed_attempts: 0,
                last_error: None,
                last_success_at: Some(now.clone()),
                last_attempt_at: Some(now.clone()),
                ..p.clone()
            };
            let run = SyncRun {
                id: 0,
                registry: spec.name.clone(),
                started_at: started_at.to_owned(),
                finished_at: now,
                outcome: SyncOutcome::Unchanged,
                error: None,
                revision: revision.clone(),
                digest: p.content_digest.clone(),
                counts: Counts { total: p.server_count, ..Counts::default() },
            };
            run_id = Some(store.record_run(&run, Some(&state)).await?);
        }
    }
    Ok(SyncReport {
        registry: spec.name.clone(),
        outcome: SyncOutcome::Unchanged,
        run_id,
        error: None,
        retryable: false,
        revision: revision.or_else(|| previous.and_then(|p| p.revision.clone())),
        digest: previous.and_then(|p| p.content_digest.clone()),
        counts: Counts { total: previous.map_or(0, |p| p.server_count), ..Counts::default() },
        invalid_kept: 0,
        filtered_out: 0,
        changes: Vec::new(),
        skipped: Vec::new(),
        duration: Duration::ZERO,
    })
}
