//! The native ToolHive validator agrees with ToolHive's JSON Schema (compiled with `jsonschema`,
//! draft 7, formats asserted): ToolHive's own catalog is clean, broken variants fail at the right
//! pointer, and damaged variants of real entries get the same verdict.

use jsonschema::Validator;
use serde_json::{Value, json};
use thv_model::validate::validate_toolhive_registry;
use thv_testdata::{TOOLHIVE_REGISTRY, read_json, shared_file};

/// ToolHive's schema, compiled. Its path pattern `^(/[^/\0]+)+/?$` uses the ECMA-262 escape `\0`,
/// which `jsonschema` refuses; `\x00` means the same and is substituted.
fn official() -> Option<Validator> {
    let path = shared_file("toolhive/toolhive-legacy-registry.schema.json")?;
    let text = std::fs::read_to_string(&path).expect("read schema");
    let text = text.replace(r"[^/\\0]", r"[^/\\x00]");
    let schema: Value = serde_json::from_str(&text).expect("schema parses");
    Some(jsonschema::draft7::options().should_validate_formats(true).build(&schema).expect("ToolHive schema compiles"))
}

fn catalog() -> Option<Value> {
    shared_file(TOOLHIVE_REGISTRY).map(|p| read_json(&p))
}

fn messages(doc: &Value) -> Vec<String> {
    validate_toolhive_registry(doc).into_iter().map(|f| format!("{} {}", f.pointer, f.message)).collect()
}

#[test]
fn toolhive_catalog_is_valid_natively_and_officially() {
    let (Some(validator), Some(doc)) = (official(), catalog()) else {
        return;
    };
    assert!(validator.is_valid(&doc), "jsonschema rejects registry.json");
    assert_eq!(messages(&doc), Vec::<String>::new());
}

/// Sets (or with `None` removes) the value at `pointer`, creating nothing.
fn set(doc: &mut Value, pointer: &str, value: Option<Value>) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer has a parent");
    let key = key.replace("~1", "/").replace("~0", "~");
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => match value {
            Some(v) => {
                map.insert(key, v);
            }
            None => {
                map.shift_remove(&key);
            }
        },
        Some(Value::Array(items)) => {
            let i: usize = key.parse().expect("index");
            match value {
                Some(v) => items[i] = v,
                None => {
                    items.remove(i);
                }
            }
        }
        _ => panic!("nothing at {parent}"),
    }
}

