//! The OpenAPI document: the committed copy is current, the document is sound, it covers every route, the
//! responses conform to it, and it matches the upstream generic spec's route table.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use common::{assert_problem, enc, get, state_of, to_version};
use serde_json::{Value, json};
use thv_api::{openapi_document, openapi_json, openapi_yaml, router};

/// The committed copy, `docs/openapi.yaml`.
fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.yaml")
}

/// The document as JSON, parsed back from its YAML rendering.
fn document() -> Value {
    serde_saphyr::from_str(&openapi_yaml()).expect("the YAML rendering parses")
}

#[test]
fn committed_document_is_up_to_date() {
    let path = committed_path();
    let generated = openapi_yaml();
    if std::env::var("THV_UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &generated).expect("write docs/openapi.yaml");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.yaml differs from the document the code generates; regenerate it with\n    \
         THV_UPDATE_OPENAPI=1 cargo test -p thv-api --test openapi\nand commit the result"
    );
}

#[test]
fn renderings_agree_and_identify_an_mcp_registry() {
    let yaml = document();
    let json: Value = serde_json::from_str(&openapi_json()).expect("the JSON rendering parses");
    assert_eq!(yaml, json, "YAML and JSON renderings differ");
    assert_eq!(json, serde_json::to_value(openapi_document()).expect("document as JSON"));
    assert_eq!(yaml["openapi"], "3.1.0");
    assert_eq!(yaml["info"]["title"], "thv-registry");
    // ToolHive's `api` sources require both (see docs/api.md).
    assert_eq!(yaml["info"]["version"], "1.0.0");
    assert!(yaml["info"]["description"].as_str().unwrap().contains("https://github.com/modelcontextprotocol/registry"));
    for key in ["paths", "components", "tags"] {
        assert!(yaml[key].is_object() || yaml[key].is_array(), "{key}");
    }
}

/// Resolves a local `$ref` (`#/components/schemas/X`).
fn resolve<'a>(document: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').expect("local reference");
            resolve(document, document.pointer(pointer).unwrap_or_else(|| panic!("dangling {reference}")))
        }
        None => node,
    }
}

/// Every `$ref` value under `node`.
fn references(node: &Value, out: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(reference)) => out.push(reference.clone()),
                    _ => references(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, out)),
        _ => {}
    }
}

/// The `{…}` names of a path template.
fn template_parameters(path: &str) -> BTreeSet<String> {
    path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).map(str::to_owned).collect()
}

/// (name, in) of an operation's parameters.
fn parameters(document: &Value, operation: &Value) -> BTreeSet<(String, String)> {
    let list = operation["parameters"].as_array().cloned().unwrap_or_default();
    list.iter()
        .map(|p| resolve(document, p))
        .map(|p| (p["name"].as_str().expect("parameter name").to_owned(), p["in"].as_str().expect("`in`").to_owned()))
        .collect()
}

#[test]
fn document_is_consistent() {
    let document = document();
    let mut refs = Vec::new();
    references(&document, &mut refs);
    assert!(refs.len() > 50, "{}", refs.len());
    for reference in &refs {
        resolve(&document, &json!({"$ref": reference}));
    }
    let mut operation_ids = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        let operations: Vec<&Value> =
            ["get", "put", "post", "delete", "patch"].iter().filter_map(|method| item.get(*method)).collect();
        assert!(!operations.is_empty(), "{path} has no operation");
        for operation in operations {
            let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{path}: no operationId"));
            assert!(operation_ids.insert(id.to_owned()), "duplicate operationId {id}");
            let in_path: BTreeSet<String> = parameters(&document, operation)
                .into_iter()
                .filter(|(_, at)| at == "path")
                .map(|(name, _)| name)
                .collect();
            assert_eq!(in_path, template_parameters(path), "{path}: path parameters");
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.keys().any(|status| status.starts_with('2')), "{path}: no success");
            for (status, response) in responses.iter().filter(|(status, _)| status.starts_with(['4', '5'])) {
                let content = response["content"].as_object().unwrap_or_else(|| panic!("{path} {status}: no content"));
                assert!(content.contains_key("application/problem+json"), "{path} {status}: not problem+json");
            }
        }
    }
}

/// A path with its placeholders replaced by `{}`.
fn shape(path: &str) -> String {
    path.split('/').map(|s| if s.starts_with('{') { "{}" } else { s }).collect::<Vec<_>>().join("/")
}

