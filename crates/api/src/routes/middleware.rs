//! The one layer around every handler (each layer costs an allocation and a service clone per request,
//! so the cross-cutting steps share one): the request id, NUL bytes (400), trailing slashes (308), the body
//! limit and timeout of [`super::limits`], CORS ([`super::cors`]), then the request's metrics and log line
//! ([`super::access_log`]).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::limits::{self, HttpOptions};
use super::request_id::{self, X_REQUEST_ID};
use super::{access_log, cors};
use crate::problem::Problem;
use crate::state::AppState;

/// What the layer needs: the metrics (in the state) and the limits.
#[derive(Debug, Clone)]
pub struct Edge {
    /// The handlers' state.
    pub state: AppState,
    /// Body limit and timeout.
    pub options: HttpOptions,
}

/// Gives the request its id, runs it through the checks and the handler, records it, and echoes the id.
pub async fn edge(State(edge): State<Edge>, mut request: Request, next: Next) -> Response {
    let id = request_id::assign(&mut request);
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let mut response = guarded(edge.options, request, next).await;
    access_log::record(&edge.state, route.as_ref().map(MatchedPath::as_str), &method, &response, started, &id);
    response.headers_mut().insert(X_REQUEST_ID, id);
    response
}

/// Rejects NUL bytes, redirects trailing slashes, answers CORS preflights, and runs the request under the
/// body limit and timeout.
async fn guarded(options: HttpOptions, request: Request, next: Next) -> Response {
    if let Some(rejected) = reject_nul(&request) {
        return rejected;
    }
    if let Some(redirect) = redirect_trailing_slash(&request) {
        return redirect;
    }
    limits::limited(options, request, |request| async move {
        if let Some(preflight) = cors::preflight(&request) {
            return preflight;
        }
        let mut response = next.run(request).await;
        cors::allow(response.headers_mut());
        response
    })
    .await
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
