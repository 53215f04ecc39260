//! Validation of ToolHive catalog files against the ToolHive schema (placeholder).

use serde_json::Value;

use super::Finding;

/// Validates a whole ToolHive catalog file.
pub fn validate_toolhive_registry(_doc: &Value) -> Vec<Finding> {
    Vec::new()
}
