//! `ConfigMapStore` against the fake API server: the cases of the store suite (`crates/store/tests/
//! store_suite.rs`) that apply to a one-registry store, ported, plus what only a ConfigMap has — its
//! layout, ownership, the size limit, conditional writes, foreign and corrupt objects, the real
//! 2,794-version dump through the sync pipeline, and a restart that resumes without a change set.
//!
//! Cases of the suite left out, and why: multi-registry listing and isolation (this store holds one
//! registry; other names read as empty and cannot be written — tested below), SQL batch boundaries, foreign
//! keys and row corruption (no rows), a count that overflows an SQL column (JSON holds it), run ids after
//! removal (the ids live in the storage, so a removed and recreated registry starts again at 1, as
//! documented).

mod support;

use std::sync::Arc;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;
use support::{NAMESPACE, change, commit, fake, generation_of, key, nv, owner, registry, run, state, version};
use thv_kube_fake::{Fault, Verb};
use thv_operator::ConfigMapStore;
use thv_operator::labels::{REGISTRY_LABEL, STORAGE_FORMAT_ANNOTATION, storage_config_map_name};
use thv_operator::storage::{API_SERVER_LIMIT, MAX_RUNS, STORAGE_LIMIT, layout};
use thv_store::{ChangeKind, FailureKind, Store, StoreError, SyncOutcome};

const REG: &str = "platform";

/// A fake with the MCPRegistry `platform` and a store on it.
async fn setup() -> (thv_kube_fake::FakeApiServer, ConfigMapStore) {
    let fake = fake();
    let registry = registry(&fake, REG).await;
    let store = ConfigMapStore::new(fake.client_as("operator"), NAMESPACE, REG, owner(&registry));
    (fake, store)
}

/// A second store on the same storage, as a restarted operator (or another process) has.
async fn another_store(fake: &thv_kube_fake::FakeApiServer) -> ConfigMapStore {
    let api: Api<thv_operator::McpRegistry> = Api::namespaced(fake.client_as("user"), NAMESPACE);
    let registry = api.get(REG).await.expect("the registry");
    ConfigMapStore::new(fake.client_as("operator-2"), NAMESPACE, REG, owner(&registry))
}

fn storage(fake: &thv_kube_fake::FakeApiServer) -> Option<ConfigMap> {
    fake.get::<ConfigMap>(NAMESPACE, &storage_config_map_name(REG)).expect("get")
}

fn writes(fake: &thv_kube_fake::FakeApiServer) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.resource == "configmaps" && matches!(r.verb, Verb::Create | Verb::Update))
        .count()
}

#[tokio::test]
async fn the_storage_config_map_is_owned_labelled_compressed_and_collected_with_its_registry() {
    let (fake, store) = setup().await;
    assert!(storage(&fake).is_none(), "nothing is written before the first sync");
    let c =
        commit(REG, "r1", 2, vec![version("io.example/a", "1.0.0", 1), version("io.example/b", "2.0.0", 1)], vec![]);
    store.commit_sync(&c).await.unwrap();

    let object = storage(&fake).expect("the storage ConfigMap");
    let labels = object.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get(REGISTRY_LABEL).map(String::as_str), Some(REG));
    assert_eq!(labels.get("app.kubernetes.io/component").map(String::as_str), Some("registry-storage"));
    assert_eq!(labels.get("app.kubernetes.io/managed-by").map(String::as_str), Some("thv-operator"));
    let annotations = object.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(annotations.get(STORAGE_FORMAT_ANNOTATION).map(String::as_str), Some(layout::FORMAT));
    let owners = object.metadata.owner_references.clone().unwrap_or_default();
    assert_eq!(owners.len(), 1);
    assert_eq!(
        (owners[0].kind.as_str(), owners[0].name.as_str(), owners[0].controller),
        ("MCPRegistry", REG, Some(true))
    );

    let data = object.data.clone().unwrap_or_default();
    assert_eq!(data.keys().collect::<Vec<_>>(), vec![layout::STATE_KEY]);
    let stored_state: thv_store::RegistryState = serde_json::from_str(&data[layout::STATE_KEY]).expect("state JSON");
    assert_eq!(stored_state, c.state, "the state is plain JSON, readable with kubectl");
    let binary = object.binary_data.clone().unwrap_or_default();
    assert_eq!(binary.keys().collect::<Vec<_>>(), vec![layout::CATALOG_KEY, layout::HISTORY_KEY]);
    for bytes in binary.values() {
        assert_eq!(&bytes.0[..2], &[0x1f, 0x8b], "gzip");
    }
    assert_eq!(store.stored_size(), Some(layout::data_size(object.data.as_ref(), object.binary_data.as_ref())));

    // Deleting the registry deletes its storage (garbage collection by the ownerReference).
    let api: Api<thv_operator::McpRegistry> = Api::namespaced(fake.client_as("user"), NAMESPACE);
    api.delete(REG, &DeleteParams::default()).await.expect("delete the registry");
    assert!(storage(&fake).is_none(), "collected with its owner");
    assert!(store.catalog(REG).await.unwrap().is_empty());
    assert_eq!(store.registry_state(REG).await.unwrap(), None);
}

