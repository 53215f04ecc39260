//! What one sync did, as the CLI prints it, the API answers it, the scheduler broadcasts it and the lease
//! holder stores it for a manual sync asked of another replica.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use thv_store::{Change, Counts, FailureKind, SyncOutcome};

use super::FailureCause;

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
    /// Error of a failed sync (without secrets).
    pub error: Option<String>,
    /// Kind of a failed sync's error: `retryable` (retried with backoff) or `stalled` (waits for a fix).
    pub failure: Option<FailureKind>,
    /// Which part of a failed sync went wrong (spec, source, credentials, document, store).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<FailureCause>,
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

impl SyncReport {
    /// A report of `outcome` for `registry` with nothing else filled in yet.
    pub(crate) fn new(registry: &str, outcome: SyncOutcome) -> Self {
        Self {
            registry: registry.to_owned(),
            outcome,
            run_id: None,
            error: None,
            failure: None,
            cause: None,
            revision: None,
            digest: None,
            counts: Counts::default(),
            invalid_kept: 0,
            filtered_out: 0,
            changes: Vec::new(),
            skipped: Vec::new(),
            duration: Duration::ZERO,
        }
    }
}
