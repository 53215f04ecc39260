//! Catalog digests ignore key order, record order and formatting, and see every change of content.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use thv_model::digest::{catalog_digest, to_canonical_vec, value_digest};
use thv_model::upstream::ServerResponse;

fn records() -> Value {
    json!([
        {
            "server": {
                "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
                "name": "io.github.acme/weather",
                "description": "Weather forecasts",
                "version": "1.2.0",
                "packages": [{"registryType": "npm", "identifier": "@acme/weather", "version": "1.2.0",
                              "transport": {"type": "stdio"},
                              "environmentVariables": [{"name": "API_KEY", "isSecret": true}]}],
                "_meta": {"io.modelcontextprotocol.registry/publisher-provided": {
                    "io.github.stacklok": {"@acme/weather": {"tier": "Community", "tags": ["weather", "api"],
                                                             "metadata": {"stars": 17}}}}},
                "x-unknown": {"b": 1, "a": [1, 2]}
            },
            "_meta": {"io.modelcontextprotocol.registry/official": {
                "status": "active", "publishedAt": "2025-10-01T00:00:00Z", "isLatest": true}}
        },
        {
            "server": {"name": "com.example/remote", "version": "0.1.0", "description": "Remote",
                       "remotes": [{"type": "sse", "url": "https://example.com/sse"}]}
        },
        {
            "server": {"name": "com.example/remote", "version": "0.2.0", "description": "Remote, newer",
                       "remotes": [{"type": "streamable-http", "url": "https://example.com/mcp"}]},
            "_meta": {"io.modelcontextprotocol.registry/official": {"isLatest": true}}
        }
    ])
}

fn parse(text: &str) -> Vec<ServerResponse> {
    serde_json::from_str(text).expect("records parse")
}

fn digest_of(value: &Value) -> String {
    catalog_digest(&parse(&serde_json::to_string(value).expect("serialise")))
}

/// The same value with every object's keys in reverse order.
fn reverse_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.iter().rev().map(|(k, v)| (k.clone(), reverse_keys(v))).collect::<Map<String, Value>>())
        }
        Value::Array(a) => Value::Array(a.iter().map(reverse_keys).collect()),
        other => other.clone(),
    }
}

#[test]
fn key_order_record_order_and_formatting_do_not_matter() {
    let base = records();
    let want = digest_of(&base);
    assert!(want.starts_with("sha256:"), "{want}");
    assert_eq!(want.len(), "sha256:".len() + 64);

    let reversed_keys = reverse_keys(&base);
    assert_ne!(
        serde_json::to_string(&reversed_keys).expect("serialise"),
        serde_json::to_string(&base).expect("serialise"),
        "the test really reorders keys"
    );
    let mut reversed_records = base.clone();
    if let Value::Array(a) = &mut reversed_records {
        a.reverse();
    }
    let pretty = serde_json::to_string_pretty(&base).expect("pretty");
    let mut tabbed = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    serde::Serialize::serialize(&base, &mut serde_json::Serializer::with_formatter(&mut tabbed, formatter))
        .expect("tab-indented");
    let tabbed = String::from_utf8(tabbed).expect("utf-8");

    assert!(pretty.contains("Weather forecasts"), "the escape case below applies");
    assert_eq!(digest_of(&reversed_keys), want, "key order");
    assert_eq!(digest_of(&reversed_records), want, "record order");
    assert_eq!(catalog_digest(&parse(&pretty)), want, "pretty printing");
    assert_eq!(catalog_digest(&parse(&tabbed)), want, "tab indentation");
    assert_eq!(
        catalog_digest(&parse(&pretty.replace("Weather forecasts", "Weather \\u0066orecasts"))),
        want,
        "string escapes"
    );
}