#[tokio::test]
async fn every_field_of_a_version_round_trips_verbatim() {
    let (fake, store) = setup().await;
    let mut full = version("io.github.acme/weather", "2.1.0", 7);
    // Text that a reformatting reader would change: key order, number spelling, escapes.
    full.document = thv_store::JsonText::parse(
        r#"{"zeta":1,"name":"io.github.acme/weather","version":"2.1.0","n":1.50,"e":1e3,"description":"Ünïcødé ✓ \"quotes\" \\ \u0000 escaped NUL","alpha":{"nested":[1,2.5,null,true,"x"]}}"#
            .to_owned(),
    )
    .expect("JSON");
    full.extra_meta = json!({ "io.example/extra": { "stars": 42 } });
    full.status = "deprecated".to_owned();
    full.status_changed_at = Some("2025-05-05T05:05:05Z".to_owned());
    full.status_message = Some("use io.github.acme/weather2".to_owned());
    full.is_latest = false;
    let plain = version("io.github.acme/time", "1.0.0", 7);
    store.commit_sync(&commit(REG, "r1", 2, vec![full.clone(), plain.clone()], vec![])).await.unwrap();

    // Read by another store, so it comes from the ConfigMap and not from a cache.
    let stored = another_store(&fake).await.catalog(REG).await.unwrap();
    assert_eq!(stored, vec![plain, full.clone()]);
    assert_eq!(stored[1].document.as_str(), full.document.as_str(), "the document text comes back byte for byte");
}

#[tokio::test]
async fn state_round_trips_and_other_registries_read_as_empty() {
    let (fake, store) = setup().await;
    assert_eq!(store.registry_state(REG).await.unwrap(), None);
    assert!(store.registry_states().await.unwrap().is_empty());
    let mut failing = state(REG, "r0", 0);
    failing.validators = json!(null);
    failing.revision = None;
    failing.content_digest = None;
    failing.last_success_at = None;
    failing.failed_attempts = 3;
    failing.last_error = Some("timeout after 30s fetching https://example.com".to_owned());
    failing.last_failure = Some(FailureKind::Retryable);
    store.record_run(&run(REG, SyncOutcome::Failed), Some(&failing)).await.unwrap();
    assert_eq!(store.registry_state(REG).await.unwrap(), Some(failing.clone()));
    assert!(store.catalog(REG).await.unwrap().is_empty(), "a state without a catalog: known empty");

    let committed = commit(REG, "r1", 1, vec![version("x", "1", 1)], vec![]);
    store.commit_sync(&committed).await.unwrap();
    let again = another_store(&fake).await;
    assert_eq!(again.registry_state(REG).await.unwrap(), Some(committed.state.clone()));
    assert_eq!(again.registry_states().await.unwrap(), vec![committed.state]);

    for other in ["other", "Platform", ""] {
        assert_eq!(store.registry_state(other).await.unwrap(), None, "{other}");
        assert!(store.catalog(other).await.unwrap().is_empty(), "{other}");
        assert!(store.runs(other, 10).await.unwrap().is_empty(), "{other}");
        store.remove_registry(other).await.unwrap();
    }
    assert_eq!(store.catalog(REG).await.unwrap().len(), 1, "removing another name removes nothing");
}

