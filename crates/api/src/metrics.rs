//! Prometheus metrics of the HTTP API and of the syncs, exposed at `GET /metrics` as OpenMetrics text or as
//! the Prometheus text format 0.0.4, whichever the client's `Accept` header prefers ([`Exposition`]).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::listener::ConnectionMetrics;

/// The media type of the OpenMetrics exposition.
pub const OPENMETRICS_TEXT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The media type of the Prometheus text exposition (format 0.0.4), the default.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A text format of the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposition {
    /// OpenMetrics 1.0 ([`OPENMETRICS_TEXT`]): counters are described on their base name, ends in `# EOF`.
    OpenMetrics,
    /// The Prometheus text format 0.0.4 ([`PROMETHEUS_TEXT`]): counters are described on their `_total`
    /// sample name, no `# UNIT` or `# EOF` lines. What `promtool check metrics` expects.
    Prometheus,
}

impl Exposition {
    /// The format an `Accept` header asks for: OpenMetrics when it lists `application/openmetrics-text`
    /// with a quality above zero and at least that of `text/plain` (as Prometheus servers ask), else the
    /// Prometheus text format.
    pub fn negotiate(accept: Option<&str>) -> Self {
        let Some(accept) = accept else {
            return Self::Prometheus;
        };
        let (mut openmetrics, mut text) = (0.0_f32, 0.0_f32);
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or_default().trim();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if media.eq_ignore_ascii_case("application/openmetrics-text") {
                openmetrics = openmetrics.max(quality);
            } else if media.eq_ignore_ascii_case("text/plain") {
                text = text.max(quality);
            }
        }
        if openmetrics > 0.0 && openmetrics >= text { Self::OpenMetrics } else { Self::Prometheus }
    }

    /// The media type of the format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::OpenMetrics => OPENMETRICS_TEXT,
            Self::Prometheus => PROMETHEUS_TEXT,
        }
    }
}

/// Labels of the HTTP metrics; each takes few values whatever clients send.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct HttpLabels {
    /// The route template (`/v0.1/servers/{server_name}`), or `unmatched`.
    route: String,
    /// The request method, or `other` for a method outside RFC 9110's (and `PATCH`).
    method: &'static str,
    /// `1xx` to `5xx`.
    status: &'static str,
}

/// The method's label value.
fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"];
    KNOWN.into_iter().find(|known| *known == method).unwrap_or("other")
}

/// The status code's class.
fn status_label(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

/// Labels of the per-registry sync metrics.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RegistryLabels {
    registry: String,
}

/// Labels of the sync lease gauge: the registry, and this replica's id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct LeaseLabels {
    registry: String,
    replica: String,
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
    snapshot_swaps: Counter,
    connections: ConnectionMetrics,
    lease_held: Family<LeaseLabels, Gauge>,
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
        let lease_held = Family::<LeaseLabels, Gauge>::default();
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
        registry.register(
            "sync_lease_held",
            "1 when this replica (label replica) holds the registry's sync lease and syncs it, else 0",
            lease_held.clone(),
        );
        let snapshot_swaps = Counter::default();
        registry.register(
            "snapshot_swaps",
            "Catalog snapshots swapped in (at start and after each reload)",
            snapshot_swaps.clone(),
        );
        let connections = ConnectionMetrics::default();
        connections.register(&mut registry);
        Self {
            registry,
            requests,
            request_duration,
            sync_runs,
            sync_duration,
            servers,
            last_success,
            snapshot_swaps,
            connections,
            lease_held,
        }
    }

    /// Counts a snapshot swapped in.
    pub fn record_snapshot_swap(&self) {
        self.snapshot_swaps.inc();
    }

    /// The metrics of the connections the listener serves.
    pub fn connections(&self) -> &ConnectionMetrics {
        &self.connections
    }

    /// Records one HTTP request: its route template (`None` when no route matched), method, status code
    /// and latency in seconds.
    pub fn record_request(&self, route: Option<&str>, method: &str, status: u16, seconds: f64) {
        let labels = HttpLabels {
            route: route.unwrap_or("unmatched").to_owned(),
            method: method_label(method),
            status: status_label(status),
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

    /// Sets whether `replica` (this process) holds the sync lease of `registry`.
    pub fn set_lease_held(&self, registry: &str, replica: &str, held: bool) {
        let labels = LeaseLabels { registry: registry.to_owned(), replica: replica.to_owned() };
        self.lease_held.get_or_create(&labels).set(i64::from(held));
    }

    /// The OpenMetrics text exposition (media type [`OPENMETRICS_TEXT`]).
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }

    /// The exposition in `format`.
    pub fn encode_as(&self, format: Exposition) -> Result<String, std::fmt::Error> {
        let text = self.encode()?;
        Ok(match format {
            Exposition::OpenMetrics => text,
            Exposition::Prometheus => openmetrics_to_prometheus(&text),
        })
    }
}

