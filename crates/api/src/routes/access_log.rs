//! What every request leaves behind, in one layer: its request id (echoed on the response), its count and
//! latency in the metrics (by route template), and one structured log event (target `thv::http`, level
//! info): method, route template, status, latency, request id and body size. Never headers, raw paths or
//! query strings, which may carry secrets.

use std::time::Instant;

use axum::body::HttpBody;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::request_id::{self, X_REQUEST_ID};
use crate::state::AppState;

/// Assigns the request id, then records the request once its response is ready (the body may still be
/// streaming).
pub async fn observe(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let id = request_id::assign(&mut request);
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let route = route.as_ref().map(MatchedPath::as_str);
    let mut response = next.run(request).await;
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
    response.headers_mut().insert(X_REQUEST_ID, id);
    response
}
