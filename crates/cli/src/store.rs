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

/// Opens the database for a command that only reads it: `None` when the database file does not exist yet
/// (nothing was synced), so that reading creates neither the file nor its folder. A database URL
/// (`scheme://…`) names a server, and is opened as it is.
pub async fn open_existing(locations: &Locations) -> anyhow::Result<Option<Arc<dyn Store>>> {
    let path = locations.database_path();
    let is_url = path.to_str().is_some_and(|p| p.contains("://"));
    if !is_url && !path.try_exists().with_context(|| format!("cannot look for the database {}", path.display()))? {
        return Ok(None);
    }
    open(locations).await.map(Some)
}

/// What a reading command says when [`open_existing`] found no database.
pub fn nothing_synced_yet(locations: &Locations) -> String {
    format!(
        "nothing synced yet: there is no database at {} (`thv registry sync` creates it)",
        locations.database_path().display()
    )
}
