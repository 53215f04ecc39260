//! The generated CRD: the committed copy under `deploy/crds/` is current, and the schema keeps the structural
//! rules of Kubernetes and the conventions kstatus and `kubectl` rely on.

use std::path::PathBuf;

use serde_json::Value;

/// The committed copies, one file per CRD.
fn crds_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds")
}

#[test]
fn committed_crds_are_up_to_date() {
    let update = std::env::var("THV_UPDATE_CRDS").is_ok_and(|v| v == "1");
    let mut stale = Vec::new();
    for crd in thv_operator::crds() {
        let path = crds_dir().join(thv_operator::crd_file_name(&crd));
        let generated = thv_operator::crd_yaml(&crd).expect("render");
        if update {
            std::fs::write(&path, &generated).expect("write deploy/crds");
            continue;
        }
        if std::fs::read_to_string(&path).unwrap_or_default() != generated {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "{stale:?} differ from the CRDs the code generates; regenerate them with\n    \
         THV_UPDATE_CRDS=1 cargo test -p thv-operator --test crd\nand commit the result"
    );
    // The kustomization lists every CRD file, in the order of `thv operator crds`.
    let kustomization = std::fs::read_to_string(crds_dir().join("kustomization.yaml")).expect("kustomization");
    let listed: Vec<&str> = kustomization.lines().filter_map(|l| l.trim().strip_prefix("- ")).collect();
    let files: Vec<String> = thv_operator::crds().iter().map(thv_operator::crd_file_name).collect();
    assert_eq!(listed, files, "deploy/crds/kustomization.yaml");
}

fn crd() -> Value {
    serde_json::to_value(thv_operator::crds().remove(0)).expect("CRD as JSON")
}

/// Every CRD as JSON, with its plural.
fn all_crds() -> Vec<(String, Value)> {
    thv_operator::crds()
        .into_iter()
        .map(|c| (c.spec.names.plural.clone(), serde_json::to_value(c).expect("CRD as JSON")))
        .collect()
}

fn schema_of(crd: &Value) -> Value {
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

/// Calls `visit(path, node)` on every schema node below `node`.
fn walk(node: &Value, path: &str, visit: &mut dyn FnMut(&str, &Value)) {
    visit(path, node);
    if let Some(properties) = node.get("properties").and_then(Value::as_object) {
        for (name, child) in properties {
            walk(child, &format!("{path}.{name}"), visit);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child) = node.get(key).filter(|c| c.is_object()) {
            walk(child, &format!("{path}[]"), visit);
        }
    }
}

#[test]
fn the_schemas_are_structural() {
    let mut problems = Vec::new();
    for (plural, crd) in all_crds() {
        walk(&schema_of(&crd), &plural, &mut |path, node| {
            for junctor in ["oneOf", "anyOf", "allOf", "not", "$ref"] {
                if node.get(junctor).is_some() {
                    problems.push(format!("{path}: {junctor}"));
                }
            }
            let int_or_string = node.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
            if node.get("type").is_none() && !int_or_string {
                problems.push(format!("{path}: no type"));
            }
            if node.get("properties").is_some() && node["type"] != "object" {
                problems.push(format!("{path}: properties on a non-object"));
            }
            if node.get("x-kubernetes-list-type") == Some(&Value::String("map".into())) {
                let keys = node["x-kubernetes-list-map-keys"].as_array().cloned().unwrap_or_default();
                let required = node["items"]["required"].as_array().cloned().unwrap_or_default();
                if keys.is_empty() || !keys.iter().all(|k| required.contains(k)) {
                    problems.push(format!("{path}: list-map keys must be required fields of the items"));
                }
            }
        });
    }
    assert_eq!(problems, Vec::<String>::new());
}

#[test]
fn every_field_is_documented() {
    let mut missing = Vec::new();
    for (plural, crd) in all_crds() {
        walk(&schema_of(&crd), &plural, &mut |path, node| {
            if !path.ends_with("[]") && node.get("description").and_then(Value::as_str).is_none_or(str::is_empty) {
                missing.push(path.to_owned());
            }
        });
    }
    assert_eq!(missing, Vec::<String>::new());
}

/// An API server estimates the cost of every CEL rule from the bounds of the strings and lists it may walk, and
/// refuses a CRD whose rules may cost too much; so every string and list of the spec is bounded (except in the
/// standard `ResourceRequirements` and `LabelSelector`, which no rule reads).
#[test]
fn every_spec_string_and_list_is_bounded() {
    let mut unbounded = Vec::new();
    for (plural, crd) in all_crds() {
        walk(&schema_of(&crd)["properties"]["spec"], &format!("{plural}: spec"), &mut |path, node| {
            if path.ends_with("spec.api.resources")
                || path.contains("spec.api.resources.")
                || path.contains("spec.selector")
            {
                return;
            }
            let bounded = match node["type"].as_str() {
                Some("string") => node.get("maxLength").is_some() || node.get("enum").is_some(),
                Some("array") => node.get("maxItems").is_some(),
                _ => true,
            };
            if !bounded {
                unbounded.push(path.to_owned());
            }
        });
    }
    assert_eq!(unbounded, Vec::<String>::new());
}

#[test]
fn names_subresources_and_columns_are_what_kubectl_and_kstatus_expect() {
    let crd = crd();
    assert_eq!(crd["metadata"]["name"], "mcpregistries.toolhive.stacklok.io");
    let spec = &crd["spec"];
    assert_eq!(spec["group"], thv_operator::GROUP);
    assert_eq!(spec["scope"], "Namespaced");
    assert_eq!(spec["names"]["kind"], "MCPRegistry");
    assert_eq!(spec["names"]["shortNames"], serde_json::json!(["mcpreg"]));
    assert_eq!(spec["names"]["categories"], serde_json::json!(["toolhive"]));
    let version = &spec["versions"][0];
    assert_eq!(version["name"], thv_operator::VERSION);
    assert_eq!((version["served"].as_bool(), version["storage"].as_bool()), (Some(true), Some(true)));
    assert_eq!(version["subresources"]["status"], serde_json::json!({}));
    let columns: Vec<(&str, &str)> = version["additionalPrinterColumns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| (c["name"].as_str().expect("name"), c["jsonPath"].as_str().expect("path")))
        .collect();
    assert_eq!(
        columns,
        [
            ("Source", ".spec.source.type"),
            ("Priority", ".spec.priority"),
            ("Servers", ".status.servers"),
            ("Ready", ".status.conditions[?(@.type==\"Ready\")].status"),
            ("Status", ".status.conditions[?(@.type==\"Ready\")].reason"),
            ("Last Sync", ".status.lastSyncTime"),
            ("Age", ".metadata.creationTimestamp"),
        ]
    );
    // The priority is a wide column (`kubectl get -o wide`): it matters only to the aggregate API.
    assert_eq!(version["additionalPrinterColumns"][1]["priority"], 1);
    let conditions = &version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]["conditions"];
    assert_eq!(conditions["x-kubernetes-list-type"], "map");
    assert_eq!(conditions["x-kubernetes-list-map-keys"], serde_json::json!(["type"]));
}

#[test]
fn yaml_and_json_renderings_agree() {
    let yaml: Vec<Value> = serde_saphyr::from_multiple(&thv_operator::crds_yaml().expect("yaml")).expect("parse yaml");
    let json: Vec<Value> = serde_json::from_str(&thv_operator::crds_json().expect("json")).expect("parse json");
    assert_eq!(yaml, json);
}
