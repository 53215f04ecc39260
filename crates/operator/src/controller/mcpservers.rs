//! The MCPServer controller: keeps the MCPServers associated with a registry entry (labels
//! `toolhive.stacklok.io/registry-name`, `registry-namespace`, `server-name`) labelled with the entry's tier
//! and category, and applies the registry's `syncPolicy.onUpdate` when the entry changes
//! ([`crate::mcpserver::plan::step`]).
//!
//! ToolHive's CRD may be absent: the kind is looked up through discovery at start and every
//! [`REDISCOVERY`] after; until it is found the controller does nothing and says so once in the log.
//!
//! | watch | of | triggers |
//! |---|---|---|
//! | MCPServers labelled `toolhive.stacklok.io/registry-name` (full objects) | labels, spec | that server |
//! | MCPRegistries | `status.lastSyncHash`, `spec.syncPolicy.onUpdate` | the servers associated with it |

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, future};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions};
use kube::discovery::ApiResource;
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::events::{Event, EventType};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher::{self, watcher};
use kube::runtime::{WatchStreamExt, predicates};
use kube::{Resource, ResourceExt};
use serde_json::Value;
use tracing::{debug, info, warn};

use super::run::scoped;
use super::{Context, Error};
use crate::McpRegistry;
use crate::mcpserver::managed::{self, Desired};
use crate::mcpserver::plan::{self, Association, Kept, ManagedField, Step};
use crate::mcpserver::{
    CATEGORY_LABEL, ENTRY_DIGEST_ANNOTATION, FIELD_MANAGER, GROUP, KIND, REGISTRY_NAME_LABEL, ServerReason, TIER_LABEL,
    cluster,
};

/// How often the operator looks again for ToolHive's CRD while it is not installed.
pub const REDISCOVERY: Duration = Duration::from_secs(60);
/// How long the controller may take to finish after a shutdown.
pub const STOP_GRACE: Duration = Duration::from_secs(10);
/// The field manager of what a recreate carries over from the deleted object (labels, annotations and spec
/// fields the entry does not manage): a create has one manager, so the old owners cannot be restored.
pub const RECREATE_FIELD_MANAGER: &str = "thv-registry-recreate";
/// How long a recreate waits for the old object to be gone (its finalizers run) before giving up.
pub const RECREATE_WAIT: Duration = Duration::from_secs(120);

struct ServerContext {
    ctx: Arc<Context>,
    resource: ApiResource,
}

/// Runs the MCPServer controller until `shutdown` resolves.
pub async fn run(ctx: Arc<Context>, shutdown: impl future::Future<Output = ()> + Clone + Send + Sync + 'static) {
    let Some(resource) = discover_until_found(&ctx, shutdown.clone()).await else { return };
    info!(
        group = GROUP,
        version = resource.version,
        "MCPServer found: managing the servers associated with registries"
    );
    let client = ctx.client.clone();
    let ns = ctx.settings.namespace.clone();
    let servers: Api<DynamicObject> = match ns.as_deref() {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    let controller =
        Controller::new_with(servers, watcher::Config::default().labels(REGISTRY_NAME_LABEL), resource.clone());
    let store = controller.store();
    let registries = watcher(scoped::<McpRegistry>(&client, ns.as_deref()), watcher::Config::default())
        .default_backoff()
        .applied_objects()
        .predicate_filter(entry_inputs, Default::default());
    let mapped = resource.clone();
    let concurrency = ctx.settings.concurrency;
    let stop = shutdown.clone();
    let controller = controller
        .watches_stream(registries, move |registry| associated(&store, &mapped, &registry))
        .with_config(controller::Config::default().concurrency(concurrency))
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, Arc::new(ServerContext { ctx, resource }))
        .for_each(|result| {
            match result {
                Ok((object, _)) => debug!(mcpserver = %object, "reconciled"),
                Err(controller::Error::ReconcilerFailed(..)) => {}
                Err(e) => warn!("MCPServer controller: {e}"),
            }
            future::ready(())
        });
    // kube's controller holds its graceful shutdown until its watch first listed (never, when RBAC refuses
    // the list): after a shutdown it gets STOP_GRACE to finish its reconciles, then is dropped.
    let deadline = async move {
        stop.await;
        tokio::time::sleep(STOP_GRACE).await;
        warn!("stopping the MCPServer controller with reconciles still running");
    };
    future::select(std::pin::pin!(controller), std::pin::pin!(deadline)).await;
}

