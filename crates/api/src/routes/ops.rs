//! Operational endpoints outside the API prefixes: liveness (`/healthz`, `/health`, `/ping`), readiness
//! (`/readyz`), build information (`/version`) and Prometheus metrics (`/metrics`), plus the middleware that
//! counts requests.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::metrics::Exposition;
use crate::problem::Problem;
use crate::state::AppState;

/// The detail of a 503 from `/readyz`.
const NOT_READY: &str = "The catalogs have not been loaded from the store yet.";

/// The detail of a 503 from `/readyz` when the store does not answer.
const STORE_UNREACHABLE: &str = "The database does not answer.";

/// The warning of `/readyz` when no registry is configured.
const NO_REGISTRIES: &str = "no registries are configured: every catalog is empty (add one to the config file, \
    e.g. with `thv registry add`)";

/// How long `/readyz` waits for the store.
const STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /healthz`: the process is up.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "operations",
    summary = "Liveness", responses(
    (status = 200, description = "The process is up.", body = crate::openapi::schemas::Health),
))]
pub async fn healthz() -> Response {
    json(json!({"status": "ok"}))
}

/// `GET /ping`, as the official registry answers it.
#[utoipa::path(get, path = "/ping", operation_id = "ping", tag = "operations",
    summary = "Ping", responses(
    (status = 200, description = "Pong.", body = crate::openapi::schemas::Pong),
))]
pub async fn ping() -> Response {
    json(json!({"pong": true}))
}

/// `GET /readyz`: 200 with the number of registries once the snapshot is loaded (and the store, when one
/// was set, answers within [`STORE_TIMEOUT`]), with a warning when there is none; 503 otherwise.
#[utoipa::path(get, path = "/readyz", operation_id = "readyz", tag = "operations",
    summary = "Readiness", responses(
    (status = 200, description = "The catalogs are loaded and the database answers (with a `warning` when no \
        registry is configured).", body = crate::openapi::schemas::Ready),
    (status = 503, description = "Not ready yet, or the database does not answer.",
        body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
))]
pub async fn readyz(State(state): State<AppState>) -> Result<Response, Problem> {
    if !state.is_ready() {
        return Err(Problem::new(StatusCode::SERVICE_UNAVAILABLE, NOT_READY));
    }
    if let Some(store) = state.store() {
        match tokio::time::timeout(STORE_TIMEOUT, store.registry_states()).await {
            Ok(Ok(_)) => {}
            Ok(Err(_)) | Err(_) => return Err(Problem::new(StatusCode::SERVICE_UNAVAILABLE, STORE_UNREACHABLE)),
        }
    }
    let registries = state.snapshot().registry_names().count();
    let mut body = json!({"status": "ready", "registries": registries});
    if registries == 0 {
        body["warning"] = Value::from(NO_REGISTRIES);
    }
    Ok(json(body))
}

/// `GET /version`: the crate version, and the git commit and build time from the `THV_GIT_COMMIT` and
/// `THV_BUILD_TIME` environment variables at build time (`unknown` without them).
#[utoipa::path(get, path = "/version", operation_id = "version", tag = "operations",
    summary = "Build information", responses(
    (status = 200, description = "Build information.", body = crate::openapi::schemas::VersionInfo),
))]
pub async fn version() -> Response {
    json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "git_commit": option_env!("THV_GIT_COMMIT").unwrap_or("unknown"),
        "build_time": option_env!("THV_BUILD_TIME").unwrap_or("unknown"),
    }))
}

/// `GET /metrics`: the OpenMetrics text exposition when `Accept` asks for it, else the Prometheus text
/// format 0.0.4.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "operations",
    summary = "Prometheus metrics", responses(
    (status = 200, description = "The Prometheus text exposition 0.0.4, or OpenMetrics 1.0 when `Accept` asks for \
        `application/openmetrics-text`.", content(
        (String = "text/plain; version=0.0.4; charset=utf-8"),
        (String = "application/openmetrics-text; version=1.0.0; charset=utf-8"))),
    (status = 500, description = "The metrics could not be encoded.",
        body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
))]
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Exposition::negotiate(accept);
    match state.metrics().encode_as(format) {
        Ok(text) => {
            let mut response = text.into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
            response
        }
        Err(_) => Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "The metrics could not be encoded.").into_response(),
    }
}

/// A 200 `application/json` response with `body`.
fn json(body: Value) -> Response {
    let mut response = body.to_string().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
