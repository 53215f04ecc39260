//! `GET /servers`, `GET /servers/{serverName}/versions` and `GET /servers/{serverName}/versions/{version}`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::params::{Cursor, ListParams, RawQuery as Query};
use crate::problem::Problem;
use crate::snapshot::{Record, RegistrySnapshot};
use crate::state::AppState;

/// The detail of a 404 for an unknown server or version.
const SERVER_NOT_FOUND: &str = "Server not found";

type PathParams = Result<Path<HashMap<String, String>>, PathRejection>;

/// The snapshot a request reads: one registry's, or the aggregate when the path has no registry.
fn scope(state: &AppState, params: &HashMap<String, String>) -> Result<Arc<RegistrySnapshot>, Problem> {
    let snapshot = state.snapshot();
    match params.get("registry") {
        None => Ok(Arc::clone(snapshot.aggregate())),
        Some(name) => {
            snapshot.registry(name).cloned().ok_or_else(|| Problem::not_found(format!("Registry {name:?} not found")))
        }
    }
}

fn path_params(params: PathParams) -> Result<HashMap<String, String>, Problem> {
    params.map(|Path(params)| params).map_err(|e| Problem::bad_request(format!("Invalid path: {}", e.body_text())))
}

/// A JSON response from pre-rendered text.
pub(super) fn json(body: String) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Appends `{"servers":[…],"metadata":{…}}` built from pre-rendered records.
fn server_list<'a>(records: impl IntoIterator<Item = &'a Record>, next_cursor: Option<String>) -> String {
    let mut body = String::from("{\"servers\":[");
    let mut count = 0usize;
    for record in records {
        if count > 0 {
            body.push(',');
        }
        body.push_str(&record.json);
        count += 1;
    }
    body.push_str("],\"metadata\":{");
    if let Some(cursor) = next_cursor {
        body.push_str("\"nextCursor\":");
        body.push_str(&serde_json::Value::from(cursor).to_string());
        body.push(',');
    }
    body.push_str("\"count\":");
    body.push_str(&count.to_string());
    body.push_str("}}");
    body
}

/// The index of the first record after `cursor`.
fn start_of(records: &[Record], cursor: Option<&Cursor>) -> usize {
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
        && params.search.as_deref().is_none_or(|term| record.name_lower.contains(term))
        && match params.version.as_deref() {
            None => true,
            Some("latest") => record.is_latest,
            Some(version) => record.version == version,
        }
        && params.updated_since.is_none_or(|since| record.updated_at.is_some_and(|at| at > since))
}

/// `GET /servers`: one item per server version, ordered by (name, version), cursor-paginated.
pub async fn list(State(state): State<AppState>, params: PathParams, RawQuery(query): RawQuery) -> Response {
    list_inner(&state, params, query.as_deref()).unwrap_or_else(IntoResponse::into_response)
}

fn list_inner(state: &AppState, params: PathParams, query: Option<&str>) -> Result<Response, Problem> {
    let snapshot = scope(state, &path_params(params)?)?;
    let params = ListParams::from_query(&Query::parse(query))?;
    let records = snapshot.records();
    let start = start_of(records, params.cursor.as_ref());
    let page: Vec<&Record> =
        records.get(start..).unwrap_or(&[]).iter().filter(|r| matches(r, &params)).take(params.limit).collect();
    let next_cursor =
        (page.len() == params.limit).then(|| page.last().map(|r| format!("{}:{}", r.name, r.version))).flatten();
    Ok(json(server_list(page, next_cursor)))
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
fn versions_of<'a>(snapshot: &'a RegistrySnapshot, params: &HashMap<String, String>) -> &'a [Record] {
    let Some(name) = params.get("server_name") else {
        return &[];
    };
    if snapshot.contains(name) {
        return snapshot.versions_of(name);
    }
    decoded_again(name).map(|name| snapshot.versions_of(&name)).unwrap_or(&[])
}

/// `GET /servers/{serverName}/versions`: every version, newest `publishedAt` first.
pub async fn versions(State(state): State<AppState>, params: PathParams, RawQuery(query): RawQuery) -> Response {
    versions_inner(&state, params, query.as_deref()).unwrap_or_else(IntoResponse::into_response)
}

fn versions_inner(state: &AppState, params: PathParams, query: Option<&str>) -> Result<Response, Problem> {
    let params = path_params(params)?;
    let snapshot = scope(state, &params)?;
    let include_deleted = Query::parse(query).include_deleted()?.unwrap_or(false);
    let mut records: Vec<&Record> =
        versions_of(&snapshot, &params).iter().filter(|r| include_deleted || !r.deleted).collect();
    if records.is_empty() {
        return Err(Problem::not_found(SERVER_NOT_FOUND));
    }
    records.sort_by(|a, b| b.published_at.cmp(&a.published_at).then_with(|| b.version.cmp(&a.version)));
    Ok(json(server_list(records, None)))
}

/// `GET /servers/{serverName}/versions/{version}`: one version; `latest` is the `isLatest` row.
pub async fn version(State(state): State<AppState>, params: PathParams, RawQuery(query): RawQuery) -> Response {
    version_inner(&state, params, query.as_deref()).unwrap_or_else(IntoResponse::into_response)
}

fn version_inner(state: &AppState, params: PathParams, query: Option<&str>) -> Result<Response, Problem> {
    let params = path_params(params)?;
    let snapshot = scope(state, &params)?;
    let include_deleted = Query::parse(query).include_deleted()?.unwrap_or(false);
    let records = versions_of(&snapshot, &params);
    let wanted = params.get("version").map(String::as_str).unwrap_or_default();
    let find =
        |version: &str| records.iter().find(|r| if version == "latest" { r.is_latest } else { r.version == version });
    let found = find(wanted).or_else(|| decoded_again(wanted).and_then(|v| find(&v)));
    match found {
        Some(record) if include_deleted || !record.deleted => Ok(json(record.json.to_string())),
        _ => Err(Problem::not_found(SERVER_NOT_FOUND)),
    }
}
