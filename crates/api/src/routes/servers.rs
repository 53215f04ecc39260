//! `GET /servers`, `GET /servers/{serverName}/versions` and `GET /servers/{serverName}/versions/{version}`.

use std::sync::Arc;

use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{RawPathParams, State};
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::params::{Cursor, ListParams, RawQuery as Query};
use crate::problem::Problem;
use crate::rendered::Rendered;
use crate::snapshot::{Record, RegistrySnapshot};
use crate::state::AppState;

/// The detail of a 404 for an unknown server or version.
const SERVER_NOT_FOUND: &str = "Server not found";

/// The path's parameters, percent-decoded and borrowed from the request (no copy per request).
type PathParams = Result<RawPathParams, RawPathParamsRejection>;

/// The snapshot a request reads: one registry's, or the aggregate when the path has no registry.
fn scope(state: &AppState, params: &RawPathParams) -> Result<Arc<RegistrySnapshot>, Problem> {
    state.scope(param(params, "registry"))
}

fn path_params(params: PathParams) -> Result<RawPathParams, Problem> {
    params.map_err(|e| Problem::bad_request(format!("Invalid path: {}", e.body_text())))
}

/// The path parameter `key`, if the route has it.
fn param<'a>(params: &'a RawPathParams, key: &str) -> Option<&'a str> {
    params.iter().find(|(name, _)| *name == key).map(|(_, value)| value)
}

/// A JSON response from pre-rendered text or bytes.
pub(super) fn json(body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// `{"servers":[…],"metadata":{…}}` built from pre-rendered records, in one allocation.
fn server_list(records: &[&Record], next_cursor: Option<String>) -> Vec<u8> {
    let cursor = next_cursor.map(|cursor| serde_json::Value::from(cursor).to_string());
    let size = records.iter().map(|r| r.json().len() + 1).sum::<usize>() + cursor.as_ref().map_or(0, String::len) + 64;
    let mut body = Vec::with_capacity(size);
    body.extend_from_slice(b"{\"servers\":[");
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(record.json());
    }
    body.extend_from_slice(b"],\"metadata\":{");
    if let Some(cursor) = cursor {
        body.extend_from_slice(b"\"nextCursor\":");
        body.extend_from_slice(cursor.as_bytes());
        body.push(b',');
    }
    body.extend_from_slice(b"\"count\":");
    body.extend_from_slice(records.len().to_string().as_bytes());
    body.extend_from_slice(b"}}");
    body
}

/// The index of the first record after `cursor`.
fn start_of(records: &[Arc<Record>], cursor: Option<&Cursor>) -> usize {
    match cursor {
        None => 0,
        Some(Cursor::After { name, version }) => {
            records.partition_point(|r| (r.name.as_str(), r.version.as_str()) <= (name.as_str(), version.as_str()))
        }
        Some(Cursor::AfterName(name)) => records.partition_point(|r| r.name.as_str() <= name.as_str()),
    }
}

fn matches(record: &Record, params: &ListParams) -> bool {
    (params.include_deleted || !record.deleted)
        && params.search.as_ref().is_none_or(|search| search.matches(&record.search_text))
        && match params.version.as_deref() {
            None => true,
            Some("latest") => record.is_latest,
            Some(version) => record.version == version,
        }
        && params.updated_since.is_none_or(|since| record.updated_at.is_some_and(|at| at > since))
}

