//! The store suite: behaviour of every backend through the `Store` trait, each case run against SQLite and
//! PostgreSQL (`sqlite::case`, `postgres::case`) on a fresh database, so the backends cannot drift.
//!
//! Round trips, ordering, upserts, removals, change sets, runs, state, isolation between registries,
//! reopening, atomicity of a failing commit, what every backend refuses, corrupt rows.
// The cases are plain functions (run by `store_suite!` or a #[test] wrapper), where clippy's
// allow-unwrap-in-tests does not reach.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestDb, catalog, change, commit, generation_of, key, nv, run, state, version};
use serde_json::json;
use thv_store::{ChangeKind, Counts, FailureKind, ImportedEntry, StoreError, SyncOutcome};

store_suite!(
    every_field_of_a_version_round_trips,
    state_round_trips_and_lists_by_registry,
    runs_round_trip_newest_first_with_limit,
    catalog_is_ordered_by_name_then_version_bytewise,
    upsert_replaces_document_and_metadata,
    removals_delete_only_the_named_versions,
    large_batches_cross_chunk_boundaries,
    each_run_keeps_its_own_change_set,
    state_follows_commits_and_runs,
    registries_are_isolated,
    run_ids_are_never_reused,
    a_failing_commit_leaves_everything_as_it_was,
    a_run_and_state_of_different_registries_are_refused,
    nul_characters_are_refused_naming_the_field,
    a_version_upserted_twice_in_one_commit_is_refused,
    reopening_keeps_everything,
    a_second_store_on_the_database_sees_each_commit,
    a_version_cannot_exist_without_its_registry,
    corrupt_rows_are_reported_with_their_key,
    the_imported_layer_changes_with_its_commit_and_goes_with_the_registry,
);

fn imported(name: &str, version: &str, note: &str) -> ImportedEntry {
    let record = json!({"server": {"name": name, "version": version, "description": note}});
    ImportedEntry {
        name: name.to_owned(),
        version: version.to_owned(),
        record: record.into(),
        imported_at: "2026-01-01T00:00:00Z".to_owned(),
    }
}

async fn the_imported_layer_changes_with_its_commit_and_goes_with_the_registry(db: TestDb) {
    let store = db.open().await;
    assert!(store.imported("reg").await.unwrap().is_empty(), "nothing imported yet");
    let (a, b) = (version("io.x/a", "1.0.0", 1), version("io.x/b", "1.0.0", 1));
    let layer = vec![imported("io.x/b", "1.0.0", "second"), imported("io.x/a", "1.0.0", "first ✓")];
    store.commit_import(&commit("reg", "r1", 2, vec![b.clone(), a.clone()], vec![]), &layer).await.unwrap();
    let stored = store.imported("reg").await.unwrap();
    assert_eq!(stored, vec![layer[1].clone(), layer[0].clone()], "ordered by name, verbatim");
    assert_eq!(store.catalog("reg").await.unwrap(), vec![a.clone(), b.clone()], "the catalog changed with it");
    assert!(store.imported("other").await.unwrap().is_empty(), "registries are isolated");

    // A sync's commit leaves the layer alone.
    store.commit_sync(&commit("reg", "r2", 2, vec![version("io.x/a", "1.0.0", 2)], vec![])).await.unwrap();
    assert_eq!(store.imported("reg").await.unwrap().len(), 2);

    // A refused layer writes nothing, neither the layer nor the catalog.
    let twice = vec![imported("io.x/c", "1", "x"), imported("io.x/c", "1", "y")];
    let err = store.commit_import(&commit("reg", "r3", 3, vec![version("io.x/c", "1", 1)], vec![]), &twice).await;
    let message = err.unwrap_err().to_string();
    assert!(message.contains("\"io.x/c\"") && message.contains("twice"), "{message}");
    assert_eq!(store.imported("reg").await.unwrap().len(), 2);
    assert_eq!(store.catalog("reg").await.unwrap().len(), 2);

    // An empty layer clears it; removing the registry removes a layer too.
    store.commit_import(&commit("reg", "r4", 1, vec![], vec![nv("io.x/b", "1.0.0")]), &[]).await.unwrap();
    assert!(store.imported("reg").await.unwrap().is_empty());
    store.commit_import(&commit("reg", "r5", 2, vec![b], vec![]), &layer[..1]).await.unwrap();
    store.remove_registry("reg").await.unwrap();
    assert!(store.imported("reg").await.unwrap().is_empty());
}

