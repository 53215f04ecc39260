//! The aggregate API pod (`thv operator api --all-registries`): one `/v0.1` for every MCPRegistry of a
//! namespace (or, with `--all-namespaces`, of the cluster), the URL an IDE allowlist points at, next to the
//! per-registry `/registry/{name}/v0.1` paths. `crates/api`'s server in read-only mode over an
//! [`AggregateStore`] of the registries' storage ConfigMaps.
//!
//! - **Precedence** ([`precedence`]): `spec.priority`, highest first, ties by name; the first registry in
//!   that order with a server name serves all its versions in `/v0.1`.
//! - **Following**: two watches, one on the MCPRegistries, one on the storage ConfigMaps (label
//!   `app.kubernetes.io/component=registry-storage`). A registry added, removed or re-prioritized, or a
//!   catalog the operator writes, is served a moment later: every change rebuilds the member list, sets it
//!   on the server and reloads it.
//! - **Readiness**: `/readyz` is 503 until every registry present at start (once both watches listed) has
//!   had its storage read; registries that appear later, or are deleted before they were read, do not hold
//!   it back. Once ready it stays ready: one registry's storage going away is not a reason to stop
//!   serving the others.
//! - **Left out**, with a log line naming the registry and why: a spec the operator cannot use (it reports
//!   the same on the registry's status) and `storage.type: postgres` (the pod reads no Secrets; those
//!   registries are served by their own `<name>-api`).
//! - A storage ConfigMap that cannot be decoded leaves that registry's last good catalog served.
//!
//! It needs `list` and `watch` on `mcpregistries` and on `configmaps` (in its namespace, or cluster-wide),
//! and never writes.

mod precedence;
mod store;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher::{self, Event};
use kube::{Resource, ResourceExt as _};
use thv_api::{AppState, HttpOptions, ReloadHandle, ServerBuilder};
use thv_sync::RegistrySpec;
use tokio::net::TcpListener;

pub use self::precedence::{Scope, sort_by_precedence};
pub use self::store::AggregateStore;
use crate::api_pod::ApiPodError;
use crate::convert::to_local;
use crate::storage::ConfigMapStore;
use crate::{McpRegistry, StorageType, labels};

/// The label selector of the storage ConfigMaps the operator writes.
pub fn storage_selector() -> String {
    format!(
        "app.kubernetes.io/component={},app.kubernetes.io/managed-by={}",
        labels::COMPONENT_STORAGE,
        labels::MANAGED_BY
    )
}

/// What the aggregate API pod serves.
#[derive(Debug, Clone)]
pub struct AggregateApiPod {
    /// Which MCPRegistries.
    pub scope: Scope,
    /// Request timeouts and limits.
    pub http: HttpOptions,
}

impl AggregateApiPod {
    /// The aggregate of `scope`, with the default HTTP options.
    pub fn new(scope: Scope) -> Self {
        Self { scope, http: HttpOptions::default() }
    }

    /// Serves `listener`, following the registries and their storage, until `shutdown` resolves.
    pub async fn run(
        self,
        client: kube::Client,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ApiPodError> {
        let store = Arc::new(AggregateStore::default());
        let server = ServerBuilder::new(Arc::clone(&store) as Arc<dyn thv_store::Store>, Vec::new())
            .http_options(self.http)
            .start()
            .await?;
        server.state().set_ready(false);
        let follower = Follower::new(self.scope, store, server.reload_handle(), server.state().clone());
        let following = tokio::spawn(follower.run(client));
        let served = server.run(listener, shutdown).await;
        following.abort();
        Ok(served?)
    }
}

/// A registry by namespace and name.
type Key = (String, String);

/// One event of either watch (boxed: the objects are large).
enum Input {
    Registry(Box<Result<Event<McpRegistry>, watcher::Error>>),
    Storage(Box<Result<Event<ConfigMap>, watcher::Error>>),
}

/// One watched collection: what it holds now, and what its current (re)list has seen so far.
struct Watched<T> {
    current: BTreeMap<Key, T>,
    listing: Option<BTreeMap<Key, T>>,
    listed: bool,
}

impl<T: Resource + Clone> Watched<T> {
    fn new() -> Self {
        Self { current: BTreeMap::new(), listing: None, listed: false }
    }

