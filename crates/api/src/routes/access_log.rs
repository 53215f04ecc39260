//! One structured log event per request (target `thv::http`, level info): method, route template, status,
//! latency, request id and body size. Never headers, raw paths or query strings, which may carry secrets.

use std::time::Instant;

use axum::body::HttpBody;
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

use super::request_id::RequestId;

/// Logs the request once its response is ready (the body may still be streaming).
pub async fn log(request: Request, next: Next) -> Response {
    if !tracing::enabled!(target: "thv::http", tracing::Level::INFO) {
        return next.run(request).await;
    }
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let id = request.extensions().get::<RequestId>().cloned();
    let response = next.run(request).await;
    // Microsecond resolution, so the JSON number stays short.
    let latency_ms = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX) as f64 / 1000.0;
    tracing::info!(
        target: "thv::http",
        method = method.as_str(),
        route = route.as_ref().map_or("unmatched", MatchedPath::as_str),
        status = response.status().as_u16(),
        latency_ms,
        request_id = id.as_ref().and_then(|id| id.0.to_str().ok()),
        bytes = response.body().size_hint().exact(),
        "request"
    );
    response
}
