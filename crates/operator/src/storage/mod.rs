//! Catalog storage in the cluster: [`ConfigMapStore`], a [`thv_store::Store`] over one registry's storage
//! ConfigMap `<name>-registry-storage` (see [`labels::storage_config_map_name`]).
//!
//! The ConfigMap holds everything the sync pipeline stores for the registry — its state (validators,
//! digests, revision, counts, last error), its catalog, and the newest [`MAX_RUNS`] runs with their change
//! sets — so an operator restart resumes from it: the next sync is conditional on the stored validators and
//! diffs against the stored catalog, so it neither refetches what did not change nor reports a change set
//! that did not happen. The keys and their encoding are in [`layout`]; the catalog and history are
//! gzip-compressed in `binaryData`.
//!
//! - **One object, one write.** Every write replaces the whole object, conditional on the
//!   `resourceVersion` it read (created when absent): two writers never lose each other's update; the
//!   loser of a race reads again and reapplies its change, up to [`MAX_WRITE_ATTEMPTS`] times.
//! - **Refused before the limit.** A write that would need more than [`STORAGE_LIMIT`] bytes (keys and
//!   values, counted as the API server counts them against its 1 MiB limit) first drops the change sets of
//!   older runs and, if still too large, is refused with [`StoreError::TooLarge`] before anything is sent:
//!   the stored catalog stays and keeps being served.
//! - **Reads are cached** by `resourceVersion`: a read asks only for the object's metadata when it holds a
//!   decoded copy, and decompresses the catalog only when asked for it.
//! - **Owned and labelled**: the object carries the registry's ownerReference (garbage-collected with it),
//!   the labels of [`labels::storage_labels`] and the format annotation
//!   [`labels::STORAGE_FORMAT_ANNOTATION`]. A ConfigMap of that name without the annotation is not ours:
//!   it is never overwritten.
//!
//! A store made with [`ConfigMapStore::follower`] never calls the API: the per-registry API pods feed it the
//! object from a watch ([`ConfigMapStore::observe`]) and it refuses writes.

mod content;
pub mod layout;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, DeleteParams, PostParams};
use thv_store::{
    Change, ImportedEntry, Lease, RegistryState, ServerVersion, Store, StoreError, StoreResult, SyncCommit,
    SyncOutcome, SyncRun,
};
use tokio::sync::OnceCell;

pub use self::content::MAX_RUNS;
use self::content::{Draft, History};
pub use self::layout::{API_SERVER_LIMIT, MAX_DECOMPRESSED_BYTES, STORAGE_LIMIT, data_size};
use crate::kube_error::{self, API_CALL_TIMEOUT, CallError, call};
use crate::labels;

/// Attempts of one write when other writers keep changing the object in between.
pub const MAX_WRITE_ATTEMPTS: usize = 5;

/// The [`Store`] of one registry, kept in its storage ConfigMap. Other registry names read as empty and
/// cannot be written. Keep one per registry: it caches what it decoded.
pub struct ConfigMapStore {
    namespace: String,
    registry: String,
    name: String,
    /// How to reach the API; `None` for a follower.
    live: Option<Live>,
    cache: Mutex<Option<Arc<Loaded>>>,
    writer: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for ConfigMapStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigMapStore")
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .field("follower", &self.live.is_none())
            .finish_non_exhaustive()
    }
}

/// What a store that reads and writes through the API needs.
struct Live {
    api: Api<ConfigMap>,
    owner: OwnerReference,
}

/// One decoded version of the object.
struct Loaded {
    resource_version: String,
    metadata: ObjectMeta,
    state: Option<RegistryState>,
    history: History,
    catalog_bytes: Option<ByteString>,
    catalog: OnceCell<Arc<Vec<ServerVersion>>>,
    imported_bytes: Option<ByteString>,
    size: u64,
}

/// What a write applies.
#[derive(Clone, Copy)]
enum Write<'a> {
    Commit(&'a SyncCommit),
    Import(&'a SyncCommit, &'a [ImportedEntry]),
    Run(&'a SyncRun, Option<&'a RegistryState>),
}

