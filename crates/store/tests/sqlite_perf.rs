//! Timing of large commits and loads. Ignored by default; run in release:
//!
//! ```text
//! cargo test -p thv-store --release --test sqlite_perf -- --ignored --nocapture
//! ```

mod common;

use std::time::{Duration, Instant};

use common::{catalog, commit, generation_of};
use thv_store::{SqliteStore, Store};

const VERSIONS: usize = 10_000;
const ROUNDS: u64 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing; run in release with --ignored"]
async fn ten_thousand_versions_commit_and_load() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("registry.db")).await.unwrap();
    let sample = catalog(VERSIONS, 0);
    let bytes: usize = sample.iter().map(|v| serde_json::to_string(&v.document).unwrap().len()).sum();
    println!("{VERSIONS} versions, {} bytes per document on average", bytes / VERSIONS);

    let mut worst = [Duration::ZERO; 3];
    for round in 0..ROUNDS {
        // A new registry (all inserts), then every version replaced, then the catalog loaded back.
        let registry = format!("reg-{round}");
        let first = commit(&registry, "r1", VERSIONS as u64, catalog(VERSIONS, 1), vec![]);
        let second = commit(&registry, "r2", VERSIONS as u64, catalog(VERSIONS, 2), vec![]);

        let start = Instant::now();
        store.commit_sync(&first).await.unwrap();
        let insert = start.elapsed();
        let start = Instant::now();
        store.commit_sync(&second).await.unwrap();
        let replace = start.elapsed();
        let start = Instant::now();
        let loaded = store.catalog(&registry).await.unwrap();
        let load = start.elapsed();

        assert_eq!(loaded.len(), VERSIONS);
        assert!(loaded.iter().all(|v| generation_of(v) == Some(2)));
        println!("round {round}: commit (insert) {insert:?}, commit (replace all) {replace:?}, load {load:?}");
        for (w, d) in worst.iter_mut().zip([insert, replace, load]) {
            *w = (*w).max(d);
        }
    }

    if !cfg!(debug_assertions) {
        for (what, d) in ["insert", "replace", "load"].iter().zip(worst) {
            assert!(d < Duration::from_secs(1), "{what} took {d:?}");
        }
    }
}
