//! The sync pipeline into a `ConfigMapStore` on the fake API server: the real 2,794-version dump fits, an
//! operator restart resumes from the storage without refetching or a change set, and a catalog too large
//! is a stalled failure that keeps the stored catalog.

mod support;

use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::json;
use support::{NAMESPACE, fake, owner, registry};
use thv_operator::ConfigMapStore;
use thv_operator::labels::storage_config_map_name;
use thv_operator::storage::{STORAGE_LIMIT, layout};
use thv_sources::{FileSource, FileSpec};
use thv_store::{FailureKind, Store, SyncOutcome};
use thv_sync::{RegistrySpec, sync_registry};

const REG: &str = "platform";

fn spec(path: &std::path::Path) -> RegistrySpec {
    serde_json::from_value(json!({"name": REG, "source": {"file": {"path": path}}})).expect("spec")
}

fn source(path: &std::path::Path) -> FileSource {
    FileSource::new(FileSpec { path: path.to_owned() })
}

fn stored_catalog_bytes(fake: &thv_kube_fake::FakeApiServer) -> Vec<u8> {
    let object: ConfigMap = fake.get(NAMESPACE, &storage_config_map_name(REG)).expect("get").expect("stored");
    object.binary_data.and_then(|mut b| b.remove(layout::CATALOG_KEY)).expect("catalog key").0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_dump_fits_and_a_restart_resumes_without_a_change_set() {
    let Some(dump) = thv_testdata::shared_file(thv_testdata::REAL_DUMP) else { return };
    let fake = fake();
    let registry = registry(&fake, REG).await;
    let spec = spec(&dump);
    let store = ConfigMapStore::new(fake.client_as("operator"), NAMESPACE, REG, owner(&registry));

    let report = sync_registry(&spec, &source(&dump), &store).await;
    assert_eq!(report.outcome, SyncOutcome::Success, "{:?}", report.error);
    let stored = store.catalog(REG).await.expect("catalog");
    assert_eq!(stored.len() as u64, report.counts.total);
    assert!(stored.len() >= 2_700, "{} versions", stored.len());
    let size = store.stored_size().expect("stored");
    println!(
        "real dump: {} versions stored in {size} bytes ({:.1}% of the {STORAGE_LIMIT}-byte limit)",
        stored.len(),
        size as f64 * 100.0 / STORAGE_LIMIT as f64
    );
    assert!(size < 450_000, "the dump compresses to about 0.36 MB, not {size} bytes");
    let catalog_before = stored_catalog_bytes(&fake);

    // The operator restarts: a new store reads the state and catalog back, and the next sync of the same
    // source is unchanged — no change set, and nothing written at all.
    fake.clear_requests();
    let restarted = ConfigMapStore::new(fake.client_as("operator-restarted"), NAMESPACE, REG, owner(&registry));
    let again = sync_registry(&spec, &source(&dump), &restarted).await;
    assert_eq!(again.outcome, SyncOutcome::Unchanged, "{:?}", again.error);
    assert!(again.changes.is_empty(), "{} spurious changes", again.changes.len());
    let writes: Vec<_> = fake.requests().into_iter().filter(|r| r.verb != thv_kube_fake::Verb::Get).collect();
    assert!(writes.is_empty(), "an unchanged sync writes nothing: {writes:?}");
    assert_eq!(stored_catalog_bytes(&fake), catalog_before);
    let runs = restarted.runs(REG, 10).await.expect("runs");
    assert_eq!(runs.iter().map(|r| r.outcome).collect::<Vec<_>>(), vec![SyncOutcome::Success]);
    assert_eq!(restarted.changes(REG, runs[0].id).await.expect("changes").len() as u64, report.counts.added);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalog_too_large_for_the_storage_is_a_stalled_failure_that_keeps_the_stored_catalog() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("catalog.json");
    let record = |i: usize, description: String| {
        json!({"server": {
            "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
            "name": format!("io.example/noise-{i:05}"),
            "version": "1.0.0",
            "description": description,
        }})
    };
    std::fs::write(&path, json!([record(0, "small".into()), record(1, "small".into())]).to_string()).expect("write");
    let fake = fake();
    let registry = registry(&fake, REG).await;
    let store = ConfigMapStore::new(fake.client_as("operator"), NAMESPACE, REG, owner(&registry));
    let first = sync_registry(&spec(&path), &source(&path), &store).await;
    assert_eq!(first.outcome, SyncOutcome::Success, "{:?}", first.error);

    // 1,500 records of random text: about 3 MB that gzip cannot squeeze under 1 MiB.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let records: Vec<_> = (0..1_500)
        .map(|i| {
            let noise: String = (0..128)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    format!("{x:016x}")
                })
                .collect();
            record(i, noise)
        })
        .collect();
    std::fs::write(&path, serde_json::Value::Array(records).to_string()).expect("write");
    let report = sync_registry(&spec(&path), &source(&path), &store).await;
    assert_eq!(report.outcome, SyncOutcome::Failed);
    assert_eq!(report.failure, Some(FailureKind::Stalled), "not retried with backoff: {:?}", report.error);
    let error = report.error.expect("error");
    assert!(error.contains("over its limit of") && error.contains("spec.storage.type"), "{error}");

    assert_eq!(store.catalog(REG).await.expect("catalog").len(), 2, "the stored catalog stays");
    let state = store.registry_state(REG).await.expect("state").expect("state");
    assert_eq!(state.last_failure, Some(FailureKind::Stalled));
    assert_eq!(state.server_count, 2);
}
