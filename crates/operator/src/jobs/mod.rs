//! The job resources (`toolhive.stacklok.io/v1alpha1`): one-shot, declarative operations on MCPRegistries that
//! a GitOps repository can hold next to the registries.
//!
//! - [`McpRegistrySyncJob`] (`MCPRegistrySyncJob`): syncs the registries it names or selects, now.
//! - [`McpRegistryExportJob`] (`MCPRegistryExportJob`): writes a registry's stored catalog to a ConfigMap.
//! - [`McpRegistryImportJob`] (`MCPRegistryImportJob`): imports servers into a registry's imported layer.
//!
//! All share [`JobPolicy`] (`backoffLimit`, `ttlSecondsAfterFinished`), [`JobStatus`] (phase, kstatus
//! conditions, times, attempts, summary) and one lifecycle ([`lifecycle`]): a job runs once per generation,
//! retries a failed attempt with backoff up to `backoffLimit`, and is deleted `ttlSecondsAfterFinished`
//! after it finished.

mod export_job;
mod import_job;
pub mod lifecycle;
mod reason;
mod sync_job;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use serde::{Deserialize, Serialize};

pub use self::export_job::{
    ExportFormat, ExportResult, ExportTarget, McpRegistryExportJob, McpRegistryExportJobSpec,
    McpRegistryExportJobStatus,
};
pub use self::import_job::{
    DEFAULT_IMPORT_KEY, ImportConfigMap, ImportMode, ImportResult, MAX_INLINE_BYTES, McpRegistryImportJob,
    McpRegistryImportJobSpec, McpRegistryImportJobStatus,
};
pub use self::reason::JobReason;
pub use self::sync_job::{
    MAX_REGISTRIES as MAX_SYNC_JOB_REGISTRIES, McpRegistrySyncJob, McpRegistrySyncJobSpec, McpRegistrySyncJobStatus,
    RegistrySyncOutcome, RegistrySyncResult,
};

/// Default of `backoffLimit`.
pub const DEFAULT_BACKOFF_LIMIT: i32 = 3;
/// Largest `backoffLimit`.
pub const MAX_BACKOFF_LIMIT: i32 = 20;
/// Largest `ttlSecondsAfterFinished` (30 days).
pub const MAX_TTL_SECONDS: i32 = 30 * 24 * 3600;

/// How often a job is tried, and how long it is kept once finished. Part of every job's spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobPolicy {
    /// Retries of a failed attempt before the job is `Failed` (0: no retry). The first retry waits 10 s, each
    /// next one twice as long, at most 6 minutes.
    #[serde(default = "default_backoff_limit")]
    #[schemars(range(min = 0, max = MAX_BACKOFF_LIMIT))]
    pub backoff_limit: i32,
    /// Seconds after the job finished (`Succeeded` or `Failed`) before the operator deletes it; absent: the
    /// job is kept until someone deletes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = MAX_TTL_SECONDS))]
    pub ttl_seconds_after_finished: Option<i32>,
}

impl Default for JobPolicy {
    fn default() -> Self {
        Self { backoff_limit: DEFAULT_BACKOFF_LIMIT, ttl_seconds_after_finished: None }
    }
}

fn default_backoff_limit() -> i32 {
    DEFAULT_BACKOFF_LIMIT
}

/// Where a job is in its run: `Pending` (waiting for its first attempt or for a retry's backoff), `Running`
/// (an attempt is in progress), `Succeeded` or `Failed` (finished for this generation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum JobPhase {
    /// Waiting for the first attempt, or for the backoff before a retry.
    Pending,
    /// An attempt is in progress.
    Running,
    /// The last attempt succeeded; nothing more runs for this generation.
    Succeeded,
    /// The attempts are used up (or the failure cannot pass by retrying); nothing more runs for this
    /// generation.
    Failed,
}

impl JobPhase {
    /// Whether the job finished for its generation.
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }

    /// The phase as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Running => "Running",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
        }
    }
}

/// The part of the status every job has. Written only by the operator.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobStatus {
    /// The `metadata.generation` this run is for; a new generation starts a new run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Pending`, `Running`, `Succeeded` or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<JobPhase>,
    /// `Ready`, `Reconciling` and `Stalled` (kstatus; see docs/operator.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::schema::conditions")]
    pub conditions: Vec<Condition>,
    /// When the first attempt of this generation started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When the job finished (`Succeeded` or `Failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
    /// Attempts started for this generation (the first one included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<i32>,
    /// When the current (or last) attempt started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_time: Option<Time>,
    /// When the next attempt starts, while a retry waits for its backoff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_time: Option<Time>,
    /// The result in one line (`3 registries: 2 synced, 1 unchanged, 0 failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The ConfigMap holding the detailed result the status does not carry (an export's per-entry report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_ref: Option<ResultRef>,
}

/// A ConfigMap key holding a job's detailed result (owned by the job, deleted with it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResultRef {
    /// The ConfigMap, in the job's namespace.
    pub config_map: String,
    /// The key (JSON).
    pub key: String,
}
