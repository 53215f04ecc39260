//! The per-registry API pod (`thv operator api`): `crates/api`'s server in read-only replica mode over the
//! registry's storage ConfigMap, which it follows through a watch of the API (not a mounted volume, which
//! the kubelet refreshes only every minute or so).
//!
//! - At start it reads the MCPRegistry once, for the registry's spec (what `/api/v1/registries` shows).
//! - A `kube::runtime::watcher` on the one storage ConfigMap (field selector `metadata.name`) hands each
//!   version to a [`ConfigMapStore::follower`], then reloads the server through its
//!   [`ReloadHandle`](thv_api::ReloadHandle): a new catalog is served a moment after the operator writes it.
//! - `/readyz` answers 200 once the storage ConfigMap has been read and served — with its catalog, or empty
//!   when the registry has state but no catalog yet (its first sync failed) — and 503 while the ConfigMap
//!   does not exist (the operator has not synced the registry yet), so the Service sends no traffic to a pod
//!   that has nothing to serve. A ConfigMap that cannot be decoded leaves the last good catalog served (and
//!   the pod as ready as it was: a pod that never served a good one stays unready).
//! - `/healthz` answers as soon as the process listens.
//!
//! It needs `get` on `mcpregistries` and `list`, `watch` on `configmaps` in its namespace, and never writes.

use std::future::Future;
use std::sync::Arc;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher::{self, Event};
use thv_api::{AppState, HttpOptions, ReloadHandle, ServerBuilder, ServerError};
use tokio::net::TcpListener;

use crate::convert::{ConversionError, to_local};
use crate::storage::ConfigMapStore;
use crate::{McpRegistry, labels};

/// Why the API pod cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum ApiPodError {
    /// The MCPRegistry could not be read.
    #[error("cannot read MCPRegistry {namespace}/{name}: {message}")]
    Registry {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// What happened.
        message: String,
    },
    /// The MCPRegistry's spec cannot be used (the operator reports the same on its status).
    #[error("MCPRegistry {namespace}/{name}: {error}")]
    Spec {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// What is wrong.
        #[source]
        error: ConversionError,
    },
    /// The server failed.
    #[error(transparent)]
    Server(#[from] ServerError),
}

/// What the API pod serves.
#[derive(Debug, Clone)]
pub struct ApiPod {
    /// Namespace of the MCPRegistry and its storage.
    pub namespace: String,
    /// Name of the MCPRegistry.
    pub registry: String,
    /// Request timeouts and limits.
    pub http: HttpOptions,
}

impl ApiPod {
    /// The API of `registry` in `namespace`, with the default HTTP options.
    pub fn new(namespace: impl Into<String>, registry: impl Into<String>) -> Self {
        Self { namespace: namespace.into(), registry: registry.into(), http: HttpOptions::default() }
    }

    /// Reads the MCPRegistry, then serves `listener` (following the storage) until `shutdown` resolves.
    pub async fn run(
        self,
        client: kube::Client,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ApiPodError> {
        let spec = self.registry_spec(&client).await?;
        let store = Arc::new(ConfigMapStore::follower(&self.namespace, &self.registry));
        let server = ServerBuilder::new(Arc::clone(&store) as Arc<dyn thv_store::Store>, vec![spec])
            .http_options(self.http)
            .start()
            .await?;
        // Not ready until the storage has been read.
        server.state().set_ready(false);
        let follower = tokio::spawn(follow_storage(
            Api::namespaced(client, &self.namespace),
            store,
            server.reload_handle(),
            server.state().clone(),
        ));
        let served = server.run(listener, shutdown).await;
        follower.abort();
        Ok(served?)
    }

    async fn registry_spec(&self, client: &kube::Client) -> Result<thv_sync::RegistrySpec, ApiPodError> {
        let api: Api<McpRegistry> = Api::namespaced(client.clone(), &self.namespace);
        let registry = api.get(&self.registry).await.map_err(|e| ApiPodError::Registry {
            namespace: self.namespace.clone(),
            name: self.registry.clone(),
            message: crate::kube_error::describe(&e),
        })?;
        let (spec, _) = to_local(&self.registry, &registry.spec).map_err(|error| ApiPodError::Spec {
            namespace: self.namespace.clone(),
            name: self.registry.clone(),
            error,
        })?;
        Ok(spec.redacted())
    }
}

/// Follows the storage ConfigMap: every version the watch sees is given to `store` and served; readiness
/// follows whether the storage exists. Runs until aborted; watch errors are logged and the watch resumes
/// with backoff.
async fn follow_storage(api: Api<ConfigMap>, store: Arc<ConfigMapStore>, reload: ReloadHandle, state: AppState) {
    let name = labels::storage_config_map_name(store.registry());
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut events = watcher::watcher(api, config).default_backoff().boxed();
    // What the current (re)list has seen so far; applied when it is complete.
    let mut listed: Option<ConfigMap> = None;
    while let Some(event) = events.next().await {
        let seen = match event {
            Ok(Event::Init) => {
                listed = None;
                continue;
            }
            Ok(Event::InitApply(object)) => {
                listed = Some(object);
                continue;
            }
            Ok(Event::InitDone) => listed.take(),
            Ok(Event::Apply(object)) => Some(object),
            Ok(Event::Delete(_)) => None,
            Err(error) => {
                tracing::warn!(
                    config_map = %format!("{}/{name}", store.namespace()),
                    error = %error,
                    "watching the storage ConfigMap failed; retrying, still serving the last catalog"
                );
                continue;
            }
        };
        // Ready while what is served came from an existing storage; a failed load changes nothing.
        if serve(&store, seen, &reload).await {
            state.set_ready(store.exists());
        }
    }
}

/// Serves `object` as the storage (or its absence); whether the server now serves it.
async fn serve(store: &ConfigMapStore, object: Option<ConfigMap>, reload: &ReloadHandle) -> bool {
    let what = format!("{}/{}", store.namespace(), store.config_map_name());
    let version = object.as_ref().and_then(|o| o.metadata.resource_version.clone()).unwrap_or_default();
    if let Err(error) = store.observe(object) {
        tracing::error!(
            config_map = %what,
            resource_version = %version,
            error = %error,
            "the storage ConfigMap cannot be read; still serving the previous catalog"
        );
        return false;
    }
    match reload.reload().await {
        Ok(()) => {
            tracing::info!(
                config_map = %what,
                resource_version = %version,
                exists = store.exists(),
                "serving the stored catalog"
            );
            true
        }
        Err(error) => {
            tracing::error!(
                config_map = %what,
                resource_version = %version,
                error = %error,
                "loading the stored catalog failed; still serving the previous one"
            );
            false
        }
    }
}
