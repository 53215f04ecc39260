//! When a registry syncs: the pure decision the reconciler takes before each sync, and the requeue after.
//!
//! A sync is due when the registry was never synced, its generation is new, a sync trigger is pending, the
//! source ConfigMap changed, a referenced Secret changed while the last sync was failing, a retry's backoff
//! has passed (retryable failures, up to `syncPolicy.retry.maxRetries`), or `syncPolicy.interval` has
//! passed since the last attempt (when `syncPolicy.enabled`). A stalled failure is not retried with
//! backoff: it waits for one of those changes or the next interval.

use std::time::Duration;

use jiff::Timestamp;
use thv_sync::{RegistryStatus, SyncPolicy};

/// Why a sync runs now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncReason {
    /// The registry has never been synced into its storage.
    FirstSync,
    /// `metadata.generation` differs from `status.observedGeneration`.
    NewGeneration,
    /// The sync-trigger annotation holds a value not yet handled.
    Trigger,
    /// The source ConfigMap changed, or its version since the last sync is unknown (after a restart): a
    /// conditional fetch that writes nothing when the content is the same.
    SourceChanged,
    /// A referenced Secret changed while the last sync was failing.
    SecretChanged,
    /// A retry of a retryable failure, after its backoff.
    Retry,
    /// `syncPolicy.interval` has passed since the last attempt.
    Interval,
}

impl SyncReason {
    /// The reason as logs and metrics name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FirstSync => "first-sync",
            Self::NewGeneration => "new-generation",
            Self::Trigger => "trigger",
            Self::SourceChanged => "source-changed",
            Self::SecretChanged => "secret-changed",
            Self::Retry => "retry",
            Self::Interval => "interval",
        }
    }

    /// Whether a person asked for this sync (a spec change or a trigger): the status says `Reconciling` before
    /// it starts, so `kubectl wait` and GitOps tools see the work.
    pub fn is_requested(self) -> bool {
        matches!(self, Self::FirstSync | Self::NewGeneration | Self::Trigger)
    }

    /// Whether the sync only checks for a change that may not be there: when it writes nothing, it does not
    /// count as an attempt (`lastAttemptTime` stays).
    pub fn is_check(self) -> bool {
        matches!(self, Self::SourceChanged)
    }
}

/// What the reconciler knows when it decides.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    /// `metadata.generation`.
    pub generation: Option<i64>,
    /// `status.observedGeneration`.
    pub observed_generation: Option<i64>,
    /// Whether a sync trigger is pending.
    pub trigger_pending: bool,
    /// The registry's sync policy.
    pub policy: &'a SyncPolicy,
    /// Where the stored state stands (`None`: never synced into this storage).
    pub stored: Option<StoredSync>,
    /// When the last attempt that counted happened (`status.lastAttemptTime`, else the stored one).
    pub last_attempt: Option<Timestamp>,
    /// The source ConfigMap changed since the last sync (or that is unknown).
    pub source_changed: bool,
    /// A referenced Secret changed since the last sync.
    pub secret_changed: bool,
    /// The last reconcile found the storage unusable (`Synced` False for a storage reason): the store never
    /// saw that failure, so its state alone would wait for the interval.
    pub storage_was_down: bool,
    /// A number in `[0, 1)` fixed per registry, spreading retries of many registries apart.
    pub jitter: f64,
    /// Now.
    pub now: Timestamp,
}

/// The stored sync state that matters for scheduling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredSync {
    /// The status computed from the stored state.
    pub status: RegistryStatus,
    /// Consecutive failed attempts.
    pub failed_attempts: u32,
}

impl StoredSync {
    /// From the stored state.
    pub fn of(state: &thv_store::RegistryState) -> Self {
        Self { status: RegistryStatus::of(Some(state)), failed_attempts: state.failed_attempts }
    }
}

/// What to do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Sync now.
    SyncNow(SyncReason),
    /// Nothing is due; look again after this long (`None`: only when something changes).
    Wait(Option<Duration>),
}

