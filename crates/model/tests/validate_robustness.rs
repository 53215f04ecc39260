//! Wrongly-typed values at every level (numbers where strings go, objects where arrays go, null,
//! deeply nested junk) never panic and always yield findings, for `server.json` documents under
//! every schema and strict rules, and for ToolHive catalogs.

use serde_json::{Value, json};
use thv_model::upstream::SchemaVersion;
use thv_model::validate::{
    Against, ValidateOptions, validate_schema, validate_server, validate_strict, validate_toolhive_registry,
};

/// A document using every part of the current schema.
fn full_document() -> Value {
    json!({
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        "name": "io.github.alice/notes",
        "title": "Notes",
        "description": "Search and edit Markdown notes",
        "version": "0.3.1",
        "websiteUrl": "https://alice.example/notes",
        "repository": {"url": "https://github.com/alice/notes-mcp", "source": "github", "id": "1", "subfolder": "s"},
        "icons": [{"src": "https://alice.example/i.png", "mimeType": "image/png", "sizes": ["48x48"], "theme": "dark"}],
        "packages": [{
            "registryType": "oci", "registryBaseUrl": "https://docker.io", "identifier": "ghcr.io/alice/notes:0.3.1",
            "version": "0.3.1", "runtimeHint": "docker",
            "fileSha256": "fe333e598595000ae021bd27117db32ec69af6987f507ba7a63c90638ff633ce",
            "transport": {"type": "streamable-http", "url": "http://localhost:{port}/mcp",
                          "headers": [{"name": "X-Key", "value": "{key}", "variables": {"key": {"isSecret": true}}}]},
            "runtimeArguments": [{"type": "positional", "valueHint": "image", "isRepeated": false}],
            "packageArguments": [{"type": "named", "name": "--root", "format": "filepath", "isRequired": true,
                                  "description": "d", "default": "/", "placeholder": "/notes", "choices": ["/"]}],
            "environmentVariables": [{"name": "NOTES_TOKEN", "isSecret": true, "value": "v"}]
        }],
        "remotes": [{"type": "sse", "url": "https://{region}.notes.example.com/sse",
                     "headers": [{"name": "Authorization"}],
                     "variables": {"region": {"choices": ["eu", "us"], "isRequired": true}}}],
        "_meta": {"io.modelcontextprotocol.registry/publisher-provided": {"tool": "x"}}
    })
}

/// Nested arrays and objects `depth` levels deep.
fn deep_junk(depth: usize) -> Value {
    (0..depth).fold(
        json!(null),
        |inner, i| {
            if i % 2 == 0 { json!([inner, 1, "x"]) } else { json!({"a": inner, "type": 5}) }
        },
    )
}

/// Values of a different JSON type than `original`.
fn wrong_types(original: &Value) -> Vec<Value> {
    // An odd depth puts an array on top, which no object-typed member accepts.
    let mut out = vec![json!(null), deep_junk(61)];
    out.extend(match original {
        Value::String(_) => vec![json!(5), json!({}), json!(["x"]), json!(true)],
        Value::Bool(_) => vec![json!("true"), json!(1)],
        Value::Number(_) => vec![json!("1"), json!([1])],
        Value::Array(_) => vec![json!({}), json!("x"), json!(0)],
        Value::Object(_) => vec![json!([]), json!(5), json!("x")],
        Value::Null => vec![],
    });
    out
}

fn pointers(value: &Value, at: String, out: &mut Vec<(String, Value)>) {
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
    out.push((at, value.clone()));
}

#[test]
fn wrongly_typed_server_json_values_yield_findings() {
    let doc = full_document();
    let findings = validate_schema(&doc, SchemaVersion::CURRENT);
    assert!(findings.is_empty(), "{findings:#?}");
    let mut at = Vec::new();
    pointers(&doc, String::new(), &mut at);
    let mut checked = 0;
    for (pointer, original) in at {
        // Publisher-provided metadata may hold anything.
        if pointer.starts_with("/_meta/io.modelcontextprotocol.registry~1publisher-provided/") {
            continue;
        }
        for junk in wrong_types(&original) {
            let mut damaged = doc.clone();
            if let Some(slot) = damaged.pointer_mut(&pointer) {
                *slot = junk.clone();
            }
            checked += 1;
            let options = ValidateOptions { against: Against::Declared, strict: true };
            let findings = validate_server(&damaged, &options);
            assert!(!findings.is_empty(), "no finding for {pointer} := {junk} (was {original})");
            for v in SchemaVersion::ALL {
                // Older schemas ignore some members; they must still not panic.
                let _ = validate_schema(&damaged, v);
            }
        }
    }
    assert!(checked > 300, "{checked}");
}

