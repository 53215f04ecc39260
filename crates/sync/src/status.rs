//! A registry's status, computed from its stored state: the one vocabulary of `thv registry list`, the
//! API's registry routes and (next) the `MCPRegistry` conditions.

use std::fmt;

use serde::{Deserialize, Serialize};
use thv_store::{FailureKind, RegistryState};

/// Where a registry stands. Whether a catalog is served is separate: a failing or stalled registry keeps
/// serving its last good catalog when it has one (`serverCount`, `lastSyncTime`).
///
/// For kstatus conditions: `ready` is `Ready=True`; `pending` and `failing` are `Reconciling=True` (a
/// sync is due or being retried); `stalled` is `Stalled=True` (no retry helps until someone fixes the
/// cause).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistryStatus {
    /// No sync has finished yet.
    Pending,
    /// The last sync succeeded (new content or unchanged).
    Ready,
    /// The last sync failed for a reason that may pass by itself (network, 5xx, timeout): it is retried.
    Failing,
    /// The last sync failed for a reason that will not pass until the spec, the credentials or the source
    /// document is fixed.
    Stalled,
}

impl RegistryStatus {
    /// The status of a registry whose stored state is `state` (`None`: never synced).
    pub fn of(state: Option<&RegistryState>) -> Self {
        match state {
            None => Self::Pending,
            Some(s) if s.failed_attempts > 0 || s.last_error.is_some() => match s.last_failure {
                Some(FailureKind::Stalled) => Self::Stalled,
                // Failures recorded before their kind was stored count as retryable.
                Some(FailureKind::Retryable) | None => Self::Failing,
            },
            Some(s) if s.last_success_at.is_some() => Self::Ready,
            Some(_) => Self::Pending,
        }
    }

    /// `pending`, `ready`, `failing` or `stalled`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Ready => "ready",
            Self::Failing => "failing",
            Self::Stalled => "stalled",
        }
    }

    /// Whether the catalog is current (kstatus `Ready`).
    pub fn is_ready(self) -> bool {
        self == Self::Ready
    }

    /// Whether a sync is still to come by itself: the first one, or a retry (kstatus `Reconciling`).
    pub fn is_reconciling(self) -> bool {
        matches!(self, Self::Pending | Self::Failing)
    }

    /// Whether syncs will fail until someone fixes the cause (kstatus `Stalled`).
    pub fn is_stalled(self) -> bool {
        self == Self::Stalled
    }
}

impl fmt::Display for RegistryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_follows_the_stored_state() {
        assert_eq!(RegistryStatus::of(None), RegistryStatus::Pending);
        let attempted = RegistryState { registry: "r".into(), ..RegistryState::default() };
        assert_eq!(RegistryStatus::of(Some(&attempted)), RegistryStatus::Pending);
        let mut state = RegistryState { last_success_at: Some("t".into()), ..attempted };
        assert_eq!(RegistryStatus::of(Some(&state)), RegistryStatus::Ready);
        state.failed_attempts = 2;
        state.last_error = Some("HTTP 503".into());
        state.last_failure = Some(FailureKind::Retryable);
        assert_eq!(RegistryStatus::of(Some(&state)), RegistryStatus::Failing);
        state.last_failure = None;
        assert_eq!(RegistryStatus::of(Some(&state)), RegistryStatus::Failing, "no kind stored: retryable");
        state.last_failure = Some(FailureKind::Stalled);
        assert_eq!(RegistryStatus::of(Some(&state)), RegistryStatus::Stalled);
        state.last_success_at = None;
        assert_eq!(RegistryStatus::of(Some(&state)), RegistryStatus::Stalled, "with or without a catalog");
    }

    #[test]
    fn each_status_maps_to_one_kstatus_condition() {
        use RegistryStatus::{Failing, Pending, Ready, Stalled};
        for status in [Pending, Ready, Failing, Stalled] {
            let flags = [status.is_ready(), status.is_reconciling(), status.is_stalled()];
            assert_eq!(flags.iter().filter(|f| **f).count(), 1, "{status}");
            assert_eq!(serde_json::to_value(status).expect("json"), status.as_str());
        }
        assert!(Failing.is_reconciling() && Pending.is_reconciling());
    }
}
