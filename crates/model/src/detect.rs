//! Reading JSON bytes and telling which catalog format a document is in, with no hint.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

/// UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The shapes a catalog document comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocumentFormat {
    /// ToolHive's catalog file: `servers` / `remote_servers` maps keyed by short name.
    ToolHive,
    /// ToolHive's upstream wrapper: `{version, meta, data: {servers: [server.json]}}`.
    UpstreamFile,
    /// A registry API list page: `{servers: [{server, _meta}], metadata}`.
    ApiPage,
    /// A bare array of `{server, _meta}` records (a registry dump).
    EnvelopeArray,
    /// A bare array of `server.json` documents (the registry's seed files).
    ServerArray,
    /// One `server.json` document.
    Server,
}

impl DocumentFormat {
    /// Whether the format carries `server.json` documents (anything but the ToolHive file).
    pub fn is_upstream(self) -> bool {
        self != Self::ToolHive
    }

    /// A short human name.
    pub fn describe(self) -> &'static str {
        match self {
            Self::ToolHive => "ToolHive catalog file",
            Self::UpstreamFile => "upstream registry file (data.servers)",
            Self::ApiPage => "registry API list page",
            Self::EnvelopeArray => "array of {server, _meta} records",
            Self::ServerArray => "array of server.json documents",
            Self::Server => "single server.json document",
        }
    }
}

impl fmt::Display for DocumentFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Which family of formats the caller expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FormatHint {
    /// Detect from the content.
    #[default]
    Auto,
    /// A ToolHive catalog file.
    ToolHive,
    /// Any of the `server.json`-based shapes.
    Upstream,
}

/// A document that is not JSON, or not any known catalog shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DetectError {
    /// The bytes are not valid JSON.
    #[error("not valid JSON: {message} (line {line}, column {column})")]
    Json {
        /// What the parser said.
        message: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// Valid JSON of no known shape.
    #[error(
        "not a recognised catalog: found {found}; expected a ToolHive file (`servers`/`remote_servers` maps), an upstream file (`data.servers`), an API page (`servers[].server`), an array of `{{server, _meta}}` records or of server.json documents, or one server.json document"
    )]
    UnknownShape {
        /// What the document looks like.
        found: String,
    },
    /// The content contradicts the format the caller asked for.
    #[error("expected a {expected} but the document is a {found}")]
    HintMismatch {
        /// What was asked for.
        expected: &'static str,
        /// What was found.
        found: DocumentFormat,
    },
}

/// Parses JSON bytes, ignoring a leading UTF-8 BOM.
pub fn parse_json(bytes: &[u8]) -> Result<Value, DetectError> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    serde_json::from_slice(bytes).map_err(|e| DetectError::Json {
        message: strip_position(&e.to_string()),
        line: e.line(),
        column: e.column(),
    })
}

/// serde_json appends " at line L column C"; the error carries those separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn describe_value(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(_) => "a number".into(),
        Value::String(_) => "a string".into(),
        Value::Array(a) if a.is_empty() => "an empty array".into(),
        Value::Array(a) => format!("an array whose first item is {}", describe_value(&a[0])),
        Value::Object(o) if o.is_empty() => "an empty object".into(),
        Value::Object(o) => {
            let keys: Vec<&str> = o.keys().take(6).map(String::as_str).collect();
            format!("an object with keys {}", keys.join(", "))
        }
    }
}

fn is_envelope(v: &Value) -> bool {
    v.get("server").is_some_and(Value::is_object)
}

/// Tells the format of a parsed document.
pub fn detect_format(doc: &Value) -> Result<DocumentFormat, DetectError> {
    let unknown = || DetectError::UnknownShape { found: describe_value(doc) };
    match doc {
        Value::Object(o) => {
            let servers = o.get("servers");
            if servers.is_some_and(Value::is_object)
                || o.get("remote_servers").is_some_and(Value::is_object)
                || (o.get("groups").is_some_and(Value::is_array) && servers.is_none())
            {
                Ok(DocumentFormat::ToolHive)
            } else if o.get("data").and_then(|d| d.get("servers")).is_some_and(Value::is_array) {
                Ok(DocumentFormat::UpstreamFile)
            } else if servers.is_some_and(Value::is_array) {
                Ok(DocumentFormat::ApiPage)
            } else if o.get("name").is_some_and(Value::is_string) {
                Ok(DocumentFormat::Server)
            } else {
                Err(unknown())
            }
        }
        Value::Array(items) => match items.first() {
            None => Ok(DocumentFormat::EnvelopeArray),
            Some(first) if is_envelope(first) => Ok(DocumentFormat::EnvelopeArray),
            Some(first) if first.get("name").is_some() => Ok(DocumentFormat::ServerArray),
            Some(_) => Err(unknown()),
        },
        _ => Err(unknown()),
    }
}

