//! Step 3, judge: each record is deduplicated, filtered and validated, and becomes a candidate for the
//! catalog, or is left out with its reason.

use std::collections::HashSet;

use thv_model::validate::{ValidateOptions, validate_server};

use super::parse::Parsed;
use super::{SkippedRecord, SyncError};
use crate::diff::{Candidate, candidate_with_document};
use crate::spec::{RegistrySpec, ValidationMode};

/// The verdict on a document's records.
#[derive(Debug)]
pub(crate) struct Judged {
    /// Candidates in source order, each with whether the filter keeps it. Records the filter drops are
    /// carried only in a delta, to remove the stored versions the filter no longer keeps.
    pub candidates: Vec<(Candidate, bool)>,
    /// Whether the candidates are changes to merge into the stored catalog.
    pub delta: bool,
    /// Records left out by the filter.
    pub filtered_out: u64,
    /// Records kept although validation found problems (`validation.mode: warn`).
    pub invalid_kept: u64,
    /// Records left out (unreadable, duplicates, invalid under `validation.mode: skip`), with reasons.
    pub skipped: Vec<SkippedRecord>,
}

/// Judges the parsed records by the spec's filter and validation policy; `now` fills the timestamps the
/// source does not give. Fails only on an unusable validation policy.
pub(crate) fn judge(spec: &RegistrySpec, parsed: Parsed, now: &str) -> Result<Judged, SyncError> {
    let Parsed { entries, delta, mut skipped } = parsed;
    let validation = ValidateOptions {
        against: spec.validation.against().map_err(|e| SyncError::Spec(e.to_string()))?,
        strict: spec.validation.strict,
    };
    let filter = spec.filter.compile();
    let mut filtered_out = 0u64;
    let mut invalid_kept = 0;
    let mut candidates = Vec::with_capacity(entries.len());
    let mut seen: HashSet<(String, String)> = HashSet::with_capacity(entries.len());
    for entry in entries {
        let key = (entry.server.name_str().to_owned(), entry.server.version_str().to_owned());
        if !seen.insert(key.clone()) {
            skipped.push(SkippedRecord {
                server: Some(key.0),
                version: Some(key.1),
                pointer: None,
                reason: "duplicate name and version; the first record was kept".into(),
            });
            continue;
        }
        let keep = filter.matches(&entry.server);
        filtered_out += u64::from(!keep);
        if !keep && !delta {
            continue;
        }
        let document = serde_json::to_value(&entry.server).unwrap_or_default();
        // Records the filter drops are not judged: they are neither kept nor reported as invalid.
        let findings = if keep { validate_server(&document, &validation) } else { Vec::new() };
        if let Some(first) = findings.first() {
            if spec.validation.mode == ValidationMode::Skip {
                skipped.push(SkippedRecord {
                    server: Some(key.0),
                    version: Some(key.1),
                    pointer: Some(first.pointer.clone()),
                    reason: format!("invalid: {} ({} findings)", first.message, findings.len()),
                });
                continue;
            }
            invalid_kept += 1;
        }
        candidates.push((candidate_with_document(entry, document, now), keep));
    }
    Ok(Judged { candidates, delta, filtered_out, invalid_kept, skipped })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use thv_model::upstream::ServerResponse;

    use super::*;

    const NOW: &str = "2026-01-01T00:00:00Z";

    fn spec(extra: Value) -> RegistrySpec {
        let mut value = json!({"name": "r", "source": {"file": {"path": "r.json"}}});
        for (k, v) in extra.as_object().expect("object") {
            value[k] = v.clone();
        }
        serde_json::from_value(value).expect("spec")
    }

    fn record(name: &str, version: &str) -> ServerResponse {
        serde_json::from_value(json!({"server": {
            "name": name, "version": version, "description": "A server",
        }}))
        .expect("record")
    }

    /// A record the 2025-12-11 schema refuses (a name is `namespace/name` without spaces).
    fn invalid(name: &str) -> ServerResponse {
        record(name, "1.0.0")
    }

    fn parsed(entries: Vec<ServerResponse>, delta: bool) -> Parsed {
        Parsed { entries, delta, skipped: Vec::new() }
    }

    fn names(judged: &Judged) -> Vec<(&str, bool)> {
        judged.candidates.iter().map(|(c, keep)| (c.version.name.as_str(), *keep)).collect()
    }

    #[test]
    fn duplicates_are_skipped_and_the_first_record_kept() {
        let entries = vec![record("io.x/a", "1.0.0"), record("io.x/a", "1.0.0"), record("io.x/a", "2.0.0")];
        let judged = judge(&spec(json!({})), parsed(entries, false), NOW).expect("judged");
        assert_eq!(names(&judged), [("io.x/a", true), ("io.x/a", true)]);
        assert_eq!(judged.skipped.len(), 1);
        assert!(judged.skipped[0].reason.starts_with("duplicate"), "{:?}", judged.skipped);
    }

    #[test]
    fn the_filter_leaves_records_out_of_a_full_document_and_marks_them_in_a_delta() {
        let filtered = spec(json!({"filter": {"exclude": {"names": ["io.x/b"]}}}));
        let entries = || vec![record("io.x/a", "1.0.0"), record("io.x/b", "1.0.0")];
        let full = judge(&filtered, parsed(entries(), false), NOW).expect("judged");
        assert_eq!(names(&full), [("io.x/a", true)]);
        assert_eq!(full.filtered_out, 1);
        let delta = judge(&filtered, parsed(entries(), true), NOW).expect("judged");
        assert_eq!(names(&delta), [("io.x/a", true), ("io.x/b", false)], "carried to remove the stored version");
        assert!(delta.delta);
    }

    #[test]
    fn invalid_records_are_kept_and_counted_or_skipped_with_the_first_finding() {
        let entries = || vec![record("io.x/a", "1.0.0"), invalid("io.x/bad name")];
        let warn = judge(&spec(json!({})), parsed(entries(), false), NOW).expect("judged");
        assert_eq!((warn.candidates.len(), warn.invalid_kept), (2, 1));
        let skip =
            judge(&spec(json!({"validation": {"mode": "skip"}})), parsed(entries(), false), NOW).expect("judged");
        assert_eq!(names(&skip), [("io.x/a", true)]);
        assert_eq!(skip.invalid_kept, 0);
        assert_eq!(skip.skipped[0].server.as_deref(), Some("io.x/bad name"));
        assert!(skip.skipped[0].reason.starts_with("invalid: "), "{:?}", skip.skipped);
        assert_eq!(skip.skipped[0].pointer.as_deref(), Some("/name"));
    }

    #[test]
    fn an_unknown_schema_date_fails_the_sync_as_stalled() {
        let err = judge(&spec(json!({"validation": {"against": "2026-03-01"}})), parsed(Vec::new(), false), NOW)
            .expect_err("unknown date");
        assert_eq!(err.kind(), thv_store::FailureKind::Stalled);
        assert!(err.to_string().contains("2026-03-01"), "{err}");
    }

    #[test]
    fn records_the_filter_drops_are_not_judged() {
        let filtered =
            spec(json!({"filter": {"exclude": {"names": ["io.x/bad name"]}}, "validation": {"mode": "skip"}}));
        let judged = judge(&filtered, parsed(vec![invalid("io.x/bad name")], true), NOW).expect("judged");
        assert!(judged.skipped.is_empty());
        assert_eq!(names(&judged), [("io.x/bad name", false)]);
    }
}