    fn key(object: &T) -> Key {
        (object.meta().namespace.clone().unwrap_or_default(), object.meta().name.clone().unwrap_or_default())
    }

    /// Applies `event`; whether `current` may have changed.
    fn apply(&mut self, event: Event<T>) -> bool {
        match event {
            Event::Init => {
                self.listing = Some(BTreeMap::new());
                false
            }
            Event::InitApply(object) => {
                self.listing.get_or_insert_with(BTreeMap::new).insert(Self::key(&object), object);
                false
            }
            Event::InitDone => {
                self.current = self.listing.take().unwrap_or_default();
                self.listed = true;
                true
            }
            Event::Apply(object) => {
                self.current.insert(Self::key(&object), object);
                true
            }
            Event::Delete(object) => {
                self.current.remove(&Self::key(&object));
                true
            }
        }
    }
}

/// A registry's followed storage.
struct Followed {
    store: Arc<ConfigMapStore>,
    /// `resourceVersion` of the storage last given to the store (`None`: absent).
    seen: Option<String>,
}

/// Follows the registries and their storage and keeps the server's member list current.
struct Follower {
    scope: Scope,
    store: Arc<AggregateStore>,
    reload: ReloadHandle,
    state: AppState,
    registries: Watched<McpRegistry>,
    storage: Watched<ConfigMap>,
    followed: BTreeMap<Key, Followed>,
    /// Registries present at start whose storage has not been read yet; `None` until both watches listed.
    awaited: Option<BTreeSet<Key>>,
    /// Why each left-out registry is left out (logged when it changes).
    left_out: BTreeMap<Key, String>,
    /// The registry specs last served, in precedence order: a registry's status update (the operator
    /// writes one at every sync) changes none of them and rebuilds nothing.
    served: Option<Vec<RegistrySpec>>,
}

impl Follower {
    fn new(scope: Scope, store: Arc<AggregateStore>, reload: ReloadHandle, state: AppState) -> Self {
        Self {
            scope,
            store,
            reload,
            state,
            registries: Watched::new(),
            storage: Watched::new(),
            followed: BTreeMap::new(),
            awaited: None,
            left_out: BTreeMap::new(),
            served: None,
        }
    }

    /// Runs until aborted; watch errors are logged and the watches resume with backoff.
    async fn run(mut self, client: kube::Client) {
        let (registries, config_maps): (Api<McpRegistry>, Api<ConfigMap>) = match self.scope.namespace() {
            Some(namespace) => (Api::namespaced(client.clone(), namespace), Api::namespaced(client, namespace)),
            None => (Api::all(client.clone()), Api::all(client)),
        };
        let registry_events = watcher::watcher(registries, watcher::Config::default())
            .default_backoff()
            .map(|event| Input::Registry(Box::new(event)));
        let storage_config = watcher::Config::default().labels(&storage_selector());
        let storage_events = watcher::watcher(config_maps, storage_config)
            .default_backoff()
            .map(|event| Input::Storage(Box::new(event)));
        let mut events = futures::stream::select(registry_events.boxed(), storage_events.boxed());
        while let Some(input) = events.next().await {
            let changed = match input {
                Input::Registry(event) => match *event {
                    Ok(event) => self.registries.apply(event),
                    Err(error) => {
                        tracing::warn!(error = %error, "watching the MCPRegistries failed; retrying, still serving");
                        false
                    }
                },
                Input::Storage(event) => match *event {
                    Ok(event) => self.storage.apply(event),
                    Err(error) => {
                        tracing::warn!(error = %error, "watching the storage ConfigMaps failed; retrying, still serving");
                        false
                    }
                },
            };
            if changed && self.registries.listed && self.storage.listed {
                self.refresh().await;
            }
        }
    }

