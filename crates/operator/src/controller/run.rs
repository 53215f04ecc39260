//! The watches and the `Controller`.
//!
//! | watch | of | triggers |
//! |---|---|---|
//! | MCPRegistries (full objects, in a reflector) | spec and annotations | a new generation or annotation (not the operator's own status writes) |
//! | Deployments, Services labelled `app.kubernetes.io/managed-by=thv-operator` (metadata only) | owner | their owner registry (API rollouts, deletions) |
//! | ConfigMaps (metadata only) | referenced ones | the registries reading them; a deleted storage ConfigMap, its owner |
//! | Secrets (metadata only) | referenced ones | the registries reading them |
//!
//! The ConfigMap and Secret watches keep only the `resourceVersion` of the objects registries reference
//! ([`InputVersions`]), never their data; the operator's writes to its storage ConfigMaps trigger nothing.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use futures::{StreamExt, TryStreamExt, future};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{self, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, Event, watcher};
use kube::runtime::{Predicate, WatchStreamExt, predicates};
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tracing::{debug, warn};

use super::Context;
use super::inputs::{InputKind, InputRef, InputVersions, readers};
use super::reconcile::{error_policy, reconcile};
use crate::McpRegistry;
use crate::labels::MANAGED_BY;

/// Whether the controller's watches have listed everything once, and whether this replica leads (`/readyz`).
#[derive(Debug)]
pub struct Readiness {
    pending: Mutex<BTreeSet<&'static str>>,
    standby: std::sync::atomic::AtomicBool,
}

/// The watches [`run`] starts, as `/readyz` names them (the last three are the job controllers').
const WATCHES: [&str; 8] = [
    "mcpregistries",
    "deployments",
    "services",
    "configmaps",
    "secrets",
    "mcpregistrysyncjobs",
    "mcpregistryexportjobs",
    "mcpregistryimportjobs",
];

impl Default for Readiness {
    fn default() -> Self {
        Self { pending: Mutex::new(WATCHES.into_iter().collect()), standby: false.into() }
    }
}

impl Readiness {
    /// The watch of `resource` has listed everything once.
    pub fn synced(&self, resource: &str) {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner).remove(resource);
    }

    /// Whether this replica waits for the leader election (it reconciles nothing meanwhile).
    pub fn set_standby(&self, standby: bool) {
        self.standby.store(standby, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether this replica waits for the leader election.
    pub fn is_standby(&self) -> bool {
        self.standby.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The watches that have not listed everything yet (empty: ready).
    pub fn pending(&self) -> Vec<&'static str> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner).iter().copied().collect()
    }
}

/// `K` in `namespace`, or in all namespaces.
pub(crate) fn scoped<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Runs the controller, the job controllers ([`super::jobs::run`]) and the MCPServer controller
/// ([`super::mcpservers::run`]) until `shutdown` resolves, then lets the
/// reconciles in flight finish.
pub async fn run(
    ctx: Arc<Context>,
    readiness: Arc<Readiness>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let client = ctx.client.clone();
    let namespace = ctx.settings.namespace.clone();
    let ns = namespace.as_deref();
    let (reader, writer) = reflector::store::<McpRegistry>();

    let registries = {
        let readiness = Arc::clone(&readiness);
        let forget = Arc::clone(&ctx);
        let metrics = Arc::clone(&ctx.metrics);
        let reader = reader.clone();
        watcher(scoped::<McpRegistry>(&client, ns), watcher::Config::default())
            .default_backoff()
            .reflect(writer)
            .inspect_ok(move |event| {
                match event {
                    Event::InitDone => readiness.synced("mcpregistries"),
                    Event::Delete(registry) => {
                        if let Some(uid) = registry.uid() {
                            forget.forget(&uid);
                        }
                    }
                    _ => {}
                }
                metrics.set_registries(reader.len());
            })
            .applied_objects()
            .predicate_filter(predicates::generation.combine(predicates::annotations), Default::default())
    };
    let owned = watcher::Config::default().labels(&format!("app.kubernetes.io/managed-by={MANAGED_BY}"));
    let deployments = owned_stream::<Deployment>(&client, ns, owned.clone(), Arc::clone(&readiness), "deployments");
    let services = owned_stream::<Service>(&client, ns, owned, Arc::clone(&readiness), "services");
    let configmaps = input_stream::<ConfigMap>(
        &client,
        ns,
        InputKind::ConfigMap,
        Arc::clone(&ctx.inputs),
        reader.clone(),
        Arc::clone(&readiness),
        "configmaps",
    );
    let secrets = input_stream::<Secret>(
        &client,
        ns,
        InputKind::Secret,
        Arc::clone(&ctx.inputs),
        reader.clone(),
        Arc::clone(&readiness),
        "secrets",
    );
    let configmap_readers = reader.clone();
    let secret_readers = reader.clone();
    let concurrency = ctx.settings.concurrency;
    let shutdown = futures::FutureExt::shared(shutdown);
    let jobs = super::jobs::run(Arc::clone(&ctx), Arc::clone(&readiness), shutdown.clone());
    let mcpservers = super::mcpservers::run(Arc::clone(&ctx), shutdown.clone());
    let listed = reader.clone();
    let registries = Controller::for_stream(registries, reader)
        .owns_stream(deployments)
        .owns_stream(services)
        .watches_stream(configmaps, move |cm| triggered(&configmap_readers, InputKind::ConfigMap, &cm))
        .watches_stream(secrets, move |secret| triggered(&secret_readers, InputKind::Secret, &secret))
        .with_config(controller::Config::default().concurrency(concurrency))
        .graceful_shutdown_on(shutdown.clone())
        .run(reconcile, error_policy, ctx)
        .for_each(|result| {
            match result {
                Ok((object, action)) => debug!(registry = %object, ?action, "reconciled"),
                // Reconcile errors are logged by the error policy; these are the controller's own.
                Err(controller::Error::ReconcilerFailed(..)) => {}
                Err(e) => warn!("controller: {e}"),
            }
            future::ready(())
        });
    future::join3(unless_never_listed(registries, listed, shutdown), jobs, mcpservers).await;
}

/// Runs `controller` to its end, except that a shutdown while its watch has never listed (its CRD is not
/// installed) ends it at once: kube's controller holds its runner until the first list, so its graceful
/// shutdown would wait for ever, and nothing can be in flight.
pub(crate) async fn unless_never_listed<K>(
    controller: impl std::future::Future<Output = ()>,
    listed: kube::runtime::reflector::Store<K>,
    shutdown: impl std::future::Future<Output = ()>,
) where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    use futures::FutureExt as _;
    let controller = std::pin::pin!(controller);
    let shutdown = std::pin::pin!(shutdown);
    match futures::future::select(controller, shutdown).await {
        futures::future::Either::Left(((), _)) => {}
        futures::future::Either::Right(((), controller)) => {
            if listed.wait_until_ready().now_or_never().is_some() {
                controller.await;
            } else {
                warn!(
                    kind = K::kind(&()).as_ref(),
                    "stopping a controller whose watch never listed (is its CRD installed?)"
                );
            }
        }
    }
}

