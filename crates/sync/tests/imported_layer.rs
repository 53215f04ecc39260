//! The imported layer end to end: imports into a real SQLite store, then syncs from a file source, checking
//! precedence, survival, the filter, replace and clear, and that a broken document changes nothing.

use serde_json::{Value, json};
use thv_store::{SqliteStore, Store, SyncOutcome};
use thv_sync::import::{clear, import};
use thv_sync::{EntryOutcome, ImportMode, RegistrySpec, sync_spec};

fn record(name: &str, version: &str, description: &str) -> Value {
    json!({"server": {
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        "name": name, "version": version, "description": description,
    }})
}

struct Env {
    dir: tempfile::TempDir,
    store: SqliteStore,
    spec: RegistrySpec,
}

impl Env {
    async fn new(filter: Value) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path().join("registry.db")).await.expect("store");
        let path = dir.path().join("source.json");
        let spec = serde_json::from_value(json!({"name": "r", "source": {"file": {"path": path}}, "filter": filter}))
            .expect("spec");
        Self { dir, store, spec }
    }

    fn source(&self, records: &[Value]) {
        std::fs::write(self.dir.path().join("source.json"), Value::Array(records.to_vec()).to_string()).expect("write");
    }

    async fn sync(&self) -> thv_sync::SyncReport {
        sync_spec(&self.spec, &self.store, &self.dir.path().join("cache")).await
    }

    /// `(name, version, description)` of the served catalog.
    async fn served(&self) -> Vec<(String, String, String)> {
        let catalog = self.store.catalog("r").await.expect("catalog");
        catalog
            .iter()
            .map(|v| {
                let d = v.document.to_value()["description"].as_str().unwrap_or_default().to_owned();
                (v.name.clone(), v.version.clone(), d)
            })
            .collect()
    }
}

fn row(name: &str, version: &str, description: &str) -> (String, String, String) {
    (name.to_owned(), version.to_owned(), description.to_owned())
}

#[tokio::test]
async fn imported_entries_win_over_the_source_and_survive_its_syncs() {
    let env = Env::new(json!({})).await;
    env.source(&[record("io.x/a", "1.0.0", "source"), record("io.x/b", "1.0.0", "source")]);
    assert_eq!(env.sync().await.outcome, SyncOutcome::Success);

    let file = json!([record("io.x/b", "1.0.0", "imported"), record("io.x/c", "1.0.0", "imported")]).to_string();
    let report =
        import(&env.spec, &env.store, "import.json", file.as_bytes(), ImportMode::Merge).await.expect("import");
    let outcomes: Vec<EntryOutcome> = report.entries.iter().map(|e| e.outcome).collect();
    assert_eq!(outcomes, [EntryOutcome::Updated, EntryOutcome::Added]);
    assert_eq!((report.layer, report.total), (2, 3));
    let expected =
        vec![row("io.x/a", "1.0.0", "source"), row("io.x/b", "1.0.0", "imported"), row("io.x/c", "1.0.0", "imported")];
    assert_eq!(env.served().await, expected, "served at once, without a sync");

    // The source changes; its other versions follow it, the imported ones stay.
    env.source(&[record("io.x/a", "1.0.0", "source v2"), record("io.x/b", "1.0.0", "source v2")]);
    assert_eq!(env.sync().await.outcome, SyncOutcome::Success);
    let expected = vec![
        row("io.x/a", "1.0.0", "source v2"),
        row("io.x/b", "1.0.0", "imported"),
        row("io.x/c", "1.0.0", "imported"),
    ];
    assert_eq!(env.served().await, expected);
    assert_eq!(env.sync().await.outcome, SyncOutcome::Unchanged, "an unchanged source with a layer is unchanged");

    // The same file again changes nothing.
    let again = import(&env.spec, &env.store, "import.json", file.as_bytes(), ImportMode::Merge).await.expect("import");
    assert_eq!(again.outcome, SyncOutcome::Unchanged);
    assert_eq!(again.counts.unchanged, 2);

    // Replace drops io.x/c and io.x/b from the layer: b's source version is back after the next sync.
    let only_d = json!([record("io.x/d", "1.0.0", "imported")]).to_string();
    let replaced =
        import(&env.spec, &env.store, "d.json", only_d.as_bytes(), ImportMode::Replace).await.expect("replace");
    assert_eq!((replaced.counts.added, replaced.counts.removed, replaced.layer), (1, 2, 1));
    assert_eq!(env.served().await, vec![row("io.x/a", "1.0.0", "source v2"), row("io.x/d", "1.0.0", "imported")]);
    assert_eq!(env.sync().await.outcome, SyncOutcome::Success);
    let expected = vec![
        row("io.x/a", "1.0.0", "source v2"),
        row("io.x/b", "1.0.0", "source v2"),
        row("io.x/d", "1.0.0", "imported"),
    ];
    assert_eq!(env.served().await, expected, "the shadowed source version came back");

    let cleared = clear(&env.spec, &env.store).await.expect("clear");
    assert_eq!((cleared.counts.removed, cleared.layer), (1, 0));
    assert!(env.store.imported("r").await.expect("layer").is_empty());
    assert_eq!(env.served().await.len(), 2);
}

#[tokio::test]
async fn the_filter_and_validation_judge_imports_and_a_broken_document_changes_nothing() {
    let env = Env::new(json!({"exclude": {"names": ["io.x/secret*"]}})).await;
    env.source(&[record("io.x/a", "1.0.0", "source")]);
    env.sync().await;
    let file = json!([
        record("io.x/ok", "1.0.0", "imported"),
        record("io.x/secret", "1.0.0", "imported"),
        {"server": {"name": "io.x/no-version"}},
    ])
    .to_string();
    let report = import(&env.spec, &env.store, "f.json", file.as_bytes(), ImportMode::Merge).await.expect("import");
    let rejected: Vec<(Option<&str>, &str)> = report
        .entries
        .iter()
        .filter(|e| e.outcome == EntryOutcome::Rejected)
        .map(|e| (e.server.as_deref(), e.reason.as_deref().unwrap_or_default()))
        .collect();
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    assert!(
        rejected.iter().any(|(s, r)| *s == Some("io.x/secret") && r.contains("filter of registry r")),
        "{rejected:?}"
    );
    assert!(rejected.iter().any(|(s, _)| *s == Some("io.x/no-version")), "{rejected:?}");
    assert_eq!(report.layer, 1);

    let before = env.served().await;
    let err =
        import(&env.spec, &env.store, "broken.json", b"{\"servers\": ", ImportMode::Replace).await.expect_err("broken");
    assert!(err.to_string().starts_with("broken.json: "), "{err}");
    assert_eq!(env.served().await, before, "the last good catalog stays");
    assert_eq!(env.store.imported("r").await.expect("layer").len(), 1, "and so does the layer");
}
