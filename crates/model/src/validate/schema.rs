//! Schema level: the verdict of the official `server.json` JSON Schema of one released date,
//! reproduced natively (no schema interpreter at run time).
//!
//! # `format`
//!
//! The schemas mark several strings `format: uri` (`$schema`, `websiteUrl`, `repository.url`,
//! `registryBaseUrl`, icon `src`, sse `url` before 2025-12-11). They are treated as **annotations,
//! not assertions**: a malformed URI there does not make a document invalid. This is the treatment
//! that reproduces the project's reference figures for the 2025-12-18 production dump (395 of 2,794
//! records invalid by their declared schema, 280 by 2025-12-11), which the `jsonschema` crate gives
//! with `should_validate_formats(false)`. Asserting `uri` (its draft-7 default) rejects one more
//! record, whose sse URL contains `[` and `]`. URL shape is checked at the strict level instead.

use serde_json::Value;

use super::check::Sink;
use super::{Finding, Level};
use crate::upstream::SchemaVersion;

mod input;
mod package;
mod rules;
mod server;
mod transport;

pub(super) use rules::Keys;
use rules::Rules;

/// Validates `doc` (a bare `server.json` document) against the released schema `version`.
///
/// Returns one finding per problem; the list is empty exactly when the official schema accepts the
/// document (with `format` as an annotation, see the module documentation).
pub fn validate_schema(doc: &Value, version: SchemaVersion) -> Vec<Finding> {
    let mut cx = Ctx { sink: Sink::new(Level::Schema), rules: Rules::of(version) };
    server::check(&mut cx, doc);
    cx.sink.into_findings()
}

/// What every schema check needs: where findings go and which schema applies.
struct Ctx {
    sink: Sink,
    rules: Rules,
}
