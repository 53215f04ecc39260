//! The registry's publish rules: for each rule, a document that passes and one that fails with a
//! finding at the right pointer.

use serde_json::{Value, json};
use thv_model::validate::{Finding, Level, validate_strict};

/// A document that passes every strict rule; tests damage one field at a time.
fn good() -> Value {
    json!({
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        "name": "io.github.alice/notes",
        "title": "Notes",
        "description": "Search and edit Markdown notes",
        "version": "0.3.1",
        "websiteUrl": "https://alice.example/notes",
        "repository": {"url": "https://github.com/alice/notes-mcp", "source": "github", "subfolder": "servers/notes"},
        "icons": [{"src": "https://alice.example/icon.png"}],
        "packages": [
            {"registryType": "npm", "identifier": "@alice/notes", "version": "0.3.1",
             "transport": {"type": "streamable-http", "url": "http://localhost:{--port}/mcp"},
             "packageArguments": [{"type": "named", "name": "--port", "default": "8080"}],
             "environmentVariables": [{"name": "NOTES_TOKEN", "isSecret": true}]},
            {"registryType": "oci", "identifier": "ghcr.io/alice/notes:0.3.1", "transport": {"type": "stdio"}},
            {"registryType": "mcpb", "identifier": "https://github.com/alice/notes/releases/download/v0.3.1/notes.mcpb",
             "fileSha256": "fe333e598595000ae021bd27117db32ec69af6987f507ba7a63c90638ff633ce",
             "transport": {"type": "stdio"}}
        ],
        "remotes": [
            {"type": "streamable-http", "url": "https://{region}.notes.example.com/mcp",
             "variables": {"region": {"choices": ["eu", "us"]}}}
        ],
        "_meta": {"io.modelcontextprotocol.registry/publisher-provided": {"tool": "publisher-cli"}}
    })
}

/// `good()` with the value at `pointer` replaced (or removed when `value` is `None`).
fn with(pointer: &str, value: Option<Value>) -> Value {
    let mut doc = good();
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
            items[i] = value.expect("array items are replaced");
        }
        _ => panic!("no parent at {parent}"),
    }
    doc
}

/// Asserts exactly one strict finding, at `pointer`, whose message contains `needle`.
fn fails(doc: &Value, pointer: &str, needle: &str) {
    let findings = validate_strict(doc);
    let hits: Vec<&Finding> = findings.iter().filter(|f| f.pointer == pointer).collect();
    assert!(
        hits.iter().any(|f| f.message.contains(needle)),
        "expected a finding at {pointer} containing {needle:?}, got {findings:#?}"
    );
    assert!(findings.iter().all(|f| f.level == Level::Strict));
}