async fn every_field_of_a_version_round_trips(db: TestDb) {
    let store = db.open().await;
    let mut full = version("io.github.acme/weather", "2.1.0", 7);
    let mut document = full.document.to_value();
    document["description"] = json!("Ünïcødé ✓ and \"quotes\" and a \\ backslash, a \u{0} escaped NUL");
    document["zeta"] = json!(1);
    document["alpha"] = json!({ "nested": [1, 2.5, null, true, "x"] });
    full.document = document.into();
    full.extra_meta = json!({ "io.example/extra": { "stars": 42 } });
    full.status = "deprecated".to_owned();
    full.status_changed_at = Some("2025-05-05T05:05:05Z".to_owned());
    full.status_message = Some("use io.github.acme/weather2".to_owned());
    full.is_latest = false;
    let plain = version("io.github.acme/time", "1.0.0", 7);
    let c = commit("reg", "r1", 2, vec![full.clone(), plain.clone()], vec![]);
    store.commit_sync(&c).await.unwrap();

    let stored = store.catalog("reg").await.unwrap();
    assert_eq!(stored, vec![plain, full.clone()]);
    // Documents come back verbatim, key order included.
    assert_eq!(serde_json::to_string(&stored[1].document).unwrap(), serde_json::to_string(&full.document).unwrap());
    assert_eq!(stored[1].document.as_str(), full.document.as_str());
}

async fn state_round_trips_and_lists_by_registry(db: TestDb) {
    let store = db.open().await;
    assert_eq!(store.registry_state("b").await.unwrap(), None);
    let mut failing = state("b", "rev-b", 0);
    failing.validators = json!(null);
    failing.revision = None;
    failing.content_digest = None;
    failing.last_success_at = None;
    failing.failed_attempts = 3;
    failing.last_error = Some("timeout after 30s fetching https://example.com".to_owned());
    failing.last_failure = Some(FailureKind::Retryable);
    store.record_run(&run("b", SyncOutcome::Failed), Some(&failing)).await.unwrap();
    let committed = commit("a", "rev-a", 1, vec![version("x", "1", 1)], vec![]);
    store.commit_sync(&committed).await.unwrap();
    // Registry names order byte-wise too.
    let upper = commit("B", "rev-B", 1, vec![version("x", "1", 1)], vec![]);
    store.commit_sync(&upper).await.unwrap();

    assert_eq!(store.registry_state("b").await.unwrap(), Some(failing.clone()));
    assert_eq!(store.registry_state("a").await.unwrap(), Some(committed.state.clone()));
    assert_eq!(store.registry_states().await.unwrap(), vec![upper.state, committed.state, failing]);
}

async fn runs_round_trip_newest_first_with_limit(db: TestDb) {
    let store = db.open().await;
    let mut ids = Vec::new();
    let mut expected = Vec::new();
    for (i, outcome) in
        [SyncOutcome::Success, SyncOutcome::Failed, SyncOutcome::Unchanged, SyncOutcome::Failed].into_iter().enumerate()
    {
        let mut r = run("reg", outcome);
        r.started_at = format!("2025-06-01T10:0{i}:00Z");
        r.counts = Counts { total: 10 + i as u64, added: 1, removed: 2, updated: 3, skipped: 4 };
        r.revision = (i % 2 == 0).then(|| format!("rev-{i}"));
        let id = store.record_run(&r, None).await.unwrap();
        ids.push(id);
        r.id = id;
        expected.push(r);
    }
    store.record_run(&run("other", SyncOutcome::Success), None).await.unwrap();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids:?}");

    expected.reverse();
    assert_eq!(store.runs("reg", 10).await.unwrap(), expected);
    assert_eq!(store.runs("reg", 2).await.unwrap(), expected[..2]);
    assert!(store.runs("reg", 0).await.unwrap().is_empty());
    assert!(store.runs("nobody", 5).await.unwrap().is_empty());
    // A run without state leaves no state behind.
    assert_eq!(store.registry_state("reg").await.unwrap(), None);
}

