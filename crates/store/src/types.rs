//! Stored records.

use serde::{Deserialize, Serialize};

/// A server identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NameVersion {
    /// Full server name.
    pub name: String,
    /// Version string.
    pub version: String,
}

/// One stored server version: the document plus registry-side metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerVersion {
    /// Full server name.
    pub name: String,
    /// Version string.
    pub version: String,
    /// The `server.json` document as synced (after conversion), verbatim.
    pub document: crate::JsonText,
    /// Other keys of the record's response `_meta` beside the official block, verbatim (`null` when none).
    pub extra_meta: serde_json::Value,
    /// `sha256:<hex>` of the document's canonical JSON.
    pub digest: String,
    /// `active`, `deprecated` or `deleted`.
    pub status: String,
    /// When the status last changed (RFC 3339).
    pub status_changed_at: Option<String>,
    /// Why the status was set.
    pub status_message: Option<String>,
    /// First publish (RFC 3339).
    pub published_at: String,
    /// Last change (RFC 3339); bumped only when the document or status really changes.
    pub updated_at: String,
    /// Whether this is the latest version of its name.
    pub is_latest: bool,
}

/// Outcome of a sync run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncOutcome {
    /// New content committed.
    Success,
    /// The source or the result did not change; nothing written but the run.
    Unchanged,
    /// The sync failed; the previous catalog is still served.
    Failed,
}

impl SyncOutcome {
    /// `success`, `unchanged` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Unchanged => "unchanged",
            Self::Failed => "failed",
        }
    }

    /// The outcome spelled by [`SyncOutcome::as_str`], if `text` is one.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "success" => Some(Self::Success),
            "unchanged" => Some(Self::Unchanged),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// Why a sync failed, as far as trying again goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureKind {
    /// May pass by itself (network trouble, a 5xx, 408 or 429 answer, a timeout, the store): retried with
    /// backoff.
    Retryable,
    /// Will not pass until someone changes the spec, the credentials or the document (an invalid spec,
    /// refused credentials, a document that is not a catalog, a size limit): not retried before the next
    /// interval.
    Stalled,
}

impl FailureKind {
    /// `retryable` or `stalled`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retryable => "retryable",
            Self::Stalled => "stalled",
        }
    }

    /// The kind spelled by [`FailureKind::as_str`], if `text` is one.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "retryable" => Some(Self::Retryable),
            "stalled" => Some(Self::Stalled),
            _ => None,
        }
    }
}

/// Record counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Versions in the catalog after the run.
    pub total: u64,
    /// Versions added.
    pub added: u64,
    /// Versions removed.
    pub removed: u64,
    /// Versions whose document or metadata changed.
    pub updated: u64,
    /// Records skipped (unreadable, invalid identity).
    pub skipped: u64,
}

/// One sync attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncRun {
    /// Row id (0 before it is stored).
    pub id: i64,
    /// Registry name.
    pub registry: String,
    /// Start (RFC 3339).
    pub started_at: String,
    /// End (RFC 3339).
    pub finished_at: String,
    /// Outcome.
    pub outcome: SyncOutcome,
    /// Error message of a failed run (never contains secrets).
    pub error: Option<String>,
    /// Source revision (`sha256:…`, `<ref>@sha1:…`).
    pub revision: Option<String>,
    /// Content digest of the resulting catalog.
    pub digest: Option<String>,
    /// Counts.
    pub counts: Counts,
}

/// A registry's sync state between runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryState {
    /// Registry name.
    pub registry: String,
    /// Digest of the source spec and format the catalog was built from.
    pub spec_digest: Option<String>,
    /// Digest of the filter the catalog was built with.
    pub filter_digest: Option<String>,
    /// The source's cache validators (opaque JSON).
    pub validators: serde_json::Value,
    /// Source revision of the current catalog.
    pub revision: Option<String>,
    /// Content digest of the current catalog.
    pub content_digest: Option<String>,
    /// Last successful sync (committed or unchanged), RFC 3339.
    pub last_success_at: Option<String>,
    /// Last attempt, RFC 3339.
    pub last_attempt_at: Option<String>,
    /// Failed attempts since the last success.
    pub failed_attempts: u32,
    /// Error of the last failed attempt.
    pub last_error: Option<String>,
    /// Kind of the last failed attempt's error; `None` after a success.
    #[serde(default)]
    pub last_failure: Option<FailureKind>,
    /// Versions in the current catalog.
    pub server_count: u64,
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// A new version.
    Added,
    /// A version that is gone.
    Removed,
    /// A version whose document or metadata changed.
    Updated,
}

impl ChangeKind {
    /// `added`, `removed` or `updated`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Removed => "removed",
            Self::Updated => "updated",
        }
    }

    /// The kind spelled by [`ChangeKind::as_str`], if `text` is one.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "added" => Some(Self::Added),
            "removed" => Some(Self::Removed),
            "updated" => Some(Self::Updated),
            _ => None,
        }
    }
}

/// One entry of a change set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// What happened.
    pub kind: ChangeKind,
    /// Server name.
    pub name: String,
    /// Version.
    pub version: String,
}

/// Everything one successful sync writes, applied in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncCommit {
    /// The run record (its `id` is ignored).
    pub run: SyncRun,
    /// The new state.
    pub state: RegistryState,
    /// Versions to insert or replace.
    pub upserts: Vec<ServerVersion>,
    /// Versions to delete.
    pub removals: Vec<NameVersion>,
    /// The change set to record.
    pub changes: Vec<Change>,
}

/// One entry of a registry's imported layer: a record `thv registry import` (or an import job) added to the
/// registry, kept apart from what the source gives so that every sync merges it in again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportedEntry {
    /// Full server name.
    pub name: String,
    /// Version string.
    pub version: String,
    /// The record `{server, _meta}` as imported (JSON text, verbatim).
    pub record: crate::JsonText,
    /// When it was imported or last updated (RFC 3339).
    pub imported_at: String,
}
