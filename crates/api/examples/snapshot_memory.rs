//! Where a serve replica's memory goes: loads the stored catalogs the way `thv registry serve` does and
//! prints the live heap bytes (counted by a wrapping global allocator) after each stage and the peak so
//! far, then the bytes of each component of the snapshot.
//!
//! `cargo run --release -p thv-api --example snapshot_memory -- DATABASE REGISTRY...`
//! (`bench/memory.sh` syncs a generated catalog and runs it).

use std::alloc::System;

use cap::Cap;
use thv_api::{Snapshot, load_snapshot};
use thv_store::StoreLocation;

/// The system allocator, counting live bytes and their all-time peak.
#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

const MB: f64 = 1_000_000.0;

/// Runs `stage` and prints the live heap bytes after it, what it kept, and the peak so far.
async fn stage<T>(label: &str, work: impl std::future::Future<Output = T>) -> T {
    let before = ALLOCATOR.allocated();
    let out = work.await;
    let after = ALLOCATOR.allocated();
    println!(
        "{label:<44} live {:7.1} MB   kept {:+7.1} MB   peak so far {:7.1} MB   process RSS {}",
        after as f64 / MB,
        (after as f64 - before as f64) / MB,
        ALLOCATOR.max_allocated() as f64 / MB,
        rss(),
    );
    out
}

/// The process's resident memory (`VmRSS` of `/proc/self/status`), as the kernel shows it.
fn rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| status.lines().find(|l| l.starts_with("VmRSS:")).map(|l| l[6..].trim().to_owned()))
        .unwrap_or_else(|| "unknown".to_owned())
}

fn print_components(snapshot: &Snapshot) {
    for (name, registry) in snapshot
        .registry_names()
        .filter_map(|n| snapshot.registry(n).map(|r| (n.to_owned(), r)))
        .chain([("(aggregate)".to_owned(), snapshot.aggregate())])
    {
        let footprint = registry.footprint();
        println!("{name}: {} versions, {} names", registry.records().len(), registry.name_count());
        for (component, bytes) in footprint.components() {
            println!("  {component:<36} {:7.1} MB", bytes as f64 / MB);
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let database = args.next().ok_or("usage: snapshot_memory DATABASE REGISTRY...")?;
    let registries: Vec<String> = args.collect();
    let store = stage("open the store", thv_store::open(&StoreLocation::parse(&database)?)).await?;
    let snapshot = stage("load the snapshot", load_snapshot(store.as_ref(), &registries)).await?;
    let again = stage("load it again beside the first (a reload)", load_snapshot(store.as_ref(), &registries)).await?;
    stage("drop the first (the swap)", async { drop(snapshot) }).await;
    print_components(&again);
    Ok(())
}
