//! The imported layer of a registry: servers imported by hand (`thv registry import`, an import job) that
//! survive the source's syncs.
//!
//! - **Kept apart.** The layer is stored beside the catalog ([`Store::imported`]), as the records were
//!   imported with their timestamps settled; the catalog holds the merged result.
//! - **Precedence.** An imported entry replaces the source's version of the same name and version; the
//!   source's other versions stay (`pipeline::merge::overlay`, the one place of the rule).
//! - **Judged like the source.** Imported records pass the registry's filter and validation policy: at
//!   import a record the filter excludes, or (with `validation.mode: skip`) one that fails validation, is
//!   rejected naming the server and the field; at every sync the layer is judged again, so a filter changed
//!   later leaves out imported entries it excludes (they stay in the layer and come back when it allows them).
//! - **At once.** An import rebuilds the catalog from what the source gave (the stored versions that are not
//!   imported) plus the new layer and commits both in one transaction ([`Store::commit_import`]), without
//!   fetching the source. A source version an imported entry shadowed is not kept: when an entry leaves the
//!   layer (`replace`, [`clear`]) its version is gone until the next sync, which fetches the source in full.
//! - **All or nothing.** A document that is not a catalog changes nothing and is an error naming it.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use thv_model::detect::FormatHint;
use thv_model::load::load_bytes;
use thv_store::{
    Change, ChangeKind, Counts, ImportedEntry, JsonText, RegistryState, ServerVersion, Store, SyncCommit, SyncOutcome,
    SyncRun,
};

use crate::diff::{Candidate, candidate, catalog_digest, diff, record_of};
use crate::pipeline::judge::judge;
use crate::pipeline::merge::overlay;
use crate::pipeline::parse::Parsed;
use crate::pipeline::{SkippedRecord, SyncError, now_rfc3339};
use crate::spec::RegistrySpec;

/// How an import changes the layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportMode {
    /// Adds the imported entries and updates those already imported; the rest of the layer stays.
    Merge,
    /// The imported entries become the whole layer; entries not imported again leave it.
    Replace,
}

/// What happened to one record of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryOutcome {
    /// New in the catalog.
    Added,
    /// In the catalog before, now with the imported content.
    Updated,
    /// In the catalog already with this content.
    Unchanged,
    /// Left the layer (`replace`, `clear`).
    Removed,
    /// Not imported; `reason` says why.
    Rejected,
}

/// One record's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryResult {
    /// Server name, when known.
    pub server: Option<String>,
    /// Version, when known.
    pub version: Option<String>,
    /// What happened.
    pub outcome: EntryOutcome,
    /// Why a record was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The field at fault (a JSON pointer into the document or the record).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
}

/// Counts of an import's results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    /// Entries new in the catalog.
    pub added: u64,
    /// Entries whose content changed.
    pub updated: u64,
    /// Entries already there as imported.
    pub unchanged: u64,
    /// Entries that left the layer.
    pub removed: u64,
    /// Records not imported.
    pub rejected: u64,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// Registry name.
    pub registry: String,
    /// The mode; `None` for [`clear`].
    pub mode: Option<ImportMode>,
    /// `success` when something was committed, `unchanged` when nothing changed.
    pub outcome: SyncOutcome,
    /// The run the commit recorded.
    pub run_id: Option<i64>,
    /// Entries in the layer afterwards.
    pub layer: u64,
    /// Versions in the catalog afterwards.
    pub total: u64,
    /// Counts of `entries`.
    pub counts: ImportCounts,
    /// Each record's result, in document order (removed entries last).
    pub entries: Vec<EntryResult>,
    /// The catalog's change set.
    pub changes: Vec<Change>,
}

/// The layer's candidates for a sync, judged by the registry's filter and validation policy, with what was
/// left out (reasons prefixed "imported entry").
#[derive(Debug, Default)]
pub(crate) struct JudgedLayer {
    pub candidates: Vec<Candidate>,
    pub filtered_out: u64,
    pub skipped: Vec<SkippedRecord>,
}

/// Judges the stored `layer` as a sync does; a record that does not read is left out and reported.
pub(crate) fn judged_layer(spec: &RegistrySpec, layer: &[ImportedEntry], now: &str) -> Result<JudgedLayer, SyncError> {
    if layer.is_empty() {
        return Ok(JudgedLayer::default());
    }
    let mut skipped = Vec::new();
    let mut entries = Vec::with_capacity(layer.len());
    for entry in layer {
        match entry.record.decode() {
            Ok(record) => entries.push(record),
            Err(e) => skipped.push(SkippedRecord {
                server: Some(entry.name.clone()),
                version: Some(entry.version.clone()),
                pointer: None,
                reason: format!("imported entry: the stored record does not read: {e}"),
            }),
        }
    }
    let judged = judge(spec, Parsed { entries, delta: false, skipped: Vec::new() }, now)?;
    skipped.extend(
        judged.skipped.into_iter().map(|s| SkippedRecord { reason: format!("imported entry: {}", s.reason), ..s }),
    );
    Ok(JudgedLayer {
        candidates: judged.candidates.into_iter().map(|(c, _)| c).collect(),
        filtered_out: judged.filtered_out,
        skipped,
    })
}

