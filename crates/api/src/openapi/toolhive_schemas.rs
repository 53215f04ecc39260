//! The ToolHive API's (`/api/v1`) response bodies as OpenAPI schemas; they only describe what the handlers
//! send.

use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, Type};

/// `GET /api/v1/servers`: the latest version of each server.
#[derive(ToSchema)]
pub struct ToolHiveServerList {
    /// One item per server name, ordered by name.
    pub servers: Vec<ToolHiveServerSummary>,
    /// The number of items.
    pub count: u64,
}

/// One server in `GET /api/v1/servers`.
#[derive(ToSchema)]
pub struct ToolHiveServerSummary {
    /// Full server name.
    pub name: String,
    /// Its latest version.
    pub version: String,
    /// The registry it is served from.
    pub registry: String,
    /// `active` or `deprecated`.
    pub status: String,
    /// Display title.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Description.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// ToolHive tier (`Official`, `Community`, …).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tier: String,
    /// ToolHive tags.
    pub tags: Vec<String>,
    /// ToolHive categories.
    pub categories: Vec<String>,
    /// Transport types of the packages and remotes.
    pub transports: Vec<String>,
}

/// `GET /api/v1/servers/{name}`: a ToolHive catalog entry, or with `format=upstream` the MCP Registry record.
#[derive(ToSchema)]
#[serde(untagged)]
pub enum ToolHiveServerDetail {
    /// ToolHive's format (the default).
    ToolHive(ToolHiveEntry),
    /// `format=upstream`: `{server, _meta}`.
    Upstream(super::schemas::ServerResponse),
}

/// A ToolHive catalog entry: an open object that always has a name.
pub struct ToolHiveEntry;

impl utoipa::ToSchema for ToolHiveEntry {
    fn name() -> std::borrow::Cow<'static, str> {
        "ToolHiveEntry".into()
    }
}

impl utoipa::PartialSchema for ToolHiveEntry {
    fn schema() -> RefOr<Schema> {
        toolhive_entry()
    }
}

/// The schema of [`ToolHiveEntry`].
fn toolhive_entry() -> RefOr<Schema> {
    let string = || ObjectBuilder::new().schema_type(Type::String);
    ObjectBuilder::new()
        .description(Some(
            "A ToolHive catalog entry (an image server or a remote server), as `thv registry convert --to toolhive` \
             writes it; `name` is the full server name.",
        ))
        .property("name", string())
        .property("description", string())
        .property("tier", string())
        .property("status", string())
        .property("transport", string())
        .property("image", string())
        .property("url", string())
        .required("name")
        .additional_properties(Some(AdditionalProperties::FreeForm(true)))
        .examples([json!({"name": "io.github.stacklok/fetch", "description": "Fetch web pages", "tier": "Official",
            "status": "Active", "transport": "streamable-http", "image": "ghcr.io/stackloklabs/gofetch/server:1.0.1"})])
        .into()
}

/// `GET /api/v1/registries`.
#[derive(ToSchema)]
pub struct RegistryList {
    /// The configured registries, in config order.
    pub registries: Vec<RegistryStatus>,
    /// The number of registries.
    pub count: u64,
}

/// A registry's source, without credentials.
#[derive(ToSchema)]
pub struct SourceSummary {
    /// `file`, `url`, `git` or `registryApi`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Path or URL without secrets: user info removed, every query value replaced by `***`.
    pub location: String,
}

/// Where a registry stands.
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RegistryHealth {
    /// No sync has finished yet.
    Pending,
    /// The last sync succeeded.
    Ready,
    /// The last sync failed for a reason that may pass (network, 5xx, timeout); it is retried. The last
    /// good catalog, if any, is served.
    Failing,
    /// The last sync failed for a reason that will not pass until the spec, the credentials or the source
    /// is fixed. The last good catalog, if any, is served.
    Stalled,
}