/// Every `.route("…"` literal in the router's sources (`src/routes/*.rs`), and every `.route(&at("…")`
/// (a route under each prefix of the read API).
fn routed_literals() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/routes");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("src/routes") {
        let text = std::fs::read_to_string(entry.expect("an entry").path()).expect("a source file");
        for piece in text.split(".route(").skip(1) {
            let piece = piece.trim_start();
            if let Some(literal) = piece.strip_prefix('"').or_else(|| piece.strip_prefix("&at(\"")) {
                out.push(literal.split('"').next().unwrap_or_default().to_owned());
            }
        }
    }
    out
}

/// Two registries: `alpha` with two versions of one name (one deleted) and `beta` with one server.
async fn small_app() -> axum::Router {
    let record = |name: &str, version: &str, status: &str, latest: bool| {
        json!({
            "server": {"name": name, "description": "d", "version": version},
            "_meta": {"io.modelcontextprotocol.registry/official": {
                "status": status, "publishedAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-01-02T00:00:00.5Z",
                "isLatest": latest}}
        })
    };
    let alpha = vec![
        to_version(&record("io.github.acme/tool", "1.0.0", "deleted", false)),
        to_version(&record("io.github.acme/tool", "1.1.0", "active", true)),
    ];
    let beta = vec![to_version(&record("com.example/other", "0.1.0", "deprecated", true))];
    let state = state_of(vec![("alpha", alpha), ("beta", beta)]).await;
    state.set_ready(true);
    router(state)
}

/// A validator of `schema` (a node of the document, usually a `$ref`) with the document's components.
fn validator(document: &Value, schema: &Value) -> jsonschema::Validator {
    let mut root = schema.clone();
    root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    root["components"] = document["components"].clone();
    jsonschema::options().should_validate_formats(true).build(&root).expect("a valid JSON schema")
}

/// Asserts that `reply` is documented for `operation`: status, media type and body schema.
fn assert_conforms(document: &Value, operation: &Value, uri: &str, reply: &common::Reply) {
    let status = reply.status.as_u16().to_string();
    let response = operation["responses"]
        .get(&status)
        .unwrap_or_else(|| panic!("GET {uri}: status {status} is not documented: {}", reply.text));
    let media = reply.header("content-type").unwrap_or_default();
    let content =
        response["content"].get(media).unwrap_or_else(|| panic!("GET {uri}: {status} as {media} is not documented"));
    let body: Value = if media.contains("json") {
        serde_json::from_str(&reply.text).expect("a JSON body")
    } else if media.contains("yaml") {
        serde_saphyr::from_str(&reply.text).expect("a YAML body")
    } else {
        Value::String(reply.text.clone())
    };
    {
        let validator = validator(document, &content["schema"]);
        let errors: Vec<String> =
            validator.iter_errors(&body).map(|e| format!("{:.300} at {}", e.to_string(), e.instance_path())).collect();
        assert!(errors.is_empty(), "GET {uri}: the body does not match its schema: {errors:?}");
    }
}

#[tokio::test]
async fn every_route_is_documented_and_answers_as_documented() {
    let document = document();
    let paths = document["paths"].as_object().unwrap();
    // The router's route literals are all documented (nested read routes under each prefix).
    let shapes: Vec<String> = paths.keys().map(|p| shape(p)).collect();
    let literals = routed_literals();
    assert!(literals.len() >= 10, "{literals:?}");
    for literal in &literals {
        let literal = shape(literal);
        assert!(shapes.iter().any(|s| s.ends_with(&literal)), "route {literal} is not in the document");
    }
    // Every documented path is served, with documented statuses, media types and bodies.
    let app = small_app().await;
    for (path, item) in paths {
        let Some(operation) = item.get("get") else { continue };
        for (registry, name, version) in [
            ("alpha", "io.github.acme/tool", "latest"),
            ("alpha", "io.github.acme/tool", "1.0.0"),
            ("beta", "io.github.acme/tool", "1.1.0"),
            ("gamma", "nobody/none", "1"),
        ] {
            for query in ["", "?include_deleted=true", "?limit=1", "?limit=0", "?updated_since=x", "?version=latest"] {
                let uri = path
                    .replace("{registry}", registry)
                    .replace("{serverName}", &enc(name))
                    .replace("{version}", &enc(version))
                    + query;
                let reply = get(&app, &uri).await;
                assert_ne!(reply.json()["detail"], thv_api::ENDPOINT_NOT_FOUND, "GET {uri} is not routed");
                assert_conforms(&document, operation, &uri, &reply);
            }
        }
    }
    // The NUL-byte rejection answers 400 as plain JSON, as documented.
    let operation = &paths["/v0.1/servers"]["get"];
    assert_conforms(&document, operation, "/v0.1/servers?search=%00", &get(&app, "/v0.1/servers?search=%00").await);
}