/// Imports the catalog document `bytes` (any supported format; `location` names it in errors) into the
/// registry `spec` describes, by `mode`. A document that is not a catalog is an error and changes nothing;
/// records that cannot be imported are rejected in the report, and the rest is imported.
pub async fn import(
    spec: &RegistrySpec,
    store: &dyn Store,
    location: &str,
    bytes: &[u8],
    mode: ImportMode,
) -> Result<ImportReport, SyncError> {
    let started_at = now_rfc3339();
    let loaded = load_bytes(bytes, FormatHint::Auto)
        .map_err(|error| SyncError::Document { location: location.to_owned(), error })?;
    // Records without their own timestamps get the document's (so that the same file imports the same way).
    let now = loaded
        .catalog
        .info
        .last_updated
        .clone()
        .filter(|t| t.parse::<jiff::Timestamp>().is_ok())
        .unwrap_or_else(|| started_at.clone());
    let mut rejected: Vec<EntryResult> =
        loaded.skipped.into_iter().map(|i| rejection(i.server, i.version, i.message, Some(i.pointer))).collect();
    let parsed = Parsed { entries: loaded.catalog.entries, delta: true, skipped: Vec::new() };
    let judged = judge(spec, parsed, &now)?;
    rejected.extend(judged.skipped.into_iter().map(|s| rejection(s.server, s.version, s.reason, s.pointer)));
    let mut accepted = Vec::with_capacity(judged.candidates.len());
    for (c, keep) in judged.candidates {
        if keep {
            accepted.push(c);
        } else {
            let reason = format!("excluded by the filter of registry {}", spec.name);
            rejected.push(rejection(Some(c.version.name), Some(c.version.version), reason, None));
        }
    }
    apply(spec, store, Some(mode), accepted, rejected, &started_at, &now).await
}

/// Empties the registry's imported layer; the catalog keeps what the source gave.
pub async fn clear(spec: &RegistrySpec, store: &dyn Store) -> Result<ImportReport, SyncError> {
    let now = now_rfc3339();
    apply(spec, store, None, Vec::new(), Vec::new(), &now, &now).await
}

fn rejection(server: Option<String>, version: Option<String>, reason: String, pointer: Option<String>) -> EntryResult {
    EntryResult { server, version, outcome: EntryOutcome::Rejected, reason: Some(reason), pointer }
}

type Key = (String, String);

fn key_of(v: &ServerVersion) -> Key {
    (v.name.clone(), v.version.clone())
}

/// Builds the new layer (`mode` `None`: empty), rebuilds the catalog with it and commits both.
async fn apply(
    spec: &RegistrySpec,
    store: &dyn Store,
    mode: Option<ImportMode>,
    accepted: Vec<Candidate>,
    mut entries: Vec<EntryResult>,
    started_at: &str,
    now: &str,
) -> Result<ImportReport, SyncError> {
    let registry = spec.name.as_str();
    let previous = store.registry_state(registry).await?;
    let stored = store.catalog(registry).await?;
    let old_layer = store.imported(registry).await?;
    let old_keys: HashSet<Key> = old_layer.iter().map(|e| (e.name.clone(), e.version.clone())).collect();
    let mut layer: BTreeMap<Key, Candidate> = BTreeMap::new();
    if mode == Some(ImportMode::Merge) {
        for entry in &old_layer {
            let record = entry.record.decode().map_err(|e| corrupt(registry, entry, &e))?;
            layer.insert((entry.name.clone(), entry.version.clone()), candidate(record, &entry.imported_at));
        }
    }
    let by_key: HashMap<Key, &ServerVersion> = stored.iter().map(|v| (key_of(v), v)).collect();
    for c in accepted {
        let key = key_of(&c.version);
        let outcome = match by_key.get(&key) {
            None => EntryOutcome::Added,
            Some(old) if old.digest == c.version.digest && old.status == c.version.status => EntryOutcome::Unchanged,
            Some(_) => EntryOutcome::Updated,
        };
        entries.push(EntryResult {
            server: Some(key.0.clone()),
            version: Some(key.1.clone()),
            outcome,
            reason: None,
            pointer: None,
        });
        layer.insert(key, c);
    }
    let mut removed: Vec<&Key> = old_keys.iter().filter(|k| !layer.contains_key(*k)).collect();
    removed.sort();
    for (name, version) in &removed {
        entries.push(EntryResult {
            server: Some(name.clone()),
            version: Some(version.clone()),
            outcome: EntryOutcome::Removed,
            reason: None,
            pointer: None,
        });
    }
    // What the source gave: the stored versions that are not imported.
    let source: Vec<Candidate> =
        stored.iter().filter(|v| !old_keys.contains(&key_of(v))).map(Candidate::stored).collect();
    let result = diff(&stored, overlay(source, layer.into_values().collect()), now);
    let new_layer = layer_entries(&result.catalog, &old_layer, &entries, started_at)?;
    let counts = count(&entries);
    let mut report = ImportReport {
        registry: registry.to_owned(),
        mode,
        outcome: SyncOutcome::Unchanged,
        run_id: None,
        layer: new_layer.len() as u64,
        total: result.catalog.len() as u64,
        counts,
        entries,
        changes: Vec::new(),
    };
    if result.is_empty() && new_layer == old_layer {
        return Ok(report);
    }
    let digest = catalog_digest(&result.catalog);
    let mut state =
        previous.clone().unwrap_or_else(|| RegistryState { registry: registry.to_owned(), ..RegistryState::default() });
    state.content_digest = Some(digest.clone());
    state.server_count = report.total;
    if !removed.is_empty() {
        // The source versions those entries shadowed come back with the next sync, which must not be
        // conditional on the source being unchanged.
        state.spec_digest = None;
    }
    let run = SyncRun {
        id: 0,
        registry: registry.to_owned(),
        started_at: started_at.to_owned(),
        finished_at: now_rfc3339(),
        outcome: SyncOutcome::Success,
        error: None,
        revision: previous.and_then(|p| p.revision),
        digest: Some(digest),
        counts: Counts {
            total: report.total,
            added: result.count(ChangeKind::Added),
            removed: result.count(ChangeKind::Removed),
            updated: result.count(ChangeKind::Updated),
            skipped: counts.rejected,
        },
    };
    let mut result = result;
    let upserts = result.take_upserts();
    let commit = SyncCommit { run, state, upserts, removals: result.removals, changes: result.changes };
    report.run_id = Some(store.commit_import(&commit, &new_layer).await?);
    report.outcome = SyncOutcome::Success;
    report.changes = commit.changes;
    Ok(report)
}

