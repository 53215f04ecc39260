//! Prometheus metrics of the HTTP API and of the syncs, exposed at `GET /metrics` as OpenMetrics text.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The media type of the exposition.
pub const OPENMETRICS_TEXT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Labels of the HTTP metrics.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct HttpLabels {
    /// The route template (`/v0.1/servers/{server_name}`), or `unmatched`.
    route: String,
    /// The request method.
    method: String,
    /// `2xx`, `3xx`, `4xx` or `5xx`.
    status: String,
}

/// Labels of the per-registry sync metrics.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RegistryLabels {
    registry: String,
}

/// Labels of the sync run counter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct SyncLabels {
    registry: String,
    outcome: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn request_histogram() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

fn sync_histogram() -> Histogram {
    // 10 ms (a local file) to about 22 minutes (a large git clone).
    Histogram::new(exponential_buckets(0.01, 2.0, 18))
}

/// The metrics registry and its metrics. Share it in an `Arc`.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<HttpLabels, Counter>,
    request_duration: HistogramFamily<HttpLabels>,
    sync_runs: Family<SyncLabels, Counter>,
    sync_duration: HistogramFamily<RegistryLabels>,
    servers: Family<RegistryLabels, Gauge>,
    last_success: Family<RegistryLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Fresh metrics, all registered under the `thv` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("thv");
        let requests = Family::<HttpLabels, Counter>::default();
        let request_duration: HistogramFamily<HttpLabels> = Family::new_with_constructor(request_histogram);
        let sync_runs = Family::<SyncLabels, Counter>::default();
        let sync_duration: HistogramFamily<RegistryLabels> = Family::new_with_constructor(sync_histogram);
        let servers = Family::<RegistryLabels, Gauge>::default();
        let last_success = Family::<RegistryLabels, Gauge>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route template, method and status class",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route template, method and status class",
            request_duration.clone(),
        );
        registry.register("sync_runs", "Sync runs by registry and outcome", sync_runs.clone());
        registry.register("sync_duration_seconds", "Wall time of sync runs by registry", sync_duration.clone());
        registry.register("registry_servers", "Server versions in each registry's catalog", servers.clone());
        registry.register(
            "registry_last_success_timestamp_seconds",
            "Unix time of each registry's last successful sync",
            last_success.clone(),
        );
        Self { registry, requests, request_duration, sync_runs, sync_duration, servers, last_success }
    }

    /// Records one HTTP request: its route template (`None` when no route matched), method, status code
    /// and latency in seconds.
    pub fn record_request(&self, route: Option<&str>, method: &str, status: u16, seconds: f64) {
        let labels = HttpLabels {
            route: route.unwrap_or("unmatched").to_owned(),
            method: method.to_owned(),
            status: format!("{}xx", status / 100),
        };
        self.requests.get_or_create(&labels).inc();
        self.request_duration.get_or_create(&labels).observe(seconds);
    }

    /// Records one sync run of `registry`: its outcome (`success`, `unchanged`, `failed`), wall time in
    /// seconds, the server versions in the catalog afterwards, and when it finished (unix seconds), which
    /// becomes the last successful sync time when `outcome` is `success` or `unchanged`.
    pub fn record_sync(&self, registry: &str, outcome: &str, seconds: f64, servers: u64, finished_unix: i64) {
        let labels = RegistryLabels { registry: registry.to_owned() };
        self.sync_runs.get_or_create(&SyncLabels { registry: registry.to_owned(), outcome: outcome.to_owned() }).inc();
        self.sync_duration.get_or_create(&labels).observe(seconds);
        self.servers.get_or_create(&labels).set(i64::try_from(servers).unwrap_or(i64::MAX));
        if outcome != "failed" {
            self.last_success.get_or_create(&labels).set(finished_unix);
        }
    }

    /// Sets the server-version count of `registry`, e.g. from the snapshot loaded at start.
    pub fn set_servers(&self, registry: &str, servers: u64) {
        let labels = RegistryLabels { registry: registry.to_owned() };
        self.servers.get_or_create(&labels).set(i64::try_from(servers).unwrap_or(i64::MAX));
    }

    /// The OpenMetrics text exposition (media type [`OPENMETRICS_TEXT`]).
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}