#[test]
fn broken_variants_fail_natively_and_officially_at_the_right_pointer() {
    let (Some(validator), Some(base)) = (official(), catalog()) else {
        return;
    };
    // (what is broken, pointer to change, new value or removal, pointer of the expected finding)
    let cases: Vec<(&str, &str, Option<Value>, &str)> = vec![
        (
            "key with a dot",
            "/servers/io.github.x~1fetch",
            Some(base["servers"]["fetch"].clone()),
            "/servers/io.github.x~1fetch",
        ),
        ("two-letter key", "/remote_servers/ab", Some(base["remote_servers"]["canva"].clone()), "/remote_servers/ab"),
        ("uppercase key", "/servers/Fetch2", Some(base["servers"]["fetch"].clone()), "/servers/Fetch2"),
        ("missing version", "/version", None, ""),
        ("bad version", "/version", Some(json!("1.0")), "/version"),
        ("bad last_updated", "/last_updated", Some(json!("yesterday")), "/last_updated"),
        ("servers not an object", "/servers", Some(json!([])), "/servers"),
        ("missing image", "/servers/fetch/image", None, "/servers/fetch"),
        ("missing tools", "/servers/fetch/tools", None, "/servers/fetch"),
        ("missing remote url", "/remote_servers/canva/url", None, "/remote_servers/canva"),
        ("bad tier", "/servers/fetch/tier", Some(json!("Partner")), "/servers/fetch/tier"),
        ("bad status", "/servers/fetch/status", Some(json!("active")), "/servers/fetch/status"),
        ("stdio remote", "/remote_servers/canva/transport", Some(json!("stdio")), "/remote_servers/canva/transport"),
        ("extra property", "/servers/fetch/homepage", Some(json!("https://x")), "/servers/fetch/homepage"),
        ("extra remote property", "/remote_servers/canva/image", Some(json!("x/y")), "/remote_servers/canva/image"),
        (
            "extra top-level group property",
            "/groups",
            Some(json!([{"name": "gg", "description": "a group of servers", "color": 1}])),
            "/groups/0/color",
        ),
        ("bad tag", "/servers/fetch/tags/0", Some(json!("Content")), "/servers/fetch/tags/0"),
        ("duplicate tag", "/servers/fetch/tags/1", Some(json!("content")), "/servers/fetch/tags/1"),
        ("empty tags", "/servers/fetch/tags", Some(json!([])), "/servers/fetch/tags"),
        ("bad tool", "/servers/fetch/tools/0", Some(json!("fetch url")), "/servers/fetch/tools/0"),
        ("short description", "/servers/fetch/description", Some(json!("Fetch")), "/servers/fetch/description"),
        ("image with digest", "/servers/fetch/image", Some(json!("ghcr.io/x/y@sha256:abc")), "/servers/fetch/image"),
        ("port out of range", "/servers/fetch/target_port", Some(json!(70000)), "/servers/fetch/target_port"),
        ("fractional port", "/servers/fetch/target_port", Some(json!(80.5)), "/servers/fetch/target_port"),
        ("negative stars", "/servers/fetch/metadata/stars", Some(json!(-1)), "/servers/fetch/metadata/stars"),
        ("metadata extra", "/servers/fetch/metadata/forks", Some(json!(1)), "/servers/fetch/metadata/forks"),
        (
            "bad repository_url",
            "/servers/fetch/repository_url",
            Some(json!("github.com/x/y")),
            "/servers/fetch/repository_url",
        ),
        (
            "bad sigstore host",
            "/servers/fetch/provenance/sigstore_url",
            Some(json!("https://tuf")),
            "/servers/fetch/provenance/sigstore_url",
        ),
        (
            "bad allow_host",
            "/servers/fetch/permissions/network/outbound/allow_host",
            Some(json!(["api.github.com", "*.github.com"])),
            "/servers/fetch/permissions/network/outbound/allow_host/1",
        ),
        (
            "duplicate port",
            "/servers/fetch/permissions/network/outbound/allow_port",
            Some(json!([443, 443])),
            "/servers/fetch/permissions/network/outbound/allow_port/1",
        ),
        (
            "network mode",
            "/servers/fetch/permissions/network/mode",
            Some(json!("host")),
            "/servers/fetch/permissions/network/mode",
        ),
        (
            "relative read path",
            "/servers/fetch/permissions/read",
            Some(json!(["tmp"])),
            "/servers/fetch/permissions/read/0",
        ),
        (
            "bad env var name",
            "/servers/fetch/env_vars",
            Some(json!([{"name": "MY-VAR", "description": "a var", "required": false}])),
            "/servers/fetch/env_vars/0/name",
        ),
        (
            "env var without required",
            "/servers/fetch/env_vars",
            Some(json!([{"name": "MY_VAR", "description": "a var"}])),
            "/servers/fetch/env_vars/0",
        ),
        (
            "env var short description",
            "/servers/fetch/env_vars",
            Some(json!([{"name": "MY_VAR", "description": "v", "required": true}])),
            "/servers/fetch/env_vars/0/description",
        ),
        (
            "env var extra",
            "/servers/fetch/env_vars",
            Some(json!([{"name": "MY_VAR", "description": "a var", "required": true, "choices": []}])),
            "/servers/fetch/env_vars/0/choices",
        ),
        (
            "bad header name",
            "/remote_servers/canva/headers",
            Some(json!([{"name": "X Key", "description": "a key", "required": true}])),
            "/remote_servers/canva/headers/0/name",
        ),
        (
            "duplicate header choices",
            "/remote_servers/canva/headers",
            Some(json!([{"name": "X-Key", "description": "a key", "required": true, "choices": ["a", "a"]}])),
            "/remote_servers/canva/headers/0/choices/1",
        ),
        (
            "bad oauth url",
            "/remote_servers/canva/oauth_config",
            Some(json!({"token_url": "not a url"})),
            "/remote_servers/canva/oauth_config/token_url",
        ),
        (
            "oauth param not a string",
            "/remote_servers/canva/oauth_config",
            Some(json!({"oauth_params": {"prompt": 1}})),
            "/remote_servers/canva/oauth_config/oauth_params/prompt",
        ),
        (
            "tool definition not an object",
            "/servers/fetch/tool_definitions",
            Some(json!(["fetch"])),
            "/servers/fetch/tool_definitions/0",
        ),
        (
            "bad group name",
            "/groups",
            Some(json!([{"name": "Group", "description": "a group of servers"}])),
            "/groups/0/name",
        ),
        (
            "group server bad key",
            "/groups",
            Some(json!([{"name": "gg", "description": "a group of servers", "servers": {"x": {}}}])),
            "/groups/0/servers/x",
        ),
    ];
    let mut failures = Vec::new();
    for (what, pointer, value, expected) in cases {
        let mut doc = base.clone();
        set(&mut doc, pointer, value);
        let findings = validate_toolhive_registry(&doc);
        let official_valid = validator.is_valid(&doc);
        if official_valid {
            failures.push(format!("{what}: jsonschema accepts the variant"));
        }
        if !findings.iter().any(|f| f.pointer == expected) {
            failures.push(format!(
                "{what}: no native finding at {expected:?}; got {:?}",
                findings.iter().map(|f| format!("{} {}", f.pointer, f.message)).collect::<Vec<_>>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Values put in place of every value of a few real entries.
fn junk() -> Vec<Value> {
    vec![
        json!(null),
        json!(0),
        json!(1),
        json!(65536),
        json!(-1),
        json!(2.5),
        json!(443.0),
        json!(true),
        json!(""),
        json!("a"),
        json!("ab"),
        json!("abc"),
        json!("Active"),
        json!("Official"),
        json!("sse"),
        json!("stdio"),
        json!("1.0.0"),
        json!("2026-02-18T00:24:11Z"),
        json!("2026-02-30T00:24:11Z"),
        json!("https://github.com/x/y"),
        json!("https://x/[y]"),
        json!("http://[::1]:80/"),
        json!("api.github.com"),
        json!(".github.com"),
        json!("xn--bcher-kva.example"),
        json!("ab--cd.example"),
        json!("/tmp/data"),
        json!("ghcr.io/x/y:1"),
        json!("a description long enough"),
        json!("x".repeat(501)),
        json!([]),
        json!(["a"]),
        json!(["a", "a"]),
        json!([1, 1.0]),
        json!([{}]),
        json!({}),
        json!({"name": "X_1", "description": "a variable", "required": true}),
        json!({"outbound": {"allow_host": ["a.b"]}}),
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

#[test]
fn damaged_entries_get_the_official_verdict() {
    let (Some(validator), Some(full)) = (official(), catalog()) else {
        return;
    };
    // A small catalog of entries that between them use every part of the schema.
    let servers = full["servers"].as_object().expect("servers");
    let remotes = full["remote_servers"].as_object().expect("remote_servers");
    let pick = |map: &serde_json::Map<String, Value>, test: &dyn Fn(&Value) -> bool| {
        map.iter().find(|(_, v)| test(v)).map(|(k, v)| (k.clone(), v.clone())).expect("an entry with the feature")
    };
    let mut small = json!({"version": "1.0.0", "last_updated": "2026-02-18T00:24:11Z", "servers": {}, "remote_servers": {},
        "groups": [{"name": "gg", "description": "a group of servers", "servers": {}, "remote_servers": {}}]});
    for (k, v) in [
        pick(servers, &|v| v.get("provenance").is_some() && v.get("env_vars").is_some()),
        pick(servers, &|v| v.pointer("/permissions/network/outbound/allow_host").is_some()),
        pick(servers, &|v| v.get("args").is_some()),
    ] {
        small["servers"][k] = v;
    }
    let (k, mut v) = pick(remotes, &|v| v.get("oauth_config").is_some());
    // No catalog entry has headers or client-side env vars: add some.
    v["headers"] = json!([{"name": "X-Api-Key", "description": "API key", "required": true,
        "secret": true, "default": "k", "choices": ["a", "b"]}]);
    v["env_vars"] = json!([{"name": "REGION", "description": "Region", "required": false}]);
    small["remote_servers"][k] = v;
    assert!(validator.is_valid(&small));
    let mut at = Vec::new();
    pointers(&small, String::new(), &mut at);
    let mut checked = 0;
    let mut failures = Vec::new();
    for p in &at {
        let mut variants = Vec::new();
        for j in junk() {
            let mut d = small.clone();
            if let Some(slot) = d.pointer_mut(p) {
                *slot = j.clone();
                variants.push((format!("{p} := {j}"), d));
            }
        }
        if let Some((parent, key)) = p.rsplit_once('/')
            && small.pointer(parent).is_some_and(Value::is_object)
        {
            let mut d = small.clone();
            set(&mut d, p, None);
            variants.push((format!("delete {p}"), d));
            let _ = key;
        }
        if small.pointer(p).is_some_and(Value::is_object) {
            for (k, v) in [("extra", json!(1)), ("name", json!("x")), ("url", json!("https://x"))] {
                let mut d = small.clone();
                if let Some(Value::Object(map)) = d.pointer_mut(p) {
                    map.insert(k.to_owned(), v.clone());
                    variants.push((format!("{p}/{k} := {v}"), d));
                }
            }
        }
        for (change, doc) in variants {
            checked += 1;
            let native = validate_toolhive_registry(&doc);
            let official = validator.is_valid(&doc);
            if native.is_empty() != official {
                failures.push(format!(
                    "[{change}] native {:?} / jsonschema valid={official} {}",
                    native.iter().map(|f| format!("{} {}", f.pointer, f.message)).collect::<Vec<_>>(),
                    validator
                        .iter_errors(&doc)
                        .next()
                        .map(|e| format!("{} {e}", e.instance_path()))
                        .unwrap_or_default()
                ));
            }
        }
    }
    assert!(checked > 5_000, "only {checked} variants");
    assert!(
        failures.is_empty(),
        "{} of {checked} verdicts disagree:\n{}",
        failures.len(),
        failures.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn format_checks_match_jsonschema_on_tricky_strings() {
    let Some(validator) = official() else {
        return;
    };
    let date_times = [
        "2026-02-18T00:24:11Z",
        "2026-02-18t00:24:11z",
        "2026-02-18T00:24:11.123456789Z",
        "2026-02-18T00:24:11+01:00",
        "2026-02-18T00:24:11-23:59",
        "2026-02-18T00:24:11+24:00",
        "2026-02-18T00:24:11+01:60",
        "2026-02-18T00:24:11+0100",
        "2026-02-18T00:24:11",
        "2026-02-18 00:24:11Z",
        "2026-02-18T00:24Z",
        "2026-02-18T00:24:11.Z",
        "2026-13-01T00:00:00Z",
        "2026-00-01T00:00:00Z",
        "2026-01-00T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2024-02-29T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2000-02-29T00:00:00Z",
        "2016-12-31T23:59:60Z",
        "2016-12-31T22:59:60Z",
        "2016-12-31T23:59:60+01:00",
        "2016-12-31T15:59:60-08:00",
        "2016-12-31T23:58:60Z",
        "2026-02-18T25:00:00Z",
        "2026-02-18T00:60:00Z",
        "2026-02-18T00:00:61Z",
        "26-02-18T00:24:11Z",
        "2026-2-18T00:24:11Z",
        "２026-02-18T00:24:11Z",
        "2026-02-18T00:24:11Zx",
        "T",
        "",
        "2026-02-18Té:24:11Z",
        "2026-02-18T00:24:11+01:00:00",
    ];
    let uris = [
        "https://github.com/x/y",
        "http://a",
        "a:",
        "a:b",
        "urn:x:y",
        "mailto:a@b.c",
        "file:///etc/hosts",
        "https://a.example:8080/p?q#f",
        "https://a.example:/p",
        "https://a.example:80x/",
        "https://user:pw@a.example/",
        "https://a@b@c/",
        "https://a b/",
        "https://a.example/a b",
        "https://a.example/%41",
        "https://a.example/%4",
        "https://a.example/%zz",
        "https://a.example/[x]",
        "https://[::1]/",
        "https://[::1]:8080/",
        "https://[::1]x/",
        "https://[::g]/",
        "https://[v1.x]/",
        "https://[v.x]/",
        "https://[1.2.3.4]/",
        "https://u@[::1]/",
        "https://[::1",
        "https://]/",
        "https://a.example/#a#b",
        "https://a.example/?a?b",
        "//a.example/x",
        "/relative",
        "1http://a",
        "ht tp://a",
        "https://é.example/",
        "https://a.example/\u{7f}",
        "",
        "https://a.example/{x}",
        "https://a.example/|",
        "https://a.example/^",
        "https://a.example/`",
        "https://a.example/\\",
        "HTTPS://A.EXAMPLE/",
        "h+.-:x",
        "https://a.example/%25",
        "x://[::ffff:1.2.3.4]/",
    ];
    let hostnames = [
        "api.github.com",
        "localhost",
        "a",
        "a.b",
        "a-b.c",
        "-a.b",
        "a-.b",
        "a..b",
        ".a",
        "a.",
        "a_b",
        "ab--cd",
        "xn--bcher-kva",
        "xn--bcher-kva.example",
        "xn--",
        "xn--a",
        "xn--zz",
        "XN--bcher-kva",
        "xn--ls8h",
        "1.2.3.4",
        "é.example",
        "a b",
        "",
        "xn--80ak6aa92e.com",
        "xn--d1acpjx3f.xn--p1ai",
    ];
    let mut failures = Vec::new();
    let mut probe = |label: &str, pointer: &str, s: &str| {
        let mut doc = json!({"version": "1.0.0", "last_updated": "2026-02-18T00:24:11Z",
            "servers": {"aaa": {"description": "a description", "image": "a/b", "status": "Active",
                "tier": "Official", "tools": ["t"], "transport": "stdio",
                "provenance": {"sigstore_url": "tuf-repo-cdn.sigstore.dev"}}}});
        set(&mut doc, pointer, Some(json!(s)));
        let native = validate_toolhive_registry(&doc).is_empty();
        let official = validator.is_valid(&doc);
        if native != official {
            failures.push(format!("{label} {s:?}: native valid={native}, jsonschema valid={official}"));
        }
    };
    for s in date_times {
        probe("date-time", "/last_updated", s);
    }
    for s in uris {
        probe("uri", "/servers/aaa/repository_url", s);
    }
    for s in hostnames {
        probe("hostname", "/servers/aaa/provenance/sigstore_url", s);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
