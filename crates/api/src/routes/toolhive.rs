//! The ToolHive API's server routes: `GET /api/v1/servers` (the latest version of each server, filtered)
//! and `GET /api/v1/servers/{name}` (one server, in ToolHive's format or as its MCP Registry record
//! `{"server": …, "_meta": …}`).

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use thv_model::convert::upstream_to_toolhive;
use thv_model::filter::{Criteria, Filter};
use thv_model::names::{NameError, resolve};

use super::servers::{decoded_again, json};
use crate::listing::Listing;
use crate::params::RawQuery as Query;
use crate::problem::Problem;
use crate::snapshot::{Record, RegistrySnapshot};
use crate::state::AppState;

/// One item of `GET /api/v1/servers`.
#[derive(Debug, Serialize)]
struct Item<'a> {
    name: &'a str,
    version: &'a str,
    registry: &'a str,
    status: &'a str,
    #[serde(flatten)]
    listing: &'a Listing,
}

#[derive(Debug, Serialize)]
struct ServerList<'a> {
    servers: Vec<Item<'a>>,
    count: usize,
}

/// `GET /api/v1/servers`: the latest, not deleted, version of each server, ordered by name, filtered by
/// `registry`, `tag`, `category`, `tier`, `transport` (repeatable or comma-separated: any value matches;
/// the same matching rules as registry filters) and `search` (part of the name, title or description).
#[utoipa::path(
    get,
    path = "/api/v1/servers",
    operation_id = "listToolHiveServers",
    tag = "toolhive",
    summary = "List servers (latest versions)",
    description = "The latest, not deleted, version of each server, ordered by name. List filters take several \
        values (repeat the parameter or separate with commas): any value matches.",
    params(
        ("registry" = Option<String>, Query, description = "Only this registry (default: all, the first registry winning a name)."),
        ("tag" = Option<String>, Query, description = "ToolHive tags."),
        ("category" = Option<String>, Query, description = "ToolHive categories."),
        ("tier" = Option<String>, Query, description = "ToolHive tiers (`Official`, `Community`)."),
        ("transport" = Option<String>, Query, description = "Transport types (`stdio`, `streamable-http`, `sse`)."),
        ("search" = Option<String>, Query, description = "Case-insensitive part of the name, title or description."),
    ),
    responses(
        (status = 200, description = "The matching servers.", body = crate::openapi::toolhive_schemas::ToolHiveServerList),
        (status = 400, description = "A filter value is not usable, or a NUL byte in the request (sent as `application/json`).",
            content(
            (crate::openapi::schemas::Problem = "application/problem+json"),
            (crate::openapi::schemas::Problem = "application/json"))),
        (status = 404, description = "The registry is unknown.", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    list_inner(&state, query.as_deref()).unwrap_or_else(IntoResponse::into_response)
}

fn list_inner(state: &AppState, query: Option<&str>) -> Result<Response, Problem> {
    let query = Query::parse(query);
    let snapshot = state.scope(query.get("registry"))?;
    let filter = Filter {
        include: Criteria {
            tags: query.all("tag"),
            categories: query.all("category"),
            tiers: query.all("tier"),
            transports: query.all("transport"),
            ..Criteria::default()
        },
        ..Filter::default()
    };
    filter.validate().map_err(|e| Problem::bad_request(e.to_string()))?;
    let filter = filter.compile();
    let search = query.search();
    let servers: Vec<Item<'_>> = snapshot
        .records()
        .iter()
        .filter(|record| !record.deleted)
        .filter_map(|record| record.listing.as_deref().map(|listing| (record, listing)))
        .filter(|(record, _)| search.as_ref().is_none_or(|search| search.matches(&record.search_text)))
        .filter(|(record, listing)| filter.is_empty() || listing.kept_by(&record.name, &filter))
        .map(|(record, listing)| Item {
            name: &record.name,
            version: &record.version,
            registry: &record.registry,
            status: &record.status,
            listing,
        })
        .collect();
    let body = ServerList { count: servers.len(), servers };
    Ok(json(serde_json::to_string(&body).map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?))
}

/// The representation a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// ToolHive's catalog entry (the default).
    ToolHive,
    /// The MCP Registry `{server, _meta}` record.
    Upstream,
}

