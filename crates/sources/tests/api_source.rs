//! The registry-API source against an in-process MCP Registry API server on loopback that serves the production
//! dump with the official paging rules: order by (name, version) as strings, cursor `name:version`,
//! `nextCursor` only on full pages, `updated_since` strictly after `updatedAt` (and implying deleted records),
//! `version=latest` by `isLatest`.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use serde_json::{Value, json};
use thv_sources::{
    ApiSource, ApiSpec, AuthSpec, FetchOutcome, Fetched, Payload, SecretRef, Source, SourceError, Validators,
};

const OFFICIAL: &str = "io.modelcontextprotocol.registry/official";
const TOKEN: &str = "api-s3cret-token";

/// The dump, sorted by (name, version); `None` when the shared data is absent.
static DUMP: LazyLock<Option<Vec<Value>>> = LazyLock::new(|| {
    let path = thv_testdata::shared_file(thv_testdata::REAL_DUMP)?;
    let Value::Array(mut records) = thv_testdata::read_json(&path) else { panic!("the dump is not an array") };
    records.sort_by_key(key);
    Some(records)
});

fn key(record: &Value) -> (String, String) {
    let text = |field: &str| record["server"][field].as_str().unwrap_or_default().to_owned();
    (text("name"), text("version"))
}

fn official(record: &Value) -> &Value {
    &record["_meta"][OFFICIAL]
}

/// How the test server behaves.
#[derive(Default, Clone, Copy)]
struct Options {
    /// Answer 404 under `/v0.1` (an older server with `/v0` only).
    v01_missing: bool,
    /// Require `Authorization: Bearer TOKEN`.
    require_token: bool,
    /// Serve this body instead of pages.
    garbage: Option<&'static str>,
}

struct ServerState {
    records: Mutex<Vec<Value>>,
    options: Options,
    /// Every request: path and query.
    requests: Mutex<Vec<Uri>>,
}

type Shared = Arc<ServerState>;

