//! `status`: what the operator last observed and did, in the kstatus and Flux conventions.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use serde::{Deserialize, Serialize};

use crate::policy::StorageType;

/// What the operator last observed and did. Written only by the operator.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct McpRegistryStatus {
    /// The `metadata.generation` the operator last handled fully (synced, or stalled waiting for a change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Reconciling`, `Stalled`, `SourceAvailable`, `Synced` and `APIReady` (see docs/operator.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::schema::conditions")]
    pub conditions: Vec<Condition>,
    /// When a sync last succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<Time>,
    /// When a sync was last attempted, whatever its outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_time: Option<Time>,
    /// Revision of the stored catalog: the source's revision (`main@sha1:…`, `sha256:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_hash: Option<String>,
    /// Servers (distinct names) in the stored catalog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servers: Option<i64>,
    /// Server versions in the stored catalog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<i64>,
    /// What the last sync that changed the catalog changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_change: Option<ChangeCounts>,
    /// In-cluster URL of the registry's API (`http://<name>-api.<namespace>.svc:8080`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_endpoint: Option<String>,
    /// Where the catalog is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_ref: Option<StorageRef>,
    /// The last value of the `toolhive.stacklok.io/sync-trigger` annotation the operator handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_sync_trigger: Option<String>,
}

/// Counts of server versions a sync added, removed and updated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangeCounts {
    /// Versions added.
    pub added: i64,
    /// Versions removed.
    pub removed: i64,
    /// Versions whose content changed.
    pub updated: i64,
}

/// Where a registry's catalog is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StorageRef {
    /// Kind of storage.
    #[serde(rename = "type")]
    pub type_: StorageType,
    /// The storage ConfigMap, for `type: configmap`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<ConfigMapRef>,
    /// The database, for `type: postgres`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<PostgresRef>,
}

/// Where in a PostgreSQL database a registry's catalog is (never the URL: it is in the Secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostgresRef {
    /// The Secret and key holding the connection URL.
    pub secret_ref: crate::SecretKeyRef,
    /// The registry's key in the database (`<namespace>/<name>`); the API serves it as `<name>`.
    pub registry: String,
}

/// A ConfigMap in the registry's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapRef {
    /// Its name.
    pub name: String,
}