/// Detects the format and checks it against the caller's hint.
pub fn detect_with_hint(doc: &Value, hint: FormatHint) -> Result<DocumentFormat, DetectError> {
    let found = detect_format(doc)?;
    match hint {
        FormatHint::ToolHive if found != DocumentFormat::ToolHive => {
            Err(DetectError::HintMismatch { expected: "ToolHive catalog file", found })
        }
        FormatHint::Upstream if !found.is_upstream() => {
            Err(DetectError::HintMismatch { expected: "server.json-based document", found })
        }
        _ => Ok(found),
    }
}

/// One `server.json` document inside a larger upstream document.
#[derive(Debug, Clone)]
pub struct RecordRef<'a> {
    /// JSON pointer to the record (the envelope when there is one) in its document.
    pub pointer: String,
    /// JSON pointer to the `server.json` document itself.
    pub server_pointer: String,
    /// The `server.json` document.
    pub server: &'a Value,
    /// The envelope's `_meta`, when the record came wrapped.
    pub meta: Option<&'a Value>,
}

/// Server records of an upstream-format document, with their pointers.
pub fn upstream_records(doc: &Value, format: DocumentFormat) -> Vec<RecordRef<'_>> {
    fn list<'a>(items: &'a [Value], prefix: &str) -> Vec<RecordRef<'a>> {
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let pointer = format!("{prefix}/{i}");
                match item.get("server") {
                    Some(server) if server.is_object() => RecordRef {
                        server_pointer: format!("{pointer}/server"),
                        pointer,
                        server,
                        meta: item.get("_meta"),
                    },
                    _ => RecordRef { server_pointer: pointer.clone(), pointer, server: item, meta: None },
                }
            })
            .collect()
    }
    let empty: &[Value] = &[];
    match format {
        DocumentFormat::ToolHive => Vec::new(),
        DocumentFormat::Server => {
            vec![RecordRef { pointer: String::new(), server_pointer: String::new(), server: doc, meta: None }]
        }
        DocumentFormat::EnvelopeArray | DocumentFormat::ServerArray => {
            list(doc.as_array().map_or(empty, Vec::as_slice), "")
        }
        DocumentFormat::ApiPage => {
            list(doc.get("servers").and_then(Value::as_array).map_or(empty, Vec::as_slice), "/servers")
        }
        DocumentFormat::UpstreamFile => {
            list(doc.pointer("/data/servers").and_then(Value::as_array).map_or(empty, Vec::as_slice), "/data/servers")
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn detects_every_shape() {
        let cases = [
            (json!({"version": "1.0.0", "servers": {"a": {}}}), DocumentFormat::ToolHive),
            (json!({"remote_servers": {"a": {}}}), DocumentFormat::ToolHive),
            (json!({"data": {"servers": []}}), DocumentFormat::UpstreamFile),
            (json!({"servers": [{"server": {"name": "a/b"}}], "metadata": {}}), DocumentFormat::ApiPage),
            (json!([{"server": {"name": "a/b"}, "_meta": {}}]), DocumentFormat::EnvelopeArray),
            (json!([{"name": "a/b"}]), DocumentFormat::ServerArray),
            (json!({"name": "a/b", "version": "1"}), DocumentFormat::Server),
        ];
        for (doc, want) in cases {
            assert_eq!(detect_format(&doc), Ok(want), "{doc}");
        }
    }

    #[test]
    fn unknown_shapes_are_described() {
        let err = detect_format(&json!({"foo": 1, "bar": 2})).unwrap_err();
        assert!(err.to_string().contains("an object with keys foo, bar"), "{err}");
        let err = detect_format(&json!(42)).unwrap_err();
        assert!(err.to_string().contains("found a number"), "{err}");
        assert!(detect_format(&json!([1, 2])).is_err());
    }

    #[test]
    fn bom_is_ignored_and_errors_have_positions() {
        let v = parse_json(b"\xEF\xBB\xBF[{\"server\": {\"name\": \"a/b\"}}]").unwrap();
        assert_eq!(detect_format(&v), Ok(DocumentFormat::EnvelopeArray));
        match parse_json(b"{\n  \"a\": tru") {
            Err(DetectError::Json { line, .. }) => assert_eq!(line, 2),
            other => panic!("expected a JSON error, got {other:?}"),
        }
    }

    #[test]
    fn hints_are_checked() {
        let doc = json!([{"name": "a/b"}]);
        assert!(detect_with_hint(&doc, FormatHint::ToolHive).is_err());
        assert_eq!(detect_with_hint(&doc, FormatHint::Upstream), Ok(DocumentFormat::ServerArray));
    }
}
