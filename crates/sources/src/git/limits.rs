//! Size and time bounds of one fetch, enforced through gix's interrupt flag.
//!
//! gix checks the flag while it reads a pack; [`Watch`] is the progress sink gix reports to, and counts the pack
//! bytes as they arrive so an oversized pack is stopped mid-stream, not after it has been written.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use gix::progress::{Count, Id, MessageLevel, NestedProgress, Progress, Step, StepShared, UNKNOWN, Unit};

/// The id gix gives the progress of "bytes of the pack read from the remote".
const READ_PACK_BYTES: Id = *b"BWRB";

/// Shared state of one fetch: the interrupt flag handed to gix and why it was raised.
#[derive(Debug)]
pub(super) struct Guard {
    interrupt: AtomicBool,
    timed_out: AtomicBool,
    too_large: AtomicBool,
    pack_bytes: AtomicU64,
    max_pack_bytes: u64,
}

impl Guard {
    /// A guard allowing at most `max_pack_bytes` of pack data in total.
    pub(super) fn new(max_pack_bytes: u64) -> Arc<Self> {
        Arc::new(Self {
            interrupt: AtomicBool::new(false),
            timed_out: AtomicBool::new(false),
            too_large: AtomicBool::new(false),
            pack_bytes: AtomicU64::new(0),
            max_pack_bytes,
        })
    }

    /// The flag gix polls.
    pub(super) fn flag(&self) -> &AtomicBool {
        &self.interrupt
    }

    /// Stops the fetch because its time is up.
    pub(super) fn time_out(&self) {
        self.timed_out.store(true, Ordering::SeqCst);
        self.interrupt.store(true, Ordering::SeqCst);
    }

    /// Whether the fetch was stopped because its time was up.
    pub(super) fn timed_out(&self) -> bool {
        self.timed_out.load(Ordering::SeqCst)
    }

    /// Whether the fetch was stopped because the pack grew too large.
    pub(super) fn too_large(&self) -> bool {
        self.too_large.load(Ordering::SeqCst)
    }

    /// Whether the fetch was stopped for any reason.
    pub(super) fn interrupted(&self) -> bool {
        self.interrupt.load(Ordering::SeqCst)
    }

    /// The pack limit in bytes.
    pub(super) fn max_pack_bytes(&self) -> u64 {
        self.max_pack_bytes
    }

    /// Pack bytes received so far.
    #[cfg(test)]
    fn pack_bytes(&self) -> u64 {
        self.pack_bytes.load(Ordering::SeqCst)
    }

    fn add_pack_bytes(&self, bytes: usize) {
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        let total = self.pack_bytes.fetch_add(bytes, Ordering::SeqCst).saturating_add(bytes);
        if total > self.max_pack_bytes {
            self.too_large.store(true, Ordering::SeqCst);
            self.interrupt.store(true, Ordering::SeqCst);
        }
    }
}

/// A gix progress sink that shows nothing and counts pack bytes into a [`Guard`].
pub(super) struct Watch {
    guard: Arc<Guard>,
    counts_pack_bytes: bool,
    step: StepShared,
}

impl Watch {
    /// The root sink of a fetch.
    pub(super) fn new(guard: Arc<Guard>) -> Self {
        Self { guard, counts_pack_bytes: false, step: Arc::new(AtomicUsize::new(0)) }
    }

    fn child(&self, id: Id) -> Self {
        Self {
            guard: self.guard.clone(),
            counts_pack_bytes: id == READ_PACK_BYTES,
            step: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl Count for Watch {
    fn set(&self, step: Step) {
        let before = self.step.swap(step, Ordering::SeqCst);
        if self.counts_pack_bytes && step > before {
            self.guard.add_pack_bytes(step - before);
        }
    }

    fn step(&self) -> Step {
        self.step.load(Ordering::SeqCst)
    }

    fn inc_by(&self, step: Step) {
        self.step.fetch_add(step, Ordering::SeqCst);
        if self.counts_pack_bytes {
            self.guard.add_pack_bytes(step);
        }
    }

    fn counter(&self) -> StepShared {
        self.step.clone()
    }
}

impl Progress for Watch {
    fn init(&mut self, _max: Option<Step>, _unit: Option<Unit>) {}

    fn set_name(&mut self, _name: String) {}

    fn name(&self) -> Option<String> {
        None
    }

    fn id(&self) -> Id {
        UNKNOWN
    }

    fn message(&self, _level: MessageLevel, _message: String) {}
}

impl NestedProgress for Watch {
    type SubProgress = Watch;

    fn add_child(&mut self, _name: impl Into<String>) -> Self::SubProgress {
        self.child(UNKNOWN)
    }

    fn add_child_with_id(&mut self, _name: impl Into<String>, id: Id) -> Self::SubProgress {
        self.child(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pack_bytes_count_towards_the_limit() {
        let guard = Guard::new(100);
        let mut root = Watch::new(guard.clone());
        root.add_child("objects").inc_by(1_000);
        assert!(!guard.interrupted());
        let pack = root.add_child_with_id("read pack", READ_PACK_BYTES);
        pack.inc_by(60);
        assert!(!guard.interrupted());
        pack.inc_by(41);
        assert!(guard.too_large() && guard.interrupted() && !guard.timed_out());
        assert_eq!(guard.pack_bytes(), 101);
    }

    #[test]
    fn timing_out_raises_the_flag() {
        let guard = Guard::new(1);
        guard.time_out();
        assert!(guard.timed_out() && guard.flag().load(Ordering::SeqCst));
    }
}
