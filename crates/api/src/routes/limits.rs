//! Request limits ([`limited`]): a deadline for the response (503) and a cap on the request body (413), both
//! answered as problem+json.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::problem::{PROBLEM_JSON, Problem};

/// The limits the router applies to every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpOptions {
    /// How long a handler may take to produce its response before the client gets 503.
    pub request_timeout: Duration,
    /// The largest request body accepted, in bytes (larger: 413).
    pub body_limit: usize,
}

impl Default for HttpOptions {
    /// 30 seconds and 1 MiB.
    fn default() -> Self {
        Self { request_timeout: Duration::from_secs(30), body_limit: 1024 * 1024 }
    }
}

/// 413 problem+json.
fn too_large(limit: usize) -> Response {
    Problem::new(StatusCode::PAYLOAD_TOO_LARGE, format!("The request body is larger than {limit} bytes."))
        .into_response()
}

/// Runs `handle(request)` under `options`: 413 when `Content-Length` declares more than the body limit (or
/// a handler's extractor hits it, whatever the handler answered), 503 when it takes longer than the timeout.
pub async fn limited<F, Fut>(options: HttpOptions, request: Request, handle: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let limit = options.body_limit;
    let declared =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return too_large(limit);
    }
    let deadline = options.request_timeout;
    let response = match tokio::time::timeout(deadline, handle(request)).await {
        Ok(response) => response,
        Err(_) => {
            return Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("The request did not complete within {} ms.", deadline.as_millis()),
            )
            .into_response();
        }
    };
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE
        && response.headers().get(header::CONTENT_TYPE).is_none_or(|v| v.as_bytes() != PROBLEM_JSON.as_bytes())
    {
        return too_large(limit);
    }
    response
}
