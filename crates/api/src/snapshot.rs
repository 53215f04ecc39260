//! Immutable, indexed in-memory views of the stored catalogs, built once per sync.
//!
//! Every record's response JSON (`{"server": …, "_meta": …}`) is rendered when the snapshot is built, so a
//! list page is assembled by concatenating bytes and reads never touch the database.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use jiff::Timestamp;
use thv_model::names::first_registry_wins;
use thv_model::upstream::ServerJson;
use thv_store::{ServerVersion, Store, StoreError};

use crate::listing::Listing;
use crate::reclaim::OnFreed;
use crate::rendered::{PageBudget, PageCache, Rendered};
use crate::search::SearchText;

/// The key of the official block in a response `_meta`.
pub const OFFICIAL_META: &str = "io.modelcontextprotocol.registry/official";

/// One server version as the API serves it.
#[derive(Debug, Clone)]
pub struct Record {
    /// Full server name.
    pub name: String,
    /// Name, title and description, for `search`.
    pub search_text: SearchText,
    /// Version string.
    pub version: String,
    /// `active`, `deprecated` or `deleted`.
    pub status: String,
    /// Whether the status is `deleted`.
    pub deleted: bool,
    /// Whether this is the latest version of its name.
    pub is_latest: bool,
    /// Last change; `None` when the stored text is not RFC 3339.
    pub updated_at: Option<Timestamp>,
    /// First publish; `None` when the stored text is not RFC 3339.
    pub published_at: Option<Timestamp>,
    /// The rendered `ServerResponse` JSON and its tag (shared: a response body is a reference-count
    /// increment).
    rendered: Rendered,
    /// The registry the record comes from (set when the [`Snapshot`] is built).
    pub registry: Arc<str>,
    /// What the ToolHive API lists, for the latest version of a name whose document parses.
    pub listing: Option<Arc<Listing>>,
}

impl Record {
    /// Builds the record and renders its response JSON.
    pub fn new(version: &ServerVersion) -> Self {
        Self::from_version(version.clone())
    }

    /// Builds the record from `version`, rendering its response JSON into the document's own buffer (a
    /// snapshot keeps one copy of each document, and loading one needs no second).
    pub fn from_version(version: ServerVersion) -> Self {
        let search_text = SearchText::of(&version.name, version.document.as_str());
        let listing = version
            .is_latest
            .then(|| version.document.decode::<ServerJson>().ok())
            .flatten()
            .map(|server| Arc::new(Listing::of(&server)));
        let meta = render_meta(&version);
        let ServerVersion { name, version, document, status, is_latest, updated_at, published_at, .. } = version;
        Self {
            search_text,
            deleted: status == "deleted",
            is_latest,
            updated_at: updated_at.parse().ok(),
            published_at: published_at.parse().ok(),
            rendered: Rendered::new(envelope(document.into_string(), &meta)),
            registry: Arc::from(""),
            listing,
            name,
            version,
            status,
        }
    }

    /// The rendered `ServerResponse` JSON: `{"server": …, "_meta": …}`.
    pub fn json(&self) -> &Bytes {
        self.rendered.body()
    }

    /// The `200 application/json` response with [`Record::json`], tagged.
    pub fn response(&self) -> axum::response::Response {
        self.rendered.response()
    }

    /// The stored `server.json` document: the `server` member of [`Record::json`].
    pub fn document(&self) -> Result<ServerJson, serde_json::Error> {
        #[derive(serde::Deserialize)]
        struct Envelope {
            server: ServerJson,
        }
        serde_json::from_slice::<Envelope>(self.json()).map(|envelope| envelope.server)
    }
}

/// Renders the response `_meta` ([`thv_sync::diff::response_meta`], the one rule for it).
fn render_meta(version: &ServerVersion) -> String {
    // A struct of strings, booleans and string-keyed maps always serializes.
    serde_json::to_string(&thv_sync::diff::response_meta(version)).unwrap_or_else(|_| "{}".to_owned())
}