#[tokio::test]
async fn writes_for_other_registries_and_invalid_records_are_refused_and_write_nothing() {
    let (fake, store) = setup().await;
    let err = store.commit_sync(&commit("other", "r1", 1, vec![version("x", "1", 1)], vec![])).await.unwrap_err();
    assert!(err.to_string().contains("holds registry \"platform\" only, not \"other\""), "{err}");
    assert!(store.record_run(&run("other", SyncOutcome::Failed), None).await.is_err());
    let mut mismatched = commit(REG, "r1", 1, vec![version("x", "1", 1)], vec![]);
    mismatched.state.registry = "elsewhere".to_owned();
    assert!(store.commit_sync(&mismatched).await.is_err());
    assert!(store.record_run(&run(REG, SyncOutcome::Failed), Some(&state("other", "r", 0))).await.is_err());

    let mut bad_version = version("io.example/nul", "1.0\u{0}", 2);
    bad_version.status_message = Some("fine".to_owned());
    let err = store.commit_sync(&commit(REG, "r2", 1, vec![bad_version], vec![])).await.unwrap_err();
    assert!(err.to_string().contains("io.example/nul") && err.to_string().contains("field version"), "{err}");
    let twice = commit(REG, "r1", 1, vec![version("x", "1", 1), version("y", "1", 1), version("x", "1", 2)], vec![]);
    let err = store.commit_sync(&twice).await.unwrap_err();
    assert!(err.to_string().contains("\"x\" version \"1\" is upserted twice"), "{err}");

    assert!(storage(&fake).is_none(), "nothing was written");
    assert_eq!(writes(&fake), 0);
}

#[tokio::test]
async fn runs_come_newest_first_with_a_limit_and_the_history_is_bounded() {
    let (_fake, store) = setup().await;
    let mut ids = Vec::new();
    let mut expected = Vec::new();
    for i in 0..(MAX_RUNS + 3) {
        let outcome = [SyncOutcome::Success, SyncOutcome::Failed, SyncOutcome::Unchanged][i % 3];
        let mut r = run(REG, outcome);
        r.started_at = format!("2025-06-01T10:{i:02}:00Z");
        r.counts = thv_store::Counts { total: 10 + i as u64, added: 1, removed: 2, updated: 3, skipped: 4 };
        r.revision = (i % 2 == 0).then(|| format!("rev-{i}"));
        let id = store.record_run(&r, None).await.unwrap();
        ids.push(id);
        r.id = id;
        expected.push(r);
    }
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "ids grow by one: {ids:?}");
    expected.reverse();
    expected.truncate(MAX_RUNS);
    assert_eq!(store.runs(REG, 100).await.unwrap(), expected);
    assert_eq!(store.runs(REG, 2).await.unwrap(), expected[..2]);
    assert!(store.runs(REG, 0).await.unwrap().is_empty());
    assert_eq!(store.registry_state(REG).await.unwrap(), None, "runs without a state leave no state");
}

