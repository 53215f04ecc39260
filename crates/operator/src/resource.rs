//! The `MCPRegistry` resource: one catalog of MCP servers, synced from a source, filtered, stored and served.

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use crate::policy::{ApiSpec, FilterSpec, StorageSpec, SyncPolicy, ValidationSpec};
use crate::schema::TEXT_MAX;
use crate::source::RegistrySource;
use crate::status::McpRegistryStatus;

/// A catalog of MCP servers: synced from a ConfigMap, a URL, a Git repository or another registry, filtered,
/// validated, stored in the cluster and served by its own read-only MCP Registry API.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "toolhive.stacklok.io",
    version = "v1alpha1",
    kind = "MCPRegistry",
    root = "McpRegistry",
    plural = "mcpregistries",
    shortname = "mcpreg",
    category = "toolhive",
    namespaced,
    status = "McpRegistryStatus",
    derive = "PartialEq",
    doc = "A catalog of MCP servers synced from a source, filtered, stored in the cluster and served by its own \
           MCP Registry API.",
    printcolumn(name = "Source", type_ = "string", json_path = ".spec.source.type"),
    printcolumn(name = "Priority", type_ = "integer", json_path = ".spec.priority", priority = 1),
    printcolumn(name = "Servers", type_ = "integer", json_path = ".status.servers"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Status", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].reason"),
    printcolumn(name = "Last Sync", type_ = "date", json_path = ".status.lastSyncTime"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = crate::labels::registry_name_rule()
)]
#[serde(rename_all = "camelCase")]
pub struct McpRegistrySpec {
    /// Human-readable name of the catalog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = TEXT_MAX))]
    pub display_name: Option<String>,
    /// What the catalog is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = TEXT_MAX))]
    pub description: Option<String>,
    /// Format of the source document, `toolhive` or `upstream` (any server.json-based document); detected
    /// from the content when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<SourceFormat>,
    /// Where the catalog comes from.
    pub source: RegistrySource,
    /// When to sync.
    #[serde(default)]
    pub sync_policy: SyncPolicy,
    /// Which servers to keep.
    #[serde(default, skip_serializing_if = "FilterSpec::is_empty")]
    pub filter: FilterSpec,
    /// What to do with records that fail validation.
    #[serde(default)]
    pub validation: ValidationSpec,
    /// Stop syncing (the stored catalog stays served); the registry can still be deleted.
    #[serde(default)]
    pub suspend: bool,
    /// Where the synced catalog is kept.
    #[serde(default)]
    pub storage: StorageSpec,
    /// The registry's own read-only MCP Registry API.
    #[serde(default)]
    pub api: ApiSpec,
    /// Precedence in the aggregate API (`thv operator api --all-registries`), from -1000 to 1000: when
    /// several registries have a server of the same name, the one with the highest priority serves it
    /// (ties go to the registry whose name sorts first). Default 0.
    #[serde(default, skip_serializing_if = "is_default_priority")]
    #[schemars(range(min = MIN_PRIORITY, max = MAX_PRIORITY))]
    pub priority: i32,
}

/// Lowest `spec.priority`.
pub const MIN_PRIORITY: i32 = -1000;
/// Highest `spec.priority`.
pub const MAX_PRIORITY: i32 = 1000;

fn is_default_priority(priority: &i32) -> bool {
    *priority == 0
}

/// Format of the source document, `toolhive` or `upstream` (any server.json-based document); detected from
/// the content when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    /// A ToolHive catalog file.
    Toolhive,
    /// Any server.json-based document (official registry file, API page, single server.json).
    Upstream,
}