impl ConfigMapStore {
    /// The store of registry `registry_name` in `namespace`, in its storage ConfigMap, created on the first
    /// write with `owner` (the MCPRegistry's controller reference) as its owner.
    pub fn new(
        client: kube::Client,
        namespace: impl Into<String>,
        registry_name: impl Into<String>,
        owner: OwnerReference,
    ) -> Self {
        let namespace = namespace.into();
        let api = Api::namespaced(client, &namespace);
        Self::with_backing(namespace, registry_name.into(), Some(Live { api, owner }))
    }

    /// A read-only store that serves what [`ConfigMapStore::observe`] last gave it, without calling the
    /// API; empty until then.
    pub fn follower(namespace: impl Into<String>, registry_name: impl Into<String>) -> Self {
        Self::with_backing(namespace.into(), registry_name.into(), None)
    }

    fn with_backing(namespace: String, registry: String, live: Option<Live>) -> Self {
        let name = labels::storage_config_map_name(&registry);
        Self { namespace, registry, name, live, cache: Mutex::new(None), writer: tokio::sync::Mutex::new(()) }
    }

    /// The registry this store holds.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The namespace of the storage ConfigMap.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The name of the storage ConfigMap.
    pub fn config_map_name(&self) -> &str {
        &self.name
    }

    /// Bytes of the storage as last read or written (counted as against [`STORAGE_LIMIT`]); `None` when
    /// nothing was read yet or the ConfigMap does not exist.
    pub fn stored_size(&self) -> Option<u64> {
        self.cached().map(|loaded| loaded.size)
    }

    /// Takes `object` (the storage ConfigMap as a watch saw it, `None` when it is absent) as the current
    /// storage. An object that cannot be decoded is refused and the previous one kept.
    pub fn observe(&self, object: Option<ConfigMap>) -> StoreResult<()> {
        self.remember(object).map(|_| ())
    }

    /// Whether the storage ConfigMap exists, as far as this store last saw.
    pub fn exists(&self) -> bool {
        self.cached().is_some()
    }

    fn what(&self) -> String {
        format!("ConfigMap {}/{}", self.namespace, self.name)
    }

    fn cached(&self) -> Option<Arc<Loaded>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn set_cached(&self, loaded: Option<Arc<Loaded>>) {
        *self.cache.lock().unwrap_or_else(PoisonError::into_inner) = loaded;
    }

    /// Decodes `object` and caches it (or forgets the storage when `None`).
    fn remember(&self, object: Option<ConfigMap>) -> StoreResult<Option<Arc<Loaded>>> {
        let loaded = object.map(|object| Loaded::decode(object, &self.what(), None)).transpose()?.map(Arc::new);
        self.set_cached(loaded.clone());
        Ok(loaded)
    }

    /// The current storage: the cached copy when its `resourceVersion` is still current, else read again.
    async fn load(&self) -> StoreResult<Option<Arc<Loaded>>> {
        let Some(Live { api, .. }) = &self.live else {
            return Ok(self.cached());
        };
        if let Some(cached) = self.cached() {
            let metadata = call(api.get_metadata_opt(&self.name))
                .await
                .map_err(|e| self.query_error("read the storage ConfigMap's metadata", e))?;
            match metadata {
                None => {
                    self.set_cached(None);
                    return Ok(None);
                }
                Some(m) if m.metadata.resource_version.as_deref() == Some(cached.resource_version.as_str()) => {
                    return Ok(Some(cached));
                }
                Some(_) => {}
            }
        }
        let object =
            call(api.get_opt(&self.name)).await.map_err(|e| self.query_error("read the storage ConfigMap", e))?;
        self.remember(object)
    }

    /// The state when `registry` is this store's registry and a state is stored.
    async fn state_of(&self, registry: &str) -> StoreResult<Option<RegistryState>> {
        if registry != self.registry {
            return Ok(None);
        }
        Ok(self.load().await?.and_then(|loaded| loaded.state.clone()))
    }

