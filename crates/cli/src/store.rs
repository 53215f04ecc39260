//! Opening the store `--database` / `THV_DATABASE` names: an SQLite file, or a PostgreSQL database for
//! `postgres://…` and `postgresql://…` URLs.
//!
//! A PostgreSQL password, in the order it is looked for: the URL in `THV_DATABASE` (refused in
//! `--database`, where other users of the machine see it in the process list), the first line of the file
//! `THV_DATABASE_PASSWORD_FILE` names (a mounted Kubernetes Secret), then `PGPASSWORD`, then the
//! `PGPASSFILE` file (default `~/.pgpass`), as libpq does. It never appears in messages.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use thv_store::{Store, StoreLocation};

use crate::config::{DATABASE_ENV, DatabaseSource, Locations};

/// The variable naming a file that holds the PostgreSQL password.
pub const PASSWORD_FILE_ENV: &str = "THV_DATABASE_PASSWORD_FILE";

/// Stores opened by this process, closed by [`close_all`] before it exits.
static OPENED: Mutex<Vec<Arc<dyn Store>>> = Mutex::new(Vec::new());

/// Opens (creating if needed) the database named by `locations`.
pub async fn open(locations: &Locations) -> anyhow::Result<Arc<dyn Store>> {
    let location = location(locations)?;
    let store = thv_store::open(&location).await?;
    OPENED.lock().unwrap_or_else(|e| e.into_inner()).push(Arc::clone(&store));
    Ok(store)
}

/// The database `locations` names, with the PostgreSQL password from where it may come.
pub fn location(locations: &Locations) -> anyhow::Result<StoreLocation> {
    let (given, source) = locations.database();
    // A path that is not UTF-8 cannot be a URL.
    let Some(text) = given.to_str() else { return Ok(StoreLocation::Sqlite(given)) };
    let StoreLocation::Postgres(mut url) = StoreLocation::parse(text)? else { return Ok(StoreLocation::Sqlite(given)) };
    if source == DatabaseSource::Flag && url.has_password() {
        bail!(
            "--database {url}: the URL has a password, which other users of this machine can read in the \
             process list and which stays in shell history; pass the URL without it and put the password in a \
             file named by {PASSWORD_FILE_ENV} (or in PGPASSWORD or ~/.pgpass), or put the whole URL in \
             {DATABASE_ENV}"
        );
    }
    if let Some(file) = std::env::var_os(PASSWORD_FILE_ENV).filter(|v| !v.is_empty()) {
        if url.has_password() {
            bail!(
                "{DATABASE_ENV} {url}: the URL has a password and {PASSWORD_FILE_ENV} names another; keep one of them"
            );
        }
        url = url.with_password_file(Path::new(&file))?;
    }
    Ok(StoreLocation::Postgres(url))
}

/// Closes every store this process opened, so SQLite folds its write-ahead log back into the database
/// and removes it, and PostgreSQL connections end cleanly.
pub async fn close_all() {
    let stores = std::mem::take(&mut *OPENED.lock().unwrap_or_else(|e| e.into_inner()));
    for store in stores {
        store.close().await;
    }
}

/// Opens the database for a command that only reads it: `None` when the SQLite file does not exist yet
/// (nothing was synced), so that reading creates neither the file nor its folder. A PostgreSQL database is
/// a server, and is opened as it is.
pub async fn open_existing(locations: &Locations) -> anyhow::Result<Option<Arc<dyn Store>>> {
    if let StoreLocation::Sqlite(path) = location(locations)?
        && !path.try_exists().with_context(|| format!("cannot look for the database {}", path.display()))?
    {
        return Ok(None);
    }
    open(locations).await.map(Some)
}

/// What a reading command says when [`open_existing`] found no database.
pub fn nothing_synced_yet(locations: &Locations) -> String {
    format!(
        "nothing synced yet: there is no database at {} (`thv registry sync` creates it)",
        locations.database().0.display()
    )
}