#[tokio::test]
async fn the_document_is_served_at_the_root_and_per_registry() {
    let app = small_app().await;
    for base in ["", "/registry/alpha", "/registry/beta"] {
        let reply = get(&app, &format!("{base}/openapi.yaml")).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("content-type"), Some("application/yaml"));
        assert_eq!(reply.text, openapi_yaml());
        let reply = get(&app, &format!("{base}/openapi.json")).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("content-type"), Some("application/json"));
        assert_eq!(reply.text, openapi_json());
    }
    assert_problem(&get(&app, "/registry/gamma/openapi.yaml").await, 404, "Registry \"gamma\" not found");
    assert_problem(&get(&app, "/registry/gamma/openapi.json").await, 404, "Registry \"gamma\" not found");
}

#[tokio::test]
async fn the_real_dump_conforms_to_the_document() {
    let Some(app) = common::dump_app() else { return };
    let document = document();
    let operation = &document["paths"]["/v0.1/servers"]["get"];
    let mut cursor = String::new();
    let mut seen = 0;
    loop {
        let uri = format!("/v0.1/servers?limit=100&include_deleted=true&cursor={}", enc(&cursor));
        let reply = get(&app, &uri).await;
        assert_conforms(&document, operation, &uri, &reply);
        let page = reply.json();
        seen += page["servers"].as_array().unwrap().len();
        match page["metadata"]["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, 2_794);
}

/// Upstream operations we do not serve: the optional write API (publish, edit, delete, status).
const UNSUPPORTED_UPSTREAM: &[(&str, &str)] = &[
    ("/v0.1/publish", "post"),
    ("/v0.1/servers/{serverName}/versions/{version}", "put"),
    ("/v0.1/servers/{serverName}/versions/{version}", "delete"),
    ("/v0.1/servers/{serverName}/versions/{version}/status", "patch"),
    ("/v0.1/servers/{serverName}/status", "patch"),
];

/// Asserts that every property the upstream schema names exists in ours at the same place, with the same
/// type and enum, and that upstream's closed objects are closed in ours too. `server` (upstream's full
/// `ServerDetail`) is only required to be an open object in ours.
fn assert_covers(upstream_doc: &Value, upstream: &Value, ours_doc: &Value, ours: &Value, at: &str) {
    let (upstream, ours) = (resolve(upstream_doc, upstream), resolve(ours_doc, ours));
    for key in ["type", "enum"] {
        if upstream.get(key).is_some() {
            assert_eq!(upstream[key], ours[key], "{at}: {key}");
        }
    }
    if upstream["additionalProperties"] == false {
        assert_eq!(ours["additionalProperties"], false, "{at}: closed upstream");
    }
    if let Some(items) = upstream.get("items") {
        assert_covers(upstream_doc, items, ours_doc, &ours["items"], &format!("{at}[]"));
    }
    let Some(properties) = upstream["properties"].as_object() else { return };
    for (name, schema) in properties {
        let path = format!("{at}.{name}");
        let mine = ours["properties"].get(name).unwrap_or_else(|| panic!("{path} is missing in ours"));
        if name == "server" {
            let mine = resolve(ours_doc, mine);
            assert_eq!(mine["type"], "object", "{path}");
            assert_eq!(mine["additionalProperties"], true, "{path}");
        } else {
            assert_covers(upstream_doc, schema, ours_doc, mine, &path);
        }
    }
}

#[test]
fn matches_the_upstream_route_table() {
    let Some(path) = thv_testdata::shared_file("upstream/schemas/openapi.generic.yaml") else { return };
    let upstream: Value = serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let ours = document();
    let mut checked = BTreeMap::new();
    for (path, item) in upstream["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if method != "get" {
                assert!(
                    UNSUPPORTED_UPSTREAM.contains(&(path.as_str(), method.as_str())),
                    "{method} {path} is new upstream"
                );
                continue;
            }
            let mine = &ours["paths"][path]["get"];
            assert!(mine.is_object(), "GET {path} is missing in ours");
            assert_eq!(parameters(&ours, mine), parameters(&upstream, operation), "GET {path}: parameters");
            for status in operation["responses"].as_object().unwrap().keys() {
                assert!(mine["responses"].get(status).is_some(), "GET {path}: {status} is not documented in ours");
            }
            let schema = &operation["responses"]["200"]["content"]["application/json"]["schema"];
            let my_schema = &mine["responses"]["200"]["content"]["application/json"]["schema"];
            assert_covers(&upstream, schema, &ours, my_schema, &format!("GET {path}"));
            checked.insert(path.clone(), ());
        }
    }
    assert_eq!(checked.len(), 3, "{checked:?}");
}
