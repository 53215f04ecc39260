//! `$schema` and publisher-provided `_meta`.

use serde_json::{Map, Value};

use crate::upstream::SchemaVersion;
use crate::validate::check::{Quoted, Sink};
use crate::validate::loc::Loc;

/// The publisher's metadata key.
const PUBLISHER: &str = "io.modelcontextprotocol.registry/publisher-provided";
/// Largest publisher-provided `_meta`, in bytes of JSON.
const MAX_PUBLISHER_BYTES: usize = 4096;

/// `$schema` must be present and name a released schema date.
pub(super) fn schema_url(sink: &mut Sink, obj: &Map<String, Value>) {
    let root = Loc::Root;
    let Some(value) = obj.get("$schema") else {
        sink.push(
            &root,
            format!("`$schema` is required by the official registry, e.g. \"{}\"", SchemaVersion::CURRENT.url()),
        );
        return;
    };
    let Some(url) = value.as_str() else {
        return;
    };
    let at = root.key("$schema");
    match SchemaVersion::date_in_url(url) {
        None => sink.push(
            &at,
            format!(
                "$schema must be a server.json schema URL (…/schemas/<date>/server.schema.json), found {}",
                Quoted(url)
            ),
        ),
        Some(date) if date.parse::<SchemaVersion>().is_err() => sink.push(
            &at,
            format!(
                "$schema names `{date}`, which is not a released schema date (known: {})",
                SchemaVersion::ALL.map(SchemaVersion::date).join(", ")
            ),
        ),
        Some(_) => {}
    }
}

/// Publisher-provided `_meta` must be at most 4096 bytes of JSON.
pub(super) fn publisher_size(sink: &mut Sink, obj: &Map<String, Value>) {
    let Some(value) = obj.get("_meta").and_then(|m| m.get(PUBLISHER)) else {
        return;
    };
    let size = encoded_len(value);
    if size > MAX_PUBLISHER_BYTES {
        let meta = Loc::Root;
        let meta = meta.key("_meta");
        sink.push(
            &meta.key(PUBLISHER),
            format!("publisher-provided _meta must be at most {MAX_PUBLISHER_BYTES} bytes of JSON, found {size}"),
        );
    }
}

/// The length of `value` written as compact JSON the way the registry (Go's `encoding/json`)
/// writes it: `<`, `>`, `&`, U+2028 and U+2029 escaped as `\uXXXX`. Numbers are counted as
/// serde_json writes them.
pub(crate) fn encoded_len(value: &Value) -> usize {
    match value {
        Value::Null => 4,
        Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => n.to_string().len(),
        Value::String(s) => string_len(s),
        Value::Array(items) => 2 + items.len().saturating_sub(1) + items.iter().map(encoded_len).sum::<usize>(),
        Value::Object(map) => {
            2 + map.len().saturating_sub(1) + map.iter().map(|(k, v)| string_len(k) + 1 + encoded_len(v)).sum::<usize>()
        }
    }
}

fn string_len(s: &str) -> usize {
    2 + s
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' => 2,
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => 6,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum::<usize>()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::encoded_len;

    #[test]
    fn counts_json_bytes_like_go() {
        let v = json!({"a": [1, true, null], "b": "x<y\n"});
        // {"a":[1,true,null],"b":"x\u003cy\n"}
        assert_eq!(encoded_len(&v), r#"{"a":[1,true,null],"b":"x\u003cy\n"}"#.len());
        assert_eq!(encoded_len(&json!("é")), 4);
        assert_eq!(encoded_len(&json!({})), 2);
    }
}