    fn refuse_other_registry(&self, registry: &str, operation: &'static str) -> StoreResult<()> {
        if registry == self.registry {
            return Ok(());
        }
        Err(StoreError::Query {
            operation,
            message: format!(
                "{} holds registry {:?} only, not {registry:?}; nothing was written",
                self.what(),
                self.registry
            ),
        })
    }

    /// Applies `write` to the current storage and stores the result in one conditional write.
    async fn write(&self, write: Write<'_>) -> StoreResult<i64> {
        let Some(Live { api, owner }) = &self.live else {
            return Err(StoreError::Query {
                operation: "write the storage ConfigMap",
                message: format!("{} is followed read-only here; only the operator writes it", self.what()),
            });
        };
        let _one_writer_here = self.writer.lock().await;
        for attempt in 1..=MAX_WRITE_ATTEMPTS {
            let current = self.load().await?;
            let mut draft = Draft {
                state: current.as_ref().and_then(|c| c.state.clone()),
                history: current.as_ref().map(|c| c.history.clone()).unwrap_or_default(),
                catalog: None,
                imported: None,
            };
            let id = match write {
                Write::Commit(commit) | Write::Import(commit, _) => {
                    if let Write::Import(_, layer) = write {
                        draft.imported = Some(layer.to_vec());
                    }
                    let stored = match &current {
                        Some(loaded) => loaded.catalog(&self.what()).await?,
                        None => Arc::new(Vec::new()),
                    };
                    let mut catalog = content::catalog_map(&stored);
                    content::apply_commit(&mut catalog, commit);
                    draft.catalog = Some(catalog.into_values().collect());
                    draft.state = Some(commit.state.clone());
                    draft.history.record(commit.run.clone(), &commit.changes)
                }
                Write::Run(run, state) => {
                    if let Some(state) = state {
                        draft.state = Some(state.clone());
                    }
                    draft.history.record(run.clone(), &[])
                }
            };
            let stored_catalog = current.as_ref().and_then(|c| c.catalog_bytes.clone());
            let stored_imported = current.as_ref().and_then(|c| c.imported_bytes.clone());
            let what = self.describe_storage(&draft, current.as_deref());
            let (draft, encoded) = tokio::task::spawn_blocking(move || {
                let mut draft = draft;
                let encoded = encode_within_limit(&mut draft, stored_catalog, stored_imported, &what);
                (draft, encoded)
            })
            .await
            .map_err(|e| StoreError::Query { operation: "encode the storage ConfigMap", message: e.to_string() })?;
            let encoded = encoded?;
            let size = encoded.size();
            let object = self.object(current.as_deref(), owner, encoded);
            let sent = match &current {
                None => call(api.create(&PostParams::default(), &object)).await,
                Some(_) => call(api.replace(&self.name, &PostParams::default(), &object)).await,
            };
            match sent {
                Ok(written) => {
                    let previous_catalog = current.as_ref().and_then(|c| c.catalog.get().cloned());
                    let catalog = draft.catalog.map(Arc::new).or(previous_catalog);
                    let loaded = Loaded::decode(written, &self.what(), catalog)?;
                    self.set_cached(Some(Arc::new(loaded)));
                    return Ok(id);
                }
                Err(CallError::Api(e)) if is_write_conflict(&e) => {
                    tracing::debug!(
                        config_map = %self.what(),
                        attempt,
                        error = %kube_error::describe(&e),
                        "the storage changed while writing it; reading it again"
                    );
                    self.set_cached(None);
                }
                Err(CallError::Api(e)) if is_too_large(&e) => {
                    return Err(too_large(
                        format!("{} (the API server refused it: {})", self.what(), kube_error::describe(&e)),
                        size,
                        API_SERVER_LIMIT,
                    ));
                }
                Err(e) => return Err(self.query_error("write the storage ConfigMap", e)),
            }
        }
        Err(StoreError::Query {
            operation: "write the storage ConfigMap",
            message: format!(
                "{} changed under every one of {MAX_WRITE_ATTEMPTS} attempts; nothing was written",
                self.what()
            ),
        })
    }