/// Rewrites OpenMetrics text as the Prometheus text format 0.0.4: `# HELP`/`# TYPE` of a counter move to
/// its `_total` sample name, `unknown` becomes `untyped` (and the other OpenMetrics-only types too), `\"`
/// in help text becomes `"`, and `# UNIT`/`# EOF` lines go. Samples are the same in both formats.
fn openmetrics_to_prometheus(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    // The last `# HELP` line's name and text, written out with the `# TYPE` line that follows it.
    let mut help: Option<(&str, &str)> = None;
    let flush = |out: &mut String, help: &mut Option<(&str, &str)>, name: Option<&str>| {
        if let Some((help_name, help_text)) = help.take() {
            out.push_str("# HELP ");
            out.push_str(name.unwrap_or(help_name));
            out.push(' ');
            out.push_str(&help_text.replace("\\\"", "\""));
            out.push('\n');
        }
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            flush(&mut out, &mut help, None);
            help = Some(rest.split_once(' ').unwrap_or((rest, "")));
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            let (suffix, kind) = match kind {
                "counter" if !name.ends_with("_total") => ("_total", kind),
                "counter" | "gauge" | "histogram" | "summary" => ("", kind),
                _ => ("", "untyped"),
            };
            let full = format!("{name}{suffix}");
            if help.is_some_and(|(help_name, _)| help_name == name) {
                flush(&mut out, &mut help, Some(&full));
            } else {
                flush(&mut out, &mut help, None);
            }
            out.push_str("# TYPE ");
            out.push_str(&full);
            out.push(' ');
            out.push_str(kind);
            out.push('\n');
        } else if line.starts_with("# UNIT ") || line == "# EOF" {
            flush(&mut out, &mut help, None);
        } else {
            flush(&mut out, &mut help, None);
            out.push_str(line);
            out.push('\n');
        }
    }
    flush(&mut out, &mut help, None);
    out
}

#[cfg(test)]
mod tests {
    use super::{Exposition, openmetrics_to_prometheus};

    #[test]
    fn negotiation_prefers_openmetrics_only_when_asked() {
        assert_eq!(Exposition::negotiate(None), Exposition::Prometheus);
        assert_eq!(Exposition::negotiate(Some("*/*")), Exposition::Prometheus);
        assert_eq!(Exposition::negotiate(Some("text/plain")), Exposition::Prometheus);
        let prometheus_server = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                                 version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Exposition::negotiate(Some(prometheus_server)), Exposition::OpenMetrics);
        assert_eq!(Exposition::negotiate(Some("application/openmetrics-text; q=0")), Exposition::Prometheus);
        assert_eq!(
            Exposition::negotiate(Some("text/plain;version=0.0.4,application/openmetrics-text;q=0.5")),
            Exposition::Prometheus
        );
    }

    #[test]
    fn counters_are_described_on_their_total_name() {
        let open = "# HELP a_requests Requests \\\"x\\\".\n# TYPE a_requests counter\na_requests_total 3\n\
                    # HELP a_size Size.\n# TYPE a_size gauge\n# UNIT a_size bytes\na_size 1\n# TYPE odd unknown\n\
                    odd 2\n# EOF\n";
        assert_eq!(
            openmetrics_to_prometheus(open),
            "# HELP a_requests_total Requests \"x\".\n# TYPE a_requests_total counter\na_requests_total 3\n\
             # HELP a_size Size.\n# TYPE a_size gauge\na_size 1\n# TYPE odd untyped\nodd 2\n"
        );
    }
}
