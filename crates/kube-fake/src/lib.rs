//! A stateful in-memory Kubernetes API server behind [`kube::Client`], for the operator's tests.
//!
//! [`FakeApiServer`] is a tower `Service`: [`FakeApiServer::client`] wraps it with `kube::Client::new`, so
//! `kube::Api`, kube-runtime's `watcher`, reflectors, `Controller`, `finalizer` and the event `Recorder`
//! run against it unchanged, for scenarios as long as a test needs. No network, no cluster, no scripted
//! request/response pairs: it keeps objects and answers what a real API server would, for the parts
//! listed below.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use k8s_openapi::api::core::v1::ConfigMap;
//! use kube::api::{Api, PostParams};
//! use std::time::Duration;
//! use thv_kube_fake::{FakeApiServer, Fault, Verb};
//!
//! let fake = FakeApiServer::new();
//! // fake.register_crd(&MyResource::crd());            // serve a custom resource
//! fake.inject(Fault::fail(503).on(Verb::Patch, "configmaps").times(1));
//! let api: Api<ConfigMap> = Api::default_namespaced(fake.client_as("operator"));
//! let mut cm = ConfigMap::default();
//! cm.metadata.name = Some("a".into());
//! api.create(&PostParams::default(), &cm).await?;
//! fake.wait_for::<ConfigMap>("default", "a", Duration::from_secs(5), |cm| cm.is_some()).await?;
//! for request in fake.requests() {
//!     println!("{} {} {}", request.client, request.verb, request.rbac_resource());
//! }
//! # Ok(()) }
//! ```
//!
//! For a separate process (the `thv` binary under test), [`FakeApiServer::listen_http`] serves the same
//! server over plain HTTP on `127.0.0.1` and writes a kubeconfig for it ([`HttpListener::kubeconfig`]); a
//! request's bearer token is its client name, so [`Fault::from_client`] with [`Fault::forbidden`] refuses
//! one user as RBAC would.
//!
//! # Faithful to the real API server
//!
//! - **Paths and scope**: `/api/v1/...` and `/apis/{group}/{version}/...`, namespaced
//!   (`/namespaces/{ns}/{plural}`) and cluster-scoped, all-namespace list and watch, the `status`
//!   subresource, and the discovery documents (`/version`, `/api`, `/apis`, `/api/v1`,
//!   `/apis/{group}/{version}`). Built in: ConfigMap, Secret, Service, ServiceAccount, Pod, Namespace,
//!   Event (core `v1` and `events.k8s.io/v1`), Deployment, Lease, CustomResourceDefinition. A CRD registers
//!   its served versions with [`FakeApiServer::register_crd`] or by creating it through the API.
//! - **Verbs** as RBAC names them ([`Verb`]): get, list, watch, create, update, patch, delete,
//!   deletecollection, with `dryRun=All`.
//! - **Objects**: `uid`, `creationTimestamp` and `resourceVersion` set by the server; one global
//!   `resourceVersion` counter; `generateName`; 409 `AlreadyExists`; 409 `Conflict` on a stale
//!   `resourceVersion` (replace, or a patch that carries one); custom resources need a `resourceVersion`
//!   to be replaced (built-in kinds accept unconditional replaces); a write that changes nothing stores
//!   nothing (no new `resourceVersion`, no watch event), so a controller patching the same status does not
//!   wake itself up.
//! - **Status and generation**: writes to `/status` change only `.status`; the main resource of a kind with
//!   a status subresource ignores `.status` (and create drops it); `metadata.generation` starts at 1 and
//!   grows when anything but `.metadata` and `.status` changes, for the kinds that have one (custom
//!   resources, Deployments, CRDs; not ConfigMaps or Secrets, which have none on a real cluster).
//! - **Namespaces**: creating in a missing namespace is 404 `namespaces "x" not found`; `default`,
//!   `kube-system`, `kube-public`, `kube-node-lease` exist; namespaces get the
//!   `kubernetes.io/metadata.name` label; deleting a namespace deletes what it holds.
//! - **Deletion**: with finalizers, delete sets `deletionTimestamp` and the object stays (no new
//!   finalizers may be added) until an update empties them; preconditions (`uid`, `resourceVersion`);
//!   background garbage collection: objects whose `ownerReferences` all point at deleted uids are deleted
//!   (recursively, honouring their own finalizers), dangling references of objects that keep another owner
//!   are removed; `propagationPolicy: Orphan` strips the references instead. Built-in kinds answer a
//!   `Status` of `Success`, custom resources the deleted object.
//! - **Lists**: label selectors (`=`, `==`, `!=`, `in`, `notin`, exists, `!`exists), field selectors
//!   `metadata.name` and `metadata.namespace` (others are 400 `field label not supported`), `limit` and
//!   `continue` paging, `PartialObjectMetadata` answers for metadata requests.
//! - **Watches**: line-delimited `{"type","object"}` events; from no or `0` `resourceVersion`, synthetic
//!   `ADDED` for the current objects; from a version N, the retained history after N, then live changes;
//!   `410 Expired` as the first (`ERROR`) event when N is older than the history (see
//!   [`FakeApiServer::compact`] and [`Builder::history_limit`]), which kube's watcher answers by
//!   listing again; objects entering or leaving a label selector arrive as `ADDED` / `DELETED`;
//!   `BOOKMARK`s only with `allowWatchBookmarks`, every [`Builder::bookmark_interval`], at the current
//!   global `resourceVersion`; `sendInitialEvents` (streaming lists) ends its initial events with the
//!   `k8s.io/initial-events-end` bookmark; the stream ends after `timeoutSeconds`.
//! - **Patches**: JSON merge patch; JSON patch, all or nothing, with `test` operations, and the API
//!   server's rule that a `test` of `null` passes for an absent member (kube's finalizer helper relies on
//!   it); strategic merge patch for built-in kinds only (custom resources answer 415, as on a cluster).
//! - **Validation the operator depends on**: names are DNS subdomains (Namespaces RFC 1123 labels,
//!   Services DNS-1035 labels); label keys and values (63 characters); annotations at most 256 KiB;
//!   ConfigMap keys; ConfigMap `data` + `binaryData` (keys plus decoded values) over 1 MiB is 422
//!   `ConfigMap "x" is invalid: []: Too long: must have at most 1048576 bytes` (Secrets: `data: Too
//!   long…`); immutable ConfigMaps and Secrets; a stored object over 1.5 MiB is 413 `etcdserver: request
//!   is too large`; a request body over 3 MiB is 413 `Request entity too large: limit is 3145728`.
//! - **Errors** are `Status` objects with `code`, `reason`, `message` and `details` worded as the API
//!   server words them, so `kube::Error::Api` carries what a real cluster would.
//!
//! # Approximated
//!
//! - **Server-side apply**: the applied configuration is merged into the live object (keyed lists as
//!   below, other lists atomic); each manager's fields are the leaf paths it applied, kept in
//!   `metadata.managedFields` (`FieldsV1`). Re-applying without a field removes it when no other manager
//!   owns it; a non-forced apply that changes a field another manager owns (by apply or update) is a 409
//!   `Apply failed with N conflicts`; `force` takes the fields over. Without the types' schemas, which
//!   lists are maps is a fixed table (`conditions` by `type`; `containers`, `initContainers`, `volumes`,
//!   `env`, `imagePullSecrets` by `name`; `volumeMounts` by `mountPath`; `ports` by `containerPort` or
//!   `port`; `ownerReferences` by `uid`); set-typed lists, `x-kubernetes-map-type: atomic` structs,
//!   apply bodies in YAML (kube sends JSON) and the precise field set of non-apply updates (taken as
//!   the leaves whose value changed) differ from the real server.
//! - **Strategic merge patch**: a merge patch plus the same keyed-list table (with `$patch: delete` on
//!   list items) and `finalizers` merged as a set; other `$` directives (`$setElementOrder`,
//!   `$retainKeys`, `$deleteFromPrimitiveList`) are ignored.
//! - **Consistency of lists and watches**: lists always read the latest state (a `continue` token keeps
//!   the first page's `resourceVersion`, not its snapshot), `resourceVersion`/`resourceVersionMatch` on a
//!   list are ignored, and a watch from a future `resourceVersion` starts at the present.
//! - **Garbage collection** happens in the same step as the owner's removal (a cluster does it shortly
//!   after); foreground deletion is treated as background.
//! - **Versions**: all served versions of a kind share the objects; reading at another version only
//!   rewrites `apiVersion` (no conversion webhooks). Core `v1` and `events.k8s.io/v1` Events are
//!   separate collections.
//! - **A slow watcher** that falls more than the history limit behind gets `410 Expired` and its watch
//!   ends.
//!
//! # Not implemented
//!
//! Authentication and authorization (every request is allowed unless a [`Fault::forbidden`] refuses it; the
//! request log is what an RBAC test derives rules from), TLS, admission control and webhooks, defaulting, OpenAPI schema and CEL
//! (`x-kubernetes-validations`) validation of custom resources, the `scale` and other subresources,
//! `pods/log` / exec / attach / port-forward, protobuf, Table output, `resourceVersionMatch=Exact`, other
//! field selectors, and controllers that run in a cluster (no Deployment rollout, no Pods, no Endpoints,
//! no Lease expiry: a Deployment's `.status` changes only when a test writes it).

mod error;
mod fields;
mod http;
mod kinds;
mod log;
mod patch;
mod route;
mod selector;
mod server;
mod store;
mod validate;

pub use error::{ApiError, FieldCause};
pub use http::{ANONYMOUS, HttpListener};
pub use kinds::ResourceKind;
pub use log::{Fault, FaultEffect, RequestRecord};
pub use patch::PatchType;
pub use route::Verb;
pub use server::{Builder, FakeApiServer, FakeError, ResponseBody};
pub use validate::{MAX_DATA_BYTES, MAX_OBJECT_BYTES, MAX_REQUEST_BYTES};