/// Decides whether a sync is due now.
pub fn plan(inputs: &Inputs<'_>) -> Plan {
    let Some(stored) = inputs.stored else {
        return Plan::SyncNow(SyncReason::FirstSync);
    };
    if inputs.generation != inputs.observed_generation {
        return Plan::SyncNow(SyncReason::NewGeneration);
    }
    if inputs.trigger_pending {
        return Plan::SyncNow(SyncReason::Trigger);
    }
    if inputs.source_changed {
        return Plan::SyncNow(SyncReason::SourceChanged);
    }
    let failing = matches!(stored.status, RegistryStatus::Failing | RegistryStatus::Stalled);
    if inputs.secret_changed && failing {
        return Plan::SyncNow(SyncReason::SecretChanged);
    }
    // The storage is back: the status still says the sync failed, so sync (a quiet check if unchanged).
    // A failure the store recorded (failing) retries after its own backoff below instead.
    if inputs.storage_was_down && !failing {
        return Plan::SyncNow(SyncReason::Retry);
    }
    let Some(last_attempt) = inputs.last_attempt else {
        return Plan::SyncNow(SyncReason::FirstSync);
    };
    match next_attempt(inputs.policy, stored, inputs.jitter) {
        None => Plan::Wait(None),
        Some((after, reason)) => {
            let elapsed = elapsed_since(last_attempt, inputs.now);
            if elapsed >= after { Plan::SyncNow(reason) } else { Plan::Wait(Some(after - elapsed)) }
        }
    }
}

/// How long after the last attempt the next automatic one is due, and why; `None` when none is (automatic
/// syncs off and nothing to retry).
pub fn next_attempt(policy: &SyncPolicy, stored: StoredSync, jitter: f64) -> Option<(Duration, SyncReason)> {
    let retrying = stored.status == RegistryStatus::Failing && stored.failed_attempts <= policy.retry.max_retries;
    if retrying {
        let delay = policy.retry.delay(stored.failed_attempts.max(1), jitter);
        // A retry is never later than the next interval would be.
        let delay = if policy.enabled { delay.min(policy.interval) } else { delay };
        return Some((delay, SyncReason::Retry));
    }
    policy.enabled.then_some((policy.interval, SyncReason::Interval))
}

/// The time from `then` to `now`, zero when `then` is in the future (a clock skew between replicas).
pub fn elapsed_since(then: Timestamp, now: Timestamp) -> Duration {
    Duration::try_from(now.duration_since(then)).unwrap_or(Duration::ZERO)
}