    /// Rebuilds the member list from what the watches hold, serves it, and updates readiness.
    async fn refresh(&mut self) {
        let mut members: Vec<(String, i32, RegistrySpec, Arc<ConfigMapStore>)> = Vec::new();
        let mut eligible = BTreeSet::new();
        let mut storage_changed = false;
        for (key, registry) in &self.registries.current {
            let (namespace, name) = key;
            let (spec, cluster) = match to_local(name, &registry.spec) {
                Ok(converted) => converted,
                Err(error) => {
                    Self::leave_out(&mut self.left_out, key, format!("its spec cannot be used: {error}"));
                    continue;
                }
            };
            if cluster.storage.type_ == StorageType::Postgres {
                let reason = format!(
                    "it stores its catalog in PostgreSQL, which the aggregate API does not read; its own API \
                     serves it ({})",
                    labels::api_endpoint(name, namespace)
                );
                Self::leave_out(&mut self.left_out, key, reason);
                continue;
            }
            if self.left_out.remove(key).is_some() {
                tracing::info!(namespace = %namespace, registry = %name, "serving the registry again");
            }
            eligible.insert(key.clone());
            let followed = self
                .followed
                .entry(key.clone())
                .or_insert_with(|| Followed { store: Arc::new(ConfigMapStore::follower(namespace, name)), seen: None });
            let object = self.storage.current.get(&(namespace.clone(), labels::storage_config_map_name(name)));
            storage_changed |= observe(followed, object);
            let served = self.scope.served_name(namespace, name);
            let spec = RegistrySpec { name: served.clone(), ..spec.redacted() };
            members.push((served, registry.spec.priority, spec, Arc::clone(&followed.store)));
        }
        self.followed.retain(|key, _| eligible.contains(key));
        self.left_out.retain(|key, _| self.registries.current.contains_key(key));
        sort_by_precedence(&mut members, |(served, priority, ..)| (served.as_str(), *priority));

        let specs: Vec<RegistrySpec> = members.iter().map(|(_, _, spec, _)| spec.clone()).collect();
        if storage_changed || self.served.as_ref() != Some(&specs) {
            self.store.set_members(members.into_iter().map(|(served, _, _, store)| (served, store)).collect());
            self.state.set_registries(specs.clone());
            self.serve(specs).await;
        }
        self.update_readiness(&eligible);
    }

    /// Reloads the server on the member list just set; logs the list when it changed.
    async fn serve(&mut self, specs: Vec<RegistrySpec>) {
        if let Err(error) = self.reload.reload().await {
            tracing::error!(error = %error, "loading the stored catalogs failed; still serving the previous ones");
            // Tried again at the next change.
            self.served = None;
            return;
        }
        let names = |specs: &[RegistrySpec]| specs.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
        if self.served.as_deref().map(names) != Some(names(&specs)) {
            tracing::info!(registries = %names(&specs).join(", "), "serving the registries, in precedence order");
        }
        self.served = Some(specs);
    }

    fn leave_out(left_out: &mut BTreeMap<Key, String>, key: &Key, reason: String) {
        if left_out.get(key) != Some(&reason) {
            tracing::warn!(namespace = %key.0, registry = %key.1, reason = %reason, "leaving the registry out of the aggregate");
            left_out.insert(key.clone(), reason);
        }
    }

    fn update_readiness(&mut self, eligible: &BTreeSet<Key>) {
        if self.state.is_ready() {
            return;
        }
        let awaited = self.awaited.get_or_insert_with(|| eligible.clone());
        awaited.retain(|key| eligible.contains(key) && !self.followed.get(key).is_some_and(|f| f.store.exists()));
        if awaited.is_empty() {
            tracing::info!("every registry present at start is served; ready");
            self.state.set_ready(true);
        }
    }
}

/// Gives `object` (the registry's storage ConfigMap, `None` when absent) to the followed store when it
/// changed since last time; whether it did. One that cannot be decoded is logged and the previous storage
/// kept.
fn observe(followed: &mut Followed, object: Option<&ConfigMap>) -> bool {
    let version = object.map(|o| o.resource_version().unwrap_or_default());
    if version == followed.seen {
        return false;
    }
    followed.seen.clone_from(&version);
    let what = format!("{}/{}", followed.store.namespace(), followed.store.config_map_name());
    if let Err(error) = followed.store.observe(object.cloned()) {
        tracing::error!(
            config_map = %what,
            resource_version = %version.unwrap_or_default(),
            error = %error,
            "the storage ConfigMap cannot be read; still serving the registry's previous catalog"
        );
        return false;
    }
    true
}
