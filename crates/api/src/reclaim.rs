//! Giving a replaced snapshot's memory back to the operating system once it is freed.
//!
//! A served snapshot is freed by whoever drops the last reference to it: the reload that swapped the new
//! one in, or a request still reading the old one, on any thread. Each snapshot carries an [`OnFreed`]
//! that its parts drop last; [`Reclaimer`] is what it calls, and it releases the free memory
//! ([`crate::heap::release_free_memory`]) on a blocking thread, so no request waits for it.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// What runs once, when the last holder of an [`OnFreed`] drops it.
type Hook = Box<dyn FnOnce() + Send>;

/// Runs its hook when dropped. Shared (in an `Arc`) by every part of one snapshot and declared last in
/// each, so it is dropped once everything else of that snapshot has been freed.
#[derive(Default)]
pub(crate) struct OnFreed(Mutex<Option<Hook>>);

impl OnFreed {
    /// Runs `hook` when this is dropped, instead of the hook set before (if any).
    pub(crate) fn set(&self, hook: impl FnOnce() + Send + 'static) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(Box::new(hook));
    }
}

impl Drop for OnFreed {
    fn drop(&mut self) {
        if let Some(hook) = self.0.get_mut().unwrap_or_else(PoisonError::into_inner).take() {
            hook();
        }
    }
}

impl fmt::Debug for OnFreed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnFreed")
    }
}

/// Releases the free memory after a snapshot is freed: on a blocking thread of the current Tokio runtime
/// (inline without one), and once for any number of snapshots freed before it starts.
#[derive(Clone)]
pub(crate) struct Reclaimer {
    release: Arc<dyn Fn() + Send + Sync>,
    /// Whether a release is scheduled and has not started yet.
    pending: Arc<AtomicBool>,
}

impl Default for Reclaimer {
    fn default() -> Self {
        Self::new(crate::heap::release_free_memory)
    }
}

impl fmt::Debug for Reclaimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reclaimer").field("pending", &self.pending.load(Ordering::Relaxed)).finish_non_exhaustive()
    }
}

impl Reclaimer {
    /// A reclaimer calling `release` (tests count the calls).
    pub(crate) fn new(release: impl Fn() + Send + Sync + 'static) -> Self {
        Self { release: Arc::new(release), pending: Arc::default() }
    }

    /// Schedules a release when `freed` is dropped.
    pub(crate) fn release_when_dropped(&self, freed: &OnFreed) {
        let this = self.clone();
        freed.set(move || this.schedule());
    }

    fn schedule(&self) {
        if self.pending.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = self.clone();
        let run = move || {
            // Cleared first: memory freed while this runs schedules another release.
            this.pending.store(false, Ordering::Release);
            (this.release)();
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(run)),
            Err(_) => run(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    fn counting() -> (Reclaimer, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&calls);
        let reclaimer = Reclaimer::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
        });
        (reclaimer, calls)
    }

    #[test]
    fn releases_once_when_the_last_holder_drops() {
        let (reclaimer, calls) = counting();
        let freed = Arc::new(OnFreed::default());
        reclaimer.release_when_dropped(&freed);
        let other = Arc::clone(&freed);
        drop(freed);
        assert_eq!(calls.load(Ordering::SeqCst), 0, "still held");
        drop(other);
        assert_eq!(calls.load(Ordering::SeqCst), 1, "released once, inline without a runtime");
    }

    #[test]
    fn a_hook_never_set_releases_nothing() {
        let (_reclaimer, calls) = counting();
        drop(OnFreed::default());
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }
}