/// `?format=` wins over `Accept: application/json; format=…`.
fn requested_format(query: &Query, headers: &HeaderMap) -> Result<Format, Problem> {
    let from_accept = || {
        headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split([',', ';']))
            .filter_map(|part| part.trim().strip_prefix("format="))
            .map(|v| v.trim_matches('"').to_owned())
            .next()
    };
    match query.get("format").map(str::to_owned).or_else(from_accept).as_deref() {
        None | Some("toolhive") => Ok(Format::ToolHive),
        Some("upstream") => Ok(Format::Upstream),
        Some(other) => Err(Problem::validation("expected toolhive or upstream", "query.format", Value::from(other))),
    }
}

/// The versions of `name`, a full name (decoded once more when needed) or a ToolHive short name, by the
/// rule of [`thv_model::names::resolve`].
fn versions_named<'a>(snapshot: &'a RegistrySnapshot, name: &str) -> Result<&'a [Arc<Record>], Problem> {
    let decoded = decoded_again(name).filter(|n| !snapshot.contains(name) && snapshot.contains(n));
    match resolve(snapshot.names(), decoded.as_deref().unwrap_or(name)) {
        Ok(full) => Ok(snapshot.versions_of(full)),
        Err(NameError::NotFound(_)) => Err(Problem::not_found(format!("Server {name:?} not found"))),
        Err(e @ NameError::Ambiguous { .. }) => Err(Problem::new(StatusCode::CONFLICT, e.to_string())),
    }
}

/// `GET /api/v1/servers/{name}`: the latest version (or `?version=`) of a server, by full or short name,
/// optionally within `?registry=`; ToolHive's format (with `name` always set to the full name when the entry
/// has none) unless `format=upstream` is asked for.
#[utoipa::path(
    get,
    path = "/api/v1/servers/{name}",
    operation_id = "getToolHiveServer",
    tag = "toolhive",
    summary = "Get one server in ToolHive's format or as its MCP Registry record",
    description = "The latest version (or `version`) of a server, by full name or by ToolHive short name. \
        ToolHive's catalog-entry format unless `format=upstream` or `Accept: application/json; format=upstream`, \
        which return the MCP Registry record `{\"server\": <server.json>, \"_meta\": {…}}` (as `/v0.1/servers/…/versions/…`).",
    params(
        ("name" = String, Path, description = "Full name, URL-encoded as one segment (`io.github.alice%2Fnotes`), or short name (`notes`)."),
        ("registry" = Option<String>, Query, description = "Only this registry."),
        ("version" = Option<String>, Query, description = "An exact version instead of the latest."),
        ("format" = Option<String>, Query, description = "`toolhive` (default) or `upstream`."),
    ),
    responses(
        (status = 200, description = "The server.", body = crate::openapi::toolhive_schemas::ToolHiveServerDetail),
        (status = 400, description = "A NUL byte in the request (sent as `application/json`).",
            content(
            (crate::openapi::schemas::Problem = "application/problem+json"),
            (crate::openapi::schemas::Problem = "application/json"))),
        (status = 404, description = "Unknown server, version or registry.", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 406, description = "ToolHive's format cannot hold this server; ask for `format=upstream`.", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The short name belongs to several servers.", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown `format`.", body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let mut response =
        show_inner(&state, &name, query.as_deref(), &headers).unwrap_or_else(IntoResponse::into_response);
    response.headers_mut().insert(header::VARY, HeaderValue::from_static("accept"));
    response
}

fn show_inner(state: &AppState, name: &str, query: Option<&str>, headers: &HeaderMap) -> Result<Response, Problem> {
    let query = Query::parse(query);
    let format = requested_format(&query, headers)?;
    let snapshot = state.scope(query.get("registry"))?;
    let versions = versions_named(&snapshot, name)?;
    let record = match query.get("version") {
        Some(version) => versions.iter().find(|r| r.version == version),
        None => versions.iter().find(|r| r.is_latest),
    }
    .ok_or_else(|| Problem::not_found(format!("Server {name:?} has no such version")))?;
    if format == Format::Upstream {
        return Ok(record.response());
    }
    let server = record.document().map_err(|e| {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the stored document of {} is unreadable: {e}", record.name),
        )
    })?;
    let converted = upstream_to_toolhive(&server).map_err(|reason| {
        Problem::new(
            StatusCode::NOT_ACCEPTABLE,
            format!(
                "{} {} cannot be shown in ToolHive's format ({reason}); ask for format=upstream",
                record.name, record.version
            ),
        )
    })?;
    let mut entry = converted.value.to_value();
    // ToolHive files key entries by short name and often leave `name` out; the API always says it.
    if let Value::Object(fields) = &mut entry {
        fields.entry("name").or_insert_with(|| Value::from(record.name.as_str()));
    }
    Ok(json(entry.to_string()))
}
