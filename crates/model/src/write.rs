//! Writing a canonical [`Catalog`] in each output format, with a per-entry report.

use std::collections::HashMap;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

use crate::catalog::Catalog;
use crate::convert::names::short_name;
use crate::convert::{DEFAULT_VERSION, ToolHiveEntry, upstream_to_toolhive};
use crate::toolhive::{Group, TOOLHIVE_SCHEMA_URL, ToolHiveRegistry};
use crate::upstream::{
    ServerResponse, UPSTREAM_FILE_SCHEMA_URL, UpstreamFile, UpstreamFileData, UpstreamFileMeta, UpstreamGroup,
};
use crate::version::latest_index;

/// What happened to one record during a conversion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryReport {
    /// Server name.
    pub server: String,
    /// Server version.
    pub version: String,
    /// Outcome.
    pub outcome: Outcome,
    /// Details: what was guessed, changed, or why the record was left out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The outcome for one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Written; its plain form shows everything.
    Converted,
    /// Written; some details live only in the residual extension or were defaulted (see notes).
    Degraded,
    /// Not written.
    Skipped,
}

/// Options for writing ToolHive files.
#[derive(Debug, Clone, Default)]
pub struct ToolHiveWriteOptions {
    /// `last_updated` to write when the catalog has none (RFC 3339).
    pub now: Option<String>,
}

/// Picks one record per name: the one flagged `isLatest`, else the latest by the upstream rule over
/// the records in source order. Returns indexes in first-seen name order.
pub fn latest_per_name(entries: &[ServerResponse]) -> Vec<usize> {
    let mut by_name: IndexMap<&str, Vec<usize>> = IndexMap::new();
    for (i, e) in entries.iter().enumerate() {
        by_name.entry(e.server.name_str()).or_default().push(i);
    }
    by_name
        .into_values()
        .filter_map(|idx| {
            let flagged = idx.iter().copied().find(|&i| entries[i].official().and_then(|o| o.is_latest) == Some(true));
            flagged.or_else(|| {
                let versions: Vec<&str> = idx.iter().map(|&i| entries[i].server.version_str()).collect();
                latest_index(&versions).map(|k| idx[k])
            })
        })
        .collect()
}

/// Writes a catalog as a ToolHive file: one entry per name (the latest version), keyed by the short
/// name where it is unique and by the full name otherwise.
pub fn to_toolhive(catalog: &Catalog, options: &ToolHiveWriteOptions) -> (ToolHiveRegistry, Vec<EntryReport>) {
    let chosen = latest_per_name(&catalog.entries);
    let mut reports = Vec::new();
    let mut keep = vec![false; catalog.entries.len()];
    for &i in &chosen {
        keep[i] = true;
    }
    for (i, e) in catalog.entries.iter().enumerate() {
        if !keep[i] {
            reports.push(EntryReport {
                server: e.server.name_str().to_owned(),
                version: e.server.version_str().to_owned(),
                outcome: Outcome::Skipped,
                notes: vec!["the ToolHive format holds one version per server; a later version was written".into()],
            });
        }
    }
    let mut short_counts: HashMap<&str, usize> = HashMap::new();
    for &i in &chosen {
        *short_counts.entry(short_name(catalog.entries[i].server.name_str())).or_default() += 1;
    }
    let mut servers = IndexMap::new();
    let mut remotes = IndexMap::new();
    for &i in &chosen {
        let server = &catalog.entries[i].server;
        let name = server.name_str();
        let short = short_name(name);
        let key = if short_counts.get(short) == Some(&1) { short } else { name };
        let mut report = EntryReport {
            server: name.to_owned(),
            version: server.version_str().to_owned(),
            outcome: Outcome::Converted,
            notes: Vec::new(),
        };
        match upstream_to_toolhive(server) {
            Ok(converted) => {
                report.notes = converted.notes;
                if !report.notes.is_empty() || !converted.lossless {
                    report.outcome = Outcome::Degraded;
                }
                match converted.value {
                    ToolHiveEntry::Image(e) => servers.insert(key.to_owned(), e),
                    ToolHiveEntry::Remote(e) => remotes.insert(key.to_owned(), e),
                };
            }
            Err(reason) => {
                report.outcome = Outcome::Skipped;
                report.notes.push(reason.to_string());
            }
        }
        reports.push(report);
    }
    let groups = toolhive_groups(catalog, &servers, &remotes);
    let info = &catalog.info;
    let registry = ToolHiveRegistry {
        schema: Some(
            info.schema.clone().filter(|s| s.contains("toolhive-legacy")).unwrap_or_else(|| TOOLHIVE_SCHEMA_URL.into()),
        ),
        version: Some(info.version.clone().unwrap_or_else(|| DEFAULT_VERSION.to_owned())),
        last_updated: info.last_updated.clone().or_else(|| options.now.clone()),
        servers: Some(servers),
        remote_servers: (!remotes.is_empty()).then_some(remotes),
        groups,
        ..ToolHiveRegistry::default()
    };
    (registry, reports)
}

