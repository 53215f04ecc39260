//! Native validation of `server.json` documents and ToolHive catalogs (no schema interpreter at run time).
//!
//! Two levels:
//! - **schema**: the verdict the official JSON Schema gives, for the record's declared `$schema` date
//!   (2025-12-11 when absent or unknown) or for one date chosen with [`Against::Schema`];
//! - **strict**: the official registry's publish rules on top (name parts, version ranges, `latest`,
//!   https URLs, …).
//!
//! Findings carry a JSON pointer relative to the validated document; callers prefix the record's
//! location in its file.

use serde::Serialize;

use crate::upstream::SchemaVersion;

mod check;
mod format;
mod loc;
mod pattern;
mod schema;
mod strict;
mod toolhive;
mod wrapper;

pub use schema::validate_schema;
pub use strict::validate_strict;
pub use toolhive::validate_toolhive_registry;
pub use wrapper::validate_upstream_file;

/// Which rule set produced a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The official JSON Schema would reject the document.
    Schema,
    /// The official registry's publish rules would reject it.
    Strict,
}

/// One problem in one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Rule set.
    pub level: Level,
    /// JSON pointer to the offending value, relative to the validated document.
    pub pointer: String,
    /// What is wrong, in words.
    pub message: String,
}

impl Finding {
    /// A schema-level finding.
    pub fn schema(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self { level: Level::Schema, pointer: pointer.into(), message: message.into() }
    }

    /// A strict-level finding.
    pub fn strict(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self { level: Level::Strict, pointer: pointer.into(), message: message.into() }
    }
}

/// Which schema judges a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Against {
    /// The schema the record declares in `$schema` (2025-12-11 when absent or not a released date).
    #[default]
    Declared,
    /// One released schema for every record.
    Schema(SchemaVersion),
}

/// Options for [`validate_server`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ValidateOptions {
    /// Which schema judges the record.
    pub against: Against,
    /// Also apply the registry's publish rules.
    pub strict: bool,
}

/// The schema version a document is judged by under `against`.
pub fn effective_schema(doc: &serde_json::Value, against: Against) -> SchemaVersion {
    match against {
        Against::Schema(v) => v,
        Against::Declared => doc
            .get("$schema")
            .and_then(serde_json::Value::as_str)
            .and_then(SchemaVersion::from_schema_url)
            .unwrap_or(SchemaVersion::CURRENT),
    }
}

/// Validates one `server.json` document (the bare document, not the API envelope).
pub fn validate_server(doc: &serde_json::Value, options: &ValidateOptions) -> Vec<Finding> {
    let version = effective_schema(doc, options.against);
    let mut findings = validate_schema(doc, version);
    if options.strict {
        findings.extend(validate_strict(doc));
    }
    findings
}
