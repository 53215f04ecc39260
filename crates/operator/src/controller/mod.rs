//! The MCPRegistry controller (`thv operator run`): a kube-runtime `Controller` over MCPRegistries that syncs
//! each one through the engine's pipeline (`thv_sync::sync_registry`) into its storage, runs its API
//! Deployment and Service, and reports status, Events and metrics.
//!
//! - [`reconcile`]: the ordered steps of one reconcile (suspend → trigger → spec → sync when due → API
//!   workload → status and Events); no sync logic of its own.
//! - [`schedule`], [`status`], [`events`], [`workload`]: the pure decisions — when to sync, the status, the
//!   Events, the rendered Deployment and Service — unit-tested without any API server.
//! - [`inputs`]: the ConfigMaps and Secrets registries read, as the watches see them.
//! - [`run()`]: the watches and the `Controller`, with bounded concurrency and graceful shutdown.
//! - [`mcpservers`]: the MCPServers associated with registry entries (labels, `syncPolicy.onUpdate`).
//! - [`admin`] (`/metrics`, `/healthz`, `/readyz`), [`leader`] (a Lease: only the leader reconciles),
//!   [`metrics`].
//!
//! No finalizer: everything the operator creates for a registry (storage ConfigMap, API Deployment and
//! Service) carries an owner reference to it, so Kubernetes' garbage collector deletes it with the registry,
//! and nothing outside the cluster needs cleaning up.

pub mod admin;
mod backend;
pub mod events;
pub mod inputs;
pub mod jobs;
pub mod leader;
pub mod mcpservers;
pub mod metrics;
mod process;
pub mod reconcile;
mod run;
pub mod schedule;
pub mod status;
pub mod workload;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use kube::Client;
use kube::runtime::events::Recorder;
use kube::runtime::reflector::ObjectRef;
use thv_sources::{Source, SourceError};
use thv_store::Store;
use thv_sync::RegistrySpec;

pub use self::backend::ClusterBackend;
use self::inputs::InputVersions;
use self::metrics::Metrics;
pub use self::process::{OperatorError, OperatorOptions, run_operator};
pub use self::run::{Readiness, run};
use self::workload::ApiPodTemplate;
use crate::McpRegistry;

/// The field manager of every server-side apply the operator sends.
pub const FIELD_MANAGER: &str = "thv-operator";

/// The Events' reporting controller.
pub const REPORTER: &str = "thv-operator";

/// Where a registry's catalog is stored and fetched from: the storage (ConfigMap or PostgreSQL) and the
/// sources. One implementation serves the cluster; the seam keeps the reconciler ignorant of how each is
/// built.
#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    /// The store of `registry`'s catalog and sync state, as its `spec.storage` names it. A storage that
    /// cannot be used (a missing Secret, an unreachable database) is [`Error::Storage`].
    async fn store(&self, registry: &McpRegistry) -> Result<Arc<dyn Store>, Error>;

    /// The source `spec` names, for `registry` (credentials from its namespace, read at each fetch).
    fn source(&self, registry: &McpRegistry, spec: &RegistrySpec) -> Result<Box<dyn Source>, SourceError>;

    /// The `resourceVersion` of the PostgreSQL storage Secret of the registry `uid` as [`Backend::store`]
    /// last read it (`None` when it has not, or the registry is not stored in PostgreSQL).
    fn storage_secret_version(&self, uid: &str) -> Option<String> {
        let _ = uid;
        None
    }

    /// The registry of uid `uid` was deleted: drop what was kept for it.
    fn forget(&self, uid: &str) {
        let _ = uid;
    }
}

/// How the controller runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Watch this namespace only (`None`: all namespaces).
    pub namespace: Option<String>,
    /// Reconciles at once.
    pub concurrency: u16,
    /// How the API pods are started.
    pub api: ApiPodTemplate,
    /// The Events' reporting instance (the pod name).
    pub instance: Option<String>,
    /// How the job controllers space the retries of failed attempts.
    pub job_backoff: crate::jobs::lifecycle::Backoff,
}

/// What every reconcile shares.
pub struct Context {
    /// The client of the API server.
    pub client: Client,
    /// Storage and sources.
    pub backend: Arc<dyn Backend>,
    /// How the controller runs.
    pub settings: Settings,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The Events recorder (it folds repeats into series).
    pub recorder: Recorder,
    /// The versions of the ConfigMaps and Secrets registries read.
    pub inputs: Arc<InputVersions>,
    /// Consecutive reconcile errors per registry, for the error backoff.
    errors: Mutex<HashMap<ObjectRef<McpRegistry>, u32>>,
    /// The status this process last wrote, per registry uid: the controller's cache can lag behind its own
    /// writes, and only the operator writes the status, so this is the freshest copy.
    statuses: Mutex<HashMap<String, crate::McpRegistryStatus>>,
}

