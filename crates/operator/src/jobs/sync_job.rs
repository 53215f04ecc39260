//! `MCPRegistrySyncJob`: sync the MCPRegistries it names or selects by label, now, once per generation.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::{JobPolicy, JobStatus};

/// Longest list of named registries, and most registries one job syncs (named or selected).
pub const MAX_REGISTRIES: usize = 500;
/// Default of `timeoutSeconds`.
pub const DEFAULT_TIMEOUT_SECONDS: i32 = 600;

/// Syncs the MCPRegistries it names or selects, now, through each registry's sync-trigger annotation, and
/// records what each sync did.
// The printer columns repeat `type_ = "string"`, which clippy takes for a duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "toolhive.stacklok.io",
    version = "v1alpha1",
    kind = "MCPRegistrySyncJob",
    root = "McpRegistrySyncJob",
    plural = "mcpregistrysyncjobs",
    shortname = "mcpregsync",
    category = "toolhive",
    namespaced,
    status = "McpRegistrySyncJobStatus",
    derive = "PartialEq",
    doc = "Syncs the MCPRegistries it names or selects by label, now, once per generation.",
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Attempts", type_ = "integer", json_path = ".status.attempts"),
    printcolumn(name = "Summary", type_ = "string", json_path = ".status.summary"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[x_kube(validation = Rule::new("has(self.registries) != has(self.selector)")
    .message("set exactly one of registries (names) and selector (labels)"))]
#[serde(rename_all = "camelCase")]
pub struct McpRegistrySyncJobSpec {
    /// Names of the MCPRegistries to sync, in the job's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "registry_names")]
    pub registries: Option<Vec<String>>,
    /// Sync the MCPRegistries of the job's namespace whose labels match (an empty selector matches all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Seconds one attempt waits for every registry to handle its sync request before it fails with
    /// `DeadlineExceeded`.
    #[serde(default = "default_timeout")]
    #[schemars(range(min = 10, max = 86400))]
    pub timeout_seconds: i32,
    /// Retries and clean-up.
    #[serde(flatten)]
    pub policy: JobPolicy,
}

fn default_timeout() -> i32 {
    DEFAULT_TIMEOUT_SECONDS
}

fn registry_names(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "minItems": 1,
        "maxItems": MAX_REGISTRIES,
        "x-kubernetes-list-type": "set",
        "items": {
            "type": "string",
            "maxLength": crate::labels::REGISTRY_NAME_MAX,
            "pattern": "^[a-z]([-a-z0-9]*[a-z0-9])?$",
        },
    })
}

/// What the operator last observed and did. Written only by the operator.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct McpRegistrySyncJobStatus {
    /// Phase, conditions, times and attempts.
    #[serde(flatten)]
    pub job: JobStatus,
    /// One entry per registry of the current attempt, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "results")]
    pub registries: Vec<RegistrySyncResult>,
}

fn results(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut schema = generator.subschema_for::<Vec<RegistrySyncResult>>();
    schema.insert("x-kubernetes-list-type".into(), "map".into());
    schema.insert("x-kubernetes-list-map-keys".into(), serde_json::json!(["name"]));
    schema
}

/// What syncing one registry did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistrySyncResult {
    /// The MCPRegistry.
    pub name: String,
    /// `Pending`, `Synced` (a new revision is stored), `Unchanged` or `Failed`.
    pub result: RegistrySyncOutcome,
    /// Why it failed: the registry's own condition reason (`SourceNotFound`, `FetchFailed`, …), or
    /// `RegistryNotFound`, `RegistrySuspended`, `DeadlineExceeded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The registry's words about the sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The revision stored after the sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The revision stored when the sync was requested (compared with `revision` to tell `Synced` from
    /// `Unchanged`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_revision: Option<String>,
    /// Servers in the stored catalog after the sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servers: Option<i64>,
    /// The sync-trigger value this job set on the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
}

/// See [`RegistrySyncResult::result`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum RegistrySyncOutcome {
    /// The sync was requested and has not been handled yet.
    Pending,
    /// The sync stored a new revision.
    Synced,
    /// The sync found the source unchanged.
    Unchanged,
    /// The sync failed, or could not be requested.
    Failed,
}
