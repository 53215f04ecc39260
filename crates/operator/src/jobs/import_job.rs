//! `MCPRegistryImportJob`: import servers from a ConfigMap, a URL or inline data into a registry's imported
//! layer (the entries that survive the source's syncs), once per generation.

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::{JobPolicy, JobStatus};
use crate::schema::{DATA_KEY, DATA_KEY_MAX, DNS_SUBDOMAIN, DNS_SUBDOMAIN_MAX};

/// Largest `inline` document (bytes): the job is an object in etcd, whose limit is 1.5 MiB; a larger catalog
/// goes in a ConfigMap or behind a URL.
pub const MAX_INLINE_BYTES: u32 = 256 * 1024;
/// Longest `url`.
pub const MAX_URL_LENGTH: u32 = 2048;
/// Default `configMapRef.key`.
pub const DEFAULT_IMPORT_KEY: &str = "registry.json";

/// Imports servers from a ConfigMap, a URL or inline data into an MCPRegistry's imported layer, once per
/// generation.
// The printer columns repeat `type_ = "string"`, which clippy takes for a duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "toolhive.stacklok.io",
    version = "v1alpha1",
    kind = "MCPRegistryImportJob",
    root = "McpRegistryImportJob",
    plural = "mcpregistryimportjobs",
    shortname = "mcpregimport",
    category = "toolhive",
    namespaced,
    status = "McpRegistryImportJobStatus",
    derive = "PartialEq",
    doc = "Imports servers from a ConfigMap, a URL or inline data into an MCPRegistry's imported layer, once per generation.",
    printcolumn(name = "Registry", type_ = "string", json_path = ".spec.registry"),
    printcolumn(name = "Mode", type_ = "string", json_path = ".spec.mode"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Summary", type_ = "string", json_path = ".status.summary"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[x_kube(validation = Rule::new("(has(self.configMapRef) ? 1 : 0) + (has(self.url) ? 1 : 0) + (has(self.inline) ? 1 : 0) == 1")
    .message("set exactly one input: configMapRef, url or inline"))]
#[serde(rename_all = "camelCase")]
pub struct McpRegistryImportJobSpec {
    /// The MCPRegistry to import into, in the job's namespace.
    #[schemars(length(max = crate::labels::REGISTRY_NAME_MAX), regex(pattern = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"))]
    pub registry: String,
    /// `merge` (add the imported entries and update those imported before; the rest of the layer stays) or
    /// `replace` (the imported entries become the whole layer).
    #[serde(default)]
    pub mode: ImportMode,
    /// A key of a ConfigMap in the job's namespace holding the document (text in `data`, or gzip in
    /// `binaryData`, as an export job or `thv registry migrate` writes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_ref: Option<ImportConfigMap>,
    /// An `http(s)` URL serving the document (64 MiB and 60 s at most, 5 redirects; no credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 8, max = MAX_URL_LENGTH), regex(pattern = r"^https?://"))]
    pub url: Option<String>,
    /// The document itself (at most 256 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = MAX_INLINE_BYTES))]
    pub inline: Option<String>,
    /// Retries and clean-up.
    #[serde(flatten)]
    pub policy: JobPolicy,
}

/// See [`McpRegistryImportJobSpec::mode`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImportMode {
    /// Add and update entries; the rest of the layer stays.
    #[default]
    Merge,
    /// The imported entries become the whole layer.
    Replace,
}

impl ImportMode {
    /// The mode as written in the spec.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Merge => "merge",
            Self::Replace => "replace",
        }
    }
}

/// A ConfigMap key an import reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportConfigMap {
    /// The ConfigMap's name, in the job's namespace.
    #[schemars(length(max = DNS_SUBDOMAIN_MAX), regex(pattern = DNS_SUBDOMAIN))]
    pub name: String,
    /// The key, in `data` or `binaryData`.
    #[serde(default = "default_key")]
    #[schemars(length(max = DATA_KEY_MAX), regex(pattern = DATA_KEY))]
    pub key: String,
}

fn default_key() -> String {
    DEFAULT_IMPORT_KEY.to_owned()
}

/// What the operator last observed and did. Written only by the operator.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct McpRegistryImportJobStatus {
    /// Phase, conditions, times and attempts.
    #[serde(flatten)]
    pub job: JobStatus,
    /// What the import did, once the job succeeded (each entry's result is in `resultRef`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<ImportResult>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportResult {
    /// The input read (`configmap <namespace>/<name> key <key>`, the URL without credentials, or `inline`).
    pub input: String,
    /// Entries new in the catalog.
    pub added: i64,
    /// Entries whose content changed.
    pub updated: i64,
    /// Entries already there with this content.
    pub unchanged: i64,
    /// Entries that left the layer (`replace`).
    pub removed: i64,
    /// Records not imported (the filter excludes them, or they fail validation); reasons in `resultRef`.
    pub rejected: i64,
    /// Entries in the imported layer afterwards.
    pub layer: i64,
    /// Server versions in the catalog afterwards.
    pub total: i64,
    /// Whether the import changed the stored catalog or layer.
    pub changed: bool,
}