/// Discovers the MCPServer kind, again every [`REDISCOVERY`] while it is absent (said once in the log).
async fn discover_until_found(
    ctx: &Context,
    shutdown: impl future::Future<Output = ()> + Clone,
) -> Option<ApiResource> {
    let mut said = false;
    loop {
        match cluster::discover(&ctx.client).await {
            Ok(Some(resource)) => return Some(resource),
            Ok(None) if !said => {
                info!(
                    group = GROUP,
                    kind = KIND,
                    "ToolHive's MCPServer CRD is not installed: no MCPServer is labelled or updated (looking again every {}s)",
                    REDISCOVERY.as_secs()
                );
                said = true;
            }
            Ok(None) => {}
            Err(e) => warn!(group = GROUP, "cannot discover the MCPServer kind: {e}"),
        }
        if tokio::time::timeout(REDISCOVERY, shutdown.clone()).await.is_ok() {
            return None;
        }
    }
}

/// What of a registry its servers depend on: the stored catalog's revision and `onUpdate`.
fn entry_inputs(registry: &McpRegistry) -> Option<u64> {
    let mut hasher = DefaultHasher::new();
    registry.status.as_ref().and_then(|s| s.last_sync_hash.as_deref()).hash(&mut hasher);
    format!("{:?}", registry.spec.sync_policy.on_update).hash(&mut hasher);
    predicates::generation(registry).hash(&mut hasher);
    Some(hasher.finish())
}

/// The servers whose labels name `registry`.
fn associated(
    store: &Store<DynamicObject>,
    resource: &ApiResource,
    registry: &McpRegistry,
) -> Vec<ObjectRef<DynamicObject>> {
    let (Some(name), Some(namespace)) = (registry.meta().name.as_deref(), registry.meta().namespace.as_deref()) else {
        return Vec::new();
    };
    store
        .state()
        .iter()
        .filter(|server| {
            let own = server.namespace().unwrap_or_default();
            Association::of(server.labels(), &own)
                .is_ok_and(|a| a.registry == name && a.registry_namespace == namespace)
        })
        .map(|server| ObjectRef::from_obj_with(server.as_ref(), resource.clone()))
        .collect()
}

fn error_policy(server: Arc<DynamicObject>, error: &Error, _: Arc<ServerContext>) -> Action {
    warn!(
        namespace = server.namespace().unwrap_or_default(),
        mcpserver = server.name_any(),
        "reconcile failed: {error}"
    );
    Action::requeue(Duration::from_secs(30))
}

async fn reconcile(server: Arc<DynamicObject>, sctx: Arc<ServerContext>) -> Result<Action, Error> {
    One { server: &server, ctx: &sctx.ctx, resource: &sctx.resource }.run().await
}

/// One reconcile of one MCPServer.
struct One<'a> {
    server: &'a DynamicObject,
    ctx: &'a Context,
    resource: &'a ApiResource,
}