/// A named edit of the records.
type Change = (&'static str, Box<dyn Fn(&mut Value)>);

#[test]
fn every_change_of_content_changes_the_digest() {
    let base = records();
    let want = digest_of(&base);
    let official = "/0/_meta/io.modelcontextprotocol.registry~1official";
    let ext = "/0/server/_meta/io.modelcontextprotocol.registry~1publisher-provided/io.github.stacklok/@acme~1weather";
    let changes: Vec<Change> = vec![
        ("description", Box::new(|v| v[0]["server"]["description"] = json!("x"))),
        ("version", Box::new(|v| v[2]["server"]["version"] = json!("0.2.1"))),
        ("name", Box::new(|v| v[1]["server"]["name"] = json!("com.example/Remote"))),
        (
            "response _meta isLatest",
            Box::new(move |v| {
                *v.pointer_mut(&format!("{official}/isLatest")).expect("path") = json!(false);
            }),
        ),
        (
            "response _meta added",
            Box::new(|v| v[1]["_meta"] = json!({"io.modelcontextprotocol.registry/official": {}})),
        ),
        (
            "server _meta extension tag",
            Box::new(move |v| {
                *v.pointer_mut(&format!("{ext}/tags/1")).expect("path") = json!("API");
            }),
        ),
        (
            "server _meta number",
            Box::new(move |v| {
                *v.pointer_mut(&format!("{ext}/metadata/stars")).expect("path") = json!(18);
            }),
        ),
        (
            "array order",
            Box::new(move |v| {
                let tags = v.pointer_mut(&format!("{ext}/tags")).expect("path");
                *tags = json!(["api", "weather"]);
            }),
        ),
        ("unknown field value", Box::new(|v| v[0]["server"]["x-unknown"]["b"] = json!(2))),
        ("unknown field added", Box::new(|v| v[1]["server"]["x-new"] = json!(null))),
        ("boolean", Box::new(|v| v[0]["server"]["packages"][0]["environmentVariables"][0]["isSecret"] = json!(false))),
        ("transport type", Box::new(|v| v[1]["server"]["remotes"][0]["type"] = json!("streamable-http"))),
        (
            "record removed",
            Box::new(|v| {
                if let Value::Array(a) = v {
                    a.pop();
                }
            }),
        ),
        (
            "record duplicated",
            Box::new(|v| {
                if let Value::Array(a) = v {
                    let first = a[0].clone();
                    a.push(first);
                }
            }),
        ),
    ];
    let mut seen = std::collections::HashSet::from([want.clone()]);
    for (what, change) in changes {
        let mut changed = base.clone();
        change(&mut changed);
        assert_ne!(changed, base, "{what}: the change applies");
        let got = digest_of(&changed);
        assert!(seen.insert(got), "{what}: digest did not change (or collides)");
    }
}

#[test]
fn integral_numbers_are_normalised() {
    // `17` and `17.0` are the same number; the canonical form writes both as `17`.
    let mut a = records();
    a[0]["server"]["_meta"]["io.modelcontextprotocol.registry/publisher-provided"]["io.github.stacklok"]["@acme/weather"]
        ["metadata"]["stars"] = json!(17.0);
    assert_eq!(digest_of(&a), digest_of(&records()));
}

#[test]
fn catalog_digest_is_the_value_digest_of_the_sorted_array() {
    let base = records();
    let mut sorted: Vec<Value> = base.as_array().expect("array").clone();
    sorted.sort_by(|a, b| {
        let key = |v: &Value| {
            (
                v["server"]["name"].as_str().unwrap_or("").to_owned(),
                v["server"]["version"].as_str().unwrap_or("").to_owned(),
            )
        };
        key(a).cmp(&key(b))
    });
    assert_eq!(digest_of(&base), value_digest(&Value::Array(sorted.clone())));

    // And value_digest is SHA-256 of the canonical text.
    let canonical = to_canonical_vec(&Value::Array(sorted)).expect("encodes");
    assert_eq!(digest_of(&base), format!("sha256:{}", hex::encode(Sha256::digest(&canonical))));
    assert_eq!(catalog_digest(&[]), format!("sha256:{}", hex::encode(Sha256::digest("[]"))));
}

#[test]
fn duplicate_name_and_version_do_not_make_order_matter() {
    let mut v = records();
    let mut dup = v[1].clone();
    dup["server"]["description"] = json!("Same version, other text");
    if let Value::Array(a) = &mut v {
        a.insert(0, dup);
    }
    let mut reversed = v.clone();
    if let Value::Array(a) = &mut reversed {
        a.reverse();
    }
    assert_eq!(digest_of(&v), digest_of(&reversed));
}

#[test]
fn value_digest_ignores_key_order_and_whitespace() {
    let a: Value = serde_json::from_str(r#"{"b": [1, {"y": 2, "x": 1}], "a": "t"}"#).expect("json");
    let b: Value = serde_json::from_str("{\n \"a\":\"t\",\"b\":[1,{\"x\":1,\"y\":2}]}").expect("json");
    let c: Value = serde_json::from_str(r#"{"a": "t", "b": [{"x": 1, "y": 2}, 1]}"#).expect("json");
    assert_eq!(value_digest(&a), value_digest(&b));
    assert_ne!(value_digest(&a), value_digest(&c));
    assert_eq!(
        value_digest(&a),
        format!("sha256:{}", hex::encode(Sha256::digest(r#"{"a":"t","b":[1,{"x":1,"y":2}]}"#)))
    );
}
