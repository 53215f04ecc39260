//! The scheduler's side of the store's sync leases (`thv_store::replica`): how long a lease lasts and how
//! often it is renewed, who this replica is, and a manual sync handed to the replica that holds the lease.
//!
//! Timing, for a registry synced every `interval`: the lease lasts `ttl = interval / 3`, at least
//! [`MIN_LEASE_TTL`] and at most [`MAX_LEASE_TTL`]; the holder renews it every `ttl / 3`, during a sync
//! too, so a sync may take any time. Replicas that do not hold it try to take it every `ttl / 3`, so
//! after its holder dies the lease moves within `ttl + ttl / 3` — under half the interval from 6 s to
//! 90 s, at most 40 s for longer intervals — and the new holder syncs when the registry is next due (one
//! interval after the last attempt, whoever made it).

use std::sync::Arc;
use std::time::Duration;

use thv_store::{FailureKind, Store, SyncOutcome};
use tokio::sync::oneshot;

use crate::pipeline::SyncReport;

/// The shortest lease: renewals (every third of it) must not fail on a busy database.
pub const MIN_LEASE_TTL: Duration = Duration::from_secs(2);
/// The longest lease: how long a dead holder can keep a registry from syncing, at most.
pub const MAX_LEASE_TTL: Duration = Duration::from_secs(30);

/// How often a replica waiting for a manual sync it handed over looks for the holder's report.
const REPORT_POLL: Duration = Duration::from_millis(100);

/// How long a registry's sync lease lasts without renewal, for a registry synced every `interval`.
pub fn lease_ttl(interval: Duration) -> Duration {
    (interval / 3).clamp(MIN_LEASE_TTL, MAX_LEASE_TTL)
}

/// How often the holder renews a lease of `ttl`, and others try to take it.
pub fn lease_tick(ttl: Duration) -> Duration {
    ttl / 3
}

/// This process's replica id when none is given: `<hostname>:<pid>` (in Kubernetes the hostname is the
/// pod's name), unique among processes serving one database.
pub fn default_replica_id() -> String {
    let uname = rustix::system::uname();
    let host = uname.nodename().to_string_lossy();
    let host = if host.is_empty() { "localhost" } else { host.as_ref() };
    format!("{host}:{}", std::process::id())
}

/// Checks a replica id given by the user: 1 to 200 printable characters.
pub fn check_replica_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.chars().count() > 200 || id.chars().any(char::is_control) {
        return Err(format!("replica id {id:?} must be 1 to 200 printable characters"));
    }
    Ok(())
}

/// A report for a manual sync that did not run here, saying why.
pub(crate) fn not_run(registry: &str, error: String) -> SyncReport {
    let mut report = SyncReport::new(registry, SyncOutcome::Failed);
    report.error = Some(error);
    report.failure = Some(FailureKind::Retryable);
    report
}

/// Hands a manual sync of `registry` to the replica holding its lease (a sync request in the store, which
/// the holder is told of at once where the store pushes events) and answers `reply` with the holder's
/// report. Waits as long as `reply` is wanted, at most the store's request retention.
pub(crate) async fn hand_over(
    store: Arc<dyn Store>,
    registry: String,
    replica: String,
    mut reply: oneshot::Sender<SyncReport>,
) {
    let id = match store.request_sync(&registry, &replica).await {
        Ok(id) => id,
        Err(e) => {
            let _ = reply.send(not_run(&registry, format!("cannot ask the replica holding the sync lease: {e}")));
            return;
        }
    };
    let give_up = tokio::time::Instant::now() + thv_store::replica::SYNC_REQUEST_RETENTION;
    loop {
        tokio::select! {
            () = reply.closed() => return,
            () = tokio::time::sleep_until(give_up) => return,
            () = tokio::time::sleep(REPORT_POLL) => {}
        }
        // A failed read is tried again at the next poll.
        if let Ok(Some(text)) = store.sync_request_report(id).await {
            let report = serde_json::from_str(&text).unwrap_or_else(|e| {
                not_run(&registry, format!("the lease holder's report of sync request {id} is unreadable: {e}"))
            });
            let _ = reply.send(report);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_follows_the_interval_within_bounds() {
        assert_eq!(lease_ttl(Duration::from_secs(1)), MIN_LEASE_TTL);
        assert_eq!(lease_ttl(Duration::from_secs(30)), Duration::from_secs(10));
        assert_eq!(lease_ttl(Duration::from_secs(3600)), MAX_LEASE_TTL);
        // A dead holder's lease moves (expiry, then the next try) within one interval from 2.7 s up.
        for secs in [3, 6, 60, 90, 600, 86_400] {
            let interval = Duration::from_secs(secs);
            let ttl = lease_ttl(interval);
            assert!(ttl + lease_tick(ttl) <= interval, "interval {interval:?}: ttl {ttl:?}");
        }
    }

    #[test]
    fn replica_ids_are_checked() {
        let id = default_replica_id();
        assert!(id.ends_with(&format!(":{}", std::process::id())), "{id}");
        assert!(check_replica_id(&id).is_ok());
        assert!(check_replica_id("").is_err());
        assert!(check_replica_id("a\nb").is_err());
        assert!(check_replica_id(&"x".repeat(201)).is_err());
    }
}