    /// How the storage is named in a too-large error.
    fn describe_storage(&self, draft: &Draft, current: Option<&Loaded>) -> String {
        let count = draft.catalog.as_ref().map(Vec::len).or_else(|| current?.catalog.get().map(|c| c.len()));
        let versions = count.map(|n| format!(", {n} versions")).unwrap_or_default();
        format!("the storage {} of registry {:?}{versions}", self.what(), self.registry)
    }

    /// The object to write: the current metadata (resourceVersion, other owners, labels and annotations)
    /// with ours set, and the encoded data.
    fn object(&self, current: Option<&Loaded>, owner: &OwnerReference, encoded: layout::Encoded) -> ConfigMap {
        let mut metadata = current.map(|c| c.metadata.clone()).unwrap_or_default();
        metadata.name = Some(self.name.clone());
        metadata.namespace = Some(self.namespace.clone());
        metadata.managed_fields = None;
        let labels = metadata.labels.get_or_insert_with(Default::default);
        for (key, value) in labels::storage_labels(&self.registry) {
            labels.insert(key.to_owned(), value);
        }
        metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(labels::STORAGE_FORMAT_ANNOTATION.to_owned(), layout::FORMAT.to_owned());
        let owners = metadata.owner_references.get_or_insert_with(Vec::new);
        if !owners.iter().any(|o| o.uid == owner.uid) {
            owners.push(owner.clone());
        }
        ConfigMap { metadata, data: Some(encoded.data), binary_data: Some(encoded.binary_data), immutable: None }
    }

    fn query_error(&self, operation: &'static str, error: CallError) -> StoreError {
        let message = match error {
            CallError::Api(e) => format!("{}: {}", self.what(), kube_error::describe(&e)),
            CallError::TimedOut => {
                format!("{}: the API server did not answer within {} s", self.what(), API_CALL_TIMEOUT.as_secs())
            }
        };
        StoreError::Query { operation, message }
    }
}

impl Loaded {
    /// Decodes the state and history of `object` (the catalog waits until asked for, unless given).
    fn decode(object: ConfigMap, what: &str, catalog: Option<Arc<Vec<ServerVersion>>>) -> StoreResult<Self> {
        let format = object.metadata.annotations.as_ref().and_then(|a| a.get(labels::STORAGE_FORMAT_ANNOTATION));
        match format.map(String::as_str) {
            Some(layout::FORMAT) => {}
            Some(other) => {
                return Err(StoreError::Corrupt {
                    what: what.to_owned(),
                    message: format!(
                        "annotation {}: {other:?} is a storage layout this operator does not know (it reads {:?}); \
                         nothing was read or written",
                        labels::STORAGE_FORMAT_ANNOTATION,
                        layout::FORMAT
                    ),
                });
            }
            None => {
                return Err(StoreError::Corrupt {
                    what: what.to_owned(),
                    message: format!(
                        "this ConfigMap was not written by the operator (it has no annotation {}), so it is \
                         neither read nor overwritten; rename or delete it to let the operator store the \
                         registry's catalog there",
                        labels::STORAGE_FORMAT_ANNOTATION
                    ),
                });
            }
        }
        let state = layout::decode_state(object.data.as_ref(), what)?;
        let history = layout::decode_history(object.binary_data.as_ref(), what)?;
        let size = layout::data_size(object.data.as_ref(), object.binary_data.as_ref());
        let ConfigMap { metadata, mut binary_data, .. } = object;
        let catalog_bytes = binary_data.as_mut().and_then(|b| b.remove(layout::CATALOG_KEY));
        let imported_bytes = binary_data.as_mut().and_then(|b| b.remove(layout::IMPORTED_KEY));
        let cell = OnceCell::new_with(catalog);
        Ok(Self {
            resource_version: metadata.resource_version.clone().unwrap_or_default(),
            metadata,
            state,
            history,
            catalog_bytes,
            catalog: cell,
            imported_bytes,
            size,
        })
    }

