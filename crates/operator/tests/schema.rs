//! The CRD's validation, exercised without a cluster: every example under `deploy/examples/` passes, and each
//! invalid spec below fails for its expected reason, first against the `openAPIV3Schema` (JSON Schema, with
//! unknown fields refused as `kubectl`'s strict field validation does), then against the
//! `x-kubernetes-validations` CEL rules (kube-cel, with the schema's defaults applied first, as an API server
//! applies them before CEL runs). See docs/operator.md for what a real API server does differently.

use std::path::PathBuf;

use kube::core::cel::{self, ScopeContext, Validator, WarningKind};
use serde_json::{Value, json};

/// The `openAPIV3Schema` of the operator's kind `kind`.
fn crd_schema(kind: &str) -> Value {
    let crd = thv_operator::crds().into_iter().find(|c| c.spec.names.kind == kind);
    let crd = crd.unwrap_or_else(|| panic!("no CRD of kind {kind}"));
    serde_json::to_value(crd.spec.versions[0].schema.as_ref().and_then(|s| s.open_api_v3_schema.as_ref()))
        .expect("schema")
}

/// The CRD schema of `kind` made strict: unknown fields refused, `nullable` allowing null.
fn strict_schema(kind: &str) -> Value {
    fn tighten(node: &mut Value) {
        let Some(object) = node.as_object_mut() else { return };
        if object.get("nullable") == Some(&Value::Bool(true))
            && let Some(Value::String(t)) = object.get("type").cloned()
        {
            object.insert("type".into(), json!([t, "null"]));
        }
        if object.contains_key("properties") && !object.contains_key("additionalProperties") {
            object.insert("additionalProperties".into(), Value::Bool(false));
        }
        for key in ["properties"] {
            if let Some(Value::Object(children)) = object.get_mut(key) {
                children.values_mut().for_each(tighten);
            }
        }
        for key in ["items", "additionalProperties"] {
            if let Some(child) = object.get_mut(key) {
                tighten(child);
            }
        }
    }
    let mut schema = crd_schema(kind);
    tighten(&mut schema);
    // The API server handles these itself; the schema does not list them.
    let properties = schema["properties"].as_object_mut().expect("properties");
    for key in ["apiVersion", "kind", "metadata"] {
        properties.insert(key.into(), json!({"type": if key == "metadata" { "object" } else { "string" }}));
    }
    schema
}

/// Why an object was refused, as text: JSON Schema errors as `<path>: <message>`, CEL failures as their message.
fn refusals(object: &Value) -> Vec<String> {
    assert_eq!(object["apiVersion"], "toolhive.stacklok.io/v1alpha1");
    let kind = object["kind"].as_str().expect("kind");
    let schema = strict_schema(kind);
    let validator = jsonschema::draft7::new(&schema).expect("the CRD schema compiles as JSON Schema");
    let mut out: Vec<String> = validator.iter_errors(object).map(|e| format!("{}: {}", e.instance_path(), e)).collect();
    if out.is_empty() {
        // CEL runs on objects the schema accepts, as on an API server.
        if let Err(errors) = Validator::new().validate(&crd_schema(kind), object, None) {
            out.extend(errors.iter().map(|e| {
                assert_eq!(e.kind, cel::ErrorKind::ValidationFailure, "{}: {} ({})", e.field_path, e.message, e.rule);
                e.message.clone()
            }));
        }
    }
    out
}

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/examples")
}

/// Every document of every example file, with its file name.
fn example_documents() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("deploy/examples")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("read example");
        let documents: Vec<Value> = serde_saphyr::from_multiple(&text).expect("example parses as YAML");
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        out.extend(documents.into_iter().map(|d| (name.clone(), d)));
    }
    out
}