impl One<'_> {
    async fn run(&self) -> Result<Action, Error> {
        if self.server.metadata.deletion_timestamp.is_some() {
            return Ok(Action::await_change());
        }
        let namespace = self.server.namespace().ok_or(Error::Incomplete("metadata.namespace"))?;
        let association = match Association::of(self.server.labels(), &namespace) {
            Ok(association) => association,
            Err(label) => {
                let note = format!("label {label} is missing: the server is not associated with an entry");
                self.publish(None, ServerReason::ServerEntryNotFound, note).await;
                return Ok(Action::await_change());
            }
        };
        let registries: Api<McpRegistry> = Api::namespaced(self.ctx.client.clone(), &association.registry_namespace);
        let registry = registries.get_opt(&association.registry).await.map_err(Error::kube(format!(
            "get MCPRegistry {}/{}",
            association.registry_namespace, association.registry
        )))?;
        let Some(registry) = registry else {
            let note = format!(
                "MCPRegistry {}/{} does not exist (label {REGISTRY_NAME_LABEL})",
                association.registry_namespace, association.registry
            );
            self.publish(None, ServerReason::ServerEntryNotFound, note).await;
            return Ok(Action::await_change());
        };
        let store = self.ctx.backend.store(&registry).await?;
        let registry_name = registry.name_any();
        if store.registry_state(&registry_name).await?.is_none() {
            // Nothing synced yet: the registry's first sync wakes this server.
            return Ok(Action::await_change());
        }
        let catalog = store.catalog(&registry_name).await?;
        let label = format!("{}/{registry_name}", association.registry_namespace);
        let desired = match managed::find_entry(&label, &catalog, &association.server) {
            Ok(desired) => desired,
            Err(e) => {
                self.publish(Some(&registry), ServerReason::ServerEntryNotFound, e.to_string()).await;
                return Ok(Action::await_change());
            }
        };
        let live = serde_json::to_value(self.server).unwrap_or_default();
        let step = plan::step(registry.spec.sync_policy.on_update, &live, &desired);
        match step {
            Step::Nothing => {}
            Step::Label { record_digest } => {
                // The fields the operator applied before stay as they are: only labels (and a baseline) change.
                let recorded = live.pointer("/metadata/annotations").and_then(|a| a.get(ENTRY_DIGEST_ANNOTATION));
                let digest = if record_digest {
                    Some(desired.digest())
                } else {
                    recorded.and_then(Value::as_str).map(str::to_owned)
                };
                if self.apply(&registry, &association, &desired, plan::owned_spec(&live), digest.as_deref()).await? {
                    let note = format!("{}; entry {} of MCPRegistry {label}", labels_note(&desired), desired.server);
                    if self.labels_change(&desired) {
                        self.publish(Some(&registry), ServerReason::ServerLabeled, note).await;
                    }
                }
            }
            Step::Apply => {
                let kept = plan::kept_fields(&live, &desired);
                let fields: Vec<ManagedField> = kept.iter().map(|k| k.field.clone()).collect();
                let digest = desired.digest();
                if self.apply(&registry, &association, &desired, desired.spec_json(&fields), Some(&digest)).await? {
                    let note = format!(
                        "applied entry {} of MCPRegistry {label}: {}; {}",
                        desired.server,
                        applied_note(&desired, &fields),
                        labels_note(&desired)
                    );
                    self.publish(Some(&registry), ServerReason::ServerUpdated, note).await;
                    if !kept.is_empty() {
                        self.publish(
                            Some(&registry),
                            ServerReason::ServerFieldsKept,
                            kept_note(&kept, &live, &desired),
                        )
                        .await;
                    }
                }
            }
            Step::Recreate => return self.recreate(&registry, &association, &label, &live, &desired).await,
        }
        Ok(Action::await_change())
    }

    /// Whether the tier and category labels of `desired` differ from the server's.
    fn labels_change(&self, desired: &Desired) -> bool {
        let labels = self.server.labels();
        [(TIER_LABEL, &desired.tier), (CATEGORY_LABEL, &desired.category)]
            .into_iter()
            .any(|(key, value)| labels.get(key) != value.as_ref())
    }

    /// Applies a body; `false` (with a Warning Event) when the API server refused it with a conflict.
    async fn apply(
        &self,
        registry: &McpRegistry,
        association: &Association,
        desired: &Desired,
        spec: Value,
        digest: Option<&str>,
    ) -> Result<bool, Error> {
        let namespace = self.server.namespace().unwrap_or_default();
        let name = self.server.name_any();
        let body =
            managed::apply_body(&self.resource.api_version, &namespace, &name, association, desired, spec, digest);
        let api = cluster::api(&self.ctx.client, self.resource, &namespace);
        match cluster::apply(&api, &name, FIELD_MANAGER, &body).await {
            Ok(_) => Ok(true),
            Err(e @ kube::Error::Api(_)) if matches!(&e, kube::Error::Api(s) if s.code == 409) => {
                let note = format!("not forced: {}", cluster::api_message(&e));
                self.publish(Some(registry), ServerReason::ServerConflict, note).await;
                Ok(false)
            }
            Err(e) => Err(Error::kube(format!("apply MCPServer {namespace}/{name}"))(e)),
        }
    }

    /// Deletes the server and, once the old object is gone, creates it again from the entry as `deploy`
    /// does (under [`FIELD_MANAGER`]), then applies what is carried over ([`managed::carried_over`]) under
    /// [`RECREATE_FIELD_MANAGER`].
    async fn recreate(
        &self,
        registry: &McpRegistry,
        association: &Association,
        label: &str,
        live: &Value,
        desired: &Desired,
    ) -> Result<Action, Error> {
        let namespace = self.server.namespace().unwrap_or_default();
        let name = self.server.name_any();
        let api = cluster::api(&self.ctx.client, self.resource, &namespace);
        let preconditions = Preconditions { uid: self.server.uid(), resource_version: None };
        let params = DeleteParams { preconditions: Some(preconditions), ..DeleteParams::background() };
        match api.delete(&name, &params).await {
            Ok(_) => {}
            // Gone or replaced meanwhile: the watch brings what is there now.
            Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => {
                return Ok(Action::await_change());
            }
            Err(e) => return Err(Error::kube(format!("delete MCPServer {namespace}/{name}"))(e)),
        }
        let deadline = tokio::time::Instant::now() + RECREATE_WAIT;
        while api.get_opt(&name).await.map_err(Error::kube(format!("get MCPServer {namespace}/{name}")))?.is_some() {
            if tokio::time::Instant::now() >= deadline {
                let note = format!(
                    "deleted for a changed entry, but still present after {}s (a finalizer?); not created again",
                    RECREATE_WAIT.as_secs()
                );
                self.publish(Some(registry), ServerReason::ServerConflict, note).await;
                return Ok(Action::await_change());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let created = cluster::deploy(&self.ctx.client, self.resource, &namespace, &name, association, desired, &[])
            .await
            .map_err(Error::kube(format!("create MCPServer {namespace}/{name}")))?;
        let created = match managed::carried_over(live, &self.resource.api_version, desired) {
            Some(rest) => api
                .patch(&name, &PatchParams::apply(RECREATE_FIELD_MANAGER).force(), &Patch::Apply(&rest))
                .await
                .map_err(Error::kube(format!("apply MCPServer {namespace}/{name}")))?,
            None => created,
        };
        let note = format!(
            "recreated from entry {} of MCPRegistry {label}: image {}, transport {}; {}",
            desired.server,
            desired.spec.image,
            desired.spec.transport,
            labels_note(desired)
        );
        self.publish_about(&created, Some(registry), ServerReason::ServerRecreated, note).await;
        Ok(Action::await_change())
    }

    async fn publish(&self, registry: Option<&McpRegistry>, reason: ServerReason, note: String) {
        self.publish_about(self.server, registry, reason, note).await;
    }

    /// An Event on the MCPServer and, when given, on its MCPRegistry (naming the server).
    async fn publish_about(
        &self,
        server: &DynamicObject,
        registry: Option<&McpRegistry>,
        reason: ServerReason,
        note: String,
    ) {
        let event = |note: String| Event {
            type_: if reason.is_warning() { EventType::Warning } else { EventType::Normal },
            reason: reason.as_str().to_owned(),
            note: Some(super::events::bounded(note)),
            action: "Reconcile".to_owned(),
            secondary: None,
        };
        let namespace = server.namespace().unwrap_or_default();
        let name = server.name_any();
        if let Err(e) = self.ctx.recorder.publish(&event(note.clone()), &server.object_ref(self.resource)).await {
            warn!(namespace, mcpserver = name, reason = reason.as_str(), "cannot publish an Event: {e}");
        }
        if let Some(registry) = registry {
            let about = format!("MCPServer {namespace}/{name}: {note}");
            if let Err(e) = self.ctx.recorder.publish(&event(about), &registry.object_ref(&())).await {
                warn!(namespace, mcpserver = name, reason = reason.as_str(), "cannot publish an Event: {e}");
            }
        }
    }
}

/// The managed fields an apply set, with their values (`image ghcr.io/…, transport stdio, env FETCH_TIMEOUT`),
/// or that none was (all kept).
fn applied_note(desired: &Desired, kept: &[ManagedField]) -> String {
    let spec = &desired.spec;
    let mut parts = Vec::new();
    if !kept.contains(&ManagedField::Image) {
        parts.push(format!("image {}", spec.image));
    }
    if !kept.contains(&ManagedField::Transport) {
        parts.push(format!("transport {}", spec.transport));
    }
    if let Some(port) = spec.mcp_port.filter(|_| !kept.contains(&ManagedField::McpPort)) {
        parts.push(format!("mcpPort {port}"));
    }
    if !spec.args.is_empty() && !kept.contains(&ManagedField::Args) {
        parts.push(format!("{} args", spec.args.len()));
    }
    let env: Vec<&str> = spec
        .env
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| !kept.contains(&ManagedField::Env((*name).to_owned())))
        .collect();
    if !env.is_empty() {
        parts.push(format!("env {}", env.join(", ")));
    }
    if parts.is_empty() { "no managed field (all kept)".to_owned() } else { parts.join(", ") }
}

fn labels_note(desired: &Desired) -> String {
    format!(
        "tier {}, category {}",
        desired.tier.as_deref().unwrap_or("(none)"),
        desired.category.as_deref().unwrap_or("(none)")
    )
}

/// What was left alone: each field, who set it, its value and the entry's (environment values are not
/// shown: a person's value may be a secret).
fn kept_note(kept: &[Kept], live: &Value, desired: &Desired) -> String {
    let wanted = serde_json::json!({"spec": desired.spec_json(&[])});
    let shown = |field: &ManagedField, object: &Value| {
        let value = object.get("spec").and_then(|s| s.get(field.path().trim_start_matches("spec.")));
        value.map_or_else(|| "(unset)".to_owned(), Value::to_string)
    };
    let parts: Vec<String> = kept
        .iter()
        .map(|k| match &k.field {
            ManagedField::Env(_) => format!("{} is set by {}; the entry's default differs", k.field.path(), k.manager),
            field => format!(
                "{} is set by {} to {}; the entry has {}",
                field.path(),
                k.manager,
                shown(field, live),
                shown(field, &wanted)
            ),
        })
        .collect();
    format!("left alone (never forced): {}", parts.join("; "))
}