    /// The catalog, decompressed and decoded on first use (off the runtime's worker threads).
    async fn catalog(&self, what: &str) -> StoreResult<Arc<Vec<ServerVersion>>> {
        self.catalog
            .get_or_try_init(|| async {
                let bytes = self.catalog_bytes.clone();
                let what = what.to_owned();
                tokio::task::spawn_blocking(move || layout::decode_catalog(bytes.as_ref(), &what))
                    .await
                    .map_err(|e| StoreError::Query { operation: "decode the stored catalog", message: e.to_string() })?
                    .map(Arc::new)
            })
            .await
            .cloned()
    }
}

/// Encodes `draft`, dropping older change sets when that makes it fit; [`StoreError::TooLarge`] when it
/// does not fit anyway.
fn encode_within_limit(
    draft: &mut Draft,
    stored_catalog: Option<ByteString>,
    stored_imported: Option<ByteString>,
    what: &str,
) -> StoreResult<layout::Encoded> {
    let imported = match &draft.imported {
        Some(layer) => layout::encode_imported(layer)?,
        None => stored_imported,
    };
    let catalog = match (&draft.catalog, stored_catalog) {
        (Some(versions), _) => ByteString(layout::encode_catalog(versions)?),
        (None, Some(stored)) => stored,
        (None, None) => ByteString(layout::encode_catalog(&[])?),
    };
    let mut encoded = layout::encode(draft, catalog.clone(), imported.clone())?;
    if encoded.size() > STORAGE_LIMIT && draft.history.keep_only_newest_changes() {
        encoded = layout::encode(draft, catalog, imported)?;
    }
    let size = encoded.size();
    if size > STORAGE_LIMIT {
        return Err(too_large(what.to_owned(), size, STORAGE_LIMIT));
    }
    Ok(encoded)
}

fn too_large(what: String, size: u64, limit: u64) -> StoreError {
    StoreError::TooLarge {
        what,
        size,
        limit,
        advice: "A ConfigMap holds at most 1 MiB. Narrow spec.filter (include fewer names, tags or tiers), or for a \
                 registry source set source.registry.latestOnly: true, so the catalog fits; PostgreSQL storage \
                 (spec.storage.type: postgres) for catalogs this large is not available in this version yet."
            .to_owned(),
    }
}

fn is_write_conflict(error: &kube::Error) -> bool {
    kube_error::status(error).is_some_and(|s| s.is_conflict() || s.is_already_exists())
}

fn is_too_large(error: &kube::Error) -> bool {
    match kube_error::code(error) {
        Some(413) => true,
        Some(422) => kube_error::describe(error).contains("Too long"),
        _ => false,
    }
}

#[async_trait]
impl Store for ConfigMapStore {
    async fn registry_state(&self, registry: &str) -> StoreResult<Option<RegistryState>> {
        self.state_of(registry).await
    }

    async fn registry_states(&self) -> StoreResult<Vec<RegistryState>> {
        Ok(self.state_of(&self.registry).await?.into_iter().collect())
    }

    async fn catalog(&self, registry: &str) -> StoreResult<Vec<ServerVersion>> {
        if registry != self.registry {
            return Ok(Vec::new());
        }
        match self.load().await? {
            Some(loaded) => Ok(loaded.catalog(&self.what()).await?.as_ref().clone()),
            None => Ok(Vec::new()),
        }
    }

    async fn commit_sync(&self, commit: &SyncCommit) -> StoreResult<i64> {
        thv_store::check::commit(commit)?;
        self.refuse_other_registry(&commit.run.registry, "commit_sync")?;
        self.write(Write::Commit(commit)).await
    }

    async fn record_run(&self, run: &SyncRun, state: Option<&RegistryState>) -> StoreResult<i64> {
        thv_store::check::run(run, state, "record_run")?;
        self.refuse_other_registry(&run.registry, "record_run")?;
        self.write(Write::Run(run, state)).await
    }

