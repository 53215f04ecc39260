//! The axum router: the MCP Registry read API under `/v0.1` and `/v0` (aggregate of all registries) and
//! under `/registry/{name}/v0.1` and `/registry/{name}/v0` (one registry), with the official
//! cross-cutting behaviour (NUL rejection, trailing-slash redirect, CORS, problem+json 404s), and the
//! operational endpoints (`/healthz`, `/readyz`, `/health`, `/ping`, `/version`, `/metrics`), the ToolHive
//! API under `/api/v1`, and the OpenAPI document (`/openapi.yaml`, `/openapi.json`, also under
//! `/registry/{name}`), under the HTTP layers of [`http_layers`] (request ids, access log, metrics, limits,
//! ETags, gzip). The catalog routes go through [`crate::auth::require`]; operational ones and the OpenAPI
//! document never need a token (probes, scrapers, and clients checking what this server is).

mod access_log;
mod conditional;
mod limits;
mod middleware;
pub(crate) mod ops;
pub(crate) mod registries;
mod request_id;
pub(crate) mod servers;
pub(crate) mod toolhive;

pub use limits::HttpOptions;
pub use request_id::{MAX_REQUEST_ID_LEN, RequestId, X_REQUEST_ID};

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::{get, post};
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::cors::{Any, CorsLayer};

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

/// The API router over `state`, with `options`.
pub fn router_with(state: AppState, options: HttpOptions) -> Router {
    let mcp = Router::new()
        .route("/servers", get(servers::list))
        .route("/servers/{server_name}/versions", get(servers::versions))
        .route("/servers/{server_name}/versions/{version}", get(servers::version));
    let mut catalog = Router::new()
        .route("/api/v1/servers", get(toolhive::list))
        .route("/api/v1/servers/{name}", get(toolhive::show))
        .route("/api/v1/registries", get(registries::list))
        .route("/api/v1/registries/{registry}", get(registries::show))
        .route("/api/v1/registries/{registry}/changes", get(registries::changes))
        .route("/api/v1/registries/{registry}/sync", post(registries::sync));
    for prefix in PREFIXES {
        catalog = catalog.nest(prefix, mcp.clone());
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

/// Wraps `routes` in the cross-cutting layers, innermost first: ETag/304, gzip, CORS, the guard (NUL
/// rejection, trailing-slash redirect, body limit, timeout), then request id, metrics and access log. Few
/// layers on purpose: each costs an allocation and a service clone per request. Public so routers built
/// elsewhere (tests) get the same behaviour.
pub fn http_layers(routes: Router, state: AppState, options: HttpOptions) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH])
        .allow_headers(Any)
        .max_age(Duration::from_secs(86_400));
    let gzip_when = SizeAbove::new(GZIP_MIN_BYTES)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE);
    routes
        .layer(axum::middleware::from_fn(conditional::etag))
        .layer(CompressionLayer::new().compress_when(gzip_when))
        .layer(axum::middleware::from_fn(conditional::weaken_encoded))
        .layer(cors)
        .layer(axum::middleware::from_fn_with_state(options, middleware::guard))
        .layer(DefaultBodyLimit::max(options.body_limit))
        .layer(axum::middleware::from_fn_with_state(state, access_log::observe))
}

async fn endpoint_not_found() -> Problem {
    Problem::not_found(ENDPOINT_NOT_FOUND)
}
