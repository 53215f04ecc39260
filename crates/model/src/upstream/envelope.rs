//! The registry API envelope `{server, _meta}` and the official registry block.

use serde::{Deserialize, Serialize};

use super::server::{Extra, ServerJson};

/// `_meta` key of the official registry block.
pub const OFFICIAL_META_KEY: &str = "io.modelcontextprotocol.registry/official";

/// One server version as the registry API returns it (`ServerResponse`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerResponse {
    /// The published document.
    pub server: ServerJson,
    /// Registry-side metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<ResponseMeta>,
    /// Keys no schema declares.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ServerResponse {
    /// Wraps a bare document with no registry metadata.
    pub fn bare(server: ServerJson) -> Self {
        Self { server, meta: None, extra: Extra::new() }
    }

    /// The official registry block, if present.
    pub fn official(&self) -> Option<&OfficialMeta> {
        self.meta.as_ref().and_then(|m| m.official.as_ref())
    }
}

/// The response-level `_meta`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponseMeta {
    /// `io.modelcontextprotocol.registry/official`.
    #[serde(rename = "io.modelcontextprotocol.registry/official", default, skip_serializing_if = "Option::is_none")]
    pub official: Option<OfficialMeta>,
    /// Other registries' keys, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Registry-side state of one server version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OfficialMeta {
    /// `active`, `deprecated` or `deleted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// When the status last changed (RFC 3339).
    #[serde(rename = "statusChangedAt", default, skip_serializing_if = "Option::is_none")]
    pub status_changed_at: Option<String>,
    /// Why the status was set (≤500 chars).
    #[serde(rename = "statusMessage", default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// First publish time (RFC 3339).
    #[serde(rename = "publishedAt", default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
    /// Last change time (RFC 3339).
    #[serde(rename = "updatedAt", default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Whether this is the latest version of its name.
    #[serde(rename = "isLatest", default, skip_serializing_if = "Option::is_none")]
    pub is_latest: Option<bool>,
    /// Keys no schema declares.
    #[serde(flatten)]
    pub extra: Extra,
}
