//! Real HTTP servers on 127.0.0.1 for tests: an MCP Registry API that pages through a list of records
//! with the official rules, and a static document with `ETag` support.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use serde_json::{Value, json};

const OFFICIAL: &str = "io.modelcontextprotocol.registry/official";

/// (name, version) of a `{server, _meta}` record.
pub fn record_key(record: &Value) -> (String, String) {
    let text = |field: &str| record["server"][field].as_str().unwrap_or_default().to_owned();
    (text("name"), text("version"))
}

fn official(record: &Value) -> &Value {
    &record["_meta"][OFFICIAL]
}

fn problem(status: StatusCode, detail: &str) -> Response {
    let body = json!({"title": status.canonical_reason(), "status": status.as_u16(), "detail": detail});
    (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
}

/// How the test registry API behaves.
#[derive(Debug, Default, Clone)]
pub struct ApiOptions {
    /// Answer 404 under `/v0.1` (an older server with `/v0` only).
    pub v01_missing: bool,
    /// Require `Authorization: Bearer <token>`.
    pub require_token: Option<String>,
    /// Serve this body instead of pages.
    pub garbage: Option<String>,
}

struct ApiState {
    records: Mutex<Vec<Value>>,
    options: ApiOptions,
    requests: Mutex<Vec<Uri>>,
}

/// An MCP Registry API server over a list of records (sorted by name, then version, as strings).
pub struct TestRegistryApi {
    addr: SocketAddr,
    state: Arc<ApiState>,
}

/// `GET /servers` with the official rules: limit 1..100 (default 30), cursor `name:version`, `nextCursor`
/// only on full pages, `updated_since` strict (implies deleted), `version=latest` via `isLatest`.
fn list(records: &[Value], query: &HashMap<String, String>) -> Response {
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        None => 30,
        Some(Ok(limit)) if (1..=100).contains(&limit) => limit,
        Some(_) => return problem(StatusCode::UNPROCESSABLE_ENTITY, "limit must be 1..100"),
    };
    let since = match query.get("updated_since").map(|s| s.parse::<Timestamp>()) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(_)) => return problem(StatusCode::BAD_REQUEST, "Invalid updated_since format"),
    };
    let include_deleted = since.is_some() || query.get("include_deleted").is_some_and(|v| v == "true");
    let cursor = query.get("cursor").map(|c| match c.split_once(':') {
        Some((name, version)) => (name.to_owned(), Some(version.to_owned())),
        None => (c.clone(), None),
    });
    // Records are sorted by (name, version): the page starts right after the cursor.
    let start = match &cursor {
        None => 0,
        Some((cn, Some(cv))) => records.partition_point(|r| {
            let (name, version) = record_key(r);
            (name.as_str(), version.as_str()) <= (cn.as_str(), cv.as_str())
        }),
        Some((cn, None)) => records.partition_point(|r| record_key(r).0.as_str() <= cn.as_str()),
    };
    let page: Vec<&Value> = records[start..]
        .iter()
        .filter(|r| {
            let meta = official(r);
            let version_ok = match query.get("version").map(String::as_str) {
                None => true,
                Some("latest") => meta["isLatest"] == Value::Bool(true),
                Some(v) => r["server"]["version"].as_str() == Some(v),
            };
            let updated_ok = since.is_none_or(|since| {
                meta["updatedAt"].as_str().and_then(|t| t.parse::<Timestamp>().ok()).is_some_and(|t| t > since)
            });
            let status_ok = include_deleted || meta["status"] != "deleted";
            version_ok && updated_ok && status_ok
        })
        .take(limit)
        .collect();
    let mut metadata = json!({"count": page.len()});
    if page.len() == limit
        && let Some(last) = page.last()
    {
        let (name, version) = record_key(last);
        metadata["nextCursor"] = json!(format!("{name}:{version}"));
    }
    let body = json!({"servers": page, "metadata": metadata});
    ([(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

async fn servers(
    State(state): State<Arc<ApiState>>,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    state.requests.lock().unwrap_or_else(|e| e.into_inner()).push(uri.clone());
    if state.options.v01_missing && uri.path().starts_with("/v0.1/") {
        return problem(StatusCode::NOT_FOUND, "Endpoint not found. See /docs for the API documentation.");
    }
    if let Some(token) = &state.options.require_token
        && headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {token}"))
    {
        return problem(StatusCode::UNAUTHORIZED, "Invalid or missing token");
    }
    if let Some(garbage) = &state.options.garbage {
        return garbage.clone().into_response();
    }
    list(&state.records.lock().unwrap_or_else(|e| e.into_inner()), &query)
}

impl TestRegistryApi {
    /// Starts serving `records` under `/v0.1/servers`, `/v0/servers` and `/prefix/registry/v0.1/servers`.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start(mut records: Vec<Value>, options: ApiOptions) -> Self {
        records.sort_by_key(record_key);
        let state = Arc::new(ApiState { records: Mutex::new(records), options, requests: Mutex::default() });
        let app = Router::new()
            .route("/v0.1/servers", get(servers))
            .route("/v0/servers", get(servers))
            .route("/prefix/registry/v0.1/servers", get(servers))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, state }
    }

    /// The base URL (`http://127.0.0.1:<port>`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request seen so far (path and query).
    pub fn requests(&self) -> Vec<Uri> {
        self.state.requests.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Forgets the requests seen so far.
    pub fn clear_requests(&self) {
        self.state.requests.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Changes the served records (kept sorted).
    pub fn update(&self, change: impl FnOnce(&mut Vec<Value>)) {
        let mut records = self.state.records.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut records);
        records.sort_by_key(record_key);
    }
}

struct DocumentState {
    body: Mutex<(Vec<u8>, String)>,
    requests: AtomicUsize,
    not_modified: AtomicUsize,
    status: Mutex<Option<StatusCode>>,
    authorization: Mutex<Option<String>>,
}

/// A static JSON document at `/registry.json` with a strong `ETag`, answering `If-None-Match` with 304.
pub struct TestDocumentServer {
    addr: SocketAddr,
    state: Arc<DocumentState>,
}

fn etag_of(body: &[u8]) -> String {
    // FNV-1a: enough to tell test bodies apart.
    let hash = body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3));
    format!("\"{hash:016x}\"")
}

