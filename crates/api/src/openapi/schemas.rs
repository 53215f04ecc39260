//! The response bodies as OpenAPI schemas. These types only describe what the handlers send (the read
//! routes send pre-rendered JSON); they are never built at run time.

use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, Type};

/// `GET …/servers` and `GET …/servers/{serverName}/versions`: a page of server versions.
#[derive(ToSchema)]
pub struct ServerList {
    /// The server versions of this page.
    pub servers: Vec<ServerResponse>,
    /// Paging information.
    pub metadata: ListMetadata,
}

/// Paging information of a server list.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListMetadata {
    /// Present only when the page is full (`count == limit`): pass it as `cursor` to get the next page,
    /// which may be empty. Absent on short pages and on `…/versions`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub next_cursor: String,
    /// The number of items on this page.
    pub count: u64,
}

/// One server version: its `server.json` document as published, and the registry metadata.
#[derive(ToSchema)]
pub struct ServerResponse {
    /// The `server.json` document, returned as stored.
    #[schema(schema_with = server_json)]
    pub server: Value,
    /// Registry metadata: the official block, and any other keys the source record carried.
    #[serde(rename = "_meta")]
    pub meta: ResponseMeta,
}

/// The `_meta` of a server version; keys other than the official block may appear.
#[derive(ToSchema)]
pub struct ResponseMeta {
    /// Status and timestamps of this version, as the official registry sends them.
    #[serde(rename = "io.modelcontextprotocol.registry/official")]
    pub official: OfficialMeta,
}

/// The official registry metadata of one server version.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OfficialMeta {
    /// Lifecycle status.
    pub status: ServerStatus,
    /// When the status last changed.
    #[schema(format = DateTime)]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status_changed_at: String,
    /// Why the status was set; absent when unset.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status_message: String,
    /// First publication.
    #[schema(format = DateTime)]
    pub published_at: String,
    /// Last change.
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// Whether this is the latest version of its name (exactly one per name).
    pub is_latest: bool,
}

/// Lifecycle status of a server version.
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServerStatus {
    /// Listed and current.
    Active,
    /// Listed, but clients should warn.
    Deprecated,
    /// Hidden unless `include_deleted=true`.
    Deleted,
}

/// An RFC 9457 problem (`application/problem+json`), as the official registry sends it.
#[derive(ToSchema)]
pub struct Problem {
    /// The HTTP reason phrase.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong.
    pub detail: String,
    /// Individual validation errors (422 only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemError>,
}

/// One validation error of a problem.
#[derive(ToSchema)]
pub struct ProblemError {
    /// What is wrong, e.g. `expected number <= 100`.
    pub message: String,
    /// Where, e.g. `query.limit`.
    pub location: String,
    /// The offending value.
    pub value: Value,
}

/// `GET /healthz` and `GET /health`: the process is up.
#[derive(ToSchema)]
pub struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: String,
}

/// `GET /ping`, as the official registry answers it.
#[derive(ToSchema)]
pub struct Pong {
    /// Always `true`.
    pub pong: bool,
}

/// `GET /readyz` once the catalogs are loaded.
#[derive(ToSchema)]
pub struct Ready {
    /// Always `ready`.
    #[schema(example = "ready")]
    pub status: String,
    /// The number of configured registries.
    pub registries: u64,
    /// Set when something is worth a look although the server is ready (no registry configured).
    pub warning: Option<String>,
}

/// `GET /version`: build information (snake_case, as the official registry).
#[derive(ToSchema)]
pub struct VersionInfo {
    /// The thv-registry version.
    pub version: String,
    /// The git commit it was built from, or `unknown`.
    pub git_commit: String,
    /// When it was built, or `unknown`.
    pub build_time: String,
}

/// The schema of a `server.json` document: an open object with at least a name and a version.
fn server_json() -> RefOr<Schema> {
    ObjectBuilder::new()
        .description(Some(
            "A server.json document (https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json), \
             returned exactly as stored.",
        ))
        .property("name", ObjectBuilder::new().schema_type(Type::String))
        .property("version", ObjectBuilder::new().schema_type(Type::String))
        .required("name")
        .required("version")
        .additional_properties(Some(AdditionalProperties::FreeForm(true)))
        .examples([json!({
            "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
            "name": "io.github.alice/notes",
            "description": "Search and edit Markdown notes",
            "version": "0.3.1",
            "remotes": [{"type": "streamable-http", "url": "https://notes.example.com/mcp"}]
        })])
        .into()
}