/// `GET /servers`: one item per server version, ordered by (name, version), cursor-paginated.
#[utoipa::path(
    get,
    path = "/servers",
    operation_id = "listServers",
    tag = "servers",
    summary = "List server versions",
    description = "One item per server version, ordered by (name, version) as byte strings, cursor-paginated: \
        `metadata.nextCursor` is present only when the page is full.",
    params(
        ("cursor" = Option<String>, Query, description = "Opaque cursor: the `metadata.nextCursor` of the previous page."),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size, 1 to 100 (default 30)."),
        ("search" = Option<String>, Query, description = "Case-insensitive substring of the server name, title or description."),
        ("updated_since" = Option<String>, Query, format = DateTime,
            description = "RFC 3339 time: only versions updated strictly after it; implies `include_deleted`."),
        ("version" = Option<String>, Query, description = "`latest` (one version per name) or an exact version."),
        ("include_deleted" = Option<bool>, Query,
            description = "Also list deleted versions (default false; always true when `updated_since` is given)."),
    ),
    responses(
        (status = 200, description = "One page of server versions, ordered by (name, version).",
            body = crate::openapi::schemas::ServerList),
        (status = 400, description = "Bad `updated_since`, or a NUL byte in the request (sent as `application/json`).",
            content(
            (crate::openapi::schemas::Problem = "application/problem+json"),
            (crate::openapi::schemas::Problem = "application/json"))),
        (status = 422, description = "`limit` or `include_deleted` is invalid.",
            body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(State(state): State<AppState>, params: PathParams, uri: Uri) -> Response {
    list_inner(&state, params, uri.query()).unwrap_or_else(IntoResponse::into_response)
}

fn list_inner(state: &AppState, params: PathParams, query: Option<&str>) -> Result<Response, Problem> {
    let snapshot = scope(state, &path_params(params)?)?;
    // The snapshot never changes, so a query's page is rendered once.
    let key = query.unwrap_or_default();
    if let Some(page) = snapshot.pages().get(key) {
        return Ok(page.response());
    }
    let params = ListParams::from_query(&Query::parse(query))?;
    let records = snapshot.records();
    let start = start_of(records, params.cursor.as_ref());
    let page: Vec<&Record> = records
        .get(start..)
        .unwrap_or(&[])
        .iter()
        .filter(|r| matches(r, &params))
        .take(params.limit)
        .map(Arc::as_ref)
        .collect();
    let next_cursor =
        (page.len() == params.limit).then(|| page.last().map(|r| format!("{}:{}", r.name, r.version))).flatten();
    let page = Rendered::new(server_list(&page, next_cursor));
    snapshot.pages().insert(key, &page);
    Ok(page.response())
}

/// Decodes a path segment a second time when it still holds escapes (the official handler does).
pub(super) fn decoded_again(text: &str) -> Option<String> {
    if !text.contains('%') {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(text).decode_utf8().ok()?;
    (decoded != text).then(|| decoded.into_owned())
}

/// The versions of the path's server name, trying a second decode when the name is unknown.
fn versions_of<'a>(snapshot: &'a RegistrySnapshot, params: &RawPathParams) -> &'a [Arc<Record>] {
    let Some(name) = param(params, "server_name") else {
        return &[];
    };
    if snapshot.contains(name) {
        return snapshot.versions_of(name);
    }
    decoded_again(name).map(|name| snapshot.versions_of(&name)).unwrap_or(&[])
}

/// `GET /servers/{serverName}/versions`: every version, newest `publishedAt` first.
#[utoipa::path(
    get,
    path = "/servers/{serverName}/versions",
    operation_id = "listServerVersions",
    tag = "servers",
    summary = "List the versions of a server",
    description = "Every version of the name, newest `publishedAt` first; not paginated.",
    params(
        ("serverName" = String, Path, description = "The server name, URL-encoded as one segment (`io.github.alice%2Fnotes`)."),
        ("include_deleted" = Option<bool>, Query, description = "Also list deleted versions (default false)."),
    ),
    responses(
        (status = 200, description = "Every version of the name, newest `publishedAt` first (no cursor).",
            body = crate::openapi::schemas::ServerList),
        (status = 400, description = "Undecodable path, or a NUL byte in the request (sent as `application/json`).",
            content(
            (crate::openapi::schemas::Problem = "application/problem+json"),
            (crate::openapi::schemas::Problem = "application/json"))),
        (status = 404, description = "Server not found (unknown name, or every version deleted).",
            body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`include_deleted` is not a boolean.",
            body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn versions(State(state): State<AppState>, params: PathParams, uri: Uri) -> Response {
    versions_inner(&state, params, uri.query()).unwrap_or_else(IntoResponse::into_response)
}

fn versions_inner(state: &AppState, params: PathParams, query: Option<&str>) -> Result<Response, Problem> {
    let params = path_params(params)?;
    let snapshot = scope(state, &params)?;
    let include_deleted = Query::parse(query).include_deleted()?.unwrap_or(false);
    let mut records: Vec<&Record> =
        versions_of(&snapshot, &params).iter().filter(|r| include_deleted || !r.deleted).map(Arc::as_ref).collect();
    if records.is_empty() {
        return Err(Problem::not_found(SERVER_NOT_FOUND));
    }
    records.sort_by(|a, b| b.published_at.cmp(&a.published_at).then_with(|| b.version.cmp(&a.version)));
    Ok(json(server_list(&records, None)))
}

/// `GET /servers/{serverName}/versions/{version}`: one version; `latest` is the `isLatest` row.
#[utoipa::path(
    get,
    path = "/servers/{serverName}/versions/{version}",
    operation_id = "getServerVersion",
    tag = "servers",
    summary = "Get one version of a server",
    description = "One version; `latest` is the version flagged `isLatest`.",
    params(
        ("serverName" = String, Path, description = "The server name, URL-encoded as one segment (`io.github.alice%2Fnotes`)."),
        ("version" = String, Path, description = "An exact version (URL-encoded), or `latest`."),
        ("include_deleted" = Option<bool>, Query, description = "Also return a deleted version (default false)."),
    ),
    responses(
        (status = 200, description = "The server version.", body = crate::openapi::schemas::ServerResponse),
        (status = 400, description = "Undecodable path, or a NUL byte in the request (sent as `application/json`).",
            content(
            (crate::openapi::schemas::Problem = "application/problem+json"),
            (crate::openapi::schemas::Problem = "application/json"))),
        (status = 404, description = "Server not found (unknown name or version, or a deleted version).",
            body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`include_deleted` is not a boolean.",
            body = crate::openapi::schemas::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn version(State(state): State<AppState>, params: PathParams, uri: Uri) -> Response {
    version_inner(&state, params, uri.query()).unwrap_or_else(IntoResponse::into_response)
}

fn version_inner(state: &AppState, params: PathParams, query: Option<&str>) -> Result<Response, Problem> {
    let params = path_params(params)?;
    let snapshot = scope(state, &params)?;
    let include_deleted = Query::parse(query).include_deleted()?.unwrap_or(false);
    let records = versions_of(&snapshot, &params);
    let wanted = param(&params, "version").unwrap_or_default();
    let find =
        |version: &str| records.iter().find(|r| if version == "latest" { r.is_latest } else { r.version == version });
    let found = find(wanted).or_else(|| decoded_again(wanted).and_then(|v| find(&v)));
    match found {
        Some(record) if include_deleted || !record.deleted => Ok(record.response()),
        _ => Err(Problem::not_found(SERVER_NOT_FOUND)),
    }
}
