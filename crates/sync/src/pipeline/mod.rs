//! One sync of one registry, in five steps:
//!
//! 1. [`fetch`]: ask the source for the document, conditionally when the stored catalog was built from
//!    the same spec and filter;
//! 2. [`parse`]: detect the format and read the records (converted to `server.json`);
//! 3. [`judge`]: deduplicate, filter and validate each record;
//! 4. [`merge`]: build the next catalog (a delta is merged into the stored one), put the registry's
//!    imported layer on top (judged by the same filter and validation policy, see [`crate::import`]) and
//!    diff it with the stored catalog;
//! 5. [`commit`]: write the change in one transaction, or only what a later sync needs when nothing
//!    changed.
//!
//! All or nothing: a failed fetch or an unreadable document records the error, classified as
//! [`FailureKind::Retryable`](thv_store::FailureKind) or `Stalled` ([`SyncError::kind`]), and leaves the
//! last good catalog in place. Records that cannot be read, lack an identity or (with `validation.mode:
//! skip`) fail validation are skipped and reported by name; the rest syncs. An unchanged source, or a
//! result equal to the stored catalog, writes no catalog data.

mod commit;
mod error;
mod fetch;
pub(crate) mod judge;
pub(crate) mod merge;
pub(crate) mod parse;
mod report;

use std::time::Instant;

use thv_sources::{FetchOutcome, Source};
use thv_store::{RegistryState, Store};

pub use self::error::{FailureCause, SyncError};
pub use self::report::{SkippedRecord, SyncReport};
use crate::spec::RegistrySpec;

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
        Err(e) => return commit::failed(spec, store, None, &started_at, clock, &SyncError::Store(e)).await,
    };
    match run(spec, source, store, previous.as_ref(), &started_at).await {
        Ok(mut report) => {
            report.duration = clock.elapsed();
            report
        }
        Err(e) => commit::failed(spec, store, previous, &started_at, clock, &e).await,
    }
}

/// Records a sync that failed before it could fetch (an unusable spec or source) and reports it.
pub async fn record_failure(spec: &RegistrySpec, store: &dyn Store, error: SyncError) -> SyncReport {
    let clock = Instant::now();
    let started_at = now_rfc3339();
    let previous = store.registry_state(&spec.name).await.ok().flatten();
    commit::failed(spec, store, previous, &started_at, clock, &error).await
}

async fn run(
    spec: &RegistrySpec,
    source: &dyn Source,
    store: &dyn Store,
    previous: Option<&RegistryState>,
    started_at: &str,
) -> Result<SyncReport, SyncError> {
    let plan = fetch::plan(spec, previous);
    let ctx = commit::Context { spec, store, previous, started_at, plan: &plan };
    let fetched = match fetch::fetch(source, &plan).await? {
        FetchOutcome::NotModified { revision, validators } => {
            return commit::unchanged(&ctx, Some(revision), &validators).await;
        }
        FetchOutcome::Fetched(fetched) => fetched,
    };
    let now = now_rfc3339();
    let parsed = parse::parse(spec, &source.describe(), &fetched.payload)?;
    drop(fetched.payload);
    let mut judged = judge::judge(spec, parsed, &now)?;
    let stored = store.catalog(&spec.name).await?;
    let layer = crate::import::judged_layer(spec, &store.imported(&spec.name).await?, &now)?;
    judged.filtered_out += layer.filtered_out;
    judged.skipped.extend(layer.skipped);
    let result = merge::merge(&stored, std::mem::take(&mut judged.candidates), judged.delta, layer.candidates, &now);
    drop(stored);
    let content = commit::Fetched { revision: fetched.revision, validators: fetched.validators };
    commit::commit(&ctx, result, judged, content).await
}
