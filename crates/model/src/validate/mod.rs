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

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::upstream::{SchemaVersion, UnknownSchemaDate};

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

/// An `against` value that is neither `declared` nor a released schema date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected `declared` or a released schema date: {0}")]
pub struct UnknownAgainst(pub UnknownSchemaDate);

/// `declared` or a released schema date (`2025-12-11`): the one parser of `thv registry validate --against`
/// and of a registry's `validation.against`.
impl FromStr for Against {
    type Err = UnknownAgainst;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "declared" {
            return Ok(Self::Declared);
        }
        s.parse().map(Self::Schema).map_err(UnknownAgainst)
    }
}

impl fmt::Display for Against {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Declared => f.write_str("declared"),
            Self::Schema(version) => version.fmt(f),
        }
    }
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

#[cfg(test)]
mod against_tests {
    use super::*;

    #[test]
    fn declared_or_a_released_date() {
        assert_eq!("declared".parse(), Ok(Against::Declared));
        assert_eq!("2025-12-11".parse(), Ok(Against::Schema(SchemaVersion::V2025_12_11)));
        for text in ["declared", "2025-07-09", "2025-12-11"] {
            assert_eq!(text.parse::<Against>().expect(text).to_string(), text);
        }
        for bad in ["2026-03-01", "Declared", "", "latest"] {
            let err = bad.parse::<Against>().expect_err(bad);
            assert!(err.to_string().starts_with("expected `declared` or a released schema date: "), "{err}");
            assert!(err.to_string().contains("not a released server.json schema date"), "{err}");
        }
    }
}