fn toolhive_groups(
    catalog: &Catalog,
    servers: &IndexMap<String, crate::toolhive::ServerEntry>,
    remotes: &IndexMap<String, crate::toolhive::ServerEntry>,
) -> Option<Vec<Group>> {
    if catalog.info.groups.is_empty() {
        return None;
    }
    let find = |map: &IndexMap<String, crate::toolhive::ServerEntry>, full: &str| {
        map.iter()
            .find(|(k, e)| e.name.as_deref() == Some(full) || crate::convert::names::full_name(k) == full)
            .map(|(k, e)| (k.clone(), e.clone()))
    };
    Some(
        catalog
            .info
            .groups
            .iter()
            .map(|g| {
                let members: IndexMap<_, _> = g.servers.iter().filter_map(|n| find(servers, n)).collect();
                let remote_members: IndexMap<_, _> = g.servers.iter().filter_map(|n| find(remotes, n)).collect();
                Group {
                    name: Some(g.name.clone()),
                    description: g.description.clone(),
                    servers: Some(members),
                    remote_servers: (!remote_members.is_empty()).then_some(remote_members),
                    ..Group::default()
                }
            })
            .collect(),
    )
}

/// Writes a catalog as ToolHive's upstream wrapper file (every version, documents only).
pub fn to_upstream_file(catalog: &Catalog, options: &ToolHiveWriteOptions) -> UpstreamFile {
    let info = &catalog.info;
    let groups: Vec<UpstreamGroup> = info
        .groups
        .iter()
        .map(|g| UpstreamGroup {
            name: Some(g.name.clone()),
            description: g.description.clone(),
            servers: Some(g.servers.iter().map(|s| Value::String(s.clone())).collect()),
            ..UpstreamGroup::default()
        })
        .collect();
    UpstreamFile {
        schema: Some(UPSTREAM_FILE_SCHEMA_URL.to_owned()),
        version: Some(info.version.clone().unwrap_or_else(|| DEFAULT_VERSION.to_owned())),
        meta: Some(UpstreamFileMeta {
            last_updated: info.last_updated.clone().or_else(|| options.now.clone()),
            ..UpstreamFileMeta::default()
        }),
        data: UpstreamFileData {
            servers: catalog.entries.iter().map(|e| e.server.clone()).collect(),
            groups: (!groups.is_empty()).then_some(groups),
            ..UpstreamFileData::default()
        },
        ..UpstreamFile::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::{OfficialMeta, ResponseMeta, ServerJson};

    fn record(name: &str, version: &str, latest: Option<bool>) -> ServerResponse {
        ServerResponse {
            server: ServerJson { name: Some(name.into()), version: Some(version.into()), ..ServerJson::default() },
            meta: latest.map(|l| ResponseMeta {
                official: Some(OfficialMeta { is_latest: Some(l), ..OfficialMeta::default() }),
                ..ResponseMeta::default()
            }),
            ..ServerResponse::default()
        }
    }

    #[test]
    fn latest_prefers_the_flag_then_the_rule() {
        let entries = vec![
            record("a/x", "1.0.0", Some(false)),
            record("a/x", "0.9.0", Some(true)),
            record("b/y", "1.0.0", None),
            record("b/y", "2.0.0", None),
            record("b/y", "snapshot", None),
        ];
        assert_eq!(latest_per_name(&entries), vec![1, 3]);
    }
}