async fn catalog_is_ordered_by_name_then_version_bytewise(db: TestDb) {
    let store = db.open().await;
    let names = ["b", "a", "B", "ä", "a-b", "a.b", "A", "a/b", "ab", "Z", "_a", "é", "日本"];
    let versions = ["1.10.0", "1.9.0", "1.0.0-rc.1", "1.0.0", "10.0.0", "V1", "v1"];
    let upserts: Vec<_> = names.iter().flat_map(|n| versions.iter().map(move |v| version(n, v, 1))).collect();
    let total = upserts.len() as u64;
    store.commit_sync(&commit("reg", "r", total, upserts.clone(), vec![])).await.unwrap();

    let mut expected: Vec<_> = upserts.iter().map(key).collect();
    expected.sort(); // String order is byte order.
    let got: Vec<_> = store.catalog("reg").await.unwrap().iter().map(key).collect();
    assert_eq!(got, expected);
    assert_eq!(got[0], ("A".to_owned(), "1.0.0".to_owned()));
}

async fn upsert_replaces_document_and_metadata(db: TestDb) {
    let store = db.open().await;
    store.commit_sync(&commit("reg", "r1", 2, vec![version("x", "1", 1), version("y", "1", 1)], vec![])).await.unwrap();
    let mut replaced = version("x", "1", 2);
    replaced.status = "deleted".to_owned();
    replaced.status_message = Some("withdrawn".to_owned());
    replaced.is_latest = false;
    replaced.extra_meta = json!({ "k": "v" });
    let mut second = commit("reg", "r2", 2, vec![replaced.clone()], vec![]);
    second.changes = vec![change(ChangeKind::Updated, "x", "1")];
    store.commit_sync(&second).await.unwrap();

    let stored = store.catalog("reg").await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0], replaced);
    assert_eq!(generation_of(&stored[1]), Some(1), "untouched versions stay");
}

async fn removals_delete_only_the_named_versions(db: TestDb) {
    let store = db.open().await;
    let v = vec![version("x", "1", 1), version("x", "2", 1), version("y", "1", 1)];
    store.commit_sync(&commit("reg", "r1", 3, v, vec![])).await.unwrap();
    let removals = vec![nv("x", "1"), nv("y", "1"), nv("never", "stored")];
    store.commit_sync(&commit("reg", "r2", 1, vec![], removals)).await.unwrap();
    let got: Vec<_> = store.catalog("reg").await.unwrap().iter().map(key).collect();
    assert_eq!(got, vec![("x".to_owned(), "2".to_owned())]);
}

async fn large_batches_cross_chunk_boundaries(db: TestDb) {
    let store = db.open().await;
    // Not a multiple of any backend's batch sizes, and more than two of the largest, so full and partial
    // batches of versions, removals and changes all run.
    const N: usize = 3_456;
    let first = catalog(N, 1);
    store.commit_sync(&commit("reg", "r1", N as u64, first.clone(), vec![])).await.unwrap();
    let removals: Vec<_> = first.iter().step_by(3).map(|v| nv(&v.name, &v.version)).collect();
    let updates: Vec<_> = first.iter().skip(1).step_by(3).map(|v| version(&v.name, &v.version, 2)).collect();
    let remaining = N - removals.len();
    let second = commit("reg", "r2", remaining as u64, updates.clone(), removals.clone());
    let run_id = store.commit_sync(&second).await.unwrap();

    let stored = store.catalog("reg").await.unwrap();
    assert_eq!(stored.len(), remaining);
    assert_eq!(stored.iter().filter(|v| generation_of(v) == Some(2)).count(), updates.len());
    assert_eq!(store.changes("reg", run_id).await.unwrap(), second.changes);
}

