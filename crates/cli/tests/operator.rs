//! `thv operator crds` prints the committed CRDs (deploy/crds/), as YAML or JSON.

use std::process::Command;

fn thv(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_thv")).args(args).output().expect("thv runs")
}

#[test]
fn crds_prints_the_committed_crds() {
    let committed = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../deploy/crds/toolhive.stacklok.io_mcpregistries.yaml"),
    )
    .expect("committed CRD");
    let yaml = thv(&["operator", "crds"]);
    assert!(yaml.status.success(), "{}", String::from_utf8_lossy(&yaml.stderr));
    assert_eq!(String::from_utf8(yaml.stdout).expect("utf-8"), committed);

    let json = thv(&["operator", "crds", "-o", "json"]);
    assert!(json.status.success());
    let crds: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(crds[0]["spec"]["names"]["kind"], "MCPRegistry");
    let committed: serde_json::Value = serde_saphyr::from_str(&committed).expect("committed YAML");
    assert_eq!(crds[0], committed);

    let bad = thv(&["operator", "crds", "-o", "table"]);
    assert_eq!(bad.status.code(), Some(2), "clap refuses an unknown format");
}
