//! Loading a document of any supported format into a canonical [`Catalog`].
//!
//! The document must be JSON of a known shape, or loading fails as a whole. Inside it, each record is
//! parsed on its own: a record that does not fit the model (a wrong type, no name or version) is
//! skipped and reported with its JSON pointer, and the rest load.

use serde::Serialize;
use serde_json::Value;

use crate::catalog::{Catalog, CatalogInfo, GroupInfo};
use crate::convert::{ToolHiveEntry, names::full_name, toolhive_to_upstream};
use crate::detect::{DetectError, DocumentFormat, FormatHint, detect_with_hint, parse_json};
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
///
/// A top-level array (a registry dump) is read record by record, so only one record is ever held as a
/// JSON tree; other shapes are parsed whole.
pub fn load_bytes(bytes: &[u8], hint: FormatHint) -> Result<Loaded, DetectError> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'[') {
        return load_owned(parse_json(bytes)?, hint);
    }
    let items: Vec<&serde_json::value::RawValue> = match serde_json::from_slice(body) {
        Ok(items) => items,
        // Not an array of JSON values after all: report the error as a whole-document parse does.
        Err(_) => return load_owned(parse_json(bytes)?, hint),
    };
    let Some(first) = items.first() else { return load_owned(Value::Array(Vec::new()), hint) };
    let first: Value = serde_json::from_str(first.get()).unwrap_or(Value::Null);
    let format = detect_with_hint(&Value::Array(vec![first]), hint)?;
    let mut loaded = Loaded { format, catalog: Catalog::default(), skipped: Vec::new() };
    loaded.catalog.entries.reserve(items.len());
    for (i, raw) in items.into_iter().enumerate() {
        let item: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
        load_record(item, format!("/{i}"), &mut loaded);
    }
    Ok(loaded)
}

/// Loads a parsed document.
pub fn load_value(doc: &Value, hint: FormatHint) -> Result<Loaded, DetectError> {
    load_owned(doc.clone(), hint)
}

/// Loads a parsed document, consuming it record by record so that a large catalog is not held twice.
pub fn load_owned(mut doc: Value, hint: FormatHint) -> Result<Loaded, DetectError> {
    let format = detect_with_hint(&doc, hint)?;
    let mut loaded = Loaded { format, catalog: Catalog::default(), skipped: Vec::new() };
    if format == DocumentFormat::ToolHive {
        load_toolhive(&doc, &mut loaded);
        return Ok(loaded);
    }
    loaded.catalog.info = upstream_info(&doc, format);
    let (prefix, items) = match format {
        DocumentFormat::Server => ("", vec![doc]),
        DocumentFormat::ApiPage => ("/servers", take_array(doc.get_mut("servers"))),
        DocumentFormat::UpstreamFile => ("/data/servers", take_array(doc.pointer_mut("/data/servers"))),
        _ => ("", take_array(Some(&mut doc))),
    };
    loaded.catalog.entries.reserve(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let pointer = if format == DocumentFormat::Server { String::new() } else { format!("{prefix}/{i}") };
        load_record(item, pointer, &mut loaded);
    }
    Ok(loaded)
}

fn take_array(value: Option<&mut Value>) -> Vec<Value> {
    match value.map(Value::take) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    }
}

fn upstream_info(doc: &Value, format: DocumentFormat) -> CatalogInfo {
    let wrapper = format == DocumentFormat::UpstreamFile;
    CatalogInfo {
        schema: wrapper.then(|| string_at(doc, "/$schema")).flatten(),
        version: wrapper.then(|| string_at(doc, "/version")).flatten(),
        last_updated: string_at(doc, "/meta/last_updated"),
        groups: doc.pointer("/data/groups").and_then(Value::as_array).map(|g| wrapper_groups(g)).unwrap_or_default(),
    }
}

/// Loads one record (an envelope or a bare document) found at `pointer`.
fn load_record(mut item: Value, pointer: String, loaded: &mut Loaded) {
    let wrapped = item.get("server").is_some_and(Value::is_object);
    let (server, meta, server_pointer) = if wrapped {
        let meta = item.get_mut("_meta").map(Value::take);
        (item.get_mut("server").map(Value::take).unwrap_or_default(), meta, format!("{pointer}/server"))
    } else {
        (item, None, pointer.clone())
    };
    let text = |key: &str| server.get(key).and_then(Value::as_str).map(str::to_owned);
    let (name, version) = (text("name"), text("version"));
    let issue = |pointer: String, message: String| EntryIssue {
        pointer,
        server: name.clone(),
        version: version.clone(),
        message,
    };
    let server: ServerJson = match parse_at(server, &server_pointer) {
        Ok(s) => s,
        Err((pointer, message)) => return loaded.skipped.push(issue(pointer, message)),
    };
    if let Some(missing) = missing_identity(&server) {
        let at = pointer::join(&server_pointer, missing);
        return loaded.skipped.push(issue(at, format!("missing required `{missing}`")));
    }
    let meta = match meta.map(|m| parse_at::<_, ResponseMeta>(m, &format!("{pointer}/_meta"))).transpose() {
        Ok(meta) => meta,
        Err((pointer, message)) => return loaded.skipped.push(issue(pointer, message)),
    };
    loaded.catalog.entries.push(ServerResponse { server, meta, ..ServerResponse::default() });
}

fn string_at(doc: &Value, path: &str) -> Option<String> {
    doc.pointer(path).and_then(Value::as_str).map(str::to_owned)
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
                parse_at::<_, ServerEntry>(value, &at).map(ToolHiveEntry::Image)
            } else {
                parse_at::<_, ServerEntry>(value, &at).map(ToolHiveEntry::Remote)
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
fn parse_at<'de, D, T>(value: D, at: &str) -> Result<T, (String, String)>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
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