async fn each_run_keeps_its_own_change_set(db: TestDb) {
    let store = db.open().await;
    let first = commit("reg", "r1", 2, vec![version("x", "1", 1), version("y", "1", 1)], vec![]);
    let first_id = store.commit_sync(&first).await.unwrap();
    let mut second = commit("reg", "r2", 1, vec![version("y", "1", 2)], vec![nv("x", "1")]);
    second.changes = vec![change(ChangeKind::Removed, "x", "1"), change(ChangeKind::Updated, "y", "1")];
    let second_id = store.commit_sync(&second).await.unwrap();
    let unchanged_id = store.record_run(&run("reg", SyncOutcome::Unchanged), None).await.unwrap();

    assert_eq!(store.changes("reg", first_id).await.unwrap(), first.changes);
    assert_eq!(store.changes("reg", second_id).await.unwrap(), second.changes);
    assert!(store.changes("reg", unchanged_id).await.unwrap().is_empty());
    assert!(store.changes("reg", 9999).await.unwrap().is_empty());
    // The committed runs are stored with the commit's run record.
    let runs = store.runs("reg", 10).await.unwrap();
    assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), vec![unchanged_id, second_id, first_id]);
    assert_eq!(runs[1].counts, second.run.counts);
}

async fn state_follows_commits_and_runs(db: TestDb) {
    let store = db.open().await;
    store.commit_sync(&commit("reg", "r1", 1, vec![version("x", "1", 1)], vec![])).await.unwrap();

    let mut failed = state("reg", "r1", 1);
    failed.failed_attempts = 1;
    failed.last_error = Some("HTTP 500".to_owned());
    failed.last_failure = Some(FailureKind::Stalled);
    failed.last_attempt_at = Some("2025-06-02T00:00:00Z".to_owned());
    store.record_run(&run("reg", SyncOutcome::Failed), Some(&failed)).await.unwrap();
    assert_eq!(store.registry_state("reg").await.unwrap(), Some(failed.clone()));

    // A run without a state leaves the state alone; neither touches the catalog.
    store.record_run(&run("reg", SyncOutcome::Failed), None).await.unwrap();
    assert_eq!(store.registry_state("reg").await.unwrap(), Some(failed));
    assert_eq!(store.catalog("reg").await.unwrap().len(), 1);

    let recovered = commit("reg", "r2", 2, vec![version("y", "1", 2)], vec![]);
    store.commit_sync(&recovered).await.unwrap();
    assert_eq!(store.registry_state("reg").await.unwrap(), Some(recovered.state));
}

async fn registries_are_isolated(db: TestDb) {
    let store = db.open().await;
    let a_id = store
        .commit_sync(&commit("a", "ra", 2, vec![version("x", "1", 1), version("y", "1", 1)], vec![]))
        .await
        .unwrap();
    let b_commit = commit("b", "rb", 1, vec![version("x", "1", 2)], vec![]);
    let b_id = store.commit_sync(&b_commit).await.unwrap();
    // A removal in one registry does not reach the other.
    store.commit_sync(&commit("a", "ra2", 1, vec![], vec![nv("x", "1")])).await.unwrap();
    assert_eq!(store.catalog("b").await.unwrap(), b_commit.upserts);
    assert_eq!(store.catalog("a").await.unwrap().len(), 1);

    store.remove_registry("a").await.unwrap();
    assert!(store.catalog("a").await.unwrap().is_empty());
    assert_eq!(store.registry_state("a").await.unwrap(), None);
    assert!(store.runs("a", 10).await.unwrap().is_empty());
    assert!(store.changes("a", a_id).await.unwrap().is_empty());

    assert_eq!(store.catalog("b").await.unwrap(), b_commit.upserts);
    assert_eq!(store.registry_state("b").await.unwrap(), Some(b_commit.state));
    assert_eq!(store.runs("b", 10).await.unwrap().len(), 1);
    assert_eq!(store.changes("b", b_id).await.unwrap(), b_commit.changes);
    // A run is asked for by its registry: b's run id asked of another registry gives nothing.
    assert!(store.changes("a", b_id).await.unwrap().is_empty());
    assert!(store.changes("never", b_id).await.unwrap().is_empty());
    assert_eq!(store.registry_states().await.unwrap().len(), 1);
    db.check_integrity().await;
    // Removing an unknown registry is not an error.
    store.remove_registry("never").await.unwrap();
}

