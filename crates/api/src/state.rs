//! Shared state of the API: the current snapshot, swapped atomically after each sync.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::snapshot::Snapshot;

/// The handlers' state: the snapshot being served. Cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct AppState {
    current: Arc<ArcSwap<Snapshot>>,
}

impl AppState {
    /// State serving `snapshot`.
    pub fn new(snapshot: Snapshot) -> Self {
        Self { current: Arc::new(ArcSwap::from_pointee(snapshot)) }
    }

    /// The snapshot being served; requests keep the one they started with.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Serves `snapshot` from now on (in-flight requests finish on the old one).
    pub fn replace(&self, snapshot: Snapshot) {
        self.current.store(Arc::new(snapshot));
    }
}
