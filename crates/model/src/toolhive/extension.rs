//! ToolHive's extension object inside `server.json`:
//! `_meta["io.modelcontextprotocol.registry/publisher-provided"]["io.github.stacklok"][<image or url>]`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::upstream::Extra;

/// Publisher namespace ToolHive uses inside `publisher-provided`.
pub const STACKLOK_NAMESPACE: &str = "io.github.stacklok";

/// ToolHive-only data for one image or remote URL. Read leniently: unknown keys are kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StacklokExtension {
    /// `active`/`deprecated` (any case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `Official` or `Community`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// Tool names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<String>>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Long Markdown description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overview: Option<String>,
    /// Full MCP tool objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_definitions: Option<Vec<Value>>,
    /// Free-form data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_metadata: Option<Map<String, Value>>,
    /// Stars, pulls, last update (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Whether the server keeps no session state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stateless: Option<bool>,
    /// Permission profile (containers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Map<String, Value>>,
    /// Default container arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Sigstore provenance (containers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Map<String, Value>>,
    /// Other image tags (containers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_tags: Option<Vec<String>>,
    /// Host proxy port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_port: Option<i64>,
    /// OAuth client settings (remotes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_config: Option<Map<String, Value>>,
    /// Client-side environment variables (remotes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_vars: Option<Vec<Value>>,
    /// Keys no schema declares.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The `io.github.stacklok` map of a document's publisher-provided `_meta`, if any.
pub fn stacklok_map(server: &crate::upstream::ServerJson) -> Option<&Map<String, Value>> {
    server.meta.as_ref()?.get(crate::upstream::PUBLISHER_PROVIDED_KEY)?.get(STACKLOK_NAMESPACE)?.as_object()
}

/// The keys an extension may be filed under for this document: every package identifier and remote URL.
fn candidate_keys(server: &crate::upstream::ServerJson) -> impl Iterator<Item = &str> {
    server
        .remotes()
        .iter()
        .filter_map(|r| r.url.as_deref())
        .chain(server.packages().iter().filter_map(|p| p.identifier.as_deref()))
}

/// Finds ToolHive's extension for a document: the entry keyed by `preferred` (the image or URL the
/// caller treats as primary), else by any package identifier or remote URL, else the only entry.
/// Returns the key it was filed under. Entries that do not parse as an extension object are ignored.
pub fn find_extension<'a>(
    server: &'a crate::upstream::ServerJson,
    preferred: Option<&str>,
) -> Option<(&'a str, StacklokExtension)> {
    let map = stacklok_map(server)?;
    let parse =
        |key: &'a str, v: &Value| serde_json::from_value::<StacklokExtension>(v.clone()).ok().map(|ext| (key, ext));
    if let Some((k, v)) = preferred.and_then(|key| map.get_key_value(key)) {
        return parse(k.as_str(), v);
    }
    for key in candidate_keys(server) {
        if let Some((k, v)) = map.get_key_value(key) {
            return parse(k.as_str(), v);
        }
    }
    if map.len() == 1 {
        let (k, v) = map.iter().next()?;
        return parse(k.as_str(), v);
    }
    None
}