async fn run_ids_are_never_reused(db: TestDb) {
    let store = db.open().await;
    store.record_run(&run("reg", SyncOutcome::Failed), None).await.unwrap();
    let last = store.commit_sync(&commit("reg", "r1", 1, vec![version("x", "1", 1)], vec![])).await.unwrap();
    store.remove_registry("reg").await.unwrap();
    let next = store.record_run(&run("reg", SyncOutcome::Failed), None).await.unwrap();
    assert!(next > last, "a run id after removal ({next}) is new, not {last} again");
    assert!(store.changes("reg", next).await.unwrap().is_empty(), "no change set of the removed run comes back");
}

async fn a_failing_commit_leaves_everything_as_it_was(db: TestDb) {
    let store = db.open().await;
    let good = commit("reg", "r1", 2, vec![version("x", "1", 1), version("y", "1", 1)], vec![]);
    store.commit_sync(&good).await.unwrap();

    // The run row is written after the versions; a count that does not fit the column fails it there.
    let mut bad = commit("reg", "r2", 1, vec![version("x", "1", 2), version("z", "1", 2)], vec![nv("y", "1")]);
    bad.run.counts.total = u64::MAX;
    let err = store.commit_sync(&bad).await.unwrap_err();
    assert!(matches!(err, StoreError::Query { .. }), "{err}");

    assert_eq!(store.catalog("reg").await.unwrap(), good.upserts);
    assert_eq!(store.registry_state("reg").await.unwrap(), Some(good.state));
    assert_eq!(store.runs("reg", 10).await.unwrap().len(), 1);
}

async fn a_run_and_state_of_different_registries_are_refused(db: TestDb) {
    let store = db.open().await;
    let mut c = commit("reg", "r1", 1, vec![version("x", "1", 1)], vec![]);
    c.state.registry = "elsewhere".to_owned();
    assert!(store.commit_sync(&c).await.is_err());
    assert!(store.record_run(&run("reg", SyncOutcome::Failed), Some(&state("other", "r", 0))).await.is_err());
    assert!(store.registry_states().await.unwrap().is_empty());
    assert!(store.runs("reg", 5).await.unwrap().is_empty());
}

async fn nul_characters_are_refused_naming_the_field(db: TestDb) {
    let store = db.open().await;
    let good = commit("reg", "r1", 1, vec![version("x", "1", 1)], vec![]);
    store.commit_sync(&good).await.unwrap();

    let mut bad_version = version("io.example/nul", "1.0\u{0}", 2);
    bad_version.status_message = Some("fine".to_owned());
    let err = store.commit_sync(&commit("reg", "r2", 2, vec![bad_version], vec![])).await.unwrap_err();
    let message = err.to_string();
    assert!(message.contains("io.example/nul") && message.contains("field version"), "{message}");

    let mut bad_state = state("reg", "r3", 1);
    bad_state.last_error = Some("the server said \u{0}".to_owned());
    let err = store.record_run(&run("reg", SyncOutcome::Failed), Some(&bad_state)).await.unwrap_err();
    assert!(err.to_string().contains("field lastError"), "{err}");

    assert_eq!(store.catalog("reg").await.unwrap(), good.upserts);
    assert_eq!(store.registry_state("reg").await.unwrap(), Some(good.state));
    assert_eq!(store.runs("reg", 10).await.unwrap().len(), 1);
}

