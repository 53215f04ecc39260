//! Readers working while a writer commits, on every backend: every catalog a reader gets is one whole
//! generation. Then two writers commit to one registry at once: each commit is whole, and the last one
//! to finish is the catalog.
// The cases are plain functions (run by `store_suite!` or a #[test] wrapper), where clippy's
// allow-unwrap-in-tests does not reach.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{TestDb, commit, generation_of, version};
use thv_store::{NameVersion, ServerVersion, Store, SyncCommit};

const REGISTRY: &str = "busy";
const BASE: usize = 300;
const GENERATIONS: u64 = 12;

/// Generation `g`: `BASE` versions carrying `g`, plus one version only `g` has (the previous one's removed).
fn generation(g: u64) -> SyncCommit {
    let mut upserts: Vec<ServerVersion> =
        (0..BASE).map(|i| version(&format!("io.example/server-{i:04}"), "1.0.0", g)).collect();
    upserts.push(version(&format!("io.example/only-in-{g:04}"), "1.0.0", g));
    let removals = (g > 1)
        .then(|| NameVersion { name: format!("io.example/only-in-{:04}", g - 1), version: "1.0.0".to_owned() })
        .into_iter()
        .collect();
    commit(REGISTRY, &format!("gen-{g}"), BASE as u64 + 1, upserts, removals)
}

/// Checks that a catalog is exactly one generation; returns it.
fn whole_generation(catalog: &[ServerVersion]) -> u64 {
    assert_eq!(catalog.len(), BASE + 1, "a catalog is complete");
    let generations: BTreeSet<_> = catalog.iter().map(generation_of).collect();
    assert_eq!(generations.len(), 1, "one generation per catalog, got {generations:?}");
    let g = generations.into_iter().next().flatten().expect("a generation");
    let only: Vec<_> = catalog.iter().filter(|v| v.name.starts_with("io.example/only-in-")).collect();
    assert_eq!(only.len(), 1, "exactly one generation-specific version");
    assert_eq!(only[0].name, format!("io.example/only-in-{g:04}"));
    g
}

async fn read_until(store: Arc<dyn Store>, done: Arc<AtomicBool>) -> BTreeSet<u64> {
    let mut seen = BTreeSet::new();
    let mut last = 0;
    loop {
        // Read the flag first: a read that starts after the writer finished sees the last generation.
        let finished = done.load(Ordering::SeqCst);
        let g = whole_generation(&store.catalog(REGISTRY).await.expect("catalog"));
        assert!(g >= last, "generations never go back: {g} after {last}");
        last = g;
        seen.insert(g);
        if finished {
            return seen;
        }
        tokio::task::yield_now().await;
    }
}

store_suite!(readers_never_see_a_half_applied_commit, concurrent_writers_to_one_registry_never_interleave);

async fn readers_never_see_a_half_applied_commit(db: TestDb) {
    let writer = db.open().await;
    // A second store on the same database stands for another process (an API replica).
    let other = db.open().await;
    writer.commit_sync(&generation(1)).await.unwrap();

    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = [&writer, &writer, &other]
        .into_iter()
        .map(|store| tokio::spawn(read_until(Arc::clone(store), Arc::clone(&done))))
        .collect();

    for g in 2..=GENERATIONS {
        writer.commit_sync(&generation(g)).await.unwrap();
    }
    done.store(true, Ordering::SeqCst);

    let mut seen = BTreeSet::new();
    for reader in readers {
        let generations = reader.await.expect("reader task");
        assert_eq!(generations.last(), Some(&GENERATIONS), "a read after the last commit sees it");
        seen.extend(generations);
    }
    println!("{:?}: generations seen by readers: {seen:?}", db.backend());
    assert!(seen.len() >= 3, "readers ran while the writer committed; saw generations {seen:?}");
    let state = other.registry_state(REGISTRY).await.unwrap().unwrap();
    assert_eq!(state.revision.as_deref(), Some(format!("gen-{GENERATIONS}").as_str()));
    db.check_integrity().await;
}

/// Two stores (two processes) commit generations to the same registry at the same time: odd generations
/// from one, even from the other. Every commit succeeds, and the catalog is always one whole generation
/// whose state row and last run agree with it.
async fn concurrent_writers_to_one_registry_never_interleave(db: TestDb) {
    let first = db.open().await;
    let second = db.open().await;
    first.commit_sync(&generation(1)).await.unwrap();
    // Removals name the previous generation's extra version; with two writers that one may not exist,
    // which a removal tolerates.
    let writers = [(Arc::clone(&first), 2u64), (Arc::clone(&second), 3u64)].map(|(store, start)| {
        tokio::spawn(async move {
            let mut g = start;
            while g <= GENERATIONS {
                store.commit_sync(&generation(g)).await.expect("a concurrent commit succeeds");
                g += 2;
            }
        })
    });
    for writer in writers {
        writer.await.expect("writer task");
    }
    let catalog = first.catalog(REGISTRY).await.unwrap();
    let base: Vec<_> = catalog.iter().filter(|v| !v.name.starts_with("io.example/only-in-")).collect();
    assert_eq!(base.len(), BASE, "the base versions are all there");
    let generations: BTreeSet<_> = base.iter().map(|v| generation_of(v)).collect();
    assert_eq!(generations.len(), 1, "the base versions are of one generation: {generations:?}");
    let g = generations.into_iter().next().flatten().expect("a generation");
    let state = second.registry_state(REGISTRY).await.unwrap().unwrap();
    assert_eq!(state.revision, Some(format!("gen-{g}")), "the state row names the catalog's generation");
    let last_run = second.runs(REGISTRY, 1).await.unwrap().remove(0);
    assert_eq!(last_run.revision, state.revision, "the last run is the one that committed the catalog");
    assert_eq!(second.runs(REGISTRY, 100).await.unwrap().len(), GENERATIONS as usize);
    db.check_integrity().await;
}
