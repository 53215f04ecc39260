//! A stored catalog as a file: the one rendering `thv registry export` and the operator's
//! `MCPRegistryExportJob` share, so the same catalog exports to the same bytes in both places.
//!
//! - `upstream`: a JSON array of `{server, _meta}` records, every version with its registry metadata (status,
//!   timestamps, extension keys): lossless, what an import reads back into the same catalog.
//! - `toolhive`: a ToolHive catalog file, the latest version of each server, written by `thv_model::write`.
//!
//! Both are dated by the catalog's newest `updatedAt`, never by the clock, so an unchanged catalog exports to
//! the same bytes again, and export → import → export is a fixed point.

use std::collections::BTreeSet;

use thv_model::catalog::Catalog;
use thv_model::write::{EntryReport, Outcome, ToolHiveWriteOptions, to_toolhive};
use thv_store::ServerVersion;

use crate::diff::{catalog_info, record_of};

/// The format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// A JSON array of `{server, _meta}` records (every version, lossless).
    Upstream,
    /// A ToolHive catalog file (the latest version of each server).
    Toolhive,
}

/// A catalog written in one format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// The document (pretty JSON, newline-terminated).
    pub bytes: Vec<u8>,
    /// Distinct server names written.
    pub servers: usize,
    /// Records written.
    pub versions: usize,
    /// What the writer said of each record (`toolhive`: every record, `converted`, `degraded` with details
    /// only in an extension or defaulted, or `skipped` as an older version), and the stored documents that do
    /// not read (`skipped`).
    pub reports: Vec<EntryReport>,
}

impl Export {
    /// How many reports have `outcome`.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.reports.iter().filter(|r| r.outcome == outcome).count()
    }

    /// The reports with something to say: records degraded or left out.
    pub fn notable(&self) -> Vec<&EntryReport> {
        self.reports.iter().filter(|r| r.outcome != Outcome::Converted).collect()
    }
}

/// Writes the stored `versions` in `format`. A stored document that does not read is left out and reported;
/// the rest is written.
pub fn export(versions: &[ServerVersion], format: ExportFormat) -> Export {
    let mut reports = Vec::new();
    let mut entries = Vec::with_capacity(versions.len());
    for version in versions {
        match record_of(version) {
            Ok(entry) => entries.push(entry),
            Err(e) => reports.push(EntryReport {
                server: version.name.clone(),
                version: version.version.clone(),
                outcome: Outcome::Skipped,
                notes: vec![format!("the stored document does not read as server.json: {e}")],
            }),
        }
    }
    let catalog = Catalog { info: catalog_info(versions), entries };
    let (value, written) = match format {
        ExportFormat::Upstream => (serde_json::to_value(&catalog.entries), catalog.entries.len()),
        ExportFormat::Toolhive => {
            let (file, entry_reports) = to_toolhive(&catalog, &ToolHiveWriteOptions::default());
            let skipped = entry_reports.iter().filter(|r| r.outcome == Outcome::Skipped).count();
            let written = entry_reports.len() - skipped;
            reports.extend(entry_reports);
            (serde_json::to_value(file), written)
        }
    };
    let mut bytes = value.and_then(|v| serde_json::to_vec_pretty(&v)).unwrap_or_default();
    bytes.push(b'\n');
    let skipped: BTreeSet<(&str, &str)> = reports
        .iter()
        .filter(|r| r.outcome == Outcome::Skipped)
        .map(|r| (r.server.as_str(), r.version.as_str()))
        .collect();
    let servers: BTreeSet<&str> = versions
        .iter()
        .filter(|v| !skipped.contains(&(v.name.as_str(), v.version.as_str())))
        .map(|v| v.name.as_str())
        .collect();
    Export { bytes, servers: servers.len(), versions: written, reports }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use thv_model::upstream::ServerResponse;

    use super::*;
    use crate::diff::{candidate, diff};

    const T0: &str = "2026-01-01T00:00:00Z";
    const T1: &str = "2026-02-01T00:00:00Z";

    fn stored() -> Vec<ServerVersion> {
        let record = |name: &str, version: &str, updated: &str| -> ServerResponse {
            serde_json::from_value(json!({"server": {"name": name, "version": version, "description": "d",
                "packages": [{"registryType": "oci", "identifier": format!("ghcr.io/x/{name}:{version}"),
                    "transport": {"type": "stdio"}}]},
                "_meta": {"io.modelcontextprotocol.registry/official": {"publishedAt": T0, "updatedAt": updated}}}))
            .expect("record")
        };
        let records = vec![record("io.x/a", "1.0.0", T0), record("io.x/a", "2.0.0", T1), record("io.x/b", "1.0.0", T0)];
        diff(&[], records.into_iter().map(|r| candidate(r, T0)).collect(), T0).catalog
    }

    #[test]
    fn upstream_is_every_record_with_its_meta_and_toolhive_the_latest_dated_by_the_newest_change() {
        let versions = stored();
        let upstream = export(&versions, ExportFormat::Upstream);
        let records: Value = serde_json::from_slice(&upstream.bytes).expect("JSON");
        assert_eq!(records.as_array().map(Vec::len), Some(3));
        assert_eq!(records[1]["_meta"]["io.modelcontextprotocol.registry/official"]["isLatest"], true);
        assert_eq!((upstream.servers, upstream.versions, upstream.reports.len()), (2, 3, 0));
        assert!(upstream.bytes.ends_with(b"]\n"));

        let toolhive = export(&versions, ExportFormat::Toolhive);
        let file: Value = serde_json::from_slice(&toolhive.bytes).expect("JSON");
        assert_eq!(file["last_updated"], T1, "{file:#}");
        assert_eq!(file["servers"].as_object().map(|s| s.len()), Some(2));
        assert_eq!((toolhive.servers, toolhive.versions, toolhive.count(Outcome::Skipped)), (2, 2, 1));
        assert_eq!(export(&versions, ExportFormat::Toolhive), toolhive, "the same catalog, the same bytes");
    }

    #[test]
    fn a_stored_document_that_does_not_read_is_left_out_and_reported() {
        let mut versions = stored();
        versions[2].document = thv_store::JsonText::from_value(&json!(["not", "a", "server"]));
        let upstream = export(&versions, ExportFormat::Upstream);
        assert_eq!((upstream.servers, upstream.versions), (1, 2));
        let notable = upstream.notable();
        assert_eq!((notable[0].server.as_str(), notable[0].outcome), ("io.x/b", Outcome::Skipped));
        assert!(notable[0].notes[0].contains("does not read"), "{:?}", notable[0].notes);
    }
}
