//! Digests of real catalogs: stable across parses and formatting, sensitive to one changed record.

use std::time::Instant;

use serde_json::{Map, Value};
use thv_model::digest::{catalog_digest, value_digest};
use thv_model::upstream::{ServerResponse, UpstreamFile};
use thv_testdata::{REAL_DUMP, TOOLHIVE_UPSTREAM_EXAMPLE, read_json, shared_file};

fn reverse_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.iter().rev().map(|(k, v)| (k.clone(), reverse_keys(v))).collect::<Map<String, Value>>())
        }
        Value::Array(a) => Value::Array(a.iter().map(reverse_keys).collect()),
        other => other.clone(),
    }
}

fn records(doc: &Value) -> Vec<ServerResponse> {
    serde_json::from_value(doc.clone()).expect("the dump is an array of {server, _meta}")
}

#[test]
fn real_dump_digest_is_stable_and_sensitive() {
    let Some(path) = shared_file(REAL_DUMP) else {
        return;
    };
    let doc = read_json(&path);
    let first = records(&doc);
    let started = Instant::now();
    let want = catalog_digest(&first);
    eprintln!(
        "catalog_digest of {} records: {:?} ({} build)",
        first.len(),
        started.elapsed(),
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );

    // A second, independent parse of the same file gives the same digest.
    let second = records(&read_json(&path));
    assert_eq!(catalog_digest(&second), want);

    // Reversed records, reversed keys everywhere, pretty-printed text: same digest.
    let mut shuffled = reverse_keys(&doc);
    if let Value::Array(a) = &mut shuffled {
        a.reverse();
    }
    let text = serde_json::to_string_pretty(&shuffled).expect("serialise");
    let reparsed: Vec<ServerResponse> = serde_json::from_str(&text).expect("reparse");
    assert_eq!(catalog_digest(&reparsed), want);

    // The typed path equals the untyped one: value_digest of the raw records sorted by (name, version).
    let mut raw: Vec<Value> = doc.as_array().expect("array").clone();
    let key = |v: &Value| {
        (
            v["server"]["name"].as_str().unwrap_or("").to_owned(),
            v["server"]["version"].as_str().unwrap_or("").to_owned(),
        )
    };
    raw.sort_by_key(key);
    assert!(
        raw.windows(2).all(|w| key(&w[0]) != key(&w[1])),
        "the dump has no duplicate (name, version); ties would need content order"
    );
    assert_eq!(value_digest(&Value::Array(raw)), want);

    // One changed record (the last one, a single character of its description) changes the digest.
    let mut changed = first.clone();
    let last = changed.last_mut().expect("non-empty dump");
    let mut description = last.server.description.clone().unwrap_or_default();
    description.push('.');
    last.server.description = Some(description);
    assert_ne!(catalog_digest(&changed), want);

    // So does a changed registry timestamp in the response `_meta`.
    let mut changed = first;
    let meta =
        changed[0].meta.as_mut().and_then(|m| m.official.as_mut()).expect("dump records carry the official block");
    meta.updated_at = Some("2030-01-01T00:00:00Z".into());
    assert_ne!(catalog_digest(&changed), want);
}

#[test]
fn toolhive_upstream_example_digest_is_stable() {
    let Some(path) = shared_file(TOOLHIVE_UPSTREAM_EXAMPLE) else {
        return;
    };
    let parse = |doc: &Value| -> Vec<ServerResponse> {
        let file: UpstreamFile = serde_json::from_value(doc.clone()).expect("wrapper parses");
        file.data.servers.into_iter().map(ServerResponse::bare).collect()
    };
    let doc = read_json(&path);
    let want = catalog_digest(&parse(&doc));
    assert_eq!(catalog_digest(&parse(&reverse_keys(&doc))), want);
    assert_eq!(catalog_digest(&parse(&read_json(&path))), want);
}
