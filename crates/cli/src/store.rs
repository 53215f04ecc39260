//! Opening the local store.

use std::sync::{Arc, Mutex};

use anyhow::Context;
use thv_store::Store;

use crate::config::Locations;

/// Stores opened by this process, closed by [`close_all`] before it exits.
static OPENED: Mutex<Vec<Arc<dyn Store>>> = Mutex::new(Vec::new());

/// Opens (creating if needed) the database named by `locations`.
pub async fn open(locations: &Locations) -> anyhow::Result<Arc<dyn Store>> {
    let path = locations.database_path();
    let store: Arc<dyn Store> =
        Arc::new(thv_store::SqliteStore::open(&path).await.with_context(|| format!("database {}", path.display()))?);
    OPENED.lock().unwrap_or_else(|e| e.into_inner()).push(Arc::clone(&store));
    Ok(store)
}

/// Closes every store this process opened, so SQLite folds its write-ahead log back into the database
/// and removes it.
pub async fn close_all() {
    let stores = std::mem::take(&mut *OPENED.lock().unwrap_or_else(|e| e.into_inner()));
    for store in stores {
        store.close().await;
    }
}
