//! From a source's records to stored server versions: identity, timestamps, "latest", and the change set
//! against the last good catalog.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use thv_model::upstream::{OfficialMeta, ResponseMeta, ServerResponse};
use thv_model::version::latest_index;
use thv_store::{Change, ChangeKind, NameVersion, ServerVersion};

/// A record ready to be compared with the stored catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The version as it would be stored (timestamps still from the source, if it gave any).
    pub version: ServerVersion,
    /// Whether the source gave `publishedAt` / `updatedAt`.
    source_published: bool,
    source_updated: bool,
}

impl Candidate {
    /// A stored version carried over unchanged (an incremental sync merges changes into these).
    pub fn stored(version: &ServerVersion) -> Self {
        Self { version: version.clone(), source_published: true, source_updated: true }
    }
}

/// Turns a canonical record into a candidate. `now` fills timestamps the source does not give.
pub fn candidate(entry: ServerResponse, now: &str) -> Candidate {
    let document = serde_json::to_value(&entry.server).unwrap_or(Value::Null);
    candidate_with_document(entry, document, now)
}

/// Like [`candidate`], with the document's JSON already at hand.
pub fn candidate_with_document(entry: ServerResponse, document: Value, now: &str) -> Candidate {
    let official = entry.official().cloned().unwrap_or_default();
    let extra_meta = entry
        .meta
        .map(|m| if m.extra.is_empty() { Value::Null } else { Value::Object(m.extra) })
        .unwrap_or(Value::Null);
    let name = entry.server.name_str().to_owned();
    let version = entry.server.version_str().to_owned();
    let digest = thv_model::digest::value_digest(&serde_json::json!({"document": document, "extraMeta": extra_meta}));
    let document = thv_store::JsonText::from_value(&document);
    let OfficialMeta { status, status_changed_at, status_message, published_at, updated_at, .. } = official;
    Candidate {
        source_published: published_at.is_some(),
        source_updated: updated_at.is_some(),
        version: ServerVersion {
            name,
            version,
            document,
            extra_meta,
            digest,
            status: status.unwrap_or_else(|| "active".to_owned()),
            status_changed_at,
            status_message,
            published_at: published_at.unwrap_or_else(|| now.to_owned()),
            updated_at: updated_at.unwrap_or_else(|| now.to_owned()),
            is_latest: false,
        },
    }
}

/// A stored version as the registry API's record `{server, _meta}`: the stored document and
/// [`response_meta`]. The way back from [`candidate`]: a record made here becomes the same stored version
/// again.
pub fn record_of(version: &ServerVersion) -> Result<ServerResponse, serde_json::Error> {
    Ok(ServerResponse {
        server: version.document.decode()?,
        meta: Some(response_meta(version)),
        ..ServerResponse::default()
    })
}

/// The `_meta` every answer and export gives a stored version: the official block from the stored status
/// and timestamps, then the other `_meta` keys verbatim (an official key among them is dropped: the stored
/// fields are what is true). The API renders it once per snapshot (`thv_api::Record`), export and import
/// through [`record_of`].
pub fn response_meta(version: &ServerVersion) -> ResponseMeta {
    let official = OfficialMeta {
        status: Some(version.status.clone()),
        status_changed_at: version.status_changed_at.clone(),
        status_message: version.status_message.clone(),
        published_at: Some(version.published_at.clone()),
        updated_at: Some(version.updated_at.clone()),
        is_latest: Some(version.is_latest),
        ..OfficialMeta::default()
    };
    let mut extra = match &version.extra_meta {
        Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    extra.shift_remove(thv_model::upstream::OFFICIAL_META_KEY);
    ResponseMeta { official: Some(official), extra }
}

/// The file-level information of a stored catalog: `last_updated` is the newest `updatedAt` (so the same
/// catalog is dated the same way every time).
pub fn catalog_info(versions: &[ServerVersion]) -> thv_model::catalog::CatalogInfo {
    let last_updated = versions.iter().max_by_key(|v| publish_key(&v.updated_at)).map(|v| v.updated_at.clone());
    thv_model::catalog::CatalogInfo { last_updated, ..Default::default() }
}

/// The result of comparing a new catalog with the stored one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diff {
    /// The new catalog, ordered by (name, version).
    pub catalog: Vec<ServerVersion>,
    /// For each version of `catalog`: whether it must be written (new or changed row, including a flipped
    /// `isLatest`).
    pub write: Vec<bool>,
    /// Versions to delete.
    pub removals: Vec<NameVersion>,
    /// The change set: added, removed, updated (content or status).
    pub changes: Vec<Change>,
}

impl Diff {
    /// Whether anything must be written.
    pub fn is_empty(&self) -> bool {
        self.upsert_count() == 0 && self.removals.is_empty()
    }