/// Metadata of the operator's own Deployments or Services, each triggering its owner.
fn owned_stream<K>(
    client: &Client,
    namespace: Option<&str>,
    config: watcher::Config,
    readiness: Arc<Readiness>,
    resource: &'static str,
) -> impl futures::Stream<Item = Result<PartialObjectMeta<K>, watcher::Error>> + Send + 'static
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    watcher(scoped::<PartialObjectMeta<K>>(client, namespace), config)
        .default_backoff()
        .inspect_ok(move |event| {
            if matches!(event, Event::InitDone) {
                readiness.synced(resource);
            }
        })
        .touched_objects()
}

/// Metadata of ConfigMaps or Secrets: records the versions of referenced ones and passes on the changes that
/// should trigger a registry (an edit or deletion of a referenced object, a deleted storage ConfigMap).
fn input_stream<K>(
    client: &Client,
    namespace: Option<&str>,
    kind: InputKind,
    inputs: Arc<InputVersions>,
    registries: Store<McpRegistry>,
    readiness: Arc<Readiness>,
    resource: &'static str,
) -> impl futures::Stream<Item = Result<PartialObjectMeta<K>, watcher::Error>> + Send + 'static
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    watcher(scoped::<PartialObjectMeta<K>>(client, namespace), watcher::Config::default())
        .default_backoff()
        .try_filter_map(move |event| {
            let pass = match event {
                Event::Init => None,
                Event::InitDone => {
                    readiness.synced(resource);
                    None
                }
                Event::Apply(object) | Event::InitApply(object) if is_storage(&object) => {
                    // The operator's own writes: nothing to do.
                    let _ = object;
                    None
                }
                Event::Apply(object) => {
                    let input = input_of(kind, &object);
                    let referenced = input.as_ref().is_some_and(|i| !readers(&registries, i).is_empty());
                    if let (Some(input), true) = (input, referenced) {
                        let _ = inputs.observe(input, object.resource_version());
                        Some(object)
                    } else {
                        None
                    }
                }
                Event::InitApply(object) => {
                    // A (re)list: a trigger only when a known version moved while the watch was down.
                    let input = input_of(kind, &object);
                    match input {
                        Some(input) if !readers(&registries, &input).is_empty() => {
                            let moved = inputs.observe(input, object.resource_version());
                            moved.then_some(object)
                        }
                        _ => None,
                    }
                }
                Event::Delete(object) => {
                    if let Some(input) = input_of(kind, &object) {
                        let _ = inputs.observe(input, None);
                    }
                    Some(object)
                }
            };
            future::ready(Ok(pass))
        })
}

fn input_of<K: Resource>(kind: InputKind, object: &K) -> Option<InputRef> {
    Some(InputRef { kind, namespace: object.meta().namespace.clone()?, name: object.meta().name.clone()? })
}

/// Whether the object is a storage ConfigMap the operator owns for a registry.
fn is_storage<K: Resource>(object: &K) -> bool {
    object
        .meta()
        .owner_references
        .as_deref()
        .unwrap_or_default()
        .iter()
        .any(|o| o.kind == McpRegistry::kind(&()) && o.api_version == McpRegistry::api_version(&()))
}

/// The registries an input change triggers: those reading it, and the owner of a storage ConfigMap.
fn triggered<K: Resource>(registries: &Store<McpRegistry>, kind: InputKind, object: &K) -> Vec<ObjectRef<McpRegistry>> {
    let mut triggered = input_of(kind, object).map(|input| readers(registries, &input)).unwrap_or_default();
    if let Some(namespace) = object.meta().namespace.as_deref() {
        for owner in object.meta().owner_references.as_deref().unwrap_or_default() {
            if owner.kind == McpRegistry::kind(&()) && owner.api_version == McpRegistry::api_version(&()) {
                triggered.push(ObjectRef::new(&owner.name).within(namespace));
            }
        }
    }
    triggered
}