    async fn runs(&self, registry: &str, limit: u32) -> StoreResult<Vec<SyncRun>> {
        if registry != self.registry {
            return Ok(Vec::new());
        }
        let Some(loaded) = self.load().await? else {
            return Ok(Vec::new());
        };
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(loaded.history.runs.iter().take(limit).cloned().collect())
    }

    async fn changes(&self, registry: &str, run_id: i64) -> StoreResult<Vec<Change>> {
        if registry != self.registry {
            return Ok(Vec::new());
        }
        let Some(loaded) = self.load().await? else {
            return Ok(Vec::new());
        };
        Ok(loaded.history.changes.get(&run_id).cloned().unwrap_or_default())
    }

    async fn imported(&self, registry: &str) -> StoreResult<Vec<ImportedEntry>> {
        if registry != self.registry {
            return Ok(Vec::new());
        }
        match self.load().await? {
            Some(loaded) => layout::decode_imported(loaded.imported_bytes.as_ref(), &self.what()),
            None => Ok(Vec::new()),
        }
    }

    async fn commit_import(&self, commit: &SyncCommit, layer: &[ImportedEntry]) -> StoreResult<i64> {
        thv_store::check::commit(commit)?;
        thv_store::check::layer(layer)?;
        self.refuse_other_registry(&commit.run.registry, "commit_import")?;
        self.write(Write::Import(commit, layer)).await
    }

    async fn remove_registry(&self, registry: &str) -> StoreResult<()> {
        if registry != self.registry {
            return Ok(());
        }
        let Some(Live { api, .. }) = &self.live else {
            return Err(StoreError::Query {
                operation: "remove_registry",
                message: format!("{} is followed read-only here; only the operator deletes it", self.what()),
            });
        };
        let _one_writer_here = self.writer.lock().await;
        match call(api.delete(&self.name, &DeleteParams::default())).await {
            Ok(_) => {}
            Err(CallError::Api(e)) if kube_error::status(&e).is_some_and(|s| s.is_not_found()) => {}
            Err(e) => return Err(self.query_error("delete the storage ConfigMap", e)),
        }
        self.set_cached(None);
        Ok(())
    }

    // --- Coordination: one writer per storage ConfigMap ---------------------------------------------------
    // The operator is the only writer of a registry's storage ConfigMap (its writes are conditional on the
    // `resourceVersion`, see the module docs), so the sync lease is always its own and fences nothing more;
    // manual syncs go to the operator, never through sync requests; API pods follow the object by a watch.

    async fn commit_sync_leased(&self, commit: &SyncCommit, _holder: &str) -> StoreResult<i64> {
        self.commit_sync(commit).await
    }

    async fn record_run_leased(&self, run: &SyncRun, state: Option<&RegistryState>, _holder: &str) -> StoreResult<i64> {
        self.record_run(run, state).await
    }

    async fn acquire_lease(&self, registry: &str, holder: &str, ttl: Duration) -> StoreResult<Lease> {
        let expires_in_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        Ok(Lease { registry: registry.to_owned(), holder: holder.to_owned(), expires_in_ms })
    }

    async fn release_lease(&self, _registry: &str, _holder: &str) -> StoreResult<()> {
        Ok(())
    }

    /// The id of the newest committing run still in the history (0 when none is: a version that goes
    /// back to 0 only costs one reload of an unchanged catalog).
    async fn catalog_versions(&self) -> StoreResult<Vec<(String, i64)>> {
        let Some(loaded) = self.load().await? else {
            return Ok(Vec::new());
        };
        let committed = loaded.history.runs.iter().find(|run| run.outcome == SyncOutcome::Success);
        Ok(vec![(self.registry.clone(), committed.map_or(0, |run| run.id))])
    }

    async fn request_sync(&self, _registry: &str, _requested_by: &str) -> StoreResult<i64> {
        Err(StoreError::Query {
            operation: "request_sync",
            message: format!("{} takes no sync requests; the operator syncs the registry", self.what()),
        })
    }
}
