//! Fixtures: the real dump committed to an in-memory SQLite store, and in-process requests.
#![allow(dead_code)] // Each test binary uses a different part.

pub mod raw;

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use thv_api::{AppState, load_snapshot};
use thv_store::{Counts, JsonText, RegistryState, ServerVersion, SqliteStore, Store, SyncCommit, SyncOutcome, SyncRun};
use thv_testdata::{REAL_DUMP, read_json, shared_file};

pub const OFFICIAL: &str = "io.modelcontextprotocol.registry/official";

/// A `{server, _meta}` record as a stored version.
pub fn to_version(record: &Value) -> ServerVersion {
    let server = &record["server"];
    let official = &record["_meta"][OFFICIAL];
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let mut extra = record["_meta"].as_object().cloned().unwrap_or_default();
    extra.remove(OFFICIAL);
    ServerVersion {
        name: text(&server["name"]).expect("name"),
        version: text(&server["version"]).expect("version"),
        document: JsonText::from_value(server),
        extra_meta: if extra.is_empty() { Value::Null } else { Value::Object(extra) },
        digest: "sha256:test".to_owned(),
        status: text(&official["status"]).unwrap_or_else(|| "active".to_owned()),
        status_changed_at: text(&official["statusChangedAt"]),
        status_message: text(&official["statusMessage"]),
        published_at: text(&official["publishedAt"]).expect("publishedAt"),
        updated_at: text(&official["updatedAt"]).expect("updatedAt"),
        is_latest: official["isLatest"].as_bool().expect("isLatest"),
    }
}

/// A commit that fills `registry` with `versions`.
pub fn commit(registry: &str, versions: Vec<ServerVersion>) -> SyncCommit {
    let count = versions.len() as u64;
    let run = SyncRun {
        id: 0,
        registry: registry.to_owned(),
        started_at: "2025-12-18T00:00:00Z".to_owned(),
        finished_at: "2025-12-18T00:00:01Z".to_owned(),
        outcome: SyncOutcome::Success,
        error: None,
        revision: None,
        digest: None,
        counts: Counts { total: count, added: count, ..Counts::default() },
    };
    let state = RegistryState { registry: registry.to_owned(), server_count: count, ..RegistryState::default() };
    SyncCommit { run, state, upserts: versions, removals: Vec::new(), changes: Vec::new() }
}

/// Stores `registries` (name, versions) in an in-memory SQLite store and loads the snapshot from it.
pub async fn state_of(registries: Vec<(&str, Vec<ServerVersion>)>) -> AppState {
    let store = SqliteStore::in_memory().await.expect("store");
    let names: Vec<String> = registries.iter().map(|(name, _)| (*name).to_owned()).collect();
    for (name, versions) in registries {
        store.commit_sync(&commit(name, versions)).await.expect("commit");
    }
    let snapshot = load_snapshot(&store, &names).await.expect("snapshot");
    store.close().await;
    AppState::new(snapshot)
}

/// The dump's records, or `None` when `../shared` is absent.
pub fn dump() -> Option<&'static Vec<Value>> {
    static DUMP: OnceLock<Option<Vec<Value>>> = OnceLock::new();
    DUMP.get_or_init(|| {
        let path = shared_file(REAL_DUMP)?;
        match read_json(&path) {
            Value::Array(records) => Some(records),
            other => panic!("the dump is not an array: {}", other.to_string().len()),
        }
    })
    .as_ref()
}

/// The router over the dump as the single registry `official`, built once per test binary.
pub fn dump_app() -> Option<Router> {
    static STATE: OnceLock<Option<AppState>> = OnceLock::new();
    let state = STATE.get_or_init(|| {
        let versions: Vec<ServerVersion> = dump()?.iter().map(to_version).collect();
        // A runtime of its own on its own thread: the tests' runtimes come and go.
        let loaded = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(state_of(vec![("official", versions)]))
        });
        Some(loaded.join().expect("loading the dump"))
    });
    state.clone().map(thv_api::router)
}

/// A response's parts.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends `request` to `app`.
pub async fn send(app: &Router, request: Request<Body>) -> Reply {
    use tower::ServiceExt;
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    Reply { status, headers, text: String::from_utf8(bytes.to_vec()).expect("utf-8 body") }
}

/// `GET uri`.
pub async fn get(app: &Router, uri: &str) -> Reply {
    send(app, Request::builder().method(Method::GET).uri(uri).body(Body::empty()).expect("request")).await
}

/// Percent-encodes a query value or path segment (everything but unreserved characters).
pub fn enc(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>().replace('+', "%20")
}

/// Asserts a problem+json response with `status` and `detail`.
pub fn assert_problem(reply: &Reply, status: u16, detail: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some("application/problem+json"));
    let body = reply.json();
    assert_eq!(body["status"], status);
    assert_eq!(body["detail"], detail);
    assert_eq!(body["title"], reply.status.canonical_reason().unwrap_or_default());
}
