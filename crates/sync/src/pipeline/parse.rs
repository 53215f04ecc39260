//! Step 2, parse: the fetched bytes become canonical records; a document that is not a catalog fails the
//! sync, a record that cannot be read is skipped with its reason.

use thv_model::detect::FormatHint;
use thv_model::load::load_bytes;
use thv_model::upstream::ServerResponse;
use thv_sources::Payload;

use super::{SkippedRecord, SyncError};
use crate::spec::RegistrySpec;

/// The records of a document.
#[derive(Debug)]
pub(crate) struct Parsed {
    /// Canonical records, in source order.
    pub entries: Vec<ServerResponse>,
    /// Whether they are changes to merge into the stored catalog rather than the whole catalog.
    pub delta: bool,
    /// Records that could not be read.
    pub skipped: Vec<SkippedRecord>,
}

/// Parses `payload` (from the source at `location`), in the spec's format; a delta is always upstream.
pub(crate) fn parse(spec: &RegistrySpec, location: &str, payload: &Payload) -> Result<Parsed, SyncError> {
    let (bytes, delta, hint) = match payload {
        Payload::Full(b) => (b, false, spec.format.hint()),
        Payload::Delta(b) => (b, true, FormatHint::Upstream),
    };
    let loaded =
        load_bytes(bytes, hint).map_err(|error| SyncError::Document { location: location.to_owned(), error })?;
    let skipped = loaded
        .skipped
        .into_iter()
        .map(|i| SkippedRecord { server: i.server, version: i.version, pointer: Some(i.pointer), reason: i.message })
        .collect();
    Ok(Parsed { entries: loaded.catalog.entries, delta, skipped })
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use thv_store::FailureKind;

    use super::*;
    use crate::spec::SourceFormat;

    fn spec() -> RegistrySpec {
        serde_json::from_value(json!({"name": "r", "source": {"file": {"path": "r.json"}}})).expect("spec")
    }

    #[test]
    fn a_full_document_gives_its_records_and_skips_unreadable_ones() {
        let doc = json!([
            {"server": {"name": "io.x/a", "version": "1.0.0"}},
            {"server": {"name": "io.x/b"}},
        ]);
        let parsed = parse(&spec(), "file r.json", &Payload::Full(doc.to_string().into_bytes())).expect("parsed");
        assert!(!parsed.delta);
        assert_eq!(parsed.entries.len(), 1);
        assert_eq!(parsed.entries[0].server.name_str(), "io.x/a");
        assert_eq!(parsed.skipped.len(), 1, "{:?}", parsed.skipped);
        assert_eq!(parsed.skipped[0].server.as_deref(), Some("io.x/b"));
    }

    #[test]
    fn a_delta_is_read_as_upstream_records() {
        let mut toolhive = spec();
        toolhive.format = SourceFormat::Toolhive;
        let doc = json!([{"server": {"name": "io.x/a", "version": "1.0.0"}}]);
        let parsed = parse(&toolhive, "registryApi x", &Payload::Delta(doc.to_string().into_bytes())).expect("parsed");
        assert!(parsed.delta);
        assert_eq!(parsed.entries.len(), 1);
    }

    #[test]
    fn a_document_that_is_not_a_catalog_fails_naming_the_source() {
        let err = parse(&spec(), "url https://x/r.json", &Payload::Full(b"{ not json".to_vec())).expect_err("bad");
        assert!(err.to_string().starts_with("url https://x/r.json: "), "{err}");
        assert_eq!(err.kind(), FailureKind::Stalled);
    }
}
