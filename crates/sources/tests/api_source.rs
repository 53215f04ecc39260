//! The registry-API source against an in-process MCP Registry API server on loopback that serves the production
//! dump with the official paging rules: order by (name, version) as strings, cursor `name:version`,
//! `nextCursor` only on full pages, `updated_since` strictly after `updatedAt` (and implying deleted records),
//! `version=latest` by `isLatest`.

use std::collections::BTreeSet;
use std::sync::LazyLock;
use std::time::Duration;

use axum::http::Uri;
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

use thv_testdata::servers::{ApiOptions as Options, TestRegistryApi, record_key as key};

/// The shared test registry API serving the dump.
struct Server {
    api: TestRegistryApi,
}

impl Server {
    /// Serves the dump, or returns `None` (the test skips) when the shared data is absent.
    async fn start(options: Options) -> Option<Self> {
        let records = DUMP.as_ref()?.clone();
        Some(Self { api: TestRegistryApi::start(records, options).await })
    }

    fn spec(&self) -> ApiSpec {
        ApiSpec::new(self.api.url())
    }

    fn requests(&self) -> Vec<Uri> {
        self.api.requests()
    }

    fn clear_requests(&self) {
        self.api.clear_requests();
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
    assert!(walked.iter().all(|r| r["_meta"][OFFICIAL]["isLatest"] == Value::Bool(true)));
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
    server.api.update(|records| {
        for i in [7, 1007, 2007] {
            let meta = &mut records[i]["_meta"][OFFICIAL];
            meta["updatedAt"] = json!(touched_at.to_string());
            if i == 7 {
                meta["status"] = json!("deleted");
            }
            expected.insert(key(&records[i]));
        }
    });
    assert_eq!(expected.len(), 3);
    server.clear_requests();

    let delta = fetched(fetch(server.spec(), Some(&first.validators)).await.expect("incremental walk"));
    let Payload::Delta(bytes) = &delta.payload else { panic!("expected a delta") };
    let changed = records(bytes);
    assert_eq!(changed.iter().map(key).collect::<BTreeSet<_>>(), expected);
    assert_eq!(
        changed.iter().filter(|r| r["_meta"][OFFICIAL]["status"] == "deleted").count(),
        1,
        "deleted records included"
    );
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
    spec.url = format!("http://{}/prefix/registry/", server.api.addr());
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
        let Some(server) = Server::start(Options { garbage: Some(garbage.into()), ..Options::default() }).await else {
            return;
        };
        let err = fetch(server.spec(), None).await.expect_err(garbage);
        assert!(matches!(err, SourceError::BadContent { .. }), "{garbage}: {err}");
        assert!(err.to_string().contains(&format!("http://{}/v0.1/servers?limit=100", server.api.addr())), "{err}");
        assert!(!err.is_retryable());
    }
}

#[tokio::test]
async fn credentials_are_sent_on_every_page() {
    let Some(server) = Server::start(Options { require_token: Some(TOKEN.into()), ..Options::default() }).await else {
        return;
    };
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
