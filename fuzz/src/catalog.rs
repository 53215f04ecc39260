//! The catalog the API target serves: ToolHive's catalog and the diverse subset of the production dump from
//! `../shared/data`, read, converted and diffed by the same functions a sync uses.

use thv_api::{RegistrySnapshot, Snapshot};
use thv_model::detect::FormatHint;
use thv_model::load::load_bytes;
use thv_store::ServerVersion;
use thv_testdata::{SUBSET_DIVERSE, TOOLHIVE_REGISTRY, shared_file};

/// When the fixture's catalogs were "synced".
const SYNCED_AT: &str = "2025-12-18T00:00:00Z";

/// The stored versions of one shared-data file, as a sync of it would commit them.
///
/// # Panics
/// When the file is missing or not a catalog: a fuzz target without its catalog would fuzz nothing.
pub fn versions_of(relative: &str) -> Vec<ServerVersion> {
    let path = shared_file(relative)
        .unwrap_or_else(|| panic!("the fuzz targets need ../shared/data/{relative} beside the project"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let loaded = load_bytes(&bytes, FormatHint::Auto).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let candidates = loaded.catalog.entries.into_iter().map(|entry| thv_sync::diff::candidate(entry, SYNCED_AT));
    thv_sync::diff::diff(&[], candidates.collect(), SYNCED_AT).take_upserts()
}

/// Two registries: `official` (55 diverse records of the production dump) and `toolhive` (ToolHive's catalog).
pub fn snapshot() -> Snapshot {
    Snapshot::new(vec![
        ("official".to_owned(), RegistrySnapshot::new(&versions_of(SUBSET_DIVERSE))),
        ("toolhive".to_owned(), RegistrySnapshot::new(&versions_of(TOOLHIVE_REGISTRY))),
    ])
}
