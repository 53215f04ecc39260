//! `thv operator crds` prints the committed CRDs (deploy/crds/), as YAML or JSON.

use std::process::Command;

fn thv(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_thv")).args(args).output().expect("thv runs")
}

#[test]
fn crds_prints_the_committed_crds() {
    // The committed files, in the kustomization's order (one per CRD).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds");
    let kustomization = std::fs::read_to_string(dir.join("kustomization.yaml")).expect("kustomization");
    let committed: String = kustomization
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .map(|file| std::fs::read_to_string(dir.join(file)).expect("committed CRD"))
        .collect();
    let yaml = thv(&["operator", "crds"]);
    assert!(yaml.status.success(), "{}", String::from_utf8_lossy(&yaml.stderr));
    assert_eq!(String::from_utf8(yaml.stdout).expect("utf-8"), committed);

    let json = thv(&["operator", "crds", "-o", "json"]);
    assert!(json.status.success());
    let crds: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(crds[0]["spec"]["names"]["kind"], "MCPRegistry");
    let committed: Vec<serde_json::Value> = serde_saphyr::from_multiple(&committed).expect("committed YAML");
    assert_eq!(crds.as_array().expect("a list"), &committed);
    let kinds: Vec<&str> = committed.iter().filter_map(|c| c["spec"]["names"]["kind"].as_str()).collect();
    assert_eq!(kinds, ["MCPRegistry", "MCPRegistrySyncJob", "MCPRegistryExportJob", "MCPRegistryImportJob"]);

    let bad = thv(&["operator", "crds", "-o", "table"]);
    assert_eq!(bad.status.code(), Some(2), "clap refuses an unknown format");
}

#[test]
fn operator_api_needs_its_registry_and_a_reachable_cluster() {
    let help = thv(&["operator", "api", "--help"]);
    assert!(help.status.success());
    let text = String::from_utf8(help.stdout).expect("utf-8");
    assert!(text.contains("thv operator api --namespace team-a --registry platform"), "{text}");

    let missing = Command::new(env!("CARGO_BIN_EXE_thv"))
        .args(["operator", "api", "--namespace", "team-a"])
        .env_remove("THV_REGISTRY")
        .output()
        .expect("thv runs");
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--registry"));

    // Neither in a cluster nor with a kubeconfig: a clear error, not a panic.
    let home = tempfile::tempdir().expect("temporary home");
    let nowhere = Command::new(env!("CARGO_BIN_EXE_thv"))
        .args(["operator", "api", "--namespace", "team-a", "--registry", "platform", "--listen", "127.0.0.1:0"])
        .env("KUBECONFIG", home.path().join("absent"))
        .env("HOME", home.path())
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .output()
        .expect("thv runs");
    let stderr = String::from_utf8_lossy(&nowhere.stderr);
    assert_eq!(nowhere.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot reach the Kubernetes API"), "{stderr}");
}