    /// Number of versions to write.
    pub fn upsert_count(&self) -> usize {
        self.write.iter().filter(|w| **w).count()
    }

    /// Moves the versions to write out of the catalog (no copies: a large first sync holds one catalog).
    pub fn take_upserts(&mut self) -> Vec<ServerVersion> {
        let catalog = std::mem::take(&mut self.catalog);
        let write = std::mem::take(&mut self.write);
        catalog.into_iter().zip(write).filter_map(|(v, w)| w.then_some(v)).collect()
    }

    /// Number of changes of a kind.
    pub fn count(&self, kind: ChangeKind) -> u64 {
        self.changes.iter().filter(|c| c.kind == kind).count() as u64
    }
}

/// Compares `next` (in source order, unique by name and version) with the stored `previous` catalog.
///
/// Unchanged versions keep their stored timestamps unless the source gives its own; a changed version
/// gets `updatedAt = now` unless the source gives one. "Latest" is recomputed per name by the upstream
/// rule over non-deleted versions in publish order (all versions when every one is deleted).
pub fn diff(previous: &[ServerVersion], next: Vec<Candidate>, now: &str) -> Diff {
    let before: HashMap<(&str, &str), &ServerVersion> =
        previous.iter().map(|v| ((v.name.as_str(), v.version.as_str()), v)).collect();
    let mut changes = Vec::new();
    let mut catalog: Vec<ServerVersion> = Vec::with_capacity(next.len());
    for Candidate { mut version, source_published, source_updated } in next {
        match before.get(&(version.name.as_str(), version.version.as_str())) {
            None => changes.push(change(ChangeKind::Added, &version)),
            Some(old) => {
                if !source_published {
                    version.published_at.clone_from(&old.published_at);
                }
                let changed = old.digest != version.digest
                    || old.status != version.status
                    || old.status_message != version.status_message;
                if changed {
                    changes.push(change(ChangeKind::Updated, &version));
                    if !source_updated {
                        version.updated_at = now.to_owned();
                    }
                } else if !source_updated {
                    version.updated_at.clone_from(&old.updated_at);
                }
            }
        }
        catalog.push(version);
    }
    mark_latest(&mut catalog);

    let after: HashMap<(&str, &str), ()> =
        catalog.iter().map(|v| ((v.name.as_str(), v.version.as_str()), ())).collect();
    let mut removals = Vec::new();
    for old in previous {
        if !after.contains_key(&(old.name.as_str(), old.version.as_str())) {
            changes.push(change(ChangeKind::Removed, old));
            removals.push(NameVersion { name: old.name.clone(), version: old.version.clone() });
        }
    }
    let mut rows: Vec<(ServerVersion, bool)> = catalog
        .into_iter()
        .map(|v| {
            let write = before.get(&(v.name.as_str(), v.version.as_str())).is_none_or(|old| **old != v);
            (v, write)
        })
        .collect();
    rows.sort_by(|(a, _), (b, _)| (a.name.as_str(), a.version.as_str()).cmp(&(b.name.as_str(), b.version.as_str())));
    let (catalog, write) = rows.into_iter().unzip();
    Diff { catalog, write, removals, changes }
}

fn change(kind: ChangeKind, v: &ServerVersion) -> Change {
    Change { kind, name: v.name.clone(), version: v.version.clone() }
}

/// Sets `is_latest` on exactly one version per name.
fn mark_latest(catalog: &mut [ServerVersion]) {
    let mut by_name: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, v) in catalog.iter().enumerate() {
        by_name.entry(v.name.as_str()).or_default().push(i);
    }
    let mut latest = Vec::with_capacity(by_name.len());
    for indexes in by_name.values() {
        let live: Vec<usize> = indexes.iter().copied().filter(|&i| catalog[i].status != "deleted").collect();
        let mut pool = if live.is_empty() { indexes.clone() } else { live };
        // Publish order; the source order breaks ties (a stable sort keeps it).
        pool.sort_by_cached_key(|&i| publish_key(&catalog[i].published_at));
        let versions: Vec<&str> = pool.iter().map(|&i| catalog[i].version.as_str()).collect();
        if let Some(k) = latest_index(&versions) {
            latest.push(pool[k]);
        }
    }
    for v in catalog.iter_mut() {
        v.is_latest = false;
    }
    for i in latest {
        catalog[i].is_latest = true;
    }
}

/// Sort key of an RFC 3339 time: parsed when possible (fractional digits vary), else the text after all.
fn publish_key(time: &str) -> (i128, String) {
    match time.parse::<jiff::Timestamp>() {
        Ok(t) => (t.as_nanosecond(), String::new()),
        Err(_) => (i128::MAX, time.to_owned()),
    }
}