fn passes(doc: &Value) {
    let findings = validate_strict(doc);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn the_good_document_passes() {
    passes(&good());
}

#[test]
fn schema_url_is_required_and_must_name_a_released_date() {
    fails(&with("/$schema", None), "", "`$schema` is required");
    fails(
        &with("/$schema", Some(json!("https://static.modelcontextprotocol.io/schemas/2026-03-01/server.schema.json"))),
        "/$schema",
        "not a released schema date",
    );
    fails(&with("/$schema", Some(json!("https://example.com/x.json"))), "/$schema", "schema URL");
    passes(&with(
        "/$schema",
        Some(json!(
            "https://static.modelcontextprotocol.io/schemas/2025-09-29/server.schema.json#/definitions/ServerDetail"
        )),
    ));
}

#[test]
fn name_parts() {
    for bad in ["a/b/c", "nons", "a/bb", "io.github.x/b", "-io/bb", "io./bb", "io/b_", "io/_b"] {
        let doc = with("/name", Some(json!(bad)));
        let findings = validate_strict(&doc);
        assert!(findings.iter().any(|f| f.pointer == "/name"), "{bad}: {findings:#?}");
    }
    for ok in ["io.github.alice/notes", "ab/cd", "com.example/my_server.v2", "a-b/c-d"] {
        passes(&with("/name", Some(json!(ok))));
    }
    fails(&with("/name", Some(json!("a/b/c"))), "/name", "exactly one '/'");
}

#[test]
fn versions_are_specific() {
    fails(&with("/version", Some(json!("latest"))), "/version", "must not be \"latest\"");
    for range in ["^1.2.3", "~1.2", ">=1.0.0", "1.x", "1.2.*", "1.0 - 2.0", "1 || 2"] {
        fails(&with("/version", Some(json!(range))), "/version", "not a range");
    }
    for ok in ["1.0.0", "2025.12.1", "1.0.0-rc.1", "auto", "0.5.2rc4"] {
        passes(&with("/version", Some(json!(ok))));
    }
    fails(&with("/packages/0/version", Some(json!("^0.3.1"))), "/packages/0/version", "not a range");
    fails(&with("/packages/0/version", Some(json!("1".repeat(256)))), "/packages/0/version", "at most 255");
}

#[test]
fn title_and_description_are_not_blank() {
    fails(&with("/title", Some(json!("   "))), "/title", "white space");
    fails(&with("/description", Some(json!("\t "))), "/description", "white space");
    passes(&with("/title", None));
}

#[test]
fn website_and_icons_are_absolute_https() {
    fails(&with("/websiteUrl", Some(json!("http://alice.example"))), "/websiteUrl", "https");
    fails(&with("/websiteUrl", Some(json!("alice.example"))), "/websiteUrl", "absolute https");
    fails(&with("/websiteUrl", Some(json!("https://a.example/<x>"))), "/websiteUrl", "angle brackets");
    fails(&with("/icons/0/src", Some(json!("data:image/png;base64,AAAA"))), "/icons/0/src", "https");
}

#[test]
fn repository_source_url_and_subfolder() {
    fails(&with("/repository/source", Some(json!("bitbucket"))), "/repository/source", "\"github\" or \"gitlab\"");
    fails(&with("/repository/url", Some(json!("https://gitlab.com/alice/notes"))), "/repository/url", "github.com");
    let gitlab = with("/repository", Some(json!({"url": "https://gitlab.com/g/sub/notes", "source": "gitlab"})));
    passes(&gitlab);
    // The registry reads an empty repository as "none".
    passes(&with("/repository", Some(json!({}))));
    passes(&with("/repository", Some(json!({"url": "", "source": ""}))));
    for bad in ["/abs", "trailing/", "a//b", "a/../b", "./a", "with space"] {
        fails(&with("/repository/subfolder", Some(json!(bad))), "/repository/subfolder", "clean relative path");
    }
}

#[test]
fn packages_follow_their_registry_type() {
    fails(&with("/packages/0/registryType", Some(json!("gem"))), "/packages/0/registryType", "not accepted");
    for kind in ["npm", "pypi", "nuget", "cargo"] {
        let mut doc = with("/packages/0/version", None);
        doc["packages"][0]["registryType"] = json!(kind);
        fails(&doc, "/packages/0", "needs a `version`");
    }
    fails(
        &with("/packages/1/version", Some(json!("0.3.1"))),
        "/packages/1/version",
        "oci package must not have a `version`",
    );
    fails(
        &with("/packages/1/registryBaseUrl", Some(json!("https://docker.io"))),
        "/packages/1/registryBaseUrl",
        "must not have",
    );
    fails(
        &with("/packages/2/registryBaseUrl", Some(json!("https://github.com"))),
        "/packages/2/registryBaseUrl",
        "must not have",
    );
    fails(&with("/packages/2/fileSha256", None), "/packages/2", "needs `fileSha256`");
    fails(
        &with(
            "/packages/0/fileSha256",
            Some(json!("fe333e598595000ae021bd27117db32ec69af6987f507ba7a63c90638ff633ce")),
        ),
        "/packages/0/fileSha256",
        "only mcpb",
    );
    // mcpb may carry a version.
    passes(&with("/packages/2/version", Some(json!("0.3.1"))));
    fails(&with("/packages/0/identifier", Some(json!("@alice/notes mcp"))), "/packages/0/identifier", "spaces");
}

#[test]
fn package_transports() {
    fails(
        &with("/packages/1/transport", Some(json!({"type": "stdio", "url": "http://localhost:3000"}))),
        "/packages/1/transport/url",
        "stdio transport must not have a url",
    );
    fails(
        &with("/packages/0/transport/url", Some(json!("http://localhost:{port}/mcp"))),
        "/packages/0/transport/url",
        "{port}",
    );
    fails(
        &with("/packages/0/transport/url", Some(json!("ftp://host/mcp"))),
        "/packages/0/transport/url",
        "http(s) URL",
    );
    fails(&with("/packages/0/transport/url", Some(json!(""))), "/packages/0/transport/url", "needs a url");
    // Variables may also name environment variables and value hints.
    passes(&with("/packages/0/transport/url", Some(json!("http://{NOTES_TOKEN}.localhost:{--port}/mcp"))));
}

#[test]
fn named_arguments() {
    fails(
        &with("/packages/0/packageArguments/0/name", Some(json!("--port <port>"))),
        "/packages/0/packageArguments/0/name",
        "bare flag",
    );
    fails(
        &with("/packages/0/packageArguments/0/name", Some(json!("--$PORT"))),
        "/packages/0/packageArguments/0/name",
        "bare flag",
    );
    let mut doc = good();
    doc["packages"][0]["packageArguments"][0]["value"] = json!("--port=8080");
    fails(&doc, "/packages/0/packageArguments/0/value", "must not repeat the flag");
    let mut doc = good();
    doc["packages"][0]["packageArguments"][0]["default"] = json!("--port 8080");
    fails(&doc, "/packages/0/packageArguments/0/default", "must not repeat the flag");
}

#[test]
fn remotes_are_public_https_with_declared_variables() {
    fails(&with("/remotes/0/url", Some(json!("http://notes.example.com/mcp"))), "/remotes/0/url", "must use https");
    for local in ["https://localhost/mcp", "https://127.0.0.1:8443/mcp", "https://app.localhost/mcp"] {
        fails(&with("/remotes/0/url", Some(json!(local))), "/remotes/0/url", "local machine");
    }
    fails(&with("/remotes/0/url", Some(json!("https://{tenant}.notes.example.com/mcp"))), "/remotes/0/url", "{tenant}");
    fails(&with("/remotes/0/variables", None), "/remotes/0/url", "{region}");
    fails(&with("/remotes/0/url", Some(json!(""))), "/remotes/0/url", "must not be empty");
    passes(&with("/remotes/0/url", Some(json!("https://notes.example.com/mcp"))));
}

#[test]
fn publisher_meta_is_at_most_4096_bytes() {
    let big = "x".repeat(4_100);
    fails(
        &with("/_meta/io.modelcontextprotocol.registry~1publisher-provided", Some(json!({"blob": big}))),
        "/_meta/io.modelcontextprotocol.registry~1publisher-provided",
        "at most 4096 bytes",
    );
    // `{"blob":"…"}` is 11 bytes of overhead.
    passes(&with(
        "/_meta/io.modelcontextprotocol.registry~1publisher-provided",
        Some(json!({"blob": "x".repeat(4_096 - 11)})),
    ));
}

#[test]
fn snake_case_documents_get_the_same_rules_under_their_keys() {
    let doc = json!({
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-07-09/server.schema.json",
        "name": "io.github.alice/notes",
        "description": "Notes",
        "version": "1.0.0",
        "website_url": "http://alice.example",
        "packages": [{"registry_type": "oci", "identifier": "ghcr.io/a/b:1", "version": "1.0.0",
                      "transport": {"type": "stdio"}}]
    });
    fails(&doc, "/website_url", "https");
    fails(&doc, "/packages/0/version", "oci package");
}

#[test]
fn wrongly_typed_documents_do_not_panic() {
    assert_eq!(validate_strict(&json!([1, 2])).len(), 1);
    assert_eq!(validate_strict(&json!(null)).len(), 1);
    let junk = json!({
        "$schema": 5, "name": [], "version": {}, "title": 1, "websiteUrl": false,
        "repository": "x", "icons": {}, "packages": [null, 1, {"registryType": 5, "transport": []}],
        "remotes": [{"type": "sse", "url": 7}], "_meta": []
    });
    // Only the rules that can be read apply; the schema level reports the types.
    let findings = validate_strict(&junk);
    assert!(findings.iter().all(|f| f.level == Level::Strict), "{findings:#?}");
}
