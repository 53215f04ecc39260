//! End-to-end tests of `thv registry deploy --dry-run`: the MCPServer printed for a real entry of ToolHive's
//! catalog (synced into a local registry), and the errors for an unknown server, a bad `--env` and an
//! unknown registry. Creation on a cluster is tested in-process against the fake API server
//! (`registry::deploy` unit tests).

use serde_json::{Value, json};
use thv_testdata::{TOOLHIVE_REGISTRY, shared_file};

mod support;

use support::Env;

fn synced_toolhive() -> Option<Env> {
    let catalog = shared_file(TOOLHIVE_REGISTRY)?;
    let env = Env::new();
    env.ok(&["registry", "add", "toolhive", "--file", &catalog.display().to_string()]);
    env.ok(&["registry", "sync", "toolhive"]);
    Some(env)
}

#[test]
fn a_dry_run_prints_the_mcpserver_of_a_real_entry() {
    let Some(env) = synced_toolhive() else { return };
    let run = env.ok(&[
        "registry",
        "deploy",
        "gitlab",
        "--registry",
        "toolhive",
        "-n",
        "team-a",
        "--env",
        "GITLAB_API_URL=https://gitlab.example.com/api/v4",
        "--dry-run",
    ]);
    let printed: Value = serde_saphyr::from_str(&run.stdout).expect("YAML");
    let digest = printed["metadata"]["annotations"]["toolhive.stacklok.io/registry-entry-digest"].clone();
    assert!(digest.as_str().is_some_and(|d| d.starts_with("sha256:")), "{printed}");
    assert_eq!(
        printed,
        json!({
            "apiVersion": "toolhive.stacklok.dev/v1beta1",
            "kind": "MCPServer",
            "metadata": {
                "name": "gitlab",
                "namespace": "team-a",
                "labels": {
                    "toolhive.stacklok.io/registry-name": "toolhive",
                    "toolhive.stacklok.io/registry-namespace": "team-a",
                    "toolhive.stacklok.io/server-name": "gitlab",
                    "toolhive.stacklok.io/tier": "Community"
                },
                "annotations": {"toolhive.stacklok.io/registry-entry-digest": digest}
            },
            "spec": {
                "image": "iwakitakuma/gitlab-mcp:2.0.19",
                "transport": "streamable-http",
                "mcpPort": 3002,
                "env": [
                    {"name": "GITLAB_API_URL", "value": "https://gitlab.example.com/api/v4"},
                    {"name": "STREAMABLE_HTTP", "value": "true"}
                ]
            }
        })
    );
    assert!(
        run.stderr.contains("warning: GITLAB_PERSONAL_ACCESS_TOKEN is required by "),
        "a required variable without default is named: {}",
        run.stderr
    );
    let json_run = env.ok(&["registry", "deploy", "gitlab", "--registry", "toolhive", "--dry-run", "-o", "json"]);
    let as_json = json_run.json();
    assert_eq!(as_json["spec"]["image"], "iwakitakuma/gitlab-mcp:2.0.19");
    assert!(as_json["metadata"].get("namespace").is_none(), "no namespace given, none written");
}

#[test]
fn unknown_servers_registries_and_bad_env_are_clear_errors() {
    let Some(env) = synced_toolhive() else { return };
    let unknown = env.run(&["registry", "deploy", "nope", "--registry", "toolhive", "--dry-run"]);
    let unknown = unknown.expect_code(2, "unknown server");
    assert!(unknown.stderr.contains("registry toolhive: no server named \"nope\""), "{}", unknown.stderr);
    let remote = env.run(&["registry", "deploy", "atlassian-remote", "--registry", "toolhive", "--dry-run"]);
    let remote = remote.expect_code(2, "a remote server");
    assert!(
        remote
            .stderr
            .contains("is a remote server (https://mcp.atlassian.com/v1/sse); an MCPServer runs a container image"),
        "{}",
        remote.stderr
    );
    let bad = env.run(&["registry", "deploy", "gitlab", "--registry", "toolhive", "--env", "NOVALUE", "--dry-run"]);
    let bad = bad.expect_code(2, "bad --env");
    assert!(bad.stderr.contains("\"NOVALUE\" is not KEY=VALUE"), "{}", bad.stderr);
    let registry = env.run(&["registry", "deploy", "gitlab", "--registry", "elsewhere", "--dry-run"]);
    let registry = registry.expect_code(2, "unknown registry");
    assert!(registry.stderr.contains("elsewhere"), "{}", registry.stderr);
}
