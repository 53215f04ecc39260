//! `GET /openapi.yaml` and `GET /openapi.json`, also under `/registry/{registry}` so that each registry's
//! base URL can be given to clients that first fetch `{base}/openapi.yaml` (ToolHive's `api` sources).

use std::collections::HashMap;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::problem::Problem;
use crate::state::AppState;

/// The media type of `/openapi.yaml` (RFC 9512).
pub const YAML_MEDIA_TYPE: &str = "application/yaml";

/// The media type of `/openapi.json`.
pub const JSON_MEDIA_TYPE: &str = "application/json";

type PathParams = Result<Path<HashMap<String, String>>, PathRejection>;

/// `Ok` unless the path names a registry that is not configured (404) or cannot be decoded (400).
fn check_registry(state: &AppState, params: PathParams) -> Result<(), Problem> {
    let Path(params) = params.map_err(|e| Problem::bad_request(format!("Invalid path: {}", e.body_text())))?;
    match params.get("registry") {
        Some(name) => state.scope(Some(name)).map(drop),
        None => Ok(()),
    }
}

/// A 200 response with a pre-rendered `body` of `media_type`.
fn document(body: &'static str, media_type: &'static str) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    response
}

/// The OpenAPI document of this server, as YAML.
#[utoipa::path(
    get,
    path = "/openapi.yaml",
    operation_id = "getOpenApiYaml",
    tag = "openapi",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document (the same for every registry).", body = Object,
            content_type = "application/yaml"),
        (status = 400, description = "Undecodable path, or a NUL byte in the request (sent as `application/json`).",
            content(
            (crate::openapi::schemas::Problem = "application/problem+json"),
            (crate::openapi::schemas::Problem = "application/json"))),
    )
)]
pub async fn yaml(State(state): State<AppState>, params: PathParams) -> Response {
    match check_registry(&state, params) {
        Ok(()) => document(super::openapi_yaml_str(), YAML_MEDIA_TYPE),
        Err(problem) => problem.into_response(),
    }
}

/// The OpenAPI document of this server, as JSON.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "getOpenApiJson",
    tag = "openapi",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document (the same for every registry).",
            body = Object, content_type = "application/json"),
        (status = 400, description = "Undecodable path, or a NUL byte in the request (sent as `application/json`).",
            content(
            (crate::openapi::schemas::Problem = "application/problem+json"),
            (crate::openapi::schemas::Problem = "application/json"))),
    )
)]
pub async fn json(State(state): State<AppState>, params: PathParams) -> Response {
    match check_registry(&state, params) {
        Ok(()) => document(super::openapi_json_str(), JSON_MEDIA_TYPE),
        Err(problem) => problem.into_response(),
    }
}
