//! Request checks that run before routing: NUL bytes (400) and trailing slashes (308).

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::problem::Problem;

/// Answers 400 (as plain `application/json`) when the path or query holds a NUL byte (`%00`).
pub async fn reject_nul(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let has_nul = |text: &str| text.contains('\0') || text.as_bytes().windows(3).any(|w| w == b"%00");
    if has_nul(uri.path()) || uri.query().is_some_and(has_nul) {
        let mut problem = Problem::bad_request("The request path or query contains a NUL byte.");
        problem.plain_json = true;
        return problem.into_response();
    }
    next.run(request).await
}

/// Redirects (308) a path ending in `/` (other than `/`) to the path without it, keeping the query.
pub async fn redirect_trailing_slash(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let path = uri.path();
    if path.len() > 1 && path.ends_with('/') {
        // One leading slash only, so `//host/` cannot become a protocol-relative redirect to another host.
        let trimmed = path.trim_end_matches('/').trim_start_matches('/');
        let mut target = format!("/{trimmed}");
        if let Some(query) = uri.query() {
            target.push('?');
            target.push_str(query);
        }
        if let Ok(location) = HeaderValue::from_str(&target) {
            let mut response = StatusCode::PERMANENT_REDIRECT.into_response();
            response.headers_mut().insert(header::LOCATION, location);
            return response;
        }
    }
    next.run(request).await
}
