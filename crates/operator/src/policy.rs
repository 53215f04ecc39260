//! The policy parts of the spec: when to sync, what to keep, how to judge records, where to store, how to serve.

use k8s_openapi::api::core::v1::ResourceRequirements;
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use crate::duration::{BACKOFF, INTERVAL};
use crate::schema::{DATA_KEY, DATA_KEY_MAX, DNS_SUBDOMAIN, DNS_SUBDOMAIN_MAX, GO_DURATION, GO_DURATION_MAX};

/// When the registry syncs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicy {
    /// Sync automatically every `interval` (a manual sync through the sync-trigger annotation always works).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Time between automatic syncs, in Go syntax with whole numbers (`30s`, `15m`, `1h30m`).
    #[serde(default = "default_interval")]
    #[schemars(length(max = GO_DURATION_MAX), regex(pattern = GO_DURATION))]
    #[x_kube(validation = Rule::new(INTERVAL.rule()).message(INTERVAL.message()))]
    pub interval: String,
    /// What a sync does to MCPServers created from this registry when their entry changes: `create` (only
    /// create missing ones), `update` (also update changed ones) or `recreate` (delete and create again).
    #[serde(default)]
    pub on_update: OnUpdate,
    /// Retries after a failed sync.
    #[serde(default)]
    pub retry: RetryPolicy,
}

impl Default for SyncPolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: default_interval(),
            on_update: OnUpdate::default(),
            retry: RetryPolicy::default(),
        }
    }
}

/// See [`SyncPolicy::on_update`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnUpdate {
    /// Only create MCPServers that do not exist.
    Create,
    /// Create missing MCPServers and update changed ones.
    #[default]
    Update,
    /// Delete and recreate changed MCPServers.
    Recreate,
}

/// Retries of a failed sync: the first after `backoffInterval`, each next one after twice as long (with
/// jitter, at most one hour), then the registry waits for its next interval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    /// Retries before waiting for the next interval.
    #[serde(default = "default_max_retries")]
    #[schemars(range(min = 0, max = MAX_RETRIES))]
    pub max_retries: i32,
    /// First backoff, in Go syntax with whole numbers (`30s`, `2m`).
    #[serde(default = "default_backoff")]
    #[schemars(length(max = GO_DURATION_MAX), regex(pattern = GO_DURATION))]
    #[x_kube(validation = Rule::new(BACKOFF.rule()).message(BACKOFF.message()))]
    pub backoff_interval: String,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_retries: default_max_retries(), backoff_interval: default_backoff() }
    }
}

/// Which servers to keep: a server matching any `exclude` value is dropped, then every non-empty `include` list
/// must be matched by one of its values (see docs/filters.md).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct FilterSpec {
    /// Servers must match every non-empty list here (one value per list suffices).
    #[serde(default, skip_serializing_if = "Criteria::is_empty")]
    pub include: Criteria,
    /// Servers matching any value of any list here are dropped.
    #[serde(default, skip_serializing_if = "Criteria::is_empty")]
    pub exclude: Criteria,
}

impl FilterSpec {
    /// Whether the filter keeps everything.
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }
}

/// One side of a filter: a list of values per kind of fact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Criteria {
    /// Name globs (`*`, `?`), case-sensitive; a glob without `/` also matches the short name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::schema::filter_values")]
    pub names: Vec<String>,
    /// ToolHive tags, case-insensitive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::schema::filter_values")]
    pub tags: Vec<String>,
    /// ToolHive tiers (`Official`, `Community`), case-insensitive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::schema::filter_values")]
    pub tiers: Vec<String>,
    /// Transport types (`stdio`, `streamable-http`, `sse`), case-insensitive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::schema::filter_values")]
    pub transports: Vec<String>,
    /// Categories from ToolHive's metadata, case-insensitive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::schema::filter_values")]
    pub categories: Vec<String>,
}

impl Criteria {
    /// Whether every list is empty.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
            && self.tags.is_empty()
            && self.tiers.is_empty()
            && self.transports.is_empty()
            && self.categories.is_empty()
    }
}

