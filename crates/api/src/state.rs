//! Shared state of the API: the current snapshot, swapped atomically after each sync, the readiness flag
//! and the metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwap;

use crate::metrics::Metrics;
use crate::snapshot::Snapshot;

/// The handlers' state: the snapshot being served, whether the server is ready, and the metrics.
/// Cloning shares them.
#[derive(Debug, Clone, Default)]
pub struct AppState {
    current: Arc<ArcSwap<Snapshot>>,
    ready: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
}

impl AppState {
    /// State serving `snapshot`, not yet ready (see [`AppState::set_ready`]).
    pub fn new(snapshot: Snapshot) -> Self {
        Self { current: Arc::new(ArcSwap::from_pointee(snapshot)), ..Self::default() }
    }

    /// The snapshot being served; requests keep the one they started with.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Serves `snapshot` from now on (in-flight requests finish on the old one).
    pub fn replace(&self, snapshot: Snapshot) {
        self.current.store(Arc::new(snapshot));
    }

    /// Marks the server ready (`GET /readyz` answers 200) or not (503). `thv registry serve` sets it once
    /// the snapshot has been loaded from the store.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    /// Whether the server is ready.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// The metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }
}