/// `GET /api/v1/registries/{name}` and the items of `GET /api/v1/registries`.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistryStatus {
    /// Registry name.
    pub name: String,
    /// Where the catalog comes from.
    pub source: SourceSummary,
    /// `auto`, `toolhive` or `upstream`.
    pub format: String,
    /// `{enabled, interval, retry: {maxRetries, backoffInterval}}`.
    #[schema(value_type = Object)]
    pub sync_policy: Value,
    /// `{include, exclude}` name/tag/tier/transport/category lists; absent when nothing is filtered.
    #[schema(value_type = Object)]
    #[serde(skip_serializing_if = "Value::is_null")]
    pub filter: Value,
    /// `{mode, strict, against}`.
    #[schema(value_type = Object)]
    pub validation: Value,
    /// Sync status.
    pub status: RegistryHealth,
    /// Last successful sync (RFC 3339).
    pub last_sync_time: Option<String>,
    /// Last attempt (RFC 3339).
    pub last_attempt_time: Option<String>,
    /// Failed attempts since the last success.
    pub failed_attempts: u64,
    /// Error of the last failed attempt.
    pub last_error: Option<String>,
    /// Source revision of the catalog.
    pub revision: Option<String>,
    /// Content digest of the catalog.
    pub digest: Option<String>,
    /// Server versions in the catalog.
    pub server_count: u64,
    /// Server names served now.
    pub server_names: u64,
    /// The last ten sync runs (`GET /api/v1/registries/{name}` only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recent_runs: Vec<SyncRunSummary>,
}

/// One sync run.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncRunSummary {
    /// Run id.
    pub id: i64,
    /// Registry name.
    pub registry: String,
    /// Start (RFC 3339).
    pub started_at: String,
    /// End (RFC 3339).
    pub finished_at: String,
    /// `success`, `unchanged` or `failed`.
    pub outcome: String,
    /// Error of a failed run.
    pub error: Option<String>,
    /// Source revision.
    pub revision: Option<String>,
    /// Content digest of the catalog after the run.
    pub digest: Option<String>,
    /// Counts.
    pub counts: SyncCounts,
}

/// Record counts of a sync.
#[derive(ToSchema)]
pub struct SyncCounts {
    /// Versions in the catalog afterwards.
    pub total: u64,
    /// Versions added.
    pub added: u64,
    /// Versions removed.
    pub removed: u64,
    /// Versions changed.
    pub updated: u64,
    /// Records skipped.
    pub skipped: u64,
}

/// `GET /api/v1/registries/{name}/changes`.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangeSets {
    /// Registry name.
    pub registry: String,
    /// Newest first.
    pub change_sets: Vec<ChangeSet>,
}

/// What one sync changed.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangeSet {
    /// The sync run.
    pub run_id: i64,
    /// Start (RFC 3339).
    pub started_at: String,
    /// End (RFC 3339).
    pub finished_at: String,
    /// Source revision.
    pub revision: Option<String>,
    /// Content digest of the catalog after the sync.
    pub digest: Option<String>,
    /// Counts.
    pub counts: SyncCounts,
    /// The changed versions.
    pub changes: Vec<ChangeEntry>,
}

/// One changed version.
#[derive(ToSchema)]
pub struct ChangeEntry {
    /// `added`, `removed` or `updated`.
    pub kind: String,
    /// Server name.
    pub name: String,
    /// Version.
    pub version: String,
}

/// `POST /api/v1/registries/{name}/sync` when the sync finished.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncDone {
    /// `token:<name>`, `oidc:<sub>` or `anonymous`.
    pub requested_by: String,
    /// The sync report: `registry`, `outcome` (`success` or `unchanged`), `counts`, `changes`, `skipped`,
    /// `duration`, ….
    #[schema(value_type = Object)]
    pub report: Value,
}

/// `POST /api/v1/registries/{name}/sync` while the sync is still running.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncRunning {
    /// Registry name.
    pub registry: String,
    /// `running`.
    pub status: String,
    /// Who asked.
    pub requested_by: String,
}
