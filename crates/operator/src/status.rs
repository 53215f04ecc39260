//! `status`: what the operator last observed and did, in the kstatus and Flux conventions.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use serde::{Deserialize, Serialize};

use thv_sync::RegistryStatus;

use crate::conditions::ConditionType;
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

impl McpRegistryStatus {
    /// The status in the vocabulary of `thv registry list` ([`RegistryStatus`]), from the sync conditions:
    /// `Stalled=True` is `stalled`, `Synced=True` `ready`, `Synced=False` `failing`, no sync yet `pending`.
    /// (`Ready` also covers the API Deployment; [`Self::condition`] reads it.)
    pub fn registry_status(&self) -> RegistryStatus {
        let is = |type_, status: &str| self.condition(type_).is_some_and(|c| c.status == status);
        if is(ConditionType::Stalled, "True") {
            RegistryStatus::Stalled
        } else if is(ConditionType::Synced, "True") {
            RegistryStatus::Ready
        } else if is(ConditionType::Synced, "False") {
            RegistryStatus::Failing
        } else {
            RegistryStatus::Pending
        }
    }

    /// The condition of this type, when set.
    pub fn condition(&self, type_: ConditionType) -> Option<&Condition> {
        crate::conditions::find(&self.conditions, type_)
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conditions::{ConditionStatus, Reason, set};

    fn with(conditions: &[(ConditionType, ConditionStatus)]) -> McpRegistryStatus {
        let mut status = McpRegistryStatus::default();
        for (type_, value) in conditions {
            set(&mut status.conditions, *type_, *value, Reason::Progressing, "m", Some(1), jiff::Timestamp::UNIX_EPOCH);
        }
        status
    }

    #[test]
    fn the_sync_conditions_map_to_the_cli_vocabulary() {
        use ConditionStatus::{False, True};
        assert_eq!(with(&[]).registry_status(), RegistryStatus::Pending);
        assert_eq!(with(&[(ConditionType::Reconciling, True)]).registry_status(), RegistryStatus::Pending);
        assert_eq!(
            with(&[(ConditionType::Synced, True), (ConditionType::Ready, False)]).registry_status(),
            RegistryStatus::Ready
        );
        assert_eq!(with(&[(ConditionType::Synced, False)]).registry_status(), RegistryStatus::Failing);
        assert_eq!(
            with(&[(ConditionType::Synced, True), (ConditionType::Stalled, True)]).registry_status(),
            RegistryStatus::Stalled
        );
    }
}