/// The layer to store: each imported version as it now is in the catalog (timestamps settled), without
/// `isLatest` (a sync decides it). Entries imported again keep their import time when unchanged.
fn layer_entries(
    catalog: &[ServerVersion],
    old_layer: &[ImportedEntry],
    entries: &[EntryResult],
    now: &str,
) -> Result<Vec<ImportedEntry>, SyncError> {
    let touched: HashMap<(&str, &str), EntryOutcome> =
        entries.iter().filter_map(|e| Some(((e.server.as_deref()?, e.version.as_deref()?), e.outcome))).collect();
    let old: HashMap<(&str, &str), &ImportedEntry> =
        old_layer.iter().map(|e| ((e.name.as_str(), e.version.as_str()), e)).collect();
    let mut layer = Vec::new();
    for version in catalog {
        let key = (version.name.as_str(), version.version.as_str());
        let imported_again =
            matches!(touched.get(&key), Some(EntryOutcome::Added | EntryOutcome::Updated | EntryOutcome::Unchanged));
        let kept = old.get(&key).filter(|_| !matches!(touched.get(&key), Some(EntryOutcome::Removed)));
        if !imported_again && kept.is_none() {
            continue;
        }
        let mut record = record_of(version).map_err(|e| {
            SyncError::Store(thv_store::StoreError::Corrupt {
                what: format!("server {:?} version {:?} of the catalog", version.name, version.version),
                message: format!("the stored document does not read: {e}"),
            })
        })?;
        if let Some(official) = record.meta.as_mut().and_then(|m| m.official.as_mut()) {
            official.is_latest = None;
        }
        let record = JsonText::from_value(&serde_json::to_value(&record).unwrap_or_default());
        let imported_at = match (kept, touched.get(&key)) {
            (Some(old), Some(EntryOutcome::Unchanged) | None) if old.record == record => old.imported_at.clone(),
            _ => now.to_owned(),
        };
        layer.push(ImportedEntry { name: version.name.clone(), version: version.version.clone(), record, imported_at });
    }
    Ok(layer)
}

fn count(entries: &[EntryResult]) -> ImportCounts {
    let n = |o: EntryOutcome| entries.iter().filter(|e| e.outcome == o).count() as u64;
    ImportCounts {
        added: n(EntryOutcome::Added),
        updated: n(EntryOutcome::Updated),
        unchanged: n(EntryOutcome::Unchanged),
        removed: n(EntryOutcome::Removed),
        rejected: n(EntryOutcome::Rejected),
    }
}

fn corrupt(registry: &str, entry: &ImportedEntry, e: &serde_json::Error) -> SyncError {
    SyncError::Store(thv_store::StoreError::Corrupt {
        what: format!("imported entry ({registry:?}, {:?}, {:?})", entry.name, entry.version),
        message: format!("the stored record does not read: {e}"),
    })
}
