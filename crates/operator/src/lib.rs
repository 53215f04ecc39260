//! The `MCPRegistry` Kubernetes resource (`toolhive.stacklok.io/v1alpha1`).
//!
//! - [`McpRegistry`] and its spec and status types; their rustdoc is the CRD's field documentation.
//! - [`crds`] and [`crds_yaml`]: the CustomResourceDefinition generated from those types (committed under
//!   `deploy/crds/`, printed by `thv operator crds`).
//! - [`conditions`]: the closed set of condition types and reasons, and the pure functions that set them.
//! - [`convert`]: the one conversion between the resource's spec and a local registry (`registries.yaml` entry).
//! - [`migrate`]: a local catalog or registry as an MCPRegistry and the ConfigMap with its data
//!   (`thv registry migrate`).
//! - [`labels`]: the annotation, label and object names the operator and the manifests share.
//! - [`reference`]: the field reference of `docs/operator.md`, rendered from the CRD schema.
//! - [`storage`]: [`ConfigMapStore`], the catalog storage of one registry in its storage ConfigMap.
//! - [`postgres`]: `storage.type: postgres` (the Secret's URL, shared pools, `<namespace>/<name>` keys).
//! - [`api_pod`]: [`api_pod::ApiPod`], the per-registry API pod (`thv operator api`) following the storage.
//! - [`sources`]: [`sources::build`], a registry's source in the cluster (the ConfigMap source, Secret
//!   credentials).
//!
//! - [`jobs`]: the job resources (`MCPRegistrySyncJob`, `MCPRegistryExportJob`, `MCPRegistryImportJob`) and their shared lifecycle.
//! - [`controller`]: the controller of `thv operator run` (MCPRegistries and the jobs).

pub mod api_pod;
pub mod conditions;
pub mod controller;
pub mod convert;
mod crd;
pub mod document_config_map;
pub mod duration;
mod gzip;
pub mod jobs;
mod kube_error;
pub mod labels;
pub mod migrate;
mod policy;
pub mod postgres;
pub mod reference;
mod resource;
mod schema;
mod source;
pub mod sources;
mod status;
pub mod storage;

pub use crd::{CrdError, crd_file_name, crd_yaml, crds, crds_json, crds_yaml};
pub use jobs::{McpRegistryExportJob, McpRegistryImportJob, McpRegistrySyncJob};
pub use policy::{
    ApiSpec, Criteria, DEFAULT_POSTGRES_URL_KEY, FilterSpec, MAX_REPLICAS, MAX_RETRIES, OnUpdate, PostgresStorage,
    RetryPolicy, SecretKeyRef, StorageSpec, StorageType, SyncPolicy, ValidationMode, ValidationSpec,
};
pub use resource::{McpRegistry, McpRegistrySpec, SourceFormat};
pub use source::{
    AuthSecret, ConfigMapSource, GitSource, HttpHeader, RegistryApiSource, RegistrySource, SourceType, UrlSource,
};
pub use status::{ChangeCounts, ConfigMapRef, McpRegistryStatus, PostgresRef, StorageRef};
pub use storage::ConfigMapStore;

/// The API group of every resource of this crate.
pub const GROUP: &str = "toolhive.stacklok.io";
/// The API version of [`McpRegistry`].
pub const VERSION: &str = "v1alpha1";
