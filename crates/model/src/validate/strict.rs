//! Strict validation: the official registry's publish rules (placeholder).

use serde_json::Value;

use super::Finding;

/// Applies the registry's publish rules to `doc`.
pub fn validate_strict(_doc: &Value) -> Vec<Finding> {
    Vec::new()
}
