//! Opening the local store.

use std::sync::Arc;

use anyhow::Context;
use thv_store::Store;

use crate::config::Locations;

/// Opens (creating if needed) the database named by `locations`.
pub async fn open(locations: &Locations) -> anyhow::Result<Arc<dyn Store>> {
    let path = locations.database_path();
    let store = thv_store::SqliteStore::open(&path).await.with_context(|| format!("database {}", path.display()))?;
    Ok(Arc::new(store))
}