/// `sha256:<hex>` summarising a catalog: names, versions, digests, status and latest flags.
pub fn catalog_digest(catalog: &[ServerVersion]) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    for v in catalog {
        for part in [v.name.as_str(), v.version.as_str(), v.digest.as_str(), v.status.as_str()] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        hasher.update([u8::from(v.is_latest), b'\n']);
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(name: &str, version: &str, description: &str, published: Option<&str>) -> ServerResponse {
        let mut value = json!({"server": {"name": name, "version": version, "description": description}});
        if let Some(p) = published {
            value["_meta"] =
                json!({"io.modelcontextprotocol.registry/official": {"publishedAt": p, "status": "active"}});
        }
        serde_json::from_value(value).expect("record")
    }

    const T0: &str = "2026-01-01T00:00:00Z";
    const T1: &str = "2026-02-01T00:00:00Z";

    #[test]
    fn first_sync_adds_everything_and_marks_latest() {
        let next = vec![
            candidate(record("a/x", "1.0.0", "d", None), T0),
            candidate(record("a/x", "1.1.0", "d", None), T0),
            candidate(record("b/y", "nightly", "d", None), T0),
        ];
        let d = diff(&[], next, T0);
        assert_eq!(d.count(ChangeKind::Added), 3);
        assert_eq!(d.upsert_count(), 3);
        let latest: Vec<(&str, &str)> =
            d.catalog.iter().filter(|v| v.is_latest).map(|v| (v.name.as_str(), v.version.as_str())).collect();
        assert_eq!(latest, vec![("a/x", "1.1.0"), ("b/y", "nightly")]);
    }

    #[test]
    fn unchanged_records_write_nothing_and_keep_timestamps() {
        let first = diff(&[], vec![candidate(record("a/x", "1.0.0", "d", None), T0)], T0);
        let again = diff(&first.catalog, vec![candidate(record("a/x", "1.0.0", "d", None), T1)], T1);
        assert!(again.is_empty(), "{again:?}");
        assert!(again.changes.is_empty());
        assert_eq!(again.catalog[0].updated_at, T0);
        assert_eq!(again.catalog[0].published_at, T0);
    }

    #[test]
    fn changed_and_removed_records_are_reported() {
        let first = diff(
            &[],
            vec![candidate(record("a/x", "1.0.0", "d", None), T0), candidate(record("b/y", "1.0.0", "d", None), T0)],
            T0,
        );
        let next = diff(&first.catalog, vec![candidate(record("a/x", "1.0.0", "changed", None), T1)], T1);
        assert_eq!(next.count(ChangeKind::Updated), 1);
        assert_eq!(next.count(ChangeKind::Removed), 1);
        assert_eq!(next.removals, vec![NameVersion { name: "b/y".into(), version: "1.0.0".into() }]);
        assert_eq!(next.catalog[0].updated_at, T1);
        assert_eq!(next.catalog[0].published_at, T0, "publish time is kept");
    }

    #[test]
    fn latest_follows_publish_order_not_input_order() {
        let next = vec![
            candidate(record("a/x", "snapshot-b", "d", Some(T1)), T0),
            candidate(record("a/x", "snapshot-a", "d", Some(T0)), T0),
        ];
        let d = diff(&[], next, T0);
        let latest: Vec<&str> = d.catalog.iter().filter(|v| v.is_latest).map(|v| v.version.as_str()).collect();
        assert_eq!(latest, vec!["snapshot-b"], "neither is semver: the later publish wins");
    }

    #[test]
    fn a_stored_version_becomes_the_record_it_was_made_from() {
        let value = json!({"server": {"name": "a/x", "version": "1.0.0", "description": "d"}, "_meta": {
            "io.modelcontextprotocol.registry/official": {"status": "deprecated", "statusMessage": "use b/y",
                "publishedAt": T0, "updatedAt": T1, "isLatest": true},
            "com.example/extra": {"k": [1]},
        }});
        let record: ServerResponse = serde_json::from_value(value.clone()).expect("record");
        let stored = diff(&[], vec![candidate(record, T1)], T1).catalog;
        let back = record_of(&stored[0]).expect("record");
        assert_eq!(serde_json::to_value(&back).expect("json"), value);
        let again = diff(&stored, vec![candidate(back, T1)], T1);
        assert!(again.is_empty(), "{again:?}");
        assert_eq!(catalog_info(&stored).last_updated.as_deref(), Some(T1));
    }

    #[test]
    fn catalog_digest_tracks_content() {
        let a = diff(&[], vec![candidate(record("a/x", "1.0.0", "d", None), T0)], T0).catalog;
        let b = diff(&[], vec![candidate(record("a/x", "1.0.0", "e", None), T0)], T0).catalog;
        assert_eq!(catalog_digest(&a), catalog_digest(&a.clone()));
        assert_ne!(catalog_digest(&a), catalog_digest(&b));
    }
}
