//! The axum router: the MCP Registry read API under `/v0.1` and `/v0` (aggregate of all registries) and
//! under `/registry/{name}/v0.1` and `/registry/{name}/v0` (one registry), with the official
//! cross-cutting behaviour (NUL rejection, trailing-slash redirect, CORS, problem+json 404s), and the
//! operational endpoints (`/healthz`, `/readyz`, `/health`, `/ping`, `/version`, `/metrics`), the ToolHive
//! API under `/api/v1`, and the OpenAPI document (`/openapi.yaml`, `/openapi.json`, also under
//! `/registry/{name}`), under the HTTP layers of [`http_layers`] (request ids, access log, metrics, limits,
//! ETags, gzip). The catalog routes go through [`crate::auth::require`]; operational ones and the OpenAPI
//! document never need a token (probes, scrapers, and clients checking what this server is).

mod access_log;
pub(crate) mod conditional;
mod cors;
mod limits;
mod middleware;
pub(crate) mod ops;
pub(crate) mod registries;
mod request_id;
pub(crate) mod servers;
pub(crate) mod toolhive;

pub use limits::HttpOptions;
pub use request_id::{MAX_REQUEST_ID_LEN, RequestId, X_REQUEST_ID};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};

use crate::openapi;
use crate::problem::{ENDPOINT_NOT_FOUND, Problem};
use crate::state::AppState;

/// The prefixes the read API is served under.
const PREFIXES: [&str; 4] = ["/v0.1", "/v0", "/registry/{registry}/v0.1", "/registry/{registry}/v0"];

/// Responses smaller than this are sent uncompressed.
const GZIP_MIN_BYTES: u16 = 1024;

/// The API router over `state`, with the default [`HttpOptions`].
pub fn router(state: AppState) -> Router {
    router_with(state, HttpOptions::default())
}

/// The MCP Registry read routes under `prefix`, as routes of their own rather than a nested router, which
/// would rewrite every request's URI to strip the prefix.
fn read_api(prefix: &str) -> Router<AppState> {
    let at = |path: &str| format!("{prefix}{path}");
    Router::new()
        .route(&at("/servers"), get(servers::list))
        .route(&at("/servers/{server_name}/versions"), get(servers::versions))
        .route(&at("/servers/{server_name}/versions/{version}"), get(servers::version))
}

/// The API router over `state`, with `options`.
pub fn router_with(state: AppState, options: HttpOptions) -> Router {
    let mut catalog = Router::new()
        .route("/api/v1/servers", get(toolhive::list))
        .route("/api/v1/servers/{name}", get(toolhive::show))
        .route("/api/v1/registries", get(registries::list))
        .route("/api/v1/registries/{registry}", get(registries::show))
        .route("/api/v1/registries/{registry}/changes", get(registries::changes))
        .route("/api/v1/registries/{registry}/sync", post(registries::sync));
    for prefix in PREFIXES {
        catalog = catalog.merge(read_api(prefix));
    }
    let catalog = catalog.route_layer(axum::middleware::from_fn_with_state(state.clone(), crate::auth::require));
    let routes = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/health", get(ops::healthz))
        .route("/ping", get(ops::ping))
        .route("/readyz", get(ops::readyz))
        .route("/version", get(ops::version))
        .route("/metrics", get(ops::metrics))
        .route("/docs", get(openapi::docs_page::docs))
        .route("/openapi.yaml", get(openapi::serve::yaml))
        .route("/openapi.json", get(openapi::serve::json))
        .route("/registry/{registry}/openapi.yaml", get(openapi::serve::yaml))
        .route("/registry/{registry}/openapi.json", get(openapi::serve::json))
        .merge(catalog)
        .fallback(endpoint_not_found)
        .method_not_allowed_fallback(endpoint_not_found)
        .with_state(state.clone());
    http_layers(routes, state, options)
}

/// Wraps `routes` in the cross-cutting layers, outermost first: the body limit, one edge layer (request id,
/// NUL rejection, trailing-slash redirect, body limit, timeout, CORS, metrics and access log), then gzip and
/// ETag/304. They are applied as one stack: each `Router::layer` call boxes every route once more, and each
/// box is cloned (an allocation) per request. Public so routers built elsewhere (tests) get the same
/// behaviour.
pub fn http_layers(routes: Router, state: AppState, options: HttpOptions) -> Router {
    let gzip_when = SizeAbove::new(GZIP_MIN_BYTES)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE);
    routes.layer((
        DefaultBodyLimit::max(options.body_limit),
        axum::middleware::from_fn_with_state(middleware::Edge { state, options }, middleware::edge),
        axum::middleware::from_fn(conditional::weaken_encoded),
        CompressionLayer::new().compress_when(gzip_when),
        axum::middleware::from_fn(conditional::etag),
    ))
}

async fn endpoint_not_found() -> Problem {
    Problem::not_found(ENDPOINT_NOT_FOUND)
}