/// Every MCPRegistry document of every example file (each file but the jobs' holds one).
fn examples() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("deploy/examples")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("read example");
        let documents: Vec<Value> = serde_saphyr::from_multiple(&text).expect("example parses as YAML");
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        if name == "jobs.yaml" {
            continue;
        }
        let registries: Vec<Value> = documents.into_iter().filter(|d| d["kind"] == "MCPRegistry").collect();
        assert_eq!(registries.len(), 1, "{name} holds one MCPRegistry");
        out.extend(registries.into_iter().map(|r| (name.clone(), r)));
    }
    out
}

#[test]
fn every_example_is_valid_and_there_is_one_per_source_type_and_storage_type() {
    let examples = examples();
    let kinds = |field: &dyn Fn(&Value) -> &Value| {
        let mut kinds: Vec<&str> = examples.iter().map(|(_, e)| field(e).as_str().unwrap_or("configmap")).collect();
        kinds.sort_unstable();
        kinds.dedup();
        kinds
    };
    assert_eq!(kinds(&|e| &e["spec"]["source"]["type"]), ["configmap", "git", "registry", "url"]);
    assert_eq!(kinds(&|e| &e["spec"]["storage"]["type"]), ["configmap", "postgres"]);
    for (name, example) in &examples {
        assert_eq!(refusals(example), Vec::<String>::new(), "{name}");
        // With the schema's defaults applied, it reads into the Rust types and converts to a local registry.
        let defaulted = cel::apply_defaults(&thv_operator::reference::crd_schema(), example);
        let registry: thv_operator::McpRegistry = serde_json::from_value(defaulted).expect(name);
        let registry_name = registry.metadata.name.as_deref().expect("named");
        thv_operator::convert::to_local(registry_name, &registry.spec).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// A valid MCPRegistry with `changes` merged into its spec (JSON merge patch: `null` removes a field).
fn with_spec(changes: Value) -> Value {
    let mut object = json!({
        "apiVersion": "toolhive.stacklok.io/v1alpha1",
        "kind": "MCPRegistry",
        "metadata": {"name": "platform"},
        "spec": {"source": {"type": "url", "url": {"url": "https://example.com/registry.json"}}},
    });
    merge(&mut object["spec"], &changes);
    object
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else {
                    merge(target.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

#[test]
fn edge_values_that_are_valid_pass() {
    let cases = [
        json!({"syncPolicy": {"interval": "30s"}}),
        json!({"syncPolicy": {"interval": "720h", "retry": {"maxRetries": 0, "backoffInterval": "1h"}}}),
        json!({"syncPolicy": {"interval": "1h30m", "retry": {"maxRetries": 100, "backoffInterval": "1s"}}}),
        json!({"source": {"url": {"url": "http://catalog.team-a.svc:8080/registry.json?ref=main",
            "headers": [{"name": "X-Team", "value": "a"}],
            "authSecret": {"name": "creds", "usernameKey": "user", "passwordKey": "password"}}}}),
        json!({"source": {"type": "git", "url": null, "git": {"repository": "https://example.com/r.git"}}}),
        json!({"source": {"type": "git", "url": null,
            "git": {"repository": "https://example.com/r.git", "commit": "3f2c9a1", "path": "a/b/c.json"}}}),
        json!({"source": {"type": "configmap", "url": null, "configMap": {"name": "catalog.v2", "key": "data_1.json"}}}),
        json!({"source": {"type": "registry", "url": null, "registry": {"url": "https://registry.example.com"}}}),
        json!({"api": {"enabled": false, "replicas": 0}, "suspend": true, "storage": {"type": "configmap"}}),
        json!({"storage": {"type": "postgres", "postgres": {"secretRef": {"name": "registry-db"}}}}),
        json!({"storage": {"type": "postgres", "postgres": {"secretRef": {"name": "db.v2", "key": "DATABASE_URL"}}}}),
        json!({"api": {"replicas": 20, "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}}}}),
        json!({"filter": {"include": {"names": ["io.github.*/*"], "tiers": ["Official"]},
            "exclude": {"tags": ["deprecated"], "transports": ["sse"], "categories": ["test"]}}}),
        json!({"validation": {"mode": "skip"}, "format": "upstream", "displayName": "P", "description": "D"}),
    ];
    for changes in cases {
        assert_eq!(refusals(&with_spec(changes.clone())), Vec::<String>::new(), "{changes}");
    }
    let mut longest = with_spec(json!({}));
    longest["metadata"]["name"] = json!("r".repeat(thv_operator::labels::REGISTRY_NAME_MAX));
    assert_eq!(refusals(&longest), Vec::<String>::new());
}

#[test]
fn invalid_specs_fail_for_their_reason() {
    let git = |git: Value| json!({"source": {"type": "git", "url": null, "git": git}});
    let repo = "https://example.com/r.git";
    let cases: Vec<(&str, Value, &str)> = vec![
        // The union of source blocks.
        (
            "type names a missing block",
            json!({"source": {"type": "git"}}),
            "set exactly the block that source.type names",
        ),
        ("two blocks", json!({"source": {"configMap": {"name": "c"}}}), "set exactly the block that source.type names"),
        ("no source", json!({"source": null}), "\"source\" is a required property"),
        ("unknown type", json!({"source": {"type": "s3"}}), "/spec/source/type: \"s3\" is not one of"),
        // Git refs and paths.
        (
            "branch and tag",
            git(json!({"repository": repo, "branch": "main", "tag": "v1"})),
            "set at most one of git.branch, git.tag and git.commit",
        ),
        (
            "commit not hex",
            git(json!({"repository": repo, "commit": "main"})),
            "/spec/source/git/commit: \"main\" does not match",
        ),
        ("absolute path", git(json!({"repository": repo, "path": "/etc/passwd"})), "git.path must be a relative path"),
        ("path leaves", git(json!({"repository": repo, "path": "a/../../b.json"})), "git.path must be a relative path"),
        (
            "ssh repository",
            git(json!({"repository": "git@github.com:o/r.git"})),
            "must be an absolute http:// or https:// URL",
        ),
        ("branch with space", git(json!({"repository": repo, "branch": "my branch"})), "/spec/source/git/branch"),
        // URLs.
        (
            "ftp url",
            json!({"source": {"url": {"url": "ftp://example.com/r.json"}}}),
            "must be an absolute http:// or https:// URL",
        ),
        (
            "not a url",
            json!({"source": {"url": {"url": "registry.json"}}}),
            "must be an absolute http:// or https:// URL",
        ),
        (
            "credentials in the url",
            json!({"source": {"url": {"url": "https://user:secret@example.com/r.json"}}}),
            "without user name or password",
        ),
        (
            "registry url with a token",
            json!({"source": {"type": "registry", "url": null, "registry": {"url": "https://t0ken@registry.example.com"}}}),
            "without user name or password",
        ),
        // Headers.
        (
            "authorization header",
            json!({"source": {"url": {"url": "https://example.com/r.json", "headers": [{"name": "authorization", "value": "Bearer x"}]}}}),
            "put credentials in authSecret, not in an Authorization header",
        ),
        (
            "header name with a space",
            json!({"source": {"url": {"url": "https://example.com/r.json", "headers": [{"name": "X Team", "value": "a"}]}}}),
            "/spec/source/url/headers/0/name",
        ),
        (
            "header value with a line break",
            json!({"source": {"url": {"url": "https://example.com/r.json", "headers": [{"name": "X-A", "value": "a\r\nInjected: b"}]}}}),
            "/spec/source/url/headers/0/value",
        ),
        // authSecret.
        (
            "token and username",
            json!({"source": {"url": {"url": "https://example.com/r.json", "authSecret": {"name": "s", "tokenKey": "t", "usernameKey": "u"}}}}),
            "authSecret needs tokenKey, or usernameKey and passwordKey, not both",
        ),
        (
            "username without password",
            json!({"source": {"url": {"url": "https://example.com/r.json", "authSecret": {"name": "s", "usernameKey": "u"}}}}),
            "authSecret needs tokenKey, or usernameKey and passwordKey, not both",
        ),
        (
            "no key at all",
            json!({"source": {"url": {"url": "https://example.com/r.json", "authSecret": {"name": "s"}}}}),
            "authSecret needs tokenKey, or usernameKey and passwordKey, not both",
        ),
        (
            "secret name with capitals",
            json!({"source": {"url": {"url": "https://example.com/r.json", "authSecret": {"name": "Creds", "tokenKey": "t"}}}}),
            "/spec/source/url/authSecret/name",
        ),
        // ConfigMap names and keys.
        (
            "configmap name",
            json!({"source": {"type": "configmap", "url": null, "configMap": {"name": "Bad_Name"}}}),
            "/spec/source/configMap/name",
        ),
        (
            "configmap key with a slash",
            json!({"source": {"type": "configmap", "url": null, "configMap": {"name": "c", "key": "a/b"}}}),
            "/spec/source/configMap/key",
        ),
        // Durations and bounds.
        (
            "interval too short",
            json!({"syncPolicy": {"interval": "10s"}}),
            "syncPolicy.interval must be between 30s and 720h",
        ),
        (
            "interval too long",
            json!({"syncPolicy": {"interval": "721h"}}),
            "syncPolicy.interval must be between 30s and 720h",
        ),
        (
            "fractional interval",
            json!({"syncPolicy": {"interval": "1.5h"}}),
            "/spec/syncPolicy/interval: \"1.5h\" does not match",
        ),
        ("interval in days", json!({"syncPolicy": {"interval": "1d"}}), "/spec/syncPolicy/interval"),
        (
            "backoff zero",
            json!({"syncPolicy": {"retry": {"backoffInterval": "0s"}}}),
            "syncPolicy.retry.backoffInterval must be between 1s and 1h",
        ),
        (
            "too many retries",
            json!({"syncPolicy": {"retry": {"maxRetries": 101}}}),
            "/spec/syncPolicy/retry/maxRetries: 101 is greater than",
        ),
        (
            "negative retries",
            json!({"syncPolicy": {"retry": {"maxRetries": -1}}}),
            "/spec/syncPolicy/retry/maxRetries: -1 is less than",
        ),
        ("too many replicas", json!({"api": {"replicas": 21}}), "/spec/api/replicas: 21 is greater than"),
        // Enums.
        ("format", json!({"format": "yaml"}), "/spec/format: \"yaml\" is not one of"),
        ("onUpdate", json!({"syncPolicy": {"onUpdate": "replace"}}), "/spec/syncPolicy/onUpdate"),
        ("validation mode", json!({"validation": {"mode": "strict"}}), "/spec/validation/mode"),
        ("storage type", json!({"storage": {"type": "s3"}}), "/spec/storage/type: \"s3\" is not one of"),
        // Storage: exactly the block storage.type names.
        (
            "postgres without its block",
            json!({"storage": {"type": "postgres"}}),
            "set storage.postgres exactly when storage.type is postgres",
        ),
        (
            "a postgres block on configmap storage",
            json!({"storage": {"type": "configmap", "postgres": {"secretRef": {"name": "db"}}}}),
            "set storage.postgres exactly when storage.type is postgres",
        ),
        (
            "a postgres block without a type",
            json!({"storage": {"postgres": {"secretRef": {"name": "db"}}}}),
            "set storage.postgres exactly when storage.type is postgres",
        ),
        (
            "postgres without a secretRef",
            json!({"storage": {"type": "postgres", "postgres": {}}}),
            "\"secretRef\" is a required property",
        ),
        (
            "secret key with a slash",
            json!({"storage": {"type": "postgres", "postgres": {"secretRef": {"name": "db", "key": "a/b"}}}}),
            "/spec/storage/postgres/secretRef/key",
        ),
        (
            "a URL in the spec",
            json!({"storage": {"type": "postgres", "postgres": {"url": "postgres://u:p@h/db", "secretRef": {"name": "db"}}}}),
            "Additional properties are not allowed ('url' was unexpected)",
        ),
        // Filters.
        ("filter value with spaces", json!({"filter": {"include": {"tags": [" web"]}}}), "/spec/filter/include/tags/0"),
        ("empty filter value", json!({"filter": {"exclude": {"names": [""]}}}), "/spec/filter/exclude/names/0"),
        // Unknown fields, as kubectl's strict field validation refuses them.
        ("misspelt field", json!({"filtr": {}}), "Additional properties are not allowed ('filtr' was unexpected)"),
    ];
    for (what, changes, expected) in cases {
        let found = refusals(&with_spec(changes));
        assert!(found.iter().any(|r| r.contains(expected)), "{what}: expected {expected:?}, got {found:?}");
    }

    for name in ["Platform", "9lives", "ends-", &"r".repeat(thv_operator::labels::REGISTRY_NAME_MAX + 1)] {
        let mut object = with_spec(json!({}));
        object["metadata"]["name"] = json!(name);
        let found = refusals(&object);
        assert!(
            found.iter().any(|r| r.contains("metadata.name names the registry's API Service")),
            "{name}: {found:?}"
        );
    }
}

/// Every rule compiles and passes kube-cel's static analysis (variables a CRD rule can see, its cost
/// heuristic). That the strings and lists rules walk are bounded is checked in `crd.rs`.
#[test]
fn every_rule_compiles_and_stays_in_scope() {
    fn walk(node: &cel::CompiledSchema, path: &str, out: &mut Vec<String>) {
        for compiled in node.validations.iter() {
            let compiled = compiled.as_ref().unwrap_or_else(|e| panic!("{path}: rule does not compile: {e:?}"));
            let rule = &compiled.rule.rule;
            for warning in cel::analyze_rule(rule, node, ScopeContext::CrdValidation) {
                // metadata is outside the schema; the API server bounds metadata.name itself (253).
                let about_metadata = rule.contains("self.metadata.name") && warning.kind == WarningKind::MissingBounds;
                // kube-cel 0.8 counts the variable a macro binds (`exists(h, …)`) as out of scope.
                let macro_variable = warning.kind == WarningKind::WrongScope
                    && warning.message.split('\'').nth(1).is_some_and(|var| rule.contains(&format!("({var}, ")));
                if !about_metadata && !macro_variable {
                    out.push(format!("{path}: {:?} {}", warning.kind, warning.message));
                }
            }
        }
        for (name, child) in &node.properties {
            walk(child, &format!("{path}.{name}"), out);
        }
        if let Some(items) = &node.items {
            walk(items, &format!("{path}[]"), out);
        }
    }
    let mut warnings = Vec::new();
    for kind in ["MCPRegistry", "MCPRegistrySyncJob", "MCPRegistryExportJob", "MCPRegistryImportJob"] {
        let compiled = cel::compile_schema(&crd_schema(kind));
        walk(&compiled, kind, &mut warnings);
    }
    assert_eq!(warnings, Vec::<String>::new());
}

/// What `thv registry migrate` writes for a catalog file (and for a local registry with a policy) passes the
/// schema and the CEL rules, and reads back into the same local registry.
#[test]
fn a_migrated_registry_is_valid() {
    use thv_operator::migrate::{Target, migrate};
    let local: thv_sync::RegistrySpec = serde_json::from_value(json!({
        "name": "local", "source": {"file": {"path": "registry.json"}}, "format": "toolhive",
        "syncPolicy": {"interval": "6h", "retry": {"maxRetries": 3, "backoffInterval": "1m"}},
        "filter": {"include": {"tags": ["official"]}, "exclude": {"names": ["*-experimental"]}},
        "validation": {"mode": "skip"},
    }))
    .expect("local spec");
    let target = Target { name: "platform".into(), namespace: Some("team-a".into()), key: "registry.json".into() };
    let migration = migrate(&local, Some(br#"{"servers": {}}"#), &target).expect("migrated");
    let object = serde_json::to_value(&migration.registry).expect("JSON");
    assert_eq!(refusals(&object), Vec::<String>::new(), "{object:#}");
    let (back, _) = thv_operator::convert::to_local("platform", &migration.registry.spec).expect("reads back");
    assert_eq!(
        (&back.sync_policy, &back.filter, &back.validation),
        (&local.sync_policy, &local.filter, &local.validation)
    );
}

/// A job of `kind` named `name` with `spec`.
fn job(kind: &str, spec: Value) -> Value {
    json!({"apiVersion": "toolhive.stacklok.io/v1alpha1", "kind": kind, "metadata": {"name": "job"}, "spec": spec})
}

#[test]
fn the_job_examples_are_valid_and_read_into_the_types() {
    let jobs: Vec<(String, Value)> = example_documents()
        .into_iter()
        .filter(|(_, d)| d["kind"].as_str().is_some_and(|k| k.ends_with("Job")))
        .collect();
    let mut kinds: Vec<&str> = jobs.iter().map(|(_, d)| d["kind"].as_str().expect("kind")).collect();
    kinds.sort_unstable();
    kinds.dedup();
    assert_eq!(kinds, ["MCPRegistryExportJob", "MCPRegistryImportJob", "MCPRegistrySyncJob"]);
    for (file, document) in &jobs {
        let name = document["metadata"]["name"].as_str().unwrap_or_default();
        assert_eq!(refusals(document), Vec::<String>::new(), "{file}: {name}");
        let defaulted = cel::apply_defaults(&crd_schema(document["kind"].as_str().expect("kind")), document);
        match document["kind"].as_str() {
            Some("MCPRegistrySyncJob") => {
                serde_json::from_value::<thv_operator::McpRegistrySyncJob>(defaulted).expect(name);
            }
            Some("MCPRegistryImportJob") => {
                let job = serde_json::from_value::<thv_operator::McpRegistryImportJob>(defaulted).expect(name);
                assert!(job.spec.config_map_ref.is_none_or(|c| !c.key.is_empty()), "{file}: {name}");
            }
            _ => {
                serde_json::from_value::<thv_operator::McpRegistryExportJob>(defaulted).expect(name);
            }
        }
    }
}

#[test]
fn job_specs_are_checked_on_admission() {
    let valid = [
        job("MCPRegistrySyncJob", json!({"registries": ["a", "b"]})),
        job("MCPRegistrySyncJob", json!({"selector": {}})),
        job(
            "MCPRegistrySyncJob",
            json!({"selector": {"matchLabels": {"tier": "gold"}}, "backoffLimit": 0,
            "ttlSecondsAfterFinished": 0, "timeoutSeconds": 10}),
        ),
        job("MCPRegistryExportJob", json!({"registry": "platform", "configMap": {"name": "platform-export"}})),
        job(
            "MCPRegistryExportJob",
            json!({"registry": "platform", "format": "upstream", "backoffLimit": 20,
            "configMap": {"name": "exports.v1", "key": "catalog.json"}, "ttlSecondsAfterFinished": 2592000}),
        ),
        job("MCPRegistryImportJob", json!({"registry": "platform", "inline": "{\"servers\": {}}"})),
        job(
            "MCPRegistryImportJob",
            json!({"registry": "platform", "mode": "replace", "url": "https://example.com/r.json"}),
        ),
        job(
            "MCPRegistryImportJob",
            json!({"registry": "platform", "mode": "merge", "configMapRef": {"name": "platform-export", "key": "registry.json"},
            "backoffLimit": 0, "ttlSecondsAfterFinished": 60}),
        ),
        job("MCPRegistryImportJob", json!({"registry": "platform", "configMapRef": {"name": "input"}})),
    ];
    for object in valid {
        assert_eq!(refusals(&object), Vec::<String>::new(), "{object}");
    }
    let both = "set exactly one of registries (names) and selector (labels)";
    let one_input = "set exactly one input: configMapRef, url or inline";
    let invalid: Vec<(&str, Value, &str)> = vec![
        ("names and selector", job("MCPRegistrySyncJob", json!({"registries": ["a"], "selector": {}})), both),
        ("neither", job("MCPRegistrySyncJob", json!({})), both),
        ("no names", job("MCPRegistrySyncJob", json!({"registries": []})), "/spec/registries: [] has less than 1 item"),
        ("bad name", job("MCPRegistrySyncJob", json!({"registries": ["Team_A"]})), "/spec/registries/0"),
        ("backoff", job("MCPRegistrySyncJob", json!({"registries": ["a"], "backoffLimit": 21})), "/spec/backoffLimit"),
        (
            "ttl",
            job("MCPRegistrySyncJob", json!({"registries": ["a"], "ttlSecondsAfterFinished": -1})),
            "/spec/ttlSecondsAfterFinished",
        ),
        (
            "timeout",
            job("MCPRegistrySyncJob", json!({"registries": ["a"], "timeoutSeconds": 1})),
            "/spec/timeoutSeconds",
        ),
        (
            "format",
            job("MCPRegistryExportJob", json!({"registry": "p", "format": "yaml", "configMap": {"name": "x"}})),
            "/spec/format: \"yaml\" is not one of",
        ),
        ("no target", job("MCPRegistryExportJob", json!({"registry": "p"})), "\"configMap\" is a required property"),
        (
            "no registry",
            job("MCPRegistryExportJob", json!({"configMap": {"name": "x"}})),
            "\"registry\" is a required property",
        ),
        (
            "target name",
            job("MCPRegistryExportJob", json!({"registry": "p", "configMap": {"name": "Bad_Name"}})),
            "/spec/configMap/name",
        ),
        (
            "target key",
            job("MCPRegistryExportJob", json!({"registry": "p", "configMap": {"name": "x", "key": "a/b"}})),
            "/spec/configMap/key",
        ),
        (
            "misspelt field",
            job("MCPRegistryExportJob", json!({"registry": "p", "configMap": {"name": "x"}, "fromat": "upstream"})),
            "'fromat' was unexpected",
        ),
        ("no input", job("MCPRegistryImportJob", json!({"registry": "p"})), one_input),
        (
            "two inputs",
            job("MCPRegistryImportJob", json!({"registry": "p", "inline": "{}", "url": "https://example.com/r.json"})),
            one_input,
        ),
        (
            "three inputs",
            job(
                "MCPRegistryImportJob",
                json!({"registry": "p", "inline": "{}", "url": "https://e.com/r", "configMapRef": {"name": "x"}}),
            ),
            one_input,
        ),
        (
            "import mode",
            job("MCPRegistryImportJob", json!({"registry": "p", "mode": "append", "inline": "{}"})),
            "/spec/mode: \"append\" is not one of",
        ),
        ("url scheme", job("MCPRegistryImportJob", json!({"registry": "p", "url": "file:///etc/passwd"})), "/spec/url"),
        (
            "inline too large",
            job("MCPRegistryImportJob", json!({"registry": "p", "inline": "x".repeat(256 * 1024 + 1)})),
            "/spec/inline",
        ),
        ("empty inline", job("MCPRegistryImportJob", json!({"registry": "p", "inline": ""})), "/spec/inline"),
        (
            "import key",
            job("MCPRegistryImportJob", json!({"registry": "p", "configMapRef": {"name": "x", "key": "a/b"}})),
            "/spec/configMapRef/key",
        ),
        (
            "import registry",
            job("MCPRegistryImportJob", json!({"inline": "{}"})),
            "\"registry\" is a required property",
        ),
    ];
    for (what, object, expected) in invalid {
        let found = refusals(&object);
        assert!(found.iter().any(|r| r.contains(expected)), "{what}: expected {expected:?}, got {found:?}");
    }
}