#[test]
fn junk_documents_do_not_panic() {
    let junk = [
        json!(null),
        json!(1),
        json!("server"),
        json!([]),
        deep_junk(120),
        json!({"packages": deep_junk(100), "remotes": [deep_junk(100)], "_meta": deep_junk(100)}),
        json!({"packages": [{"transport": {"type": "sse", "headers": [deep_junk(50)]},
                             "packageArguments": [{"type": "named", "variables": {"a": deep_junk(50)}}]}]}),
        json!({"$schema": "https://static.modelcontextprotocol.io/schemas/2025-07-09/server.schema.json",
               "packages": [{"registry_type": [], "runtime_arguments": [{"type": "positional", "value_hint": {}}]}]}),
        json!({"name": "\u{0}/\u{feff}", "description": "\u{10FFFF}".repeat(101), "version": "é".repeat(300)}),
    ];
    for doc in &junk {
        for v in SchemaVersion::ALL {
            assert!(!validate_schema(doc, v).is_empty(), "{doc}");
        }
        // Strict rules skip what the schema reports; they must just not panic.
        let _ = validate_strict(doc);
        assert!(!validate_toolhive_registry(doc).is_empty(), "{doc}");
    }
}

fn catalog() -> Value {
    json!({
        "$schema": "https://raw.githubusercontent.com/stacklok/toolhive/main/pkg/registry/data/toolhive-legacy-registry.schema.json",
        "version": "1.0.0",
        "last_updated": "2026-02-18T00:24:11Z",
        "servers": {"fetch": {
            "name": "fetch", "title": "Fetch", "overview": "o", "description": "Fetch web pages as Markdown",
            "tier": "Official", "status": "Active", "transport": "streamable-http",
            "image": "ghcr.io/x/fetch:1.2.0", "target_port": 8080, "proxy_port": 8081,
            "tools": ["fetch"], "tags": ["web"], "args": ["--max-bytes", "100"], "docker_tags": ["1.2.0"],
            "tool_definitions": [{"name": "fetch"}],
            "metadata": {"stars": 1, "pulls": 2, "last_updated": "2026-02-18T00:24:11Z"},
            "repository_url": "https://github.com/x/fetch", "custom_metadata": {"a": 1},
            "env_vars": [{"name": "TOKEN", "description": "A token", "required": true, "secret": true, "default": "d"}],
            "permissions": {"read": ["/data"], "write": ["/out/"], "privileged": false,
                            "network": {"outbound": {"insecure_allow_all": false, "allow_host": [".github.com"], "allow_port": [443]}}},
            "provenance": {"sigstore_url": "tuf-repo-cdn.sigstore.dev", "repository_uri": "https://github.com/x/fetch",
                           "repository_ref": "refs/tags/v1", "signer_identity": "/.github/workflows/r.yml",
                           "runner_environment": "github-hosted", "cert_issuer": "https://token.actions.githubusercontent.com",
                           "attestation": {"predicate_type": "https://slsa.dev/provenance/v1", "predicate": {}}}
        }},
        "remote_servers": {"notes": {
            "url": "https://notes.example.com/mcp", "description": "Notes in the cloud", "tier": "Community",
            "status": "Deprecated", "transport": "sse", "tools": ["search"],
            "headers": [{"name": "X-Key", "description": "The key", "required": true, "secret": true, "default": "k", "choices": ["k"]}],
            "oauth_config": {"issuer": "https://id.example.com", "authorize_url": "https://id.example.com/a",
                             "token_url": "https://id.example.com/t", "client_id": "c", "scopes": ["s"], "use_pkce": true,
                             "oauth_params": {"prompt": "consent"}, "callback_port": 8765, "resource": "r"},
            "env_vars": [{"name": "REGION", "description": "The region", "required": false}]
        }},
        "groups": [{"name": "gg", "description": "A group of servers", "servers": {}, "remote_servers": {}}]
    })
}

#[test]
fn wrongly_typed_toolhive_values_yield_findings() {
    let doc = catalog();
    assert_eq!(validate_toolhive_registry(&doc), vec![]);
    let mut at = Vec::new();
    pointers(&doc, String::new(), &mut at);
    let mut checked = 0;
    for (pointer, original) in at {
        // Free-form members accept any value.
        let free = ["/custom_metadata/", "/tool_definitions/0/", "/predicate", "/$schema"];
        if free.iter().any(|f| pointer.contains(f)) {
            continue;
        }
        for junk in wrong_types(&original) {
            let mut damaged = doc.clone();
            if let Some(slot) = damaged.pointer_mut(&pointer) {
                *slot = junk.clone();
            }
            checked += 1;
            assert!(
                !validate_toolhive_registry(&damaged).is_empty(),
                "no finding for {pointer} := {junk} (was {original})"
            );
        }
    }
    assert!(checked > 300, "{checked}");
}