/// `{"server": <document>, "_meta": <meta>}`, built in `document`'s buffer, with no spare capacity kept.
fn envelope(document: String, meta: &str) -> Vec<u8> {
    const HEAD: &[u8] = b"{\"server\":";
    const MIDDLE: &[u8] = b",\"_meta\":";
    let mut out = document.into_bytes();
    let document_len = out.len();
    out.reserve_exact(HEAD.len() + MIDDLE.len() + meta.len() + 1);
    out.extend_from_slice(HEAD);
    out.rotate_right(HEAD.len());
    debug_assert_eq!(out.len(), document_len + HEAD.len());
    out.extend_from_slice(MIDDLE);
    out.extend_from_slice(meta.as_bytes());
    out.push(b'}');
    out.shrink_to_fit();
    out
}

/// One registry's catalog, ordered by (name, version) byte-wise and indexed by name, with the list pages
/// rendered so far.
#[derive(Debug, Default)]
pub struct RegistrySnapshot {
    /// Shared with the aggregate, which holds the same records.
    records: Vec<Arc<Record>>,
    by_name: HashMap<String, Range<usize>>,
    pages: PageCache,
    /// Shared by the registries and the aggregate of one [`Snapshot`]; declared last, so it is dropped
    /// once the rest of the last of them is freed.
    freed: Arc<OnFreed>,
}

impl RegistrySnapshot {
    /// Builds the snapshot of a catalog (in any order).
    pub fn new(versions: &[ServerVersion]) -> Self {
        Self::from_versions(versions.to_vec())
    }

    /// Builds the snapshot of a catalog (in any order), consuming it: each version's buffers are reused or
    /// freed as its record is built.
    pub fn from_versions(versions: Vec<ServerVersion>) -> Self {
        Self::from_records(versions.into_iter().map(|version| Arc::new(Record::from_version(version))).collect())
    }

    fn from_records(mut records: Vec<Arc<Record>>) -> Self {
        records.sort_by(|a, b| (a.name.as_str(), a.version.as_str()).cmp(&(b.name.as_str(), b.version.as_str())));
        records.dedup_by(|a, b| a.name == b.name && a.version == b.version);
        records.shrink_to_fit();
        let mut by_name: HashMap<String, Range<usize>> = HashMap::new();
        for (i, record) in records.iter().enumerate() {
            by_name.entry(record.name.clone()).and_modify(|range| range.end = i + 1).or_insert(i..i + 1);
        }
        Self { records, by_name, pages: PageCache::default(), freed: Arc::default() }
    }

    /// The list pages rendered so far, by query string.
    pub(crate) fn pages(&self) -> &PageCache {
        &self.pages
    }

    /// Every record, ordered by (name, version).
    pub fn records(&self) -> &[Arc<Record>] {
        &self.records
    }

    /// The versions of `name`, ordered by version (empty when unknown).
    pub fn versions_of(&self, name: &str) -> &[Arc<Record>] {
        self.by_name.get(name).and_then(|range| self.records.get(range.clone())).unwrap_or(&[])
    }

    /// Whether `name` has any version.
    pub fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// Every distinct name, in no particular order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// Number of distinct names.
    pub fn name_count(&self) -> usize {
        self.by_name.len()
    }

    /// The heap bytes this snapshot holds, by component (an estimate from lengths and capacities, for
    /// profiling: `examples/snapshot_memory.rs`). Parts shared with another snapshot (the aggregate shares
    /// its registries' records) are counted in each.
    pub fn footprint(&self) -> Footprint {
        let mut footprint = Footprint {
            records: self.records.capacity() * std::mem::size_of::<Arc<Record>>()
                + self.records.len() * (std::mem::size_of::<Record>() + 2 * std::mem::size_of::<usize>()),
            index: self.by_name.capacity() * (std::mem::size_of::<String>() + std::mem::size_of::<Range<usize>>() + 1)
                + self.by_name.keys().map(String::capacity).sum::<usize>(),
            ..Footprint::default()
        };
        for record in &self.records {
            footprint.rendered += record.rendered.heap_bytes();
            footprint.search_text += record.search_text.heap_bytes();
            footprint.strings += record.name.capacity() + record.version.capacity() + record.status.capacity();
            footprint.listings += record.listing.as_deref().map_or(0, Listing::heap_bytes);
        }
        footprint
    }
}