async fn document(State(state): State<Arc<DocumentState>>, headers: HeaderMap) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    if let Some(status) = *state.status.lock().unwrap_or_else(|e| e.into_inner()) {
        return problem(status, "failing on purpose");
    }
    let required = state.authorization.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(required) = required
        && headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(required.as_str())
    {
        return problem(StatusCode::UNAUTHORIZED, "wrong or missing Authorization header");
    }
    let (body, etag) = state.body.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        state.not_modified.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    ([(header::CONTENT_TYPE, "application/json".to_owned()), (header::ETAG, etag)], body).into_response()
}

impl TestDocumentServer {
    /// Starts serving `body` at `/registry.json`.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start(body: Vec<u8>) -> Self {
        let etag = etag_of(&body);
        let state = Arc::new(DocumentState {
            body: Mutex::new((body, etag)),
            requests: AtomicUsize::new(0),
            not_modified: AtomicUsize::new(0),
            status: Mutex::new(None),
            authorization: Mutex::new(None),
        });
        let app = Router::new().route("/registry.json", get(document)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, state }
    }

    /// The document's URL.
    pub fn url(&self) -> String {
        format!("http://{}/registry.json", self.addr)
    }

    /// Replaces the document.
    pub fn set_body(&self, body: Vec<u8>) {
        let etag = etag_of(&body);
        *self.state.body.lock().unwrap_or_else(|e| e.into_inner()) = (body, etag);
    }

    /// Makes every request fail with `status` (or serve again with `None`).
    pub fn fail_with(&self, status: Option<u16>) {
        *self.state.status.lock().unwrap_or_else(|e| e.into_inner()) =
            status.and_then(|s| StatusCode::from_u16(s).ok());
    }

    /// Answers 401 to requests whose `Authorization` header is not exactly `value` (`None`: no check).
    pub fn require_authorization(&self, value: Option<&str>) {
        *self.state.authorization.lock().unwrap_or_else(|e| e.into_inner()) = value.map(ToOwned::to_owned);
    }

    /// Requests seen, and how many were answered 304.
    pub fn counts(&self) -> (usize, usize) {
        (self.state.requests.load(Ordering::SeqCst), self.state.not_modified.load(Ordering::SeqCst))
    }
}
