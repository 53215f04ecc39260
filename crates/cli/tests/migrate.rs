//! End-to-end tests of `thv registry migrate | export | import`: the manifests `migrate` writes (checked by
//! `scripts/validate-manifests.sh`, i.e. kubernetes-validate --strict and the committed CRD's schema), the
//! stored catalog `export` writes, and the imported layer `import` manages, against a real SQLite store in a
//! temporary directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use thv_testdata::{REAL_DUMP, TOOLHIVE_REGISTRY, shared_file};

mod support;

use support::Env;

fn documents(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple(text).expect("the manifests are YAML")
}

/// Runs `scripts/validate-manifests.sh FILE` when kubernetes-validate is installed where the script keeps it;
/// without it the check is skipped with a note, unless `THV_REQUIRE_TOOLS=1`.
fn validate_manifests(file: &Path) {
    let venv = std::env::var_os("THV_KV_VENV").map(PathBuf::from).unwrap_or_else(|| {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"));
        cache.join("thv-registry/kubernetes-validate-1.37.0")
    });
    if !venv.join("bin/kubernetes-validate").is_file() {
        assert!(
            std::env::var("THV_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "THV_REQUIRE_TOOLS=1 but kubernetes-validate is not in {} (scripts/validate-manifests.sh installs it)",
            venv.display()
        );
        eprintln!("skipping kubernetes-validate: not in {} (run scripts/validate-manifests.sh once)", venv.display());
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/validate-manifests.sh");
    let out = Command::new("bash").arg(script).arg(file).env("THV_KV_VENV", &venv).output().expect("bash runs");
    assert!(
        out.status.success(),
        "validate-manifests.sh {}:\n{}{}",
        file.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------------------------
// migrate
// ---------------------------------------------------------------------------------------------------------

/// `deploy/examples/gitops/platform.yaml` (docs/gitops.md) is committed exactly as `migrate` writes it.
#[test]
fn the_gitops_example_is_what_migrate_writes() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/examples/gitops");
    let catalog = example.join("catalog/registry.json").display().to_string();
    let run = Env::new().ok(&["registry", "migrate", &catalog, "--name", "platform"]);
    let committed = std::fs::read_to_string(example.join("platform.yaml")).expect("the committed example");
    assert!(
        run.stdout == committed,
        "deploy/examples/gitops/platform.yaml drifted from what migrate writes; regenerate it with\n  thv registry \
         migrate deploy/examples/gitops/catalog/registry.json --name platform --output \
         deploy/examples/gitops/platform.yaml\nmigrate wrote:\n{}",
        run.stdout
    );
}

#[test]
fn migrate_of_the_toolhive_catalog_writes_valid_manifests_holding_the_file() {
    let Some(catalog) = shared_file(TOOLHIVE_REGISTRY) else { return };
    let env = Env::new();
    let out = env.path("k8s-registry.yaml");
    let run = env.ok(&["registry", "migrate", &catalog.display().to_string(), "--output", &out.display().to_string()]);
    assert!(run.stdout.is_empty(), "the manifests went to the file: {}", run.stdout);
    assert!(run.stderr.contains("kubectl apply --server-side -f"), "{}", run.stderr);
    validate_manifests(&out);
    let docs = documents(&std::fs::read_to_string(&out).expect("read"));
    assert_eq!(
        docs.iter().map(|d| d["kind"].as_str().unwrap_or_default()).collect::<Vec<_>>(),
        ["ConfigMap", "MCPRegistry"]
    );
    let bytes = std::fs::read(&catalog).expect("catalog");
    assert_eq!(docs[0]["data"]["registry.json"].as_str().map(str::as_bytes), Some(&bytes[..]), "the file, as written");
    assert_eq!(docs[0]["metadata"]["name"], "registry-registry-source");
    let registry: thv_operator::McpRegistry = serde_json::from_value(docs[1].clone()).expect("an MCPRegistry");
    assert_eq!(registry.metadata.name.as_deref(), Some("registry"), "named after the file");
    assert_eq!(
        serde_json::to_value(&registry.spec.source).expect("json"),
        json!({"type": "configmap", "configMap": {"name": "registry-registry-source", "key": "registry.json"}})
    );
    assert_eq!(registry.spec.format, Some(thv_operator::SourceFormat::Toolhive), "the detected format is set");
}

#[test]
fn migrate_compresses_the_real_dump_and_keeps_a_registry_policy() {
    let Some(dump) = shared_file(REAL_DUMP) else { return };
    let env = Env::new();
    let config = json!({"registries": [{
        "name": "internal", "source": {"file": {"path": dump}}, "syncPolicy": {"interval": "6h"},
        "filter": {"include": {"names": ["io.github.*"]}}, "validation": {"mode": "skip"},
    }]});
    std::fs::create_dir_all(env.config_path().parent().expect("a folder")).expect("config folder");
    std::fs::write(env.config_path(), config.to_string()).expect("write the config");
    let out = env.path("internal.yaml");
    let run = env.ok(&[
        "registry",
        "migrate",
        "--registry",
        "internal",
        "-n",
        "team-a",
        "--key",
        "catalog.json",
        "--output",
        &out.display().to_string(),
        "--summary",
        "json",
    ]);
    let summary = run.json();
    assert_eq!(summary["encoding"], "gzip", "{summary}");
    assert_eq!(summary["configMap"], "internal-registry-source");
    assert!(summary["dataBytes"].as_u64().expect("bytes") < 1024 * 1024);
    validate_manifests(&out);
    let docs = documents(&std::fs::read_to_string(&out).expect("read"));
    assert!(
        docs[0].get("data").is_none() && docs[0]["binaryData"]["catalog.json"].is_string(),
        "{}",
        docs[0]["metadata"]
    );
    assert_eq!(docs[1]["metadata"], json!({"name": "internal", "namespace": "team-a"}));
    let spec = &docs[1]["spec"];
    assert_eq!(spec["syncPolicy"]["interval"], "6h");
    assert_eq!(spec["filter"], json!({"include": {"names": ["io.github.*"]}}));
    assert_eq!(spec["validation"], json!({"mode": "skip"}));
}

#[test]
fn migrate_refuses_what_it_cannot_express_and_names_it() {
    let env = Env::new();
    let broken = env.write("broken.json", b"{\"servers\": ");
    let run = env.run(&["registry", "migrate", &broken]).expect_code(2, "a broken file");
    assert!(run.stderr.contains("broken.json"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
    let catalog = env.write("My_Catalog.json", br#"{"servers": {}}"#);
    let run = env.ok(&["registry", "migrate", &catalog]);
    assert_eq!(documents(&run.stdout)[1]["metadata"]["name"], "my-catalog", "a name made from the file's");
    let run = env.run(&["registry", "migrate", &catalog, "--name", "Bad_Name"]).expect_code(2, "a bad name");
    assert!(run.stderr.contains("\"Bad_Name\" cannot name an MCPRegistry"), "{}", run.stderr);
    env.ok(&["registry", "add", "official", "--registry-api", "https://registry.example.com", "--interval", "2h"]);
    let run = env.ok(&["registry", "migrate", "--registry", "official"]);
    let docs = documents(&run.stdout);
    assert_eq!(docs.len(), 1, "no data travels with a registry-API source");
    assert_eq!(docs[0]["spec"]["source"]["registry"]["url"], "https://registry.example.com");
    let run = env.run(&["registry", "migrate", "--registry", "nope"]).expect_code(2, "an unknown registry");
    assert!(run.stderr.contains("\"nope\""), "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------------------------
// export and import
// ---------------------------------------------------------------------------------------------------------

/// Adds a registry whose source is an empty catalog file: a registry holding only what is imported.
fn add_empty(env: &Env, name: &str) {
    let file = env.write(&format!("{name}-empty.json"), br#"{"servers": {}}"#);
    env.ok(&["registry", "add", name, "--file", &file]);
}

/// Export → import into an empty registry → export gives the same bytes, in both formats, on real data; and a
/// sync of the importing registry keeps it so.
#[test]
fn export_import_export_is_a_fixed_point_in_both_formats() {
    let (Some(toolhive), Some(dump)) = (shared_file(TOOLHIVE_REGISTRY), shared_file(REAL_DUMP)) else { return };
    let env = Env::new();
    for (name, file) in [("toolhive", &toolhive), ("official", &dump)] {
        env.ok(&["registry", "add", name, "--file", &file.display().to_string()]);
        env.ok(&["registry", "sync", name]);
    }
    for (source, format) in [("toolhive", "toolhive"), ("toolhive", "upstream"), ("official", "upstream")] {
        let first = env.path(&format!("{source}-{format}-1.json")).display().to_string();
        let second = env.path(&format!("{source}-{format}-2.json")).display().to_string();
        let target = format!("{source}-{format}-copy");
        env.ok(&["registry", "export", source, "--format", format, "--output", &first]);
        add_empty(&env, &target);
        env.ok(&["registry", "import", "--file", &first, "--registry", &target]);
        env.ok(&["registry", "export", &target, "--format", format, "--output", &second]);
        let (a, b) = (std::fs::read(&first).expect("first"), std::fs::read(&second).expect("second"));
        assert!(
            a == b,
            "{source} as {format}: the second export differs from the first ({} vs {} bytes)",
            a.len(),
            b.len()
        );
        env.ok(&["registry", "sync", &target]);
        env.ok(&["registry", "export", &target, "--format", format, "--output", &second]);
        assert!(std::fs::read(&second).expect("again") == a, "{source} as {format}: a sync changed the export");
    }
    let exported: Value =
        serde_json::from_slice(&std::fs::read(env.path("official-upstream-1.json")).expect("read")).expect("JSON");
    assert_eq!(exported.as_array().map(Vec::len), Some(2_794), "every version of the dump");
}

#[test]
fn import_reports_each_entry_keeps_the_catalog_on_a_broken_file_and_clears() {
    let env = Env::new();
    let source = env.write(
        "source.json",
        json!([{"server": {"name": "io.x/a", "version": "1.0.0", "description": "from the source"}}])
            .to_string()
            .as_bytes(),
    );
    env.ok(&["registry", "add", "platform", "--file", &source, "--exclude-name", "io.x/secret*"]);
    env.ok(&["registry", "sync", "platform"]);
    let file = env.write(
        "servers.json",
        json!([
            {"server": {"name": "io.x/a", "version": "1.0.0", "description": "imported"}},
            {"server": {"name": "io.x/new", "version": "2.0.0", "description": "imported"}},
            {"server": {"name": "io.x/secret", "version": "1.0.0", "description": "imported"}},
        ])
        .to_string()
        .as_bytes(),
    );
    let run = env.run(&["registry", "import", "--file", &file, "--registry", "platform", "-o", "json"]);
    let report = run.expect_code(1, "one record rejected").json();
    assert_eq!(report["counts"], json!({"added": 1, "updated": 1, "unchanged": 0, "removed": 0, "rejected": 1}));
    let rejected = report["entries"].as_array().expect("entries").iter().find(|e| e["outcome"] == "rejected").cloned();
    assert_eq!(rejected.as_ref().map(|e| e["server"].clone()), Some(json!("io.x/secret")), "{report}");
    assert!(rejected.and_then(|e| e["reason"].as_str().map(str::to_owned)).is_some_and(|r| r.contains("filter")));

    let show = env.ok(&["registry", "show", "platform", "-o", "json"]).json();
    assert_eq!(show["importedEntries"], 2);
    let table = env.ok(&["registry", "show", "platform"]).stdout;
    assert!(table.contains("imported: 2 in the imported layer"), "{table}");
    let described = |env: &Env| {
        let export: Value = serde_json::from_str(&env.ok(&["registry", "export", "platform"]).stdout).expect("JSON");
        let rows: Vec<(String, String)> = export
            .as_array()
            .expect("array")
            .iter()
            .map(|r| {
                (
                    r["server"]["name"].as_str().unwrap_or_default().to_owned(),
                    r["server"]["description"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        rows
    };
    let imported = vec![("io.x/a".to_owned(), "imported".to_owned()), ("io.x/new".to_owned(), "imported".to_owned())];
    assert_eq!(described(&env), imported);
    env.ok(&["registry", "sync", "platform"]);
    assert_eq!(described(&env), imported, "a sync keeps the imported entries");

    let broken = env.write("broken.json", b"[{\"server\": ");
    let run = env.run(&["registry", "import", "--file", &broken, "--registry", "platform", "--mode", "replace"]);
    let run = run.expect_code(2, "a broken file");
    assert!(run.stderr.contains("broken.json"), "{}", run.stderr);
    assert_eq!(described(&env), imported, "a broken file changes nothing");

    let run = env.ok(&["registry", "import", "--registry", "platform", "--clear"]);
    assert!(run.stdout.contains("2 removed"), "{}", run.stdout);
    env.ok(&["registry", "sync", "platform"]);
    assert_eq!(
        described(&env),
        vec![("io.x/a".to_owned(), "from the source".to_owned())],
        "the source's version is back"
    );
}