impl Context {
    /// A context for the controller.
    pub fn new(client: Client, backend: Arc<dyn Backend>, settings: Settings, metrics: Arc<Metrics>) -> Self {
        let reporter =
            kube::runtime::events::Reporter { controller: REPORTER.to_owned(), instance: settings.instance.clone() };
        let recorder = Recorder::new(client.clone(), reporter);
        Self {
            client,
            backend,
            settings,
            metrics,
            recorder,
            inputs: Arc::default(),
            errors: Mutex::default(),
            statuses: Mutex::default(),
        }
    }

    /// The status this process last wrote for the registry of `uid`, if any.
    pub(crate) fn written_status(&self, uid: &str) -> Option<crate::McpRegistryStatus> {
        self.statuses.lock().unwrap_or_else(PoisonError::into_inner).get(uid).cloned()
    }

    /// Remembers the status just written for the registry of `uid`.
    pub(crate) fn wrote_status(&self, uid: &str, status: &crate::McpRegistryStatus) {
        self.statuses.lock().unwrap_or_else(PoisonError::into_inner).insert(uid.to_owned(), status.clone());
    }

    /// Forgets what was kept for the deleted registry of `uid`.
    pub(crate) fn forget(&self, uid: &str) {
        self.statuses.lock().unwrap_or_else(PoisonError::into_inner).remove(uid);
        self.inputs.forget(uid);
        self.backend.forget(uid);
    }

    /// The delay before retrying a registry whose reconcile failed: 1 s, doubling, at most 5 minutes.
    pub(crate) fn error_backoff(&self, registry: ObjectRef<McpRegistry>) -> Duration {
        let mut errors = self.errors.lock().unwrap_or_else(PoisonError::into_inner);
        let count = errors.entry(registry).or_insert(0);
        *count = count.saturating_add(1);
        Duration::from_secs(1_u64 << (*count - 1).min(9)).min(Duration::from_secs(300))
    }

    /// Forgets the errors of a registry whose reconcile succeeded.
    pub(crate) fn reconciled(&self, registry: &ObjectRef<McpRegistry>) {
        self.errors.lock().unwrap_or_else(PoisonError::into_inner).remove(registry);
    }
}

/// A reconcile that could not finish; retried with backoff. Sync failures are not errors: they are outcomes
/// the status reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request to the API server failed.
    #[error("cannot {action}: {source}")]
    Kube {
        /// What was being done (`patch the status of team-a/platform`).
        action: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The object lacks something the API server always sets.
    #[error("the MCPRegistry has no {0}")]
    Incomplete(&'static str),
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] thv_store::StoreError),
    /// The registry's storage cannot be used (reported on its status, not retried as an error).
    #[error(transparent)]
    Storage(#[from] crate::postgres::StorageError),
}

impl Error {
    pub(crate) fn kube(action: impl Into<String>) -> impl FnOnce(kube::Error) -> Self {
        let action = action.into();
        move |source| Self::Kube { action, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoBackend;

    #[async_trait::async_trait]
    impl Backend for NoBackend {
        async fn store(&self, _: &McpRegistry) -> Result<Arc<dyn Store>, Error> {
            Err(Error::Incomplete("store"))
        }

        fn source(&self, _: &McpRegistry, _: &RegistrySpec) -> Result<Box<dyn Source>, SourceError> {
            Err(SourceError::Unsupported("test".into()))
        }
    }

    #[tokio::test]
    async fn reconcile_errors_back_off_per_registry_and_reset() {
        let settings = Settings {
            namespace: None,
            concurrency: 2,
            api: ApiPodTemplate { image: "thv".into() },
            instance: None,
            job_backoff: Default::default(),
        };
        let context =
            Context::new(thv_kube_fake::FakeApiServer::new().client(), Arc::new(NoBackend), settings, Arc::default());
        let a = ObjectRef::<McpRegistry>::new("a").within("ns");
        let b = ObjectRef::<McpRegistry>::new("b").within("ns");
        let delays: Vec<u64> = (0..11).map(|_| context.error_backoff(a.clone()).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(context.error_backoff(b.clone()).as_secs(), 1, "per registry");
        context.reconciled(&a);
        assert_eq!(context.error_backoff(a).as_secs(), 1, "reset after a success");
    }
}
