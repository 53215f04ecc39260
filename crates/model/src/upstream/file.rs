//! ToolHive's upstream registry *file* wrapper: `{ "$schema", "version", "meta", "data": {"servers"} }`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::server::{Extra, ServerJson};

/// `$schema` ToolHive writes on wrapper files.
pub const UPSTREAM_FILE_SCHEMA_URL: &str =
    "https://raw.githubusercontent.com/stacklok/toolhive-core/main/registry/types/data/upstream-registry.schema.json";

/// A catalog file in ToolHive's upstream format.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpstreamFile {
    /// Schema URL.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// File format version, `MAJOR.MINOR.PATCH`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// File metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<UpstreamFileMeta>,
    /// The servers and groups.
    #[serde(default)]
    pub data: UpstreamFileData,
    /// Keys no schema declares.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `meta` of a wrapper file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpstreamFileMeta {
    /// When the file was last updated (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
    /// Keys no schema declares.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `data` of a wrapper file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpstreamFileData {
    /// The server documents.
    #[serde(default)]
    pub servers: Vec<ServerJson>,
    /// Named groups of servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<UpstreamGroup>>,
    /// Other collections (`skills`, `plugins`, …), kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A named group in a wrapper file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpstreamGroup {
    /// Group name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What the group is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Member servers: names, or full documents in older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servers: Option<Vec<Value>>,
    /// Keys no schema declares.
    #[serde(flatten)]
    pub extra: Extra,
}
