//! Differential test: thousands of damaged variants of real documents (every value replaced by junk
//! of every type, every member removed, tricky members added) get the same verdict from the native
//! validator and from the official schemas compiled with `jsonschema`, for every released date.
//! Also shows that wrongly-typed input never panics and always yields findings when invalid.

use jsonschema::Validator;
use serde_json::{Value, json};
use thv_model::detect::{detect_format, upstream_records};
use thv_model::upstream::SchemaVersion;
use thv_model::validate::validate_schema;
use thv_testdata::{REAL_DUMP, read_json, shared_file, shared_files};

fn validators() -> Option<Vec<(SchemaVersion, Validator)>> {
    SchemaVersion::ALL
        .into_iter()
        .map(|v| {
            let path = shared_file(&format!("upstream/schemas/server.schema.{}.json", v.date()))?;
            let validator = jsonschema::draft7::options()
                .should_validate_formats(false)
                .build(&read_json(&path))
                .expect("official schema compiles");
            Some((v, validator))
        })
        .collect()
}

/// Values put in place of every value of a document.
fn junk() -> Vec<Value> {
    vec![
        json!(null),
        json!(0),
        json!(-1.5),
        json!(true),
        json!(""),
        json!("   "),
        json!("latest"),
        json!("a"),
        json!("io.github.a/b"),
        json!("a/b/c"),
        json!("https://ok.example/mcp"),
        json!("https://a b"),
        json!("https://"),
        json!("ftp://x"),
        json!("48x48"),
        json!("a".repeat(101)),
        json!("é".repeat(100)),
        json!("a".repeat(256)),
        json!("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
        json!([]),
        json!(["x"]),
        json!([{}]),
        json!([1]),
        json!({}),
        json!({"type": "stdio"}),
        json!({"type": "sse", "url": "https://x.example"}),
        json!({"type": "streamable-http"}),
        json!({"type": "named", "name": "--x"}),
        json!({"type": "positional"}),
        json!({"type": "positional", "valueHint": "v"}),
        json!({"type": "positional", "value_hint": "v"}),
        json!({"name": "X", "format": "integer"}),
        json!({"url": "", "source": ""}),
        json!({"src": "https://x.example/i.png", "sizes": ["any", "1x"]}),
    ]
}

/// Members added to every object of a document.
fn additions() -> Vec<(&'static str, Value)> {
    vec![
        ("extraKey", json!(1)),
        ("type", json!("named")),
        ("type", json!("positional")),
        ("type", json!("")),
        ("value", json!("v")),
        ("valueHint", json!(3)),
        ("value_hint", json!(3)),
        ("isRequired", json!("yes")),
        ("is_required", json!("yes")),
        ("isRepeated", json!(1)),
        ("is_repeated", json!(1)),
        ("variables", json!({"v": {"format": "integer"}})),
        ("variables", json!({"v": {"isSecret": true, "choices": ["a"]}})),
        ("variables", json!([])),
        ("placeholder", json!(5)),
        ("title", json!("")),
        ("icons", json!([{"src": "x", "theme": "blue"}])),
        ("status", json!("gone")),
        ("status", json!("active")),
        ("headers", json!([{}])),
        ("headers", json!([{"name": "X-Key", "variables": {"a": 1}}])),
        ("url", json!("http://localhost:{port}")),
        ("version", json!("latest")),
        ("registryBaseUrl", json!(1)),
        ("registry_base_url", json!("https://x")),
        ("fileSha256", json!("ABC")),
        ("file_sha256", json!("abc")),
        ("_meta", json!({"io.modelcontextprotocol.registry/official": 1})),
        ("_meta", json!({"io.modelcontextprotocol.registry/publisher-provided": []})),
    ]
}

fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                pointers(v, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

fn variants(doc: &Value) -> Vec<(String, Value)> {
    let mut at = Vec::new();
    pointers(doc, String::new(), &mut at);
    let mut out = Vec::new();
    for p in &at {
        for j in junk() {
            let mut d = doc.clone();
            if let Some(slot) = d.pointer_mut(p) {
                *slot = j.clone();
                out.push((format!("{p} := {j}"), d));
            }
        }
        if let Some((parent, key)) = p.rsplit_once('/') {
            let mut d = doc.clone();
            if let Some(Value::Object(map)) = d.pointer_mut(parent) {
                let key = key.replace("~1", "/").replace("~0", "~");
                map.shift_remove(&key);
                out.push((format!("delete {p}"), d));
            }
        }
        if doc.pointer(p).is_some_and(Value::is_object) {
            for (k, v) in additions() {
                let mut d = doc.clone();
                if let Some(Value::Object(map)) = d.pointer_mut(p) {
                    map.insert(k.to_owned(), v.clone());
                    out.push((format!("{p}/{k} := {v}"), d));
                }
            }
        }
    }
    out
}

/// Documents to damage: the official examples plus the real 2025-07-09 (snake_case) records.
fn bases() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for path in shared_files("upstream/examples", "json") {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        out.push((name, read_json(&path)));
    }
    if let Some(path) = shared_file(REAL_DUMP) {
        let doc = read_json(&path);
        let format = detect_format(&doc).expect("dump format");
        for r in upstream_records(&doc, format) {
            let snake = r.server.get("$schema").and_then(Value::as_str).is_some_and(|s| s.contains("2025-07-09"));
            if snake {
                out.push((format!("dump{}", r.pointer), r.server.clone()));
            }
        }
    }
    out
}

#[test]
fn damaged_documents_get_the_official_verdict() {
    let Some(validators) = validators() else {
        return;
    };
    let mut checked = 0usize;
    let mut failures = Vec::new();
    for (name, base) in bases() {
        for (change, doc) in variants(&base) {
            for (version, validator) in &validators {
                let native = validate_schema(&doc, *version);
                let official = validator.is_valid(&doc);
                checked += 1;
                if native.is_empty() != official {
                    let first = validator
                        .iter_errors(&doc)
                        .next()
                        .map(|e| format!("{} {e}", e.instance_path()))
                        .unwrap_or_default();
                    failures.push(format!(
                        "{name} [{change}] against {version}: native {:?} / jsonschema valid={official} {first}",
                        native.iter().map(|f| format!("{} {}", f.pointer, f.message)).collect::<Vec<_>>(),
                    ));
                }
            }
        }
    }
    assert!(checked > 10_000, "only {checked} variants checked");
    assert!(
        failures.is_empty(),
        "{} of {checked} verdicts disagree:\n{}",
        failures.len(),
        failures.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
}