fn problem(status: StatusCode, detail: &str) -> Response {
    let body = json!({"title": status.canonical_reason(), "status": status.as_u16(), "detail": detail});
    (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
}

/// `GET /servers` with the official rules.
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
    let page: Vec<&Value> = records
        .iter()
        .filter(|r| {
            let (name, version) = key(r);
            let meta = official(r);
            let after_cursor = match &cursor {
                None => true,
                Some((cn, Some(cv))) => (name.as_str(), version.as_str()) > (cn.as_str(), cv.as_str()),
                Some((cn, None)) => name.as_str() > cn.as_str(),
            };
            let version_ok = match query.get("version").map(String::as_str) {
                None => true,
                Some("latest") => meta["isLatest"] == Value::Bool(true),
                Some(v) => version == v,
            };
            let updated_ok = since.is_none_or(|since| {
                meta["updatedAt"].as_str().and_then(|t| t.parse::<Timestamp>().ok()).is_some_and(|t| t > since)
            });
            let status_ok = include_deleted || meta["status"] != "deleted";
            after_cursor && version_ok && updated_ok && status_ok
        })
        .take(limit)
        .collect();
    let mut metadata = json!({"count": page.len()});
    if page.len() == limit
        && let Some(last) = page.last()
    {
        let (name, version) = key(last);
        metadata["nextCursor"] = json!(format!("{name}:{version}"));
    }
    let body = json!({"servers": page, "metadata": metadata});
    ([(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

async fn servers(
    State(state): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    state.requests.lock().expect("lock").push(uri.clone());
    if state.options.v01_missing && uri.path().starts_with("/v0.1/") {
        return problem(StatusCode::NOT_FOUND, "Endpoint not found. See /docs for the API documentation.");
    }
    if state.options.require_token
        && headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {TOKEN}"))
    {
        return problem(StatusCode::UNAUTHORIZED, "Invalid or missing token");
    }
    if let Some(garbage) = state.options.garbage {
        return garbage.into_response();
    }
    list(&state.records.lock().expect("lock"), &query)
}

struct Server {
    addr: SocketAddr,
    state: Shared,
}

impl Server {
    /// Serves the dump, or returns `None` (the test skips) when the shared data is absent.
    async fn start(options: Options) -> Option<Self> {
        let records = DUMP.as_ref()?.clone();
        let state = Arc::new(ServerState { records: Mutex::new(records), options, requests: Mutex::default() });
        let app = Router::new()
            .route("/v0.1/servers", get(servers))
            .route("/v0/servers", get(servers))
            .route("/prefix/registry/v0.1/servers", get(servers))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Some(Self { addr, state })
    }

    fn spec(&self) -> ApiSpec {
        ApiSpec {
            url: format!("http://{}", self.addr),
            headers: Default::default(),
            auth: None,
            ca_bundle: None,
            latest_only: false,
            full_resync_interval: None,
            timeout: None,
            max_page_bytes: None,
            max_pages: None,
            allow_link_local: false,
        }
    }

    fn requests(&self) -> Vec<Uri> {
        self.state.requests.lock().expect("lock").clone()
    }

    fn clear_requests(&self) {
        self.state.requests.lock().expect("lock").clear();
    }
}

async fn fetch(spec: ApiSpec, previous: Option<&Validators>) -> Result<FetchOutcome, SourceError> {
    ApiSource::new(spec).expect("source").fetch(previous).await
}

fn fetched(outcome: FetchOutcome) -> Fetched {
    match outcome {
        FetchOutcome::Fetched(f) => f,
        FetchOutcome::NotModified { .. } => panic!("expected content, got NotModified"),
    }
}

fn records(bytes: &[u8]) -> Vec<Value> {
    let Value::Array(records) = serde_json::from_slice(bytes).expect("output is JSON") else { panic!("not an array") };
    records
}

#[tokio::test]
async fn a_full_walk_returns_every_record_once_in_page_order() {
    let Some(server) = Server::start(Options::default()).await else { return };
    let got = fetched(fetch(server.spec(), None).await.expect("walk"));
    let Payload::Full(bytes) = &got.payload else { panic!("expected a full payload") };
    assert_eq!(got.revision, thv_sources::sha256_revision(bytes));
    let walked = records(bytes);
    assert_eq!(walked.len(), 2794);
    let keys: BTreeSet<_> = walked.iter().map(key).collect();
    assert_eq!(keys.len(), 2794, "every (name, version) exactly once");
    assert_eq!(walked.iter().map(|r| key(r).0).collect::<BTreeSet<_>>().len(), 1108);
    assert_eq!(&walked, DUMP.as_ref().expect("dump"), "same records, in (name, version) order");
    let requests = server.requests();
    assert_eq!(requests.len(), 28, "27 full pages and one of 94");
    assert!(requests.iter().all(|u| u.query().is_some_and(|q| q.starts_with("limit=100"))));
    assert!(requests[1].query().is_some_and(|q| q.contains("&cursor=")), "{}", requests[1]);
    assert!(requests.iter().all(|u| !u.query().unwrap_or_default().contains("updated_since")));
    let v = &got.validators;
    assert!(v.api_synced_at.is_some());
    assert_eq!(v.api_synced_at, v.api_full_synced_at);
    assert_eq!(v.content_sha256.as_deref(), Some(got.revision.as_str()));
}

#[tokio::test]
async fn latest_only_returns_one_record_per_name() {
    let Some(server) = Server::start(Options::default()).await else { return };
    let mut spec = server.spec();
    spec.latest_only = true;
    let walked = records(fetched(fetch(spec, None).await.expect("walk")).payload.bytes());
    assert_eq!(walked.len(), 1108);
    assert!(walked.iter().all(|r| official(r)["isLatest"] == Value::Bool(true)));
    assert!(server.requests().iter().all(|u| u.query().is_some_and(|q| q.contains("version=latest"))));
}

#[tokio::test]
async fn incremental_walks_return_only_changed_records() {
    let Some(server) = Server::start(Options::default()).await else { return };
    let first = fetched(fetch(server.spec(), None).await.expect("full walk"));

    // Touch three records (at microsecond precision, as registries store) after the first walk started; one of
    // them is deleted.
    let touched_at = Timestamp::from_microsecond(Timestamp::now().as_microsecond()).expect("now");
    let mut expected = BTreeSet::new();
    {
        let mut records = server.state.records.lock().expect("lock");
        for i in [7, 1007, 2007] {
            let meta = &mut records[i]["_meta"][OFFICIAL];
            meta["updatedAt"] = json!(touched_at.to_string());
            if i == 7 {
                meta["status"] = json!("deleted");
            }
            expected.insert(key(&records[i]));
        }
    }
    assert_eq!(expected.len(), 3);
    server.clear_requests();

    let delta = fetched(fetch(server.spec(), Some(&first.validators)).await.expect("incremental walk"));
    let Payload::Delta(bytes) = &delta.payload else { panic!("expected a delta") };
    let changed = records(bytes);
    assert_eq!(changed.iter().map(key).collect::<BTreeSet<_>>(), expected);
    assert_eq!(changed.iter().filter(|r| official(r)["status"] == "deleted").count(), 1, "deleted records included");
    assert_eq!(delta.revision, thv_sources::sha256_revision(bytes));
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let query = requests[0].query().unwrap_or_default();
    let since = first.validators.api_synced_at.as_deref().expect("synced at").replace(':', "%3A");
    assert!(query.contains(&format!("updated_since={since}")), "{query}");
    assert_eq!(delta.validators.api_full_synced_at, first.validators.api_full_synced_at);
    let parse = |v: &Validators| v.api_synced_at.as_deref().expect("synced").parse::<Timestamp>().expect("rfc3339");
    assert!(parse(&delta.validators) > parse(&first.validators));

    // Nothing changed since: not modified, and the sync time moves on.
    let again = fetch(server.spec(), Some(&delta.validators)).await.expect("incremental walk");
    let FetchOutcome::NotModified { revision, validators } = again else { panic!("expected NotModified") };
    assert_eq!(revision, delta.revision);
    assert!(parse(&validators) > parse(&delta.validators));
    assert_eq!(validators.api_full_synced_at, first.validators.api_full_synced_at);
}

#[tokio::test]
async fn full_walks_resume_after_the_resync_interval() {
    let Some(server) = Server::start(Options::default()).await else { return };
    let mut spec = server.spec();
    spec.full_resync_interval = Some(Duration::ZERO);
    let first = fetched(fetch(spec.clone(), None).await.expect("walk"));
    server.clear_requests();
    // Same content on a second full walk: not modified.
    let again = fetch(spec.clone(), Some(&first.validators)).await.expect("walk");
    let FetchOutcome::NotModified { revision, validators } = again else { panic!("expected NotModified") };
    assert_eq!(revision, first.revision);
    assert_eq!(validators.api_synced_at, validators.api_full_synced_at);
    assert_eq!(server.requests().len(), 28);
    assert!(server.requests().iter().all(|u| !u.query().unwrap_or_default().contains("updated_since")));
    // A stale full walk on record also forces a full walk.
    let stale = Validators {
        api_synced_at: Some("2025-12-18T00:00:00Z".into()),
        api_full_synced_at: Some("2025-12-01T00:00:00Z".into()),
        content_sha256: Some("sha256:00".into()),
        ..Validators::default()
    };
    let full = fetched(fetch(server.spec(), Some(&stale)).await.expect("walk"));
    assert!(matches!(full.payload, Payload::Full(_)));
}

#[tokio::test]
async fn servers_without_v0_1_are_walked_under_v0() {
    let Some(server) = Server::start(Options { v01_missing: true, ..Options::default() }).await else { return };
    let walked = records(fetched(fetch(server.spec(), None).await.expect("walk")).payload.bytes());
    assert_eq!(walked.len(), 2794);
    let requests = server.requests();
    assert_eq!(requests.iter().filter(|u| u.path() == "/v0.1/servers").count(), 1);
    assert_eq!(requests.iter().filter(|u| u.path() == "/v0/servers").count(), 28);
}

#[tokio::test]
async fn a_base_path_prefix_is_kept() {
    let Some(server) = Server::start(Options::default()).await else { return };
    let mut spec = server.spec();
    spec.url = format!("http://{}/prefix/registry/", server.addr);
    spec.latest_only = true;
    let walked = records(fetched(fetch(spec, None).await.expect("walk")).payload.bytes());
    assert_eq!(walked.len(), 1108);
    assert!(server.requests().iter().all(|u| u.path() == "/prefix/registry/v0.1/servers"));
}

#[tokio::test]
async fn the_page_limit_is_enforced() {
    let Some(server) = Server::start(Options::default()).await else { return };
    let mut spec = server.spec();
    spec.max_pages = Some(5);
    let err = fetch(spec, None).await.expect_err("too many pages");
    assert!(matches!(err, SourceError::BadContent { .. }), "{err}");
    assert!(err.to_string().contains("5 pages"), "{err}");
    assert!(!err.is_retryable());
    assert_eq!(server.requests().len(), 5);
}

#[tokio::test]
async fn the_page_size_limit_is_enforced() {
    let Some(server) = Server::start(Options::default()).await else { return };
    let mut spec = server.spec();
    spec.max_page_bytes = Some(4096);
    let err = fetch(spec, None).await.expect_err("page too large");
    assert!(matches!(err, SourceError::TooLarge { limit: 4096, .. }), "{err}");
    assert!(err.to_string().contains("/v0.1/servers?limit=100"), "{err}");
}

#[tokio::test]
async fn pages_that_are_not_server_lists_are_bad_content() {
    for garbage in ["<html>oops</html>", r#"{"data": {"servers": []}}"#, r#"[{"server": {}}]"#] {
        let Some(server) = Server::start(Options { garbage: Some(garbage), ..Options::default() }).await else {
            return;
        };
        let err = fetch(server.spec(), None).await.expect_err(garbage);
        assert!(matches!(err, SourceError::BadContent { .. }), "{garbage}: {err}");
        assert!(err.to_string().contains(&format!("http://{}/v0.1/servers?limit=100", server.addr)), "{err}");
        assert!(!err.is_retryable());
    }
}

#[tokio::test]
async fn credentials_are_sent_on_every_page() {
    let Some(server) = Server::start(Options { require_token: true, ..Options::default() }).await else { return };
    let err = fetch(server.spec(), None).await.expect_err("no token");
    assert!(matches!(err, SourceError::Unauthorized { status: 401, .. }), "{err}");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("token");
    std::fs::write(&path, format!("{TOKEN}\n")).expect("write");
    let mut spec = server.spec();
    spec.auth = Some(AuthSpec::Bearer { token: SecretRef::File(path) });
    let walked = records(fetched(fetch(spec, None).await.expect("walk")).payload.bytes());
    assert_eq!(walked.len(), 2794);
    assert!(!err.to_string().contains(TOKEN));
}