async fn a_version_upserted_twice_in_one_commit_is_refused(db: TestDb) {
    let store = db.open().await;
    let twice = commit("reg", "r1", 1, vec![version("x", "1", 1), version("y", "1", 1), version("x", "1", 2)], vec![]);
    let err = store.commit_sync(&twice).await.unwrap_err();
    assert!(err.to_string().contains("\"x\" version \"1\" is upserted twice"), "{err}");
    assert!(store.registry_states().await.unwrap().is_empty());
    assert!(store.catalog("reg").await.unwrap().is_empty());
}

async fn reopening_keeps_everything(db: TestDb) {
    let c = commit("reg", "r1", 2, vec![version("x", "1", 1), version("y", "2", 1)], vec![]);
    let run_id = {
        let store = db.open().await;
        let id = store.commit_sync(&c).await.unwrap();
        store.close().await;
        id
    };
    let again = db.open().await;
    assert_eq!(again.catalog("reg").await.unwrap(), c.upserts);
    assert_eq!(again.registry_state("reg").await.unwrap(), Some(c.state.clone()));
    assert_eq!(again.changes("reg", run_id).await.unwrap(), c.changes);
    assert_eq!(again.runs("reg", 5).await.unwrap().len(), 1);
    again.close().await;
    db.check_integrity().await;
}

async fn a_second_store_on_the_database_sees_each_commit(db: TestDb) {
    // Two stores on one database stand for two processes (a syncer and an API replica).
    let writer = db.open().await;
    let reader = db.open().await;
    for g in 1..=3 {
        let c = commit("reg", &format!("r{g}"), 2, vec![version("x", "1", g), version("y", "1", g)], vec![]);
        let id = writer.commit_sync(&c).await.unwrap();
        assert_eq!(reader.catalog("reg").await.unwrap(), c.upserts);
        assert_eq!(reader.registry_state("reg").await.unwrap(), Some(c.state));
        assert_eq!(reader.runs("reg", 1).await.unwrap()[0].id, id);
    }
}

async fn a_version_cannot_exist_without_its_registry(db: TestDb) {
    let store = db.open().await;
    store.commit_sync(&commit("reg", "r1", 1, vec![version("x", "1", 1)], vec![])).await.unwrap();
    let orphan = db
        .execute(
            "INSERT INTO server_versions (registry, name, version, document, extra_meta, digest, status, \
             published_at, updated_at, is_latest) \
             VALUES ('ghost', 'n', 'v', '{}', 'null', 'd', 'active', 't', 't', TRUE)",
        )
        .await;
    assert!(orphan.is_err(), "foreign key enforced");
    let stored = db
        .execute(
            "INSERT INTO server_versions (registry, name, version, document, extra_meta, digest, status, \
             published_at, updated_at, is_latest) \
             VALUES ('reg', 'n', 'v', '{}', 'null', 'd', 'active', 't', 't', TRUE)",
        )
        .await;
    assert_eq!(stored.expect("a version of a known registry is accepted"), 1);
}

async fn corrupt_rows_are_reported_with_their_key(db: TestDb) {
    let store = db.open().await;
    store.commit_sync(&commit("reg", "r1", 2, vec![version("x", "1", 1), version("y", "7", 1)], vec![])).await.unwrap();
    db.execute("UPDATE server_versions SET document = '{broken' WHERE name = 'y'").await.unwrap();
    db.execute("UPDATE registry_state SET validators = 'nope'").await.unwrap();

    let err = store.catalog("reg").await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("\"y\"") && message.contains("\"7\"") && message.contains("document"), "{message}");
    let err = store.registry_state("reg").await.unwrap_err();
    assert!(err.to_string().contains("validators"), "{err}");
}