/// The heap bytes of a [`RegistrySnapshot`], by component ([`RegistrySnapshot::footprint`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// The record structs themselves.
    pub records: usize,
    /// The rendered response JSON and its tag.
    pub rendered: usize,
    /// The lower-cased search text.
    pub search_text: usize,
    /// Names, versions and statuses.
    pub strings: usize,
    /// The ToolHive listing facts of latest versions.
    pub listings: usize,
    /// The index by name.
    pub index: usize,
}

impl Footprint {
    /// Every component with its label, and the total last.
    pub fn components(&self) -> [(&'static str, usize); 7] {
        [
            ("records (structs)", self.records),
            ("rendered JSON and tags", self.rendered),
            ("search text", self.search_text),
            ("names, versions, statuses", self.strings),
            ("ToolHive listings", self.listings),
            ("index by name", self.index),
            ("total", self.records + self.rendered + self.search_text + self.strings + self.listings + self.index),
        ]
    }
}

/// The snapshots of every registry plus their aggregate.
#[derive(Debug, Default)]
pub struct Snapshot {
    registries: Vec<(String, Arc<RegistrySnapshot>)>,
    aggregate: Arc<RegistrySnapshot>,
}

impl Snapshot {
    /// Builds the aggregate of `registries` (in config order): the first registry that has a name wins
    /// all versions of that name. The page caches of the registries and the aggregate share one budget.
    pub fn new(mut registries: Vec<(String, RegistrySnapshot)>) -> Self {
        let budget = PageBudget::default();
        let freed = Arc::new(OnFreed::default());
        for (name, snapshot) in &mut registries {
            let name: Arc<str> = Arc::from(name.as_str());
            for record in &mut snapshot.records {
                // New records are not shared yet: this changes them in place. Records kept from the
                // served snapshot already name their registry and stay shared.
                if *record.registry != *name {
                    Arc::make_mut(record).registry = Arc::clone(&name);
                }
            }
            snapshot.pages = PageCache::with_budget(Arc::clone(&budget));
            snapshot.freed = Arc::clone(&freed);
        }
        let merged =
            first_registry_wins(registries.iter().map(|(_, snapshot)| snapshot.records.iter()), |r: &&Arc<Record>| {
                r.name.as_str()
            });
        let mut aggregate = RegistrySnapshot::from_records(merged.into_iter().cloned().collect());
        aggregate.pages = PageCache::with_budget(budget);
        aggregate.freed = freed;
        let aggregate = Arc::new(aggregate);
        let registries = registries.into_iter().map(|(name, snapshot)| (name, Arc::new(snapshot))).collect();
        Self { registries, aggregate }
    }

    /// What runs once every part of this snapshot (the registries, the aggregate, their records) has been
    /// freed, on the thread that dropped the last of them.
    pub(crate) fn on_freed(&self) -> &OnFreed {
        &self.aggregate.freed
    }

    /// The aggregate of all registries.
    pub fn aggregate(&self) -> &Arc<RegistrySnapshot> {
        &self.aggregate
    }

    /// One registry's snapshot.
    pub fn registry(&self, name: &str) -> Option<&Arc<RegistrySnapshot>> {
        self.registries.iter().find(|(n, _)| n == name).map(|(_, snapshot)| snapshot)
    }

