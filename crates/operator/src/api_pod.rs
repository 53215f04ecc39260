//! The per-registry API pod (`thv operator api`): `crates/api`'s server in read-only replica mode over the
//! registry's storage. For `storage.type: configmap` it follows the storage ConfigMap through a watch of the
//! API (not a mounted volume, which the kubelet refreshes only every minute or so), as below. For
//! `storage.type: postgres` it opens the database whose URL the Deployment passes in `THV_DATABASE` (from the
//! Secret) and follows it as every replica on one database does (LISTEN/NOTIFY, with a poll), reading the
//! registry under its key `<namespace>/<name>` and serving it as `<name>`; `/readyz` is 503 until the
//! registry has been synced once.
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
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher::{self, Event};
use thv_api::{AppState, HttpOptions, ReloadHandle, ServerBuilder, ServerError};
use thv_store::{PostgresUrl, Store};
use thv_sync::RegistrySpec;
use tokio::net::TcpListener;

use crate::convert::{ConversionError, to_local};
use crate::postgres::NamespacedStore;
use crate::storage::ConfigMapStore;
use crate::{McpRegistry, StorageType, labels};

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
    /// The registry's storage is PostgreSQL but no URL was given.
    #[error(
        "MCPRegistry {namespace}/{name} stores its catalog in PostgreSQL: set THV_DATABASE (the operator's \
         Deployment sets it from storage.postgres.secretRef)"
    )]
    NoDatabase {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// The PostgreSQL database could not be opened (the message has no password).
    #[error(transparent)]
    Store(thv_store::StoreError),
    /// The server failed.
    #[error(transparent)]
    Server(#[from] ServerError),
}

/// What the API pod serves.
#[derive(Clone)]
pub struct ApiPod {
    /// Namespace of the MCPRegistry and its storage.
    pub namespace: String,
    /// Name of the MCPRegistry.
    pub registry: String,
    /// Request timeouts and limits.
    pub http: HttpOptions,
    /// The PostgreSQL URL of a `storage.type: postgres` registry (from the Secret, through the environment).
    pub database: Option<PostgresUrl>,
}

impl std::fmt::Debug for ApiPod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiPod")
            .field("namespace", &self.namespace)
            .field("registry", &self.registry)
            .field("database", &self.database.as_ref().map(ToString::to_string))
            .finish_non_exhaustive()
    }
}

/// How often a PostgreSQL API pod that has nothing to serve yet checks whether the registry was synced.
const FIRST_SYNC_POLL: Duration = Duration::from_secs(1);

impl ApiPod {
    /// The API of `registry` in `namespace`, with the default HTTP options.
    pub fn new(namespace: impl Into<String>, registry: impl Into<String>) -> Self {
        Self { namespace: namespace.into(), registry: registry.into(), http: HttpOptions::default(), database: None }
    }

    /// Reads the MCPRegistry, then serves `listener` (following the storage) until `shutdown` resolves.
    pub async fn run(
        self,
        client: kube::Client,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ApiPodError> {
        let (spec, storage) = self.registry_spec(&client).await?;
        match storage {
            StorageType::Configmap => self.run_on_config_map(client, spec, listener, shutdown).await,
            StorageType::Postgres => self.run_on_postgres(spec, listener, shutdown).await,
        }
    }

    async fn run_on_config_map(
        self,
        client: kube::Client,
        spec: RegistrySpec,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ApiPodError> {
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

    /// A read-only replica on the shared database (LISTEN/NOTIFY and a poll, no scheduler): any number of
    /// pods can serve one registry. Ready once the registry has state in the database (the operator synced
    /// it at least once).
    async fn run_on_postgres(
        self,
        spec: RegistrySpec,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ApiPodError> {
        let url = self.database.clone().ok_or_else(|| ApiPodError::NoDatabase {
            namespace: self.namespace.clone(),
            name: self.registry.clone(),
        })?;
        let shared = crate::postgres::open(url).await.map_err(ApiPodError::Store)?;
        let store: Arc<dyn Store> = Arc::new(NamespacedStore::new(shared, &self.namespace));
        let server = ServerBuilder::new(Arc::clone(&store), vec![spec]).http_options(self.http).start().await?;
        server.state().set_ready(false);
        let ready = tokio::spawn(ready_once_synced(
            store,
            self.registry.clone(),
            server.reload_handle(),
            server.state().clone(),
        ));
        let served = server.run(listener, shutdown).await;
        ready.abort();
        Ok(served?)
    }

    async fn registry_spec(&self, client: &kube::Client) -> Result<(RegistrySpec, StorageType), ApiPodError> {
        let api: Api<McpRegistry> = Api::namespaced(client.clone(), &self.namespace);
        let registry = api.get(&self.registry).await.map_err(|e| ApiPodError::Registry {
            namespace: self.namespace.clone(),
            name: self.registry.clone(),
            message: crate::kube_error::describe(&e),
        })?;
        let (spec, cluster) = to_local(&self.registry, &registry.spec).map_err(|error| ApiPodError::Spec {
            namespace: self.namespace.clone(),
            name: self.registry.clone(),
            error,
        })?;
        Ok((spec.redacted(), cluster.storage.type_))
    }
}

/// Marks the server ready once `registry` has state in `store`, reloading first so that its catalog is served.
async fn ready_once_synced(store: Arc<dyn Store>, registry: String, reload: ReloadHandle, state: AppState) {
    let mut logged = false;
    loop {
        match store.registry_state(&registry).await {
            Ok(Some(_)) => match reload.reload().await {
                Ok(()) => {
                    tracing::info!(registry = %registry, "serving the stored catalog");
                    state.set_ready(true);
                    return;
                }
                Err(error) => {
                    tracing::error!(registry = %registry, error = %error, "loading the stored catalog failed")
                }
            },
            Ok(None) if !logged => {
                tracing::info!(registry = %registry, "the registry has not been synced yet; not ready");
                logged = true;
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(registry = %registry, error = %error, "cannot read the registry's state"),
        }
        tokio::time::sleep(FIRST_SYNC_POLL).await;
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
