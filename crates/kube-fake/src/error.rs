//! Failures shaped as the Kubernetes API server sends them: a `Status` object with `code`, `reason` and
//! `message`, so that `kube::Error::Api` carries what a real cluster would put there.

use serde_json::{Value, json};

use crate::kinds::ResourceKind;

/// A refused request: the HTTP code, the machine-readable reason and the message of a `Status`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    /// HTTP status code, also put in the `Status` body.
    pub code: u16,
    /// `Status.reason`, such as `NotFound`, `AlreadyExists`, `Conflict`, `Invalid`.
    pub reason: String,
    /// `Status.message`, worded as the real API server words it.
    pub message: String,
    /// `Status.details`, when the real server fills it (name, group, kind, causes).
    pub details: Option<Box<Value>>,
}

/// One field-level cause of a 422 `Invalid` answer.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldCause {
    /// `FieldValueInvalid`, `FieldValueTooLong`, `FieldValueForbidden`, …
    pub reason: &'static str,
    /// The field path as the API server prints it (`metadata.name`, `data`, `[]`).
    pub field: String,
    /// The detail, such as `Too long: must have at most 1048576 bytes`.
    pub message: String,
}

impl ApiError {
    /// An error with the reason the API server uses for `code`.
    pub fn new(code: u16, message: impl Into<String>) -> Self {
        Self { code, reason: reason_for_code(code).to_string(), message: message.into(), details: None }
    }

    fn with_reason(code: u16, reason: &str, message: String) -> Self {
        Self { code, reason: reason.to_string(), message, details: None }
    }

    fn with_details(mut self, kind: &ResourceKind, name: &str) -> Self {
        let mut details = json!({ "name": name, "kind": kind.plural });
        if !kind.group.is_empty() {
            details["group"] = Value::String(kind.group.clone());
        }
        self.details = Some(Box::new(details));
        self
    }

    /// 404: `configmaps "x" not found`.
    pub fn not_found(kind: &ResourceKind, name: &str) -> Self {
        Self::with_reason(404, "NotFound", format!("{} \"{name}\" not found", kind.qualified_plural()))
            .with_details(kind, name)
    }

    /// 404 for a path that names no known resource.
    pub fn unknown_path(path: &str) -> Self {
        Self::with_reason(404, "NotFound", format!("the server could not find the requested resource ({path})"))
    }

    /// 409: `configmaps "x" already exists`.
    pub fn already_exists(kind: &ResourceKind, name: &str) -> Self {
        Self::with_reason(409, "AlreadyExists", format!("{} \"{name}\" already exists", kind.qualified_plural()))
            .with_details(kind, name)
    }

    /// 409 on a stale `resourceVersion` or a failed precondition.
    pub fn conflict(kind: &ResourceKind, name: &str, why: &str) -> Self {
        Self::with_reason(
            409,
            "Conflict",
            format!("Operation cannot be fulfilled on {} \"{name}\": {why}", kind.qualified_plural()),
        )
        .with_details(kind, name)
    }

    /// 409 for a server-side apply that would take fields owned by another manager without `force`.
    pub fn apply_conflict(kind: &ResourceKind, name: &str, conflicts: &[(String, String)]) -> Self {
        let list: Vec<String> =
            conflicts.iter().map(|(manager, field)| format!("conflict with \"{manager}\": {field}")).collect();
        let message = if list.len() == 1 {
            format!("Apply failed with 1 conflict: {}", list[0])
        } else {
            format!("Apply failed with {} conflicts: {}", list.len(), list.join("\n"))
        };
        Self::with_reason(409, "Conflict", message).with_details(kind, name)
    }

    /// 422: `ConfigMap "x" is invalid: <field>: <detail>`, with one cause per field.
    pub fn invalid(kind: &ResourceKind, name: &str, causes: Vec<FieldCause>) -> Self {
        let listed: Vec<String> = causes.iter().map(|c| format!("{}: {}", c.field, c.message)).collect();
        let joined = if listed.len() == 1 { listed[0].clone() } else { format!("[{}]", listed.join(", ")) };
        let mut error =
            Self::with_reason(422, "Invalid", format!("{} \"{name}\" is invalid: {joined}", kind.qualified_kind()));
        let mut details = json!({ "name": name, "kind": kind.kind });
        if !kind.group.is_empty() {
            details["group"] = Value::String(kind.group.clone());
        }
        details["causes"] =
            causes.iter().map(|c| json!({ "reason": c.reason, "message": c.message, "field": c.field })).collect();
        error.details = Some(Box::new(details));
        error
    }

    /// 400 for a malformed request (bad selector, body, or query parameter).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::with_reason(400, "BadRequest", message.into())
    }

    /// 405 for a verb the path does not support.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::with_reason(405, "MethodNotAllowed", message.into())
    }

    /// 410 `Expired` for a watch from a `resourceVersion` older than the retained history.
    pub fn expired(requested: u64, oldest: u64) -> Self {
        Self::with_reason(410, "Expired", format!("too old resource version: {requested} ({oldest})"))
    }

    /// 413 for an object the storage layer would refuse.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::with_reason(413, "RequestEntityTooLarge", message.into())
    }

    /// 415 for a patch content type the server does not know.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::with_reason(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {content_type:?})"
            ),
        )
    }

    /// The `Status` object sent as the response body (or inside a watch `ERROR` event).
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = (**details).clone();
        }
        status
    }
}

/// The `Status.reason` the API server pairs with an HTTP code.
pub(crate) fn reason_for_code(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        406 => "NotAcceptable",
        409 => "Conflict",
        410 => "Expired",
        413 => "RequestEntityTooLarge",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    }
}
