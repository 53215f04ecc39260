//! Request checks around every handler, in one layer (each layer costs an allocation and a service clone per
//! request): NUL bytes (400), trailing slashes (308), then the body limit and timeout of [`super::limits`].

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::limits::{self, HttpOptions};
use crate::problem::Problem;

/// Rejects NUL bytes, redirects trailing slashes, and runs the request under the body limit and timeout.
pub async fn guard(State(options): State<HttpOptions>, request: Request, next: Next) -> Response {
    if let Some(rejected) = reject_nul(&request) {
        return rejected;
    }
    if let Some(redirect) = redirect_trailing_slash(&request) {
        return redirect;
    }
    limits::limited(options, request, next).await
}

/// 400 (as plain `application/json`) when the path or query holds a NUL byte (`%00`).
fn reject_nul(request: &Request) -> Option<Response> {
    let uri = request.uri();
    let has_nul = |text: &str| text.contains('\0') || text.as_bytes().windows(3).any(|w| w == b"%00");
    if has_nul(uri.path()) || uri.query().is_some_and(has_nul) {
        let mut problem = Problem::bad_request("The request path or query contains a NUL byte.");
        problem.plain_json = true;
        return Some(problem.into_response());
    }
    None
}

/// 308 to the path without its trailing `/` (other than `/`), keeping the query.
fn redirect_trailing_slash(request: &Request) -> Option<Response> {
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
            return Some(response);
        }
    }
    None
}
