//! Records shaped like the ones the sync pipeline writes, for the tests of every crate that stores them
//! (the `fixtures` feature: the store's own suite and the operator's ConfigMap and aggregate tests).

use crate::{Change, ChangeKind, Counts, NameVersion, RegistryState, ServerVersion, SyncCommit, SyncOutcome, SyncRun};
use serde_json::{Value, json};

/// A `server.json`-shaped document of roughly `2 KB`, carrying `generation`.
pub fn document(name: &str, version: &str, generation: u64) -> Value {
    let env: Vec<Value> = (0..8)
        .map(|i| {
            json!({
                "name": format!("SERVICE_SETTING_{i}"),
                "description": format!("Setting {i} of {name}: what the server reads it for, in one sentence."),
                "isRequired": i % 2 == 0,
                "isSecret": i % 3 == 0,
                "format": "string"
            })
        })
        .collect();
    json!({
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        "name": name,
        "version": version,
        "description": format!("An MCP server named {name}, generation {generation}."),
        "generation": generation,
        "repository": { "url": format!("https://github.com/example/{name}"), "source": "github" },
        "packages": [{
            "registryType": "oci",
            "identifier": format!("ghcr.io/example/{name}:{version}"),
            "transport": { "type": "stdio" },
            "environmentVariables": env
        }],
        "_meta": { "io.modelcontextprotocol.registry/publisher-provided": { "tier": "Official" } }
    })
}

/// A stored version whose document carries `generation`.
pub fn version(name: &str, version: &str, generation: u64) -> ServerVersion {
    ServerVersion {
        name: name.to_owned(),
        version: version.to_owned(),
        document: document(name, version, generation).into(),
        extra_meta: Value::Null,
        digest: format!("sha256:{generation:064x}"),
        status: "active".to_owned(),
        status_changed_at: None,
        status_message: None,
        published_at: "2025-01-01T00:00:00Z".to_owned(),
        updated_at: format!("2025-01-01T00:00:{:02}Z", generation % 60),
        is_latest: true,
    }
}

/// The generation a stored document carries.
pub fn generation_of(version: &ServerVersion) -> Option<u64> {
    version.document.to_value().get("generation").and_then(Value::as_u64)
}

/// A run of `registry` with `outcome`.
pub fn run(registry: &str, outcome: SyncOutcome) -> SyncRun {
    SyncRun {
        id: 0,
        registry: registry.to_owned(),
        started_at: "2025-06-01T10:00:00Z".to_owned(),
        finished_at: "2025-06-01T10:00:02Z".to_owned(),
        outcome,
        error: (outcome == SyncOutcome::Failed).then(|| "fetch https://example.com/servers.json: HTTP 503".to_owned()),
        revision: Some("sha256:abc".to_owned()),
        digest: Some("sha256:def".to_owned()),
        counts: Counts::default(),
    }
}

/// A state of `registry` whose revision is `revision` and whose catalog holds `count` versions.
pub fn state(registry: &str, revision: &str, count: u64) -> RegistryState {
    RegistryState {
        registry: registry.to_owned(),
        spec_digest: Some("sha256:spec".to_owned()),
        filter_digest: None,
        validators: json!({ "etag": "\"v1\"", "lastModified": "Mon, 02 Jun 2025 10:00:00 GMT" }),
        revision: Some(revision.to_owned()),
        content_digest: Some(format!("content-{revision}")),
        last_success_at: Some("2025-06-01T10:00:02Z".to_owned()),
        last_attempt_at: Some("2025-06-01T10:00:02Z".to_owned()),
        failed_attempts: 0,
        last_error: None,
        last_failure: None,
        server_count: count,
    }
}

/// A change of `kind` to `(name, version)`.
pub fn change(kind: ChangeKind, name: &str, version: &str) -> Change {
    Change { kind, name: name.to_owned(), version: version.to_owned() }
}

/// A successful commit of `upserts` and `removals` to `registry`, recording them as added and removed, with
/// `revision` as the new state's revision and `total` versions in the resulting catalog.
pub fn commit(
    registry: &str,
    revision: &str,
    total: u64,
    upserts: Vec<ServerVersion>,
    removals: Vec<NameVersion>,
) -> SyncCommit {
    let mut changes: Vec<Change> = upserts.iter().map(|v| change(ChangeKind::Added, &v.name, &v.version)).collect();
    changes.extend(removals.iter().map(|r| change(ChangeKind::Removed, &r.name, &r.version)));
    let mut run = run(registry, SyncOutcome::Success);
    run.revision = Some(revision.to_owned());
    run.counts = Counts { total, added: upserts.len() as u64, removed: removals.len() as u64, updated: 0, skipped: 0 };
    SyncCommit { run, state: state(registry, revision, total), upserts, removals, changes }
}

/// `(name, version)`.
pub fn nv(name: &str, version: &str) -> NameVersion {
    NameVersion { name: name.to_owned(), version: version.to_owned() }
}

/// `(name, version)` of a stored version.
pub fn key(version: &ServerVersion) -> (String, String) {
    (version.name.clone(), version.version.clone())
}

/// `n` versions `server-00000 … 1.0.0` carrying `generation`.
pub fn catalog(n: usize, generation: u64) -> Vec<ServerVersion> {
    (0..n).map(|i| version(&format!("io.example/server-{i:05}"), "1.0.0", generation)).collect()
}