#[tokio::test]
async fn the_catalog_is_ordered_by_name_then_version_bytewise() {
    let (_fake, store) = setup().await;
    let names = ["b", "a", "B", "ä", "a-b", "a.b", "A", "a/b", "ab", "Z", "_a", "é", "日本"];
    let versions = ["1.10.0", "1.9.0", "1.0.0-rc.1", "1.0.0", "10.0.0", "V1", "v1"];
    let upserts: Vec<_> = names.iter().flat_map(|n| versions.iter().map(move |v| version(n, v, 1))).collect();
    store.commit_sync(&commit(REG, "r", upserts.len() as u64, upserts.clone(), vec![])).await.unwrap();
    let mut expected: Vec<_> = upserts.iter().map(key).collect();
    expected.sort();
    let got: Vec<_> = store.catalog(REG).await.unwrap().iter().map(key).collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn upserts_replace_and_removals_delete_only_the_named_versions() {
    let (_fake, store) = setup().await;
    let first = vec![version("x", "1", 1), version("x", "2", 1), version("y", "1", 1)];
    store.commit_sync(&commit(REG, "r1", 3, first, vec![])).await.unwrap();
    let mut replaced = version("x", "1", 2);
    replaced.status = "deleted".to_owned();
    replaced.status_message = Some("withdrawn".to_owned());
    replaced.is_latest = false;
    replaced.extra_meta = json!({ "k": "v" });
    let mut second = commit(REG, "r2", 2, vec![replaced.clone()], vec![nv("y", "1"), nv("never", "stored")]);
    second.changes = vec![change(ChangeKind::Updated, "x", "1"), change(ChangeKind::Removed, "y", "1")];
    store.commit_sync(&second).await.unwrap();

    let stored = store.catalog(REG).await.unwrap();
    assert_eq!(stored.iter().map(key).collect::<Vec<_>>(), vec![("x".into(), "1".into()), ("x".into(), "2".into())]);
    assert_eq!(stored[0], replaced);
    assert_eq!(generation_of(&stored[1]), Some(1), "untouched versions stay");
}

#[tokio::test]
async fn each_run_keeps_its_own_change_set_and_state_follows_commits_and_runs() {
    let (fake, store) = setup().await;
    let first = commit(REG, "r1", 2, vec![version("x", "1", 1), version("y", "1", 1)], vec![]);
    let first_id = store.commit_sync(&first).await.unwrap();
    let mut failed = state(REG, "r1", 2);
    failed.failed_attempts = 1;
    failed.last_error = Some("HTTP 500".to_owned());
    failed.last_failure = Some(FailureKind::Stalled);
    let failed_id = store.record_run(&run(REG, SyncOutcome::Failed), Some(&failed)).await.unwrap();
    assert_eq!(store.registry_state(REG).await.unwrap(), Some(failed.clone()));
    store.record_run(&run(REG, SyncOutcome::Failed), None).await.unwrap();
    assert_eq!(store.registry_state(REG).await.unwrap(), Some(failed), "a run without a state leaves it alone");
    assert_eq!(store.catalog(REG).await.unwrap().len(), 2, "runs never touch the catalog");

    let mut second = commit(REG, "r2", 1, vec![version("y", "1", 2)], vec![nv("x", "1")]);
    second.changes = vec![change(ChangeKind::Removed, "x", "1"), change(ChangeKind::Updated, "y", "1")];
    let second_id = store.commit_sync(&second).await.unwrap();

    let again = another_store(&fake).await;
    assert_eq!(again.changes(REG, first_id).await.unwrap(), first.changes);
    assert_eq!(again.changes(REG, second_id).await.unwrap(), second.changes);
    assert!(again.changes(REG, failed_id).await.unwrap().is_empty());
    assert!(again.changes(REG, 9999).await.unwrap().is_empty());
    assert_eq!(again.registry_state(REG).await.unwrap(), Some(second.state));
    let runs = again.runs(REG, 10).await.unwrap();
    assert_eq!(runs.len(), 4);
    assert_eq!((runs[0].id, runs[0].counts), (second_id, second.run.counts));
}

#[tokio::test]
async fn a_second_store_sees_each_commit_and_a_restart_keeps_everything() {
    let (fake, writer) = setup().await;
    let reader = another_store(&fake).await;
    for g in 1..=3 {
        let c = commit(REG, &format!("r{g}"), 2, vec![version("x", "1", g), version("y", "1", g)], vec![]);
        let id = writer.commit_sync(&c).await.unwrap();
        assert_eq!(reader.catalog(REG).await.unwrap(), c.upserts);
        assert_eq!(reader.registry_state(REG).await.unwrap(), Some(c.state.clone()));
        assert_eq!(reader.runs(REG, 1).await.unwrap()[0].id, id);
        assert_eq!(reader.changes(REG, id).await.unwrap(), c.changes);
    }
}

#[tokio::test]
async fn reads_of_an_unchanged_storage_cost_one_metadata_get_each() {
    let (fake, store) = setup().await;
    store.commit_sync(&commit(REG, "r1", 1, vec![version("x", "1", 1)], vec![])).await.unwrap();
    fake.clear_requests();
    for _ in 0..3 {
        assert_eq!(store.catalog(REG).await.unwrap().len(), 1);
        assert!(store.registry_state(REG).await.unwrap().is_some());
    }
    // One GET per read: the metadata, whose resourceVersion matches the decoded copy. A read that missed
    // the cache would need a second GET for the object itself.
    let requests = fake.requests();
    assert_eq!(requests.len(), 6, "{requests:?}");
    assert!(requests.iter().all(|r| r.verb == Verb::Get), "{requests:?}");
}

#[tokio::test]
async fn a_failed_write_leaves_everything_as_it_was() {
    let (fake, store) = setup().await;
    let good = commit(REG, "r1", 2, vec![version("x", "1", 1), version("y", "1", 1)], vec![]);
    store.commit_sync(&good).await.unwrap();
    let before = storage(&fake).expect("stored");

    fake.inject(Fault::fail(500).on(Verb::Update, "configmaps").times(1));
    let bad = commit(REG, "r2", 1, vec![version("x", "1", 2), version("z", "1", 2)], vec![nv("y", "1")]);
    let err = store.commit_sync(&bad).await.unwrap_err();
    assert!(matches!(err, StoreError::Query { .. }) && err.is_retryable(), "{err}");
    assert!(err.to_string().contains("ConfigMap default/platform-registry-storage"), "{err}");

    assert_eq!(storage(&fake).expect("stored").metadata.resource_version, before.metadata.resource_version);
    assert_eq!(store.catalog(REG).await.unwrap(), good.upserts);
    assert_eq!(store.registry_state(REG).await.unwrap(), Some(good.state));
    assert_eq!(store.runs(REG, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn conflicting_writers_retry_and_lose_nothing() {
    let (fake, store) = setup().await;
    store.commit_sync(&commit(REG, "r1", 1, vec![version("x", "1", 1)], vec![])).await.unwrap();
    // A conflict answered once: the write reads again and succeeds.
    fake.inject(Fault::fail(409).on(Verb::Update, "configmaps").times(1));
    let id = store.record_run(&run(REG, SyncOutcome::Unchanged), None).await.unwrap();
    assert_eq!(store.runs(REG, 1).await.unwrap()[0].id, id);

    // Two processes writing at once: every run is kept, with its own id.
    let other = Arc::new(another_store(&fake).await);
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for (i, s) in [Arc::clone(&store), other, Arc::clone(&store)].into_iter().cycle().take(6).enumerate() {
        tasks.push(tokio::spawn(async move {
            let mut r = run(REG, SyncOutcome::Unchanged);
            r.started_at = format!("writer {i}");
            s.record_run(&r, None).await
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.expect("join").expect("every write lands"));
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 6, "distinct ids: {ids:?}");
    let runs = store.runs(REG, 100).await.unwrap();
    let writers: std::collections::BTreeSet<_> =
        runs.iter().filter(|r| r.started_at.starts_with("writer")).map(|r| r.started_at.clone()).collect();
    assert_eq!(writers.len(), 6, "no write was lost: {writers:?}");
    assert_eq!(store.catalog(REG).await.unwrap().len(), 1, "the catalog survived every rewrite");
}

/// `n` versions whose documents are random text (they do not compress), about `bytes` each.
fn incompressible(n: usize, bytes: usize, seed: u64) -> Vec<thv_store::ServerVersion> {
    let mut x = seed | 1;
    (0..n)
        .map(|i| {
            let mut v = version(&format!("io.example/noise-{i:05}"), "1.0.0", 1);
            let noise: String = (0..bytes / 16)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    format!("{x:016x}")
                })
                .collect();
            let mut doc = v.document.to_value();
            doc["description"] = json!(noise);
            v.document = doc.into();
            v
        })
        .collect()
}

#[tokio::test]
async fn a_catalog_too_large_is_refused_before_the_api_server_and_the_previous_one_stays() {
    let (fake, store) = setup().await;
    let good = commit(REG, "r1", 2, vec![version("x", "1", 1), version("y", "1", 1)], vec![]);
    store.commit_sync(&good).await.unwrap();
    let before = storage(&fake).expect("stored");
    let writes_before = writes(&fake);

    let huge = incompressible(1_200, 2_048, 7);
    let err = store.commit_sync(&commit(REG, "r2", 1_200, huge, vec![])).await.unwrap_err();
    let StoreError::TooLarge { size, limit, .. } = &err else { panic!("not TooLarge: {err}") };
    assert_eq!(*limit, STORAGE_LIMIT);
    assert!(*size > STORAGE_LIMIT, "{size}");
    assert!(!err.is_retryable());
    let message = err.to_string();
    for needed in ["ConfigMap default/platform-registry-storage", "1202 versions", "spec.filter", "spec.storage.type"] {
        assert!(message.contains(needed), "{needed:?} missing from: {message}");
    }
    assert_eq!(writes(&fake), writes_before, "refused before any request");
    assert_eq!(storage(&fake).expect("stored").metadata.resource_version, before.metadata.resource_version);
    assert_eq!(store.catalog(REG).await.unwrap(), good.upserts, "the previous catalog stays");

    // The failure itself is small: the pipeline records it next to the kept catalog.
    let mut failed = good.state.clone();
    failed.last_error = Some(message);
    failed.last_failure = Some(FailureKind::Stalled);
    store.record_run(&run(REG, SyncOutcome::Failed), Some(&failed)).await.unwrap();
    assert_eq!(store.registry_state(REG).await.unwrap(), Some(failed));
}

#[tokio::test]
async fn the_limit_keeps_a_margin_below_the_api_server_limit() {
    // What the store refuses the API server would still take: the refusal is always ours, typed.
    assert_eq!(API_SERVER_LIMIT, 1024 * 1024);
    assert_eq!(API_SERVER_LIMIT - STORAGE_LIMIT, 64 * 1024);
    // And when the API server refuses anyway (a stricter or differently counting server), it is the same
    // typed error.
    let (fake, store) = setup().await;
    fake.inject(
        Fault::fail_with(thv_kube_fake::ApiError::new(413, "etcdserver: request is too large"))
            .on(Verb::Create, "configmaps")
            .times(1),
    );
    let err = store.commit_sync(&commit(REG, "r1", 1, vec![version("x", "1", 1)], vec![])).await.unwrap_err();
    assert!(matches!(err, StoreError::TooLarge { limit: API_SERVER_LIMIT, .. }), "{err}");
    assert!(err.to_string().contains("request is too large"), "{err}");
}

#[tokio::test]
async fn a_foreign_config_map_is_never_overwritten_and_corrupt_storage_names_the_key() {
    let (fake, store) = setup().await;
    let api: Api<ConfigMap> = Api::namespaced(fake.client_as("user"), NAMESPACE);
    let mut foreign = ConfigMap::default();
    foreign.metadata.name = Some(storage_config_map_name(REG));
    foreign.data = Some([("registry.json".to_owned(), "{\"servers\": {}}".to_owned())].into());
    api.create(&PostParams::default(), &foreign).await.expect("create");
    let err = store.commit_sync(&commit(REG, "r1", 1, vec![version("x", "1", 1)], vec![])).await.unwrap_err();
    assert!(err.to_string().contains("not written by the operator"), "{err}");
    let kept = storage(&fake).expect("kept");
    assert_eq!(kept.data, foreign.data, "the foreign ConfigMap is untouched");
    api.delete(&storage_config_map_name(REG), &DeleteParams::default()).await.expect("delete");

    store.commit_sync(&commit(REG, "r1", 1, vec![version("x", "1", 1)], vec![])).await.unwrap();
    let mut broken = storage(&fake).expect("stored");
    broken
        .binary_data
        .get_or_insert_with(Default::default)
        .insert(layout::CATALOG_KEY.into(), ByteString(b"garbage".to_vec()));
    broken.metadata.managed_fields = None;
    api.replace(&storage_config_map_name(REG), &PostParams::default(), &broken).await.expect("corrupt it");
    let err = another_store(&fake).await.catalog(REG).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("catalog.json.gz"), "{err}");

    let mut newer = storage(&fake).expect("stored");
    newer
        .metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(STORAGE_FORMAT_ANNOTATION.into(), "2".into());
    newer.metadata.managed_fields = None;
    api.replace(&storage_config_map_name(REG), &PostParams::default(), &newer).await.expect("annotate");
    let err = store.registry_state(REG).await.unwrap_err();
    assert!(err.to_string().contains("\"2\" is a storage layout this operator does not know"), "{err}");
}

#[tokio::test]
async fn remove_registry_deletes_the_storage() {
    let (fake, store) = setup().await;
    store.commit_sync(&commit(REG, "r1", 1, vec![version("x", "1", 1)], vec![])).await.unwrap();
    store.remove_registry(REG).await.unwrap();
    assert!(storage(&fake).is_none());
    assert!(store.catalog(REG).await.unwrap().is_empty());
    assert!(store.runs(REG, 5).await.unwrap().is_empty());
    store.remove_registry(REG).await.unwrap();
    // A new storage starts over.
    let id = store.commit_sync(&commit(REG, "r1", 1, vec![version("x", "1", 1)], vec![])).await.unwrap();
    assert_eq!(id, 1);
}

#[tokio::test]
async fn a_follower_serves_what_it_observed_without_calling_the_api_and_refuses_writes() {
    let (fake, store) = setup().await;
    let c = commit(REG, "r1", 1, vec![version("x", "1", 1)], vec![]);
    store.commit_sync(&c).await.unwrap();

    let follower = ConfigMapStore::follower(NAMESPACE, REG);
    assert!(!follower.exists());
    assert!(follower.catalog(REG).await.unwrap().is_empty());
    follower.observe(storage(&fake)).unwrap();
    fake.clear_requests();
    assert!(follower.exists());
    assert_eq!(follower.catalog(REG).await.unwrap(), c.upserts);
    assert_eq!(follower.registry_state(REG).await.unwrap(), Some(c.state));
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
    let err = follower.record_run(&run(REG, SyncOutcome::Failed), None).await.unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");

    // A broken object is refused and the last good one kept.
    let mut broken = storage(&fake).expect("stored");
    broken
        .binary_data
        .get_or_insert_with(Default::default)
        .insert(layout::HISTORY_KEY.into(), ByteString(b"x".to_vec()));
    assert!(follower.observe(Some(broken)).is_err());
    assert_eq!(follower.catalog(REG).await.unwrap().len(), 1);
    follower.observe(None).unwrap();
    assert!(!follower.exists() && follower.catalog(REG).await.unwrap().is_empty());
}

fn imported(name: &str, version: &str, note: &str) -> thv_store::ImportedEntry {
    let record = json!({"server": {"name": name, "version": version, "description": note}});
    thv_store::ImportedEntry {
        name: name.to_owned(),
        version: version.to_owned(),
        record: record.into(),
        imported_at: "2026-01-01T00:00:00Z".to_owned(),
    }
}

/// The store suite's imported-layer case, ported: the layer changes with its commit, survives sync commits
/// and restarts, is refused whole when invalid, and is cleared by an empty one (its key then absent).
#[tokio::test]
async fn the_imported_layer_changes_with_its_commit_and_survives_syncs_and_restarts() {
    let (fake, store) = setup().await;
    assert!(store.imported(REG).await.unwrap().is_empty());
    let layer = vec![imported("x", "1", "first ✓"), imported("y", "1", "second")];
    store
        .commit_import(&commit(REG, "r1", 2, vec![version("x", "1", 1), version("y", "1", 1)], vec![]), &layer)
        .await
        .unwrap();
    assert_eq!(store.imported(REG).await.unwrap(), layer);
    assert!(store.imported("other").await.unwrap().is_empty());
    let binary = storage(&fake).and_then(|c| c.binary_data).expect("binaryData");
    assert!(binary.contains_key(layout::IMPORTED_KEY), "{:?}", binary.keys());

    store.commit_sync(&commit(REG, "r2", 2, vec![version("x", "1", 2)], vec![])).await.unwrap();
    assert_eq!(another_store(&fake).await.imported(REG).await.unwrap(), layer, "kept by a sync, read after a restart");

    let twice = vec![imported("z", "1", "a"), imported("z", "1", "b")];
    let err = store.commit_import(&commit(REG, "r3", 3, vec![version("z", "1", 1)], vec![]), &twice).await.unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");
    assert_eq!(store.catalog(REG).await.unwrap().len(), 2, "nothing was written");

    store.commit_import(&commit(REG, "r4", 1, vec![], vec![nv("y", "1")]), &[]).await.unwrap();
    assert!(store.imported(REG).await.unwrap().is_empty());
    let binary = storage(&fake).and_then(|c| c.binary_data).expect("binaryData");
    assert!(!binary.contains_key(layout::IMPORTED_KEY), "an empty layer leaves no key");
}
