//! Loading a document of any supported format into a canonical [`Catalog`].
//!
//! The document must be JSON of a known shape, or loading fails as a whole. Inside it, each record is
//! parsed on its own: a record that does not fit the model (a wrong type, no name or version) is
//! skipped and reported with its JSON pointer, and the rest load.

use serde::Serialize;
use serde_json::Value;

use crate::catalog::{Catalog, CatalogInfo, GroupInfo};
use crate::convert::{ToolHiveEntry, names::full_name, toolhive_to_upstream};
use crate::detect::{DetectError, DocumentFormat, FormatHint, detect_with_hint, parse_json, upstream_records};
use crate::pointer;
use crate::toolhive::ServerEntry;
use crate::upstream::{ResponseMeta, ServerJson, ServerResponse};

/// A record that could not be loaded, or a note about one that was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryIssue {
    /// JSON pointer to the offending value in the document.
    pub pointer: String,
    /// Server name, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Server version, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// The result of loading one document.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The detected format.
    pub format: DocumentFormat,
    /// The records that loaded, in canonical form.
    pub catalog: Catalog,
    /// Records that were skipped, with reasons.
    pub skipped: Vec<EntryIssue>,
}

/// Parses and loads JSON bytes (a leading BOM is ignored).
pub fn load_bytes(bytes: &[u8], hint: FormatHint) -> Result<Loaded, DetectError> {
    load_value(&parse_json(bytes)?, hint)
}

/// Loads a parsed document.
pub fn load_value(doc: &Value, hint: FormatHint) -> Result<Loaded, DetectError> {
    let format = detect_with_hint(doc, hint)?;
    let mut loaded = Loaded { format, catalog: Catalog::default(), skipped: Vec::new() };
    if format == DocumentFormat::ToolHive {
        load_toolhive(doc, &mut loaded);
    } else {
        load_upstream(doc, &mut loaded);
    }
    Ok(loaded)
}

fn string_at(doc: &Value, path: &str) -> Option<String> {
    doc.pointer(path).and_then(Value::as_str).map(str::to_owned)
}

fn load_upstream(doc: &Value, loaded: &mut Loaded) {
    loaded.catalog.info = CatalogInfo {
        schema: (loaded.format == DocumentFormat::UpstreamFile).then(|| string_at(doc, "/$schema")).flatten(),
        version: (loaded.format == DocumentFormat::UpstreamFile).then(|| string_at(doc, "/version")).flatten(),
        last_updated: string_at(doc, "/meta/last_updated"),
        groups: doc.pointer("/data/groups").and_then(Value::as_array).map(|g| wrapper_groups(g)).unwrap_or_default(),
    };
    for record in upstream_records(doc, loaded.format) {
        let server_pointer = &record.server_pointer;
        let name = record.server.get("name").and_then(Value::as_str).map(str::to_owned);
        let version = record.server.get("version").and_then(Value::as_str).map(str::to_owned);
        let issue = |pointer: String, message: String| EntryIssue {
            pointer,
            server: name.clone(),
            version: version.clone(),
            message,
        };
        let server: ServerJson = match parse_at(record.server, server_pointer) {
            Ok(s) => s,
            Err((pointer, message)) => {
                loaded.skipped.push(issue(pointer, message));
                continue;
            }
        };
        if let Some(missing) = missing_identity(&server) {
            loaded.skipped.push(issue(pointer::join(server_pointer, missing), format!("missing required `{missing}`")));
            continue;
        }
        let meta_pointer = format!("{}/_meta", record.pointer);
        let meta = match record.meta.map(|m| parse_at::<ResponseMeta>(m, &meta_pointer)).transpose() {
            Ok(meta) => meta,
            Err((pointer, message)) => {
                loaded.skipped.push(issue(pointer, message));
                continue;
            }
        };
        loaded.catalog.entries.push(ServerResponse { server, meta, ..ServerResponse::default() });
    }
}

fn missing_identity(server: &ServerJson) -> Option<&'static str> {
    if server.name.as_deref().is_none_or(str::is_empty) {
        Some("name")
    } else if server.version.as_deref().is_none_or(str::is_empty) {
        Some("version")
    } else {
        None
    }
}

