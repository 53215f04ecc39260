//! RFC 9457 problem details, as the official registry sends them (`application/problem+json`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// The media type of problem responses.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The detail of a 404 for a path no route serves.
pub const ENDPOINT_NOT_FOUND: &str = "Endpoint not found. See /docs for the API documentation.";

/// One entry of a problem's `errors` list.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorDetail {
    /// What is wrong.
    pub message: String,
    /// Where, e.g. `query.limit`.
    pub location: String,
    /// The offending value.
    pub value: Value,
}

/// An error response: `{title, status, detail[, errors]}`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{status}: {detail}")]
pub struct Problem {
    /// HTTP status.
    pub status: StatusCode,
    /// Human-readable explanation.
    pub detail: String,
    /// Individual validation errors.
    pub errors: Vec<ErrorDetail>,
    /// Send as `application/json` instead of problem+json (the NUL-byte rejection does).
    pub plain_json: bool,
}

impl Problem {
    /// A problem with `status` and `detail`.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self { status, detail: detail.into(), errors: Vec::new(), plain_json: false }
    }

    /// 404 with `detail`.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    /// 404 for a registry name that is not configured.
    pub fn unknown_registry(name: &str) -> Self {
        Self::not_found(format!("Registry {name:?} not found"))
    }

    /// 400 with `detail`.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 422 "validation failed" with one error at `location`.
    pub fn validation(message: impl Into<String>, location: impl Into<String>, value: Value) -> Self {
        let mut problem = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation failed");
        problem.errors.push(ErrorDetail { message: message.into(), location: location.into(), value });
        problem
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("title".to_owned(), Value::from(self.status.canonical_reason().unwrap_or("Error")));
        body.insert("status".to_owned(), Value::from(self.status.as_u16()));
        body.insert("detail".to_owned(), Value::from(self.detail.as_str()));
        if !self.errors.is_empty() {
            let errors = self
                .errors
                .iter()
                .map(|e| json!({"message": e.message, "location": e.location, "value": e.value}))
                .collect();
            body.insert("errors".to_owned(), Value::Array(errors));
        }
        Value::Object(body)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let media = if self.plain_json { "application/json" } else { PROBLEM_JSON };
        let mut response = (self.status, self.body().to_string()).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
        response
    }
}