/// What a sync does with records that fail validation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValidationSpec {
    /// `warn`: keep invalid records and count them; `skip`: leave them out and record why.
    #[serde(default)]
    pub mode: ValidationMode,
}

/// See [`ValidationSpec::mode`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ValidationMode {
    /// Keep invalid records; count and report them.
    #[default]
    Warn,
    /// Leave invalid records out; record why.
    Skip,
}

/// Where the synced catalog is kept: `type` names the storage, and `postgres` is set exactly when it is
/// `postgres`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.postgres) == (has(self.type) && self.type == 'postgres')")
    .message("set storage.postgres exactly when storage.type is postgres"))]
pub struct StorageSpec {
    /// `configmap`: a compressed ConfigMap `<name>-registry-storage` owned by the registry, for catalogs that
    /// compress below the 1 MiB object limit. `postgres`: a PostgreSQL database named by a Secret, with no
    /// size limit; the API pods read it directly, any number of replicas.
    #[serde(default, rename = "type")]
    pub type_: StorageType,
    /// The PostgreSQL database, for `type: postgres`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<PostgresStorage>,
}

/// See [`StorageSpec::type_`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StorageType {
    /// A storage ConfigMap owned by the registry.
    #[default]
    Configmap,
    /// A PostgreSQL database (`storage.postgres`).
    Postgres,
}

impl StorageType {
    /// The value as written in the resource (`configmap`, `postgres`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Configmap => "configmap",
            Self::Postgres => "postgres",
        }
    }
}

/// A PostgreSQL database for the catalog. Several registries, in any namespaces, may share one database:
/// each is stored under the key `<namespace>/<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostgresStorage {
    /// The Secret, in the registry's namespace, whose key holds the connection URL
    /// (`postgres://user:password@host:5432/db?sslmode=verify-full`). The operator reads it at each
    /// reconcile; the API pods get it as an environment variable from the Secret, never in their spec.
    pub secret_ref: SecretKeyRef,
}

/// A key of a Secret in the registry's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = DNS_SUBDOMAIN_MAX), regex(pattern = DNS_SUBDOMAIN))]
    pub name: String,
    /// Key holding the value.
    #[serde(default = "default_postgres_url_key")]
    #[schemars(length(min = 1, max = DATA_KEY_MAX), regex(pattern = DATA_KEY))]
    pub key: String,
}

/// The Secret key of a PostgreSQL URL when `storage.postgres.secretRef.key` is not given.
pub const DEFAULT_POSTGRES_URL_KEY: &str = "url";

fn default_postgres_url_key() -> String {
    DEFAULT_POSTGRES_URL_KEY.to_owned()
}

/// The registry's own read-only API: a Deployment and Service `<name>-api` serving the stored catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiSpec {
    /// Run the API Deployment and Service.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Replicas of the API Deployment.
    #[serde(default = "default_replicas")]
    #[schemars(range(min = 0, max = MAX_REPLICAS))]
    pub replicas: i32,
    /// CPU and memory requests and limits of the API container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

impl Default for ApiSpec {
    fn default() -> Self {
        Self { enabled: true, replicas: default_replicas(), resources: None }
    }
}

fn default_true() -> bool {
    true
}

// The defaults are the local registry's (thv_sync), written in Go syntax.

fn default_interval() -> String {
    crate::duration::format(thv_sync::SyncPolicy::default().interval).unwrap_or_default()
}

fn default_backoff() -> String {
    crate::duration::format(thv_sync::RetryPolicy::default().backoff_interval).unwrap_or_default()
}

fn default_max_retries() -> i32 {
    i32::try_from(thv_sync::RetryPolicy::default().max_retries).unwrap_or(MAX_RETRIES)
}

/// Most retries `syncPolicy.retry.maxRetries` allows.
pub const MAX_RETRIES: i32 = 100;

/// Most replicas `api.replicas` allows.
pub const MAX_REPLICAS: i32 = 20;

fn default_replicas() -> i32 {
    1
}
