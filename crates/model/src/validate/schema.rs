//! Schema-level validation (placeholder; implemented natively per released schema).

use serde_json::Value;

use super::Finding;
use crate::upstream::SchemaVersion;

/// Validates `doc` against the released schema `version`.
pub fn validate_schema(_doc: &Value, _version: SchemaVersion) -> Vec<Finding> {
    Vec::new()
}
