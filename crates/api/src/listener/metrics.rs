//! The connection metrics of a listener ([`ConnectionMetrics`]): open connections and the cap, connections
//! accepted, refused and timed out, and accept errors.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Which slot a connection was served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Slot {
    /// Under the cap: keep-alive, the listener's timeouts.
    Regular,
    /// Past the cap: one request, a short header-read timeout.
    Reserved,
}

impl Slot {
    fn label(self) -> &'static str {
        match self {
            Self::Regular => "regular",
            Self::Reserved => "reserved",
        }
    }
}

/// Which timeout closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Timeout {
    /// The request head did not arrive in time.
    Header,
    /// No next request in time.
    Idle,
    /// The response made no progress (the client stopped reading).
    Response,
}

impl Timeout {
    fn label(self) -> &'static str {
        match self {
            Self::Header => "header",
            Self::Idle => "idle",
            Self::Response => "response",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct SlotLabels {
    slot: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct TimeoutLabels {
    timeout: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ErrorLabels {
    error: &'static str,
}

/// The connection metrics of one listener; clones share the values. Register them with
/// [`ConnectionMetrics::register`] (the API's [`crate::Metrics`] does).
#[derive(Debug, Clone, Default)]
pub struct ConnectionMetrics {
    open: Gauge,
    limit: Gauge,
    accepted: Family<SlotLabels, Counter>,
    refused: Counter,
    timed_out: Family<TimeoutLabels, Counter>,
    accept_errors: Family<ErrorLabels, Counter>,
}

impl ConnectionMetrics {
    /// Registers the metrics in `registry` (names under its prefix): `http_connections_open`,
    /// `http_connections_limit`, `http_connections_accepted{slot}`, `http_connections_refused`,
    /// `http_connections_timed_out{timeout}` and `http_accept_errors{error}`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register("http_connections_open", "HTTP connections open now", self.open.clone());
        registry.register("http_connections_limit", "HTTP connections served at once (the cap)", self.limit.clone());
        registry.register(
            "http_connections_accepted",
            "HTTP connections accepted, by slot (regular, or reserved past the cap)",
            self.accepted.clone(),
        );
        registry.register(
            "http_connections_refused",
            "HTTP connections refused because every slot was taken",
            self.refused.clone(),
        );
        registry.register(
            "http_connections_timed_out",
            "HTTP connections closed by a timeout (header, idle, response)",
            self.timed_out.clone(),
        );
        registry.register(
            "http_accept_errors",
            "Failed accepts of HTTP connections, by error",
            self.accept_errors.clone(),
        );
    }

    pub(super) fn set_limit(&self, limit: usize) {
        self.limit.set(i64::try_from(limit).unwrap_or(i64::MAX));
    }

    /// Counts an accepted connection as open until the returned guard is dropped.
    pub(super) fn accepted(&self, slot: Slot) -> OpenConnection {
        self.accepted.get_or_create(&SlotLabels { slot: slot.label() }).inc();
        self.open.inc();
        OpenConnection(self.open.clone())
    }

    pub(super) fn refused(&self) {
        self.refused.inc();
    }

    pub(super) fn timed_out(&self, timeout: Timeout) {
        self.timed_out.get_or_create(&TimeoutLabels { timeout: timeout.label() }).inc();
    }

    pub(super) fn accept_error(&self, error: &'static str) {
        self.accept_errors.get_or_create(&ErrorLabels { error }).inc();
    }
}

/// An open connection in the `http_connections_open` gauge, until dropped.
#[derive(Debug)]
pub(super) struct OpenConnection(Gauge);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}
