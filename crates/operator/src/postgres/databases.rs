//! [`Databases`]: the PostgreSQL databases the operator has open, one pool per distinct URL.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use thv_store::{PostgresUrl, Store};

use super::{NamespacedStore, StorageError};

/// Most distinct databases (URLs) open at once; each is one pool of at most 8 connections
/// (`thv_store::postgres::PoolSettings`). A registry naming one more is `StorageFailed` until another
/// registry lets one go.
pub const MAX_DATABASES: usize = 16;

/// Open databases by URL, and the URL each registry (by uid) uses. A registry whose Secret names a new URL
/// moves to that URL's pool; a pool no registry uses any more is dropped (its connections close).
#[derive(Default)]
pub struct Databases {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The full URL text (with its password: the pool needs it) → the open store.
    pools: HashMap<String, Arc<dyn Store>>,
    /// Registry uid → the URL text it uses.
    users: HashMap<String, String>,
}

impl State {
    /// The registry of `uid` no longer uses its URL; the pool goes when nobody else does.
    fn release(&mut self, uid: &str) {
        if let Some(url) = self.users.remove(uid)
            && !self.users.values().any(|u| *u == url)
        {
            self.pools.remove(&url);
        }
    }

    fn assign(&mut self, uid: &str, url: &str) {
        if self.users.get(uid).is_some_and(|u| u != url) {
            self.release(uid);
        }
        self.users.insert(uid.to_owned(), url.to_owned());
    }
}

impl Databases {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The store of the registry `uid` in `namespace`, in the database at `url` (`text` is the URL as the
    /// Secret holds it, the pool's key): the pool already open for that URL, or a new one (the schema
    /// migrated first). The registry's previous pool is released when it named another URL.
    pub async fn store(
        &self,
        uid: &str,
        namespace: &str,
        url: PostgresUrl,
        text: &str,
    ) -> Result<Arc<dyn Store>, StorageError> {
        let open = {
            let mut state = self.lock();
            match state.pools.get(text).cloned() {
                Some(pool) => {
                    state.assign(uid, text);
                    return Ok(Arc::new(NamespacedStore::new(pool, namespace)));
                }
                None => {
                    let others = state.users.iter().filter(|(u, _)| u.as_str() != uid).map(|(_, url)| url);
                    let kept: std::collections::HashSet<&String> = others.collect();
                    if kept.len() >= MAX_DATABASES {
                        return Err(StorageError::Unavailable(format!(
                            "the operator already has {MAX_DATABASES} PostgreSQL databases open, its limit; \
                             point this registry at one of them"
                        )));
                    }
                    url
                }
            }
        };
        // Opened without the lock: an unreachable database must not hold up the other registries.
        // The store's error names the URL without its password.
        let pool = super::open(open).await.map_err(|e| StorageError::Unavailable(e.to_string()))?;
        let mut state = self.lock();
        // Another reconcile may have opened the same URL meanwhile: one pool per URL.
        let pool = Arc::clone(state.pools.entry(text.to_owned()).or_insert(pool));
        state.assign(uid, text);
        Ok(Arc::new(NamespacedStore::new(pool, namespace)))
    }

    /// The registry of `uid` was deleted, or uses another storage now.
    pub fn release(&self, uid: &str) {
        self.lock().release(uid);
    }

    /// How many pools are open.
    pub fn open_count(&self) -> usize {
        self.lock().pools.len()
    }
}
