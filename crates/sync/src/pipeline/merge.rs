//! Step 4, merge: the candidates become the next catalog (a delta is applied to the stored one), compared
//! with the stored catalog for the change set.

use std::collections::{HashMap, HashSet};

use thv_store::ServerVersion;

use crate::diff::{Candidate, Diff, diff};

/// The next catalog and its difference from `stored`. A full document replaces the catalog with the
/// candidates the filter keeps; a delta is merged into it ([`merge_delta`]); the registry's imported
/// `layer` goes on top ([`overlay`]).
pub(crate) fn merge(
    stored: &[ServerVersion],
    candidates: Vec<(Candidate, bool)>,
    delta: bool,
    layer: Vec<Candidate>,
    now: &str,
) -> Diff {
    let next: Vec<Candidate> = if delta {
        merge_delta(stored, candidates)
    } else {
        candidates.into_iter().filter_map(|(c, keep)| keep.then_some(c)).collect()
    };
    diff(stored, overlay(next, layer), now)
}

/// The precedence of the imported layer, in one place: an imported entry replaces the source's version of
/// the same name and version; every other version of the source stays.
pub(crate) fn overlay(source: Vec<Candidate>, layer: Vec<Candidate>) -> Vec<Candidate> {
    let imported: HashSet<(&str, &str)> =
        layer.iter().map(|c| (c.version.name.as_str(), c.version.version.as_str())).collect();
    let mut next: Vec<Candidate> = source
        .into_iter()
        .filter(|c| !imported.contains(&(c.version.name.as_str(), c.version.version.as_str())))
        .collect();
    drop(imported);
    next.extend(layer);
    next
}

/// Applies an incremental page of changes to the stored catalog: kept records replace theirs or are
/// added, records the filter now drops are removed, every other stored version stays.
pub(crate) fn merge_delta(stored: &[ServerVersion], changes: Vec<(Candidate, bool)>) -> Vec<Candidate> {
    let mut next: Vec<Candidate> = stored.iter().map(Candidate::stored).collect();
    let index: HashMap<(String, String), usize> =
        next.iter().enumerate().map(|(i, c)| ((c.version.name.clone(), c.version.version.clone()), i)).collect();
    let mut dropped = HashSet::new();
    for (c, keep) in changes {
        let key = (c.version.name.clone(), c.version.version.clone());
        match (index.get(&key), keep) {
            (Some(&i), true) => next[i] = c,
            (Some(&i), false) => {
                dropped.insert(i);
            }
            (None, true) => next.push(c),
            (None, false) => {}
        }
    }
    next.into_iter().enumerate().filter(|(i, _)| !dropped.contains(i)).map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use thv_model::upstream::ServerResponse;
    use thv_store::ChangeKind;

    use super::*;
    use crate::diff::candidate;

    const T0: &str = "2026-01-01T00:00:00Z";
    const T1: &str = "2026-02-01T00:00:00Z";

    fn record(name: &str, version: &str, description: &str) -> ServerResponse {
        serde_json::from_value(json!({"server": {"name": name, "version": version, "description": description}}))
            .expect("record")
    }

    fn stored(versions: &[(&str, &str)]) -> Vec<ServerVersion> {
        let next = versions.iter().map(|(n, v)| candidate(record(n, v, "d"), T0)).collect();
        diff(&[], next, T0).catalog
    }

    fn keys(candidates: &[Candidate]) -> Vec<(&str, &str, String)> {
        candidates
            .iter()
            .map(|c| {
                let description = c.version.document.to_value()["description"].as_str().unwrap_or_default().to_owned();
                (c.version.name.as_str(), c.version.version.as_str(), description)
            })
            .collect()
    }

    #[test]
    fn a_delta_replaces_adds_and_removes_and_keeps_the_rest() {
        let stored = stored(&[("io.x/a", "1"), ("io.x/b", "1"), ("io.x/c", "1")]);
        let changes = vec![
            (candidate(record("io.x/a", "1", "changed"), T1), true),
            (candidate(record("io.x/b", "1", "d"), T1), false),
            (candidate(record("io.x/d", "1", "new"), T1), true),
            (candidate(record("io.x/e", "1", "d"), T1), false),
        ];
        let next = merge_delta(&stored, changes);
        assert_eq!(
            keys(&next),
            [("io.x/a", "1", "changed".into()), ("io.x/c", "1", "d".into()), ("io.x/d", "1", "new".into())]
        );
    }

    #[test]
    fn an_empty_delta_keeps_the_stored_catalog() {
        let stored = stored(&[("io.x/a", "1"), ("io.x/a", "2")]);
        let next = merge_delta(&stored, Vec::new());
        assert_eq!(next.len(), 2);
        assert!(diff(&stored, next, T1).is_empty());
    }

    #[test]
    fn an_imported_entry_wins_over_the_source_version_of_its_name_and_version() {
        let stored = stored(&[("io.x/a", "1"), ("io.x/a", "2")]);
        let source = vec![
            (candidate(record("io.x/a", "1", "source"), T1), true),
            (candidate(record("io.x/a", "2", "source"), T1), true),
        ];
        let layer =
            vec![candidate(record("io.x/a", "2", "imported"), T1), candidate(record("io.x/b", "1", "imported"), T1)];
        let result = merge(&stored, source, false, layer, T1);
        let described: Vec<(&str, &str, String)> = result
            .catalog
            .iter()
            .map(|v| {
                (
                    v.name.as_str(),
                    v.version.as_str(),
                    v.document.to_value()["description"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            described,
            [("io.x/a", "1", "source".into()), ("io.x/a", "2", "imported".into()), ("io.x/b", "1", "imported".into())]
        );
    }

    #[test]
    fn a_full_document_replaces_the_catalog_with_what_the_filter_keeps() {
        let stored = stored(&[("io.x/a", "1"), ("io.x/b", "1")]);
        let candidates = vec![
            (candidate(record("io.x/a", "1", "d"), T1), true),
            (candidate(record("io.x/c", "1", "d"), T1), true),
            (candidate(record("io.x/d", "1", "d"), T1), false),
        ];
        let result = merge(&stored, candidates, false, Vec::new(), T1);
        let names: Vec<&str> = result.catalog.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["io.x/a", "io.x/c"]);
        assert_eq!((result.count(ChangeKind::Added), result.count(ChangeKind::Removed)), (1, 1));
        assert_eq!(result.count(ChangeKind::Updated), 0, "an unchanged record is no change");
    }
}