fn wrapper_groups(groups: &[Value]) -> Vec<GroupInfo> {
    groups
        .iter()
        .map(|g| GroupInfo {
            name: g.get("name").and_then(Value::as_str).unwrap_or_default().to_owned(),
            description: g.get("description").and_then(Value::as_str).map(str::to_owned),
            servers: g
                .get("servers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().or_else(|| s.get("name").and_then(Value::as_str)).map(str::to_owned))
                .collect(),
        })
        .collect()
}

fn load_toolhive(doc: &Value, loaded: &mut Loaded) {
    loaded.catalog.info = CatalogInfo {
        schema: string_at(doc, "/$schema"),
        version: string_at(doc, "/version"),
        last_updated: string_at(doc, "/last_updated"),
        groups: toolhive_groups(doc),
    };
    let maps = [("servers", true), ("remote_servers", false)];
    for (map_key, is_image) in maps {
        let Some(map) = doc.get(map_key).and_then(Value::as_object) else { continue };
        for (key, value) in map {
            let at = pointer::join(&format!("/{map_key}"), key);
            let entry = if is_image {
                parse_at::<ServerEntry>(value, &at).map(ToolHiveEntry::Image)
            } else {
                parse_at::<ServerEntry>(value, &at).map(ToolHiveEntry::Remote)
            };
            match entry {
                Ok(entry) => {
                    let converted = toolhive_to_upstream(key, &entry);
                    loaded.catalog.entries.push(ServerResponse::bare(converted.value));
                }
                Err((pointer, message)) => {
                    loaded.skipped.push(EntryIssue { pointer, server: Some(full_name(key)), version: None, message })
                }
            }
        }
    }
}

fn toolhive_groups(doc: &Value) -> Vec<GroupInfo> {
    let Some(groups) = doc.get("groups").and_then(Value::as_array) else { return Vec::new() };
    groups
        .iter()
        .map(|g| GroupInfo {
            name: g.get("name").and_then(Value::as_str).unwrap_or_default().to_owned(),
            description: g.get("description").and_then(Value::as_str).map(str::to_owned),
            servers: ["servers", "remote_servers"]
                .iter()
                .filter_map(|k| g.get(*k).and_then(Value::as_object))
                .flat_map(|m| m.keys().map(|k| full_name(k)))
                .collect(),
        })
        .collect()
}

/// Deserialises `value`, reporting a failure as (JSON pointer under `at`, message).
fn parse_at<T: serde::de::DeserializeOwned>(value: &Value, at: &str) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let mut pointer = at.to_owned();
        for segment in e.path().iter() {
            match segment {
                serde_path_to_error::Segment::Seq { index } => pointer = pointer::join(&pointer, index.to_string()),
                serde_path_to_error::Segment::Map { key } => pointer = pointer::join(&pointer, key),
                serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {}
            }
        }
        let field = pointer.rsplit('/').next().unwrap_or_default().to_owned();
        (pointer, format!("`{field}`: {}", e.into_inner()))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn wrongly_typed_records_are_skipped_with_their_pointer() {
        let doc = json!([
            {"server": {"name": "io.x/a", "version": "1.0.0", "description": "ok"}},
            {"server": {"name": "io.x/b", "version": "1.0.0", "packages": [{"transport": {"type": 7}}]}},
            {"server": {"name": "io.x/c"}},
        ]);
        let loaded = load_value(&doc, FormatHint::Auto).expect("known shape");
        assert_eq!(loaded.catalog.entries.len(), 1);
        assert_eq!(loaded.skipped.len(), 2);
        assert_eq!(loaded.skipped[0].pointer, "/1/server/packages/0/transport/type");
        assert_eq!(loaded.skipped[0].server.as_deref(), Some("io.x/b"));
        assert!(loaded.skipped[0].message.contains("invalid type"), "{}", loaded.skipped[0].message);
        assert_eq!(loaded.skipped[1].pointer, "/2/server/version");
    }

    #[test]
    fn toolhive_entries_become_canonical_records() {
        let doc = json!({"version": "1.0.0", "last_updated": "2026-01-01T00:00:00Z", "servers": {
            "fetch": {"description": "Fetch web pages", "image": "ghcr.io/x/fetch:1.2.0", "tier": "Official",
                      "status": "Active", "transport": "stdio", "tools": ["fetch"]},
            "broken": {"description": 5}
        }});
        let loaded = load_value(&doc, FormatHint::ToolHive).expect("ToolHive");
        assert_eq!(loaded.catalog.entries.len(), 1);
        let server = &loaded.catalog.entries[0].server;
        assert_eq!(server.name_str(), "io.github.stacklok/fetch");
        assert_eq!(server.version_str(), "1.2.0");
        assert_eq!(loaded.skipped[0].pointer, "/servers/broken/description");
        assert_eq!(loaded.catalog.info.version.as_deref(), Some("1.0.0"));
    }
}