/// A number in `[0, 1)` derived from `key` (the registry's uid): the same registry always gets the same
/// jitter, different registries are spread apart.
pub fn jitter_for(key: &str) -> f64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(key.as_bytes());
    let mut bytes = [0_u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1_u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use thv_sync::RetryPolicy;

    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).expect("timestamp")
    }

    fn policy() -> SyncPolicy {
        SyncPolicy {
            enabled: true,
            interval: Duration::from_secs(3600),
            retry: RetryPolicy { max_retries: 2, backoff_interval: Duration::from_secs(30) },
        }
    }

    fn stored(status: RegistryStatus, failed_attempts: u32) -> Option<StoredSync> {
        Some(StoredSync { status, failed_attempts })
    }

    fn inputs(policy: &SyncPolicy) -> Inputs<'_> {
        Inputs {
            generation: Some(2),
            observed_generation: Some(2),
            trigger_pending: false,
            policy,
            stored: stored(RegistryStatus::Ready, 0),
            last_attempt: Some(at(0)),
            source_changed: false,
            secret_changed: false,
            storage_was_down: false,
            jitter: 0.5,
            now: at(60),
        }
    }

    #[test]
    fn a_healthy_registry_waits_for_its_interval() {
        let policy = policy();
        assert_eq!(plan(&inputs(&policy)), Plan::Wait(Some(Duration::from_secs(3540))));
        let due = Inputs { now: at(3600), ..inputs(&policy) };
        assert_eq!(plan(&due), Plan::SyncNow(SyncReason::Interval));
        let off = SyncPolicy { enabled: false, ..policy.clone() };
        assert_eq!(plan(&Inputs { now: at(7200), ..inputs(&off) }), Plan::Wait(None), "automatic syncs off");
    }

    #[test]
    fn changes_sync_at_once_in_order_of_precedence() {
        let policy = policy();
        assert_eq!(plan(&Inputs { stored: None, ..inputs(&policy) }), Plan::SyncNow(SyncReason::FirstSync));
        let new = Inputs { generation: Some(3), trigger_pending: true, ..inputs(&policy) };
        assert_eq!(plan(&new), Plan::SyncNow(SyncReason::NewGeneration));
        assert_eq!(plan(&Inputs { trigger_pending: true, ..inputs(&policy) }), Plan::SyncNow(SyncReason::Trigger));
        let edited = Inputs { source_changed: true, ..inputs(&policy) };
        assert_eq!(plan(&edited), Plan::SyncNow(SyncReason::SourceChanged));
        let never_attempted = Inputs { last_attempt: None, ..inputs(&policy) };
        assert_eq!(plan(&never_attempted), Plan::SyncNow(SyncReason::FirstSync));
        // A manual trigger works with automatic syncs off.
        let off = SyncPolicy { enabled: false, ..policy.clone() };
        assert_eq!(plan(&Inputs { trigger_pending: true, ..inputs(&off) }), Plan::SyncNow(SyncReason::Trigger));
    }

    #[test]
    fn a_storage_that_is_usable_again_syncs_at_once() {
        let policy = policy();
        let storage_back = Inputs { storage_was_down: true, ..inputs(&policy) };
        assert_eq!(plan(&storage_back), Plan::SyncNow(SyncReason::Retry), "not at the interval");
        let recorded = Inputs { stored: stored(RegistryStatus::Failing, 1), now: at(10), ..storage_back };
        assert_eq!(plan(&recorded), Plan::Wait(Some(Duration::from_secs(20))), "a stored failure keeps its backoff");
    }

    #[test]
    fn a_rotated_secret_matters_only_while_failing() {
        let policy = policy();
        let rotated = Inputs { secret_changed: true, ..inputs(&policy) };
        assert_eq!(plan(&rotated), Plan::Wait(Some(Duration::from_secs(3540))), "used at the next fetch");
        let stalled = Inputs { stored: stored(RegistryStatus::Stalled, 1), ..rotated.clone() };
        assert_eq!(plan(&stalled), Plan::SyncNow(SyncReason::SecretChanged));
        let failing = Inputs { stored: stored(RegistryStatus::Failing, 1), ..rotated };
        assert_eq!(plan(&failing), Plan::SyncNow(SyncReason::SecretChanged));
    }

    #[test]
    fn retryable_failures_back_off_then_wait_for_the_interval() {
        let policy = policy();
        // Failure 1: retry after 30 s (jitter 0.5 is the middle: factor 1), failure 2: after 60 s.
        let first = Inputs { stored: stored(RegistryStatus::Failing, 1), now: at(10), ..inputs(&policy) };
        assert_eq!(plan(&first), Plan::Wait(Some(Duration::from_secs(20))));
        assert_eq!(plan(&Inputs { now: at(30), ..first.clone() }), Plan::SyncNow(SyncReason::Retry));
        let second = Inputs { stored: stored(RegistryStatus::Failing, 2), ..first.clone() };
        assert_eq!(plan(&second), Plan::Wait(Some(Duration::from_secs(50))));
        // maxRetries 2: after the third failure, the next interval.
        let exhausted = Inputs { stored: stored(RegistryStatus::Failing, 3), ..first.clone() };
        assert_eq!(plan(&exhausted), Plan::Wait(Some(Duration::from_secs(3590))));
        // Stalled: no backoff, the next interval.
        let stalled = Inputs { stored: stored(RegistryStatus::Stalled, 1), ..first };
        assert_eq!(plan(&stalled), Plan::Wait(Some(Duration::from_secs(3590))));
    }

    #[test]
    fn a_retry_is_never_later_than_the_interval_and_clock_skew_does_not_panic() {
        let policy = SyncPolicy {
            interval: Duration::from_secs(60),
            retry: RetryPolicy { max_retries: 100, backoff_interval: Duration::from_secs(3600) },
            ..policy()
        };
        assert_eq!(
            next_attempt(&policy, StoredSync { status: RegistryStatus::Failing, failed_attempts: 40 }, 0.99),
            Some((Duration::from_secs(60), SyncReason::Retry))
        );
        let skewed = Inputs { last_attempt: Some(at(100)), now: at(0), ..inputs(&policy) };
        assert_eq!(plan(&skewed), Plan::Wait(Some(Duration::from_secs(60))));
    }

    #[test]
    fn jitter_is_stable_per_registry_and_in_range() {
        assert_eq!(jitter_for("uid-a"), jitter_for("uid-a"));
        assert_ne!(jitter_for("uid-a"), jitter_for("uid-b"));
        for key in ["", "a", "b", "0b0f6f1e-0000-4000-8000-000000000000"] {
            assert!((0.0..1.0).contains(&jitter_for(key)), "{key}");
        }
    }
}
