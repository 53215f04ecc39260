//! The controller's Prometheus metrics (OpenMetrics text on `/metrics`).
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `thv_operator_reconciles_total` | `result` (`ok`, `error`) | reconciles finished |
//! | `thv_operator_reconcile_duration_seconds` | | wall time of a reconcile (histogram) |
//! | `thv_operator_reconciles_in_flight` | | reconciles running now (at most `--concurrency`) |
//! | `thv_operator_registries` | | MCPRegistries the controller knows |
//! | `thv_operator_syncs_total` | `namespace`, `registry`, `outcome` (`success`, `unchanged`, `failed`) | syncs run |
//! | `thv_operator_sync_duration_seconds` | `namespace`, `registry` | wall time of a sync (histogram) |
//! | `thv_operator_leader` | | 1 while this replica is the leader (always 1 without `--leader-elect`) |

use std::sync::atomic::AtomicI64;
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use thv_store::SyncOutcome;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RegistryLabels {
    namespace: String,
    registry: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SyncLabels {
    namespace: String,
    registry: String,
    outcome: &'static str,
}

/// The controller's metrics and their registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    reconciles: Family<ResultLabels, Counter>,
    reconcile_duration: Histogram,
    in_flight: Gauge<i64, AtomicI64>,
    registries: Gauge<i64, AtomicI64>,
    syncs: Family<SyncLabels, Counter>,
    sync_duration: Family<RegistryLabels, Histogram>,
    leader: Gauge<i64, AtomicI64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric under the `thv_operator` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("thv_operator");
        let reconciles = Family::<ResultLabels, Counter>::default();
        registry.register("reconciles", "Reconciles finished, by result", reconciles.clone());
        let reconcile_duration = Histogram::new(exponential_buckets(0.001, 4.0, 10));
        registry.register("reconcile_duration_seconds", "Wall time of a reconcile", reconcile_duration.clone());
        let in_flight = Gauge::<i64, AtomicI64>::default();
        registry.register("reconciles_in_flight", "Reconciles running now", in_flight.clone());
        let registries = Gauge::<i64, AtomicI64>::default();
        registry.register("registries", "MCPRegistries the controller knows", registries.clone());
        let syncs = Family::<SyncLabels, Counter>::default();
        registry.register("syncs", "Syncs run, by registry and outcome", syncs.clone());
        let sync_duration = Family::<RegistryLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.005, 3.0, 10))
        });
        registry.register("sync_duration_seconds", "Wall time of a sync", sync_duration.clone());
        let leader = Gauge::<i64, AtomicI64>::default();
        registry.register("leader", "1 while this replica is the leader", leader.clone());
        Self { registry, reconciles, reconcile_duration, in_flight, registries, syncs, sync_duration, leader }
    }

    /// Starts measuring a reconcile; the guard records it when dropped.
    pub fn reconcile_started(&self) -> ReconcileGuard<'_> {
        self.in_flight.inc();
        ReconcileGuard { metrics: self, started: Instant::now(), ok: false }
    }

    /// Records a sync of `registry` in `namespace`.
    pub fn record_sync(&self, namespace: &str, registry: &str, outcome: SyncOutcome, seconds: f64) {
        let outcome = match outcome {
            SyncOutcome::Success => "success",
            SyncOutcome::Unchanged => "unchanged",
            SyncOutcome::Failed => "failed",
        };
        let labels = RegistryLabels { namespace: namespace.to_owned(), registry: registry.to_owned() };
        self.sync_duration.get_or_create(&labels).observe(seconds);
        let labels = SyncLabels { namespace: labels.namespace, registry: labels.registry, outcome };
        self.syncs.get_or_create(&labels).inc();
    }

    /// Sets how many registries the controller knows.
    pub fn set_registries(&self, count: usize) {
        self.registries.set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// Sets whether this replica leads.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// Records one reconcile when dropped (as an error unless [`ReconcileGuard::succeeded`] was called).
#[derive(Debug)]
pub struct ReconcileGuard<'a> {
    metrics: &'a Metrics,
    started: Instant,
    ok: bool,
}

impl ReconcileGuard<'_> {
    /// Marks the reconcile as successful.
    pub fn succeeded(&mut self) {
        self.ok = true;
    }
}

impl Drop for ReconcileGuard<'_> {
    fn drop(&mut self) {
        self.metrics.in_flight.dec();
        self.metrics.reconcile_duration.observe(self.started.elapsed().as_secs_f64());
        let result = if self.ok { "ok" } else { "error" };
        self.metrics.reconciles.get_or_create(&ResultLabels { result }).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconciles_and_syncs_are_counted() {
        let metrics = Metrics::new();
        {
            let mut ok = metrics.reconcile_started();
            ok.succeeded();
        }
        drop(metrics.reconcile_started());
        metrics.record_sync("team-a", "platform", SyncOutcome::Success, 0.25);
        metrics.record_sync("team-a", "platform", SyncOutcome::Failed, 0.5);
        metrics.set_registries(3);
        let text = metrics.encode().expect("encode");
        assert!(text.contains("thv_operator_reconciles_total{result=\"ok\"} 1"), "{text}");
        assert!(text.contains("thv_operator_reconciles_total{result=\"error\"} 1"), "{text}");
        assert!(text.contains("thv_operator_reconciles_in_flight 0"), "{text}");
        assert!(text.contains("thv_operator_registries 3"), "{text}");
        assert!(
            text.contains("thv_operator_syncs_total{namespace=\"team-a\",registry=\"platform\",outcome=\"failed\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("thv_operator_sync_duration_seconds_count{namespace=\"team-a\",registry=\"platform\"} 2"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
