//! `MCPRegistryExportJob`: write a registry's stored catalog, in `toolhive` or `upstream` format, to a
//! ConfigMap, once per generation.

use kube::CustomResource;
use serde::{Deserialize, Serialize};

use super::{JobPolicy, JobStatus};
use crate::schema::{DATA_KEY, DATA_KEY_MAX, DNS_SUBDOMAIN, DNS_SUBDOMAIN_MAX};

/// Default `configMap.key`.
pub const DEFAULT_EXPORT_KEY: &str = "registry.json";

/// Writes an MCPRegistry's stored catalog, in `toolhive` or `upstream` format, to a ConfigMap (gzip-compressed
/// in `binaryData` when large).
// The printer columns repeat `type_ = "string"`, which clippy takes for a duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[kube(
    group = "toolhive.stacklok.io",
    version = "v1alpha1",
    kind = "MCPRegistryExportJob",
    root = "McpRegistryExportJob",
    plural = "mcpregistryexportjobs",
    shortname = "mcpregexport",
    category = "toolhive",
    namespaced,
    status = "McpRegistryExportJobStatus",
    derive = "PartialEq",
    doc = "Writes an MCPRegistry's stored catalog in toolhive or upstream format to a ConfigMap, once per generation.",
    printcolumn(name = "Registry", type_ = "string", json_path = ".spec.registry"),
    printcolumn(name = "Format", type_ = "string", json_path = ".spec.format"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Summary", type_ = "string", json_path = ".status.summary"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct McpRegistryExportJobSpec {
    /// The MCPRegistry to export, in the job's namespace.
    #[schemars(length(max = crate::labels::REGISTRY_NAME_MAX), regex(pattern = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"))]
    pub registry: String,
    /// `toolhive` (a ToolHive catalog file: the latest version of each server) or `upstream` (a JSON array of
    /// `{server, _meta}` records: every version with its registry metadata, lossless), the bytes `thv registry
    /// export` writes for the same catalog.
    #[serde(default)]
    pub format: ExportFormat,
    /// Where the export goes.
    pub config_map: ExportTarget,
    /// Retries and clean-up.
    #[serde(flatten)]
    pub policy: JobPolicy,
}

/// See [`McpRegistryExportJobSpec::format`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// A ToolHive catalog file.
    #[default]
    Toolhive,
    /// A JSON array of `{server, _meta}` records (every version, lossless).
    Upstream,
}

impl ExportFormat {
    /// The format as written in the spec.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Toolhive => "toolhive",
            Self::Upstream => "upstream",
        }
    }
}

/// The ConfigMap an export is written to. The operator creates it (not owned by the job, so it outlives the
/// job's clean-up) and refuses to overwrite one it did not write for this job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportTarget {
    /// The ConfigMap's name, in the job's namespace.
    #[schemars(length(max = DNS_SUBDOMAIN_MAX), regex(pattern = DNS_SUBDOMAIN))]
    pub name: String,
    /// The key: in `data` when the export is small, else gzip-compressed in `binaryData` under the same key.
    #[serde(default = "default_key")]
    #[schemars(length(max = DATA_KEY_MAX), regex(pattern = DATA_KEY))]
    pub key: String,
}

fn default_key() -> String {
    DEFAULT_EXPORT_KEY.to_owned()
}

/// What the operator last observed and did. Written only by the operator.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct McpRegistryExportJobStatus {
    /// Phase, conditions, times and attempts.
    #[serde(flatten)]
    pub job: JobStatus,
    /// What was written, once the job succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<ExportResult>,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportResult {
    /// The ConfigMap.
    pub config_map: String,
    /// The key written (in `binaryData` when compressed).
    pub key: String,
    /// Whether the export is gzip-compressed in `binaryData`.
    pub compressed: bool,
    /// Servers (distinct names) exported.
    pub servers: i64,
    /// Server versions exported (`toolhive` writes the latest version of each server).
    pub versions: i64,
    /// Bytes of the export, uncompressed.
    pub bytes: i64,
    /// `sha256:<hex>` of the export, uncompressed.
    pub digest: String,
    /// The registry's stored revision that was exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Records written with details only in an extension or defaulted (`toolhive`).
    #[serde(default)]
    pub degraded: i64,
    /// Records left out because they cannot be written in the format (`toolhive`), listed in `resultRef`.
    #[serde(default)]
    pub skipped: i64,
}