    /// Registry names in config order.
    pub fn registry_names(&self) -> impl Iterator<Item = &str> {
        self.registries.iter().map(|(name, _)| name.as_str())
    }
}

/// Loads every registry's catalog from `store` and builds the snapshot (registries in config order).
pub async fn load_snapshot(store: &dyn Store, registries: &[String]) -> Result<Snapshot, StoreError> {
    reload_snapshot(store, registries, &Snapshot::default(), |_| false).await
}

/// Like [`load_snapshot`], but a registry for which `unchanged` holds (its catalog is the one `served`
/// was loaded from) keeps `served`'s records, shared, instead of being read again: a commit to one
/// registry reads and builds only that one. The aggregate and the page caches are always new.
pub async fn reload_snapshot(
    store: &dyn Store,
    registries: &[String],
    served: &Snapshot,
    unchanged: impl Fn(&str) -> bool,
) -> Result<Snapshot, StoreError> {
    let mut loaded = Vec::with_capacity(registries.len());
    for registry in registries {
        let kept = if unchanged(registry) { served.registry(registry) } else { None };
        let snapshot = match kept {
            Some(kept) => RegistrySnapshot::from_records(kept.records.clone()),
            None => RegistrySnapshot::from_versions(store.catalog(registry).await?),
        };
        loaded.push((registry.clone(), snapshot));
    }
    Ok(Snapshot::new(loaded))
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::{Value, json};
    use thv_store::JsonText;

    use super::*;

    /// An active, latest version of `name`.
    pub(crate) fn version(name: &str, version: &str) -> ServerVersion {
        ServerVersion {
            name: name.to_owned(),
            version: version.to_owned(),
            document: JsonText::from_value(&json!({"name": name, "version": version})),
            extra_meta: Value::Null,
            digest: String::new(),
            status: "active".to_owned(),
            status_changed_at: None,
            status_message: None,
            published_at: "2025-01-01T00:00:00Z".to_owned(),
            updated_at: "2025-01-02T00:00:00Z".to_owned(),
            is_latest: true,
        }
    }

    #[test]
    fn renders_the_envelope_once() {
        let mut v = version("a/b", "1.0.0");
        v.extra_meta = json!({OFFICIAL_META: {"status": "forged"}, "x.y/z": [1]});
        let record = Record::new(&v);
        assert_eq!(
            std::str::from_utf8(record.json()).unwrap(),
            r#"{"server":{"name":"a/b","version":"1.0.0"},"_meta":{"io.modelcontextprotocol.registry/official":{"status":"active","publishedAt":"2025-01-01T00:00:00Z","updatedAt":"2025-01-02T00:00:00Z","isLatest":true},"x.y/z":[1]}}"#
        );
    }

    #[test]
    fn the_envelope_reuses_the_document_buffer_and_keeps_no_spare_capacity() {
        let document = String::from(r#"{"name":"a/b"}"#);
        let body = envelope(document, r#"{"k":1}"#);
        assert_eq!(std::str::from_utf8(&body).unwrap(), r#"{"server":{"name":"a/b"},"_meta":{"k":1}}"#);
        assert_eq!(body.capacity(), body.len(), "a snapshot keeps no spare bytes per record");
    }

    #[test]
    fn the_aggregate_shares_the_records_of_its_registries() {
        let one = RegistrySnapshot::new(&[version("a", "1"), version("b", "1")]);
        let two = RegistrySnapshot::new(&[version("a", "2"), version("c", "1")]);
        let snapshot = Snapshot::new(vec![("one".to_owned(), one), ("two".to_owned(), two)]);
        let aggregate = snapshot.aggregate().records();
        let registry = |name| snapshot.registry(name).unwrap().records();
        assert!(Arc::ptr_eq(&aggregate[0], &registry("one")[0]), "a/1 is one record, not a copy");
        assert!(Arc::ptr_eq(&aggregate[2], &registry("two")[1]), "c/1 is one record, not a copy");
        assert_eq!(&*aggregate[2].registry, "two");
        // Held by the registry and the aggregate, nothing else.
        assert_eq!(Arc::strong_count(&aggregate[0]), 2);
    }

    #[test]
    fn orders_byte_wise_and_indexes_names() {
        let snapshot =
            RegistrySnapshot::new(&[version("b", "1"), version("a", "10"), version("a", "9"), version("B", "1")]);
        let keys: Vec<_> = snapshot.records().iter().map(|r| (r.name.as_str(), r.version.as_str())).collect();
        assert_eq!(keys, [("B", "1"), ("a", "10"), ("a", "9"), ("b", "1")]);
        assert_eq!(snapshot.versions_of("a").len(), 2);
        assert!(snapshot.versions_of("c").is_empty());
        assert_eq!(snapshot.name_count(), 3);
    }

    #[test]
    fn the_first_registry_claims_a_name() {
        let first = RegistrySnapshot::new(&[version("shared", "1")]);
        let second = RegistrySnapshot::new(&[version("shared", "2"), version("other", "1")]);
        let snapshot = Snapshot::new(vec![("one".to_owned(), first), ("two".to_owned(), second)]);
        let keys: Vec<_> =
            snapshot.aggregate().records().iter().map(|r| (r.name.as_str(), r.version.as_str())).collect();
        assert_eq!(keys, [("other", "1"), ("shared", "1")]);
        assert_eq!(snapshot.registry_names().collect::<Vec<_>>(), ["one", "two"]);
        assert!(snapshot.registry("three").is_none());
    }
}
