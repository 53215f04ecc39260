//! The manifests under `deploy/` agree with the names the operator uses (labels, ports, probes), and keep the
//! security settings the docs promise. (`scripts/validate-manifests.sh` checks them against Kubernetes' schemas.)

use std::path::PathBuf;

use serde_json::{Value, json};
use thv_operator::labels;

fn documents(relative: &str) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy").join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_multiple(&text).expect("YAML")
}

#[test]
fn the_api_network_policy_selects_the_api_pods_on_their_port() {
    let policy = &documents("registry-namespace/api-networkpolicy.yaml")[0];
    let selector = &policy["spec"]["podSelector"]["matchLabels"];
    let api_labels: serde_json::Map<String, Value> =
        labels::api_labels("any").into_iter().map(|(k, v)| (k.to_owned(), Value::String(v))).collect();
    for (key, value) in selector.as_object().expect("matchLabels") {
        assert_eq!(api_labels.get(key), Some(value), "{key}");
    }
    assert_eq!(selector["app.kubernetes.io/component"], labels::COMPONENT_API);
    assert_eq!(policy["spec"]["ingress"][0]["ports"], json!([{"port": labels::API_PORT, "protocol": "TCP"}]));
}

#[test]
fn the_operator_runs_locked_down_with_probes() {
    let deployment = &documents("operator/deployment.yaml")[0];
    let pod = &deployment["spec"]["template"];
    assert_eq!(pod["metadata"]["labels"]["app.kubernetes.io/name"], labels::APP_NAME);
    assert_eq!(pod["metadata"]["labels"]["app.kubernetes.io/component"], labels::COMPONENT_OPERATOR);
    let spec = &pod["spec"];
    assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
    assert_eq!(spec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
    let container = &spec["containers"][0];
    assert_eq!(container["args"], json!(["operator", "run", "--leader-elect", "--metrics-addr=0.0.0.0:8080"]));
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    let security = &container["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["capabilities"]["drop"], json!(["ALL"]));
    for limit in ["cpu", "memory"] {
        assert!(container["resources"]["requests"][limit].is_string(), "request {limit}");
        assert!(container["resources"]["limits"][limit].is_string(), "limit {limit}");
    }
    let operator_policy = &documents("operator/networkpolicy.yaml")[0];
    assert_eq!(operator_policy["spec"]["podSelector"]["matchLabels"], pod["metadata"]["labels"]);
}

/// Every permission is in rbac/roles.yaml; nothing grants `*`, and Secrets are only read (the scenarios' RBAC
/// test checks each rule against the requests the controller sends).
#[test]
fn rbac_lives_in_one_file_and_grants_no_wildcards() {
    let roles = documents("rbac/roles.yaml");
    assert_eq!(roles.iter().map(|r| r["kind"].as_str().expect("kind")).collect::<Vec<_>>(), ["ClusterRole", "Role"]);
    for role in &roles {
        for rule in role["rules"].as_array().expect("rules") {
            for key in ["apiGroups", "resources", "verbs"] {
                assert!(!rule[key].as_array().expect(key).contains(&json!("*")), "{rule}");
            }
            if rule["resources"] == json!(["secrets"]) {
                assert_eq!(rule["verbs"], json!(["get", "list", "watch"]), "Secrets are never written");
            }
        }
    }
    for file in
        ["operator/deployment.yaml", "operator/service.yaml", "operator/networkpolicy.yaml", "rbac/bindings.yaml"]
    {
        for document in documents(file) {
            assert!(!["ClusterRole", "Role"].contains(&document["kind"].as_str().unwrap_or_default()), "{file}");
        }
    }
}

#[test]
fn the_aggregate_api_is_one_service_over_locked_down_pods() {
    let deployment = &documents("aggregate/deployment.yaml")[0];
    let pod = &deployment["spec"]["template"];
    let labels = &pod["metadata"]["labels"];
    assert_eq!(deployment["spec"]["selector"]["matchLabels"], *labels);
    assert_ne!(labels["app.kubernetes.io/component"], labels::COMPONENT_API, "not selected as a <name>-api pod");
    let service = &documents("aggregate/service.yaml")[0];
    assert_eq!(service["metadata"]["name"], "thv-registry");
    assert_eq!(service["spec"]["selector"], *labels);
    assert_eq!(service["spec"]["ports"][0]["port"], labels::API_PORT);
    let policy = &documents("aggregate/networkpolicy.yaml")[0];
    assert_eq!(policy["spec"]["podSelector"]["matchLabels"], *labels);
    assert_eq!(policy["spec"]["ingress"][0]["ports"], json!([{"port": labels::API_PORT, "protocol": "TCP"}]));

    let spec = &pod["spec"];
    assert_eq!(spec["serviceAccountName"], "thv-registry-aggregate");
    assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
    let container = &spec["containers"][0];
    let args: Vec<&str> = container["args"].as_array().expect("args").iter().filter_map(Value::as_str).collect();
    assert_eq!(args[..3], ["operator", "api", "--all-registries"]);
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(container["securityContext"]["capabilities"]["drop"], json!(["ALL"]));

    // The cluster-wide variant serves every namespace, so it passes none.
    let component = &documents("components/aggregate-cluster/kustomization.yaml")[0];
    let patch = component["patches"].as_array().expect("patches").iter().find(|p| p["target"]["kind"] == "Deployment");
    let ops: Vec<Value> = serde_saphyr::from_str(patch.expect("the Deployment patch")["patch"].as_str().expect("text"))
        .expect("JSON patch");
    assert_eq!(
        ops[0]["value"],
        json!(["operator", "api", "--all-registries", "--all-namespaces", "--listen=0.0.0.0:8080"])
    );
}
