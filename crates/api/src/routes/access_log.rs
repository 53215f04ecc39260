//! What every request leaves behind: its count and latency in the metrics (by route template), and one
//! structured log event (target `thv::http`, level info): method, route template, status, latency, request
//! id and body size. Never headers, raw paths or query strings, which may carry secrets.

use std::time::Instant;

use axum::body::HttpBody;
use axum::http::{HeaderValue, Method};
use axum::response::Response;

use crate::state::AppState;

/// Records a request that started at `started`, answered with `response` (whose body may still be
/// streaming): its count and latency in the metrics and its log line.
pub fn record(
    state: &AppState,
    route: Option<&str>,
    method: &Method,
    response: &Response,
    started: Instant,
    id: &HeaderValue,
) {
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state.metrics().record_request(route, method.as_str(), status, elapsed.as_secs_f64());
    if tracing::enabled!(target: "thv::http", tracing::Level::INFO) {
        // Microsecond resolution, so the JSON number stays short.
        let latency_ms = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX) as f64 / 1000.0;
        tracing::info!(
            target: "thv::http",
            method = method.as_str(),
            route = route.unwrap_or("unmatched"),
            status,
            latency_ms,
            request_id = id.to_str().ok(),
            bytes = response.body().size_hint().exact(),
            "request"
        );
    }
}
