//! Query-string credentials of a source URL (`?token=…`, presigned `X-Amz-Signature=…`) never reach an API
//! answer: not the registry's location, not its last error, not the recent runs, not a failed manual sync.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{get, send};
use serde_json::json;
use thv_api::AppState;
use thv_api::auth::{AuthConfig, Scopes, TokenSet, TokenSource, generate_token};
use thv_store::{SqliteStore, Store};
use thv_sync::{RegistrySpec, Scheduler};

const SECRET: &str = "S3CRET";

/// A loopback server answering every request with 503.
async fn unavailable() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().fallback(|| async { StatusCode::SERVICE_UNAVAILABLE });
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_failing_presigned_url_shows_no_secret() {
    let url = format!("{}/catalog.json?token={SECRET}&X-Amz-Signature={SECRET}", unavailable().await);
    let spec: RegistrySpec = serde_json::from_value(json!({
        "name": "presigned", "source": {"url": {"url": url}}, "syncPolicy": {"enabled": false},
    }))
    .expect("spec");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.expect("store"));
    let cache = tempfile::tempdir().expect("cache");
    let scheduler = Scheduler::start(vec![spec.clone()], Arc::clone(&store), cache.path().to_owned());
    let (writer, line) = generate_token("ci", Scopes { read: true, write: true }).expect("token");
    let tokens = Arc::new(TokenSource::fixed(TokenSet::parse(&format!("{line}\n")).expect("tokens")));
    let state = AppState::new(thv_api::Snapshot::default());
    state.set_store(store);
    state.set_registries(vec![spec]);
    state.set_scheduler(scheduler.handle());
    state.set_auth(AuthConfig { anonymous_reads: true, tokens: Some(tokens), oidc: None });
    let app = thv_api::router(state);

    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/registries/presigned/sync")
        .header("authorization", format!("Bearer {writer}"))
        .body(Body::empty())
        .expect("request");
    let failed = send(&app, request).await;
    assert_eq!(failed.status, 502, "{}", failed.text);
    assert!(failed.text.contains("503"), "the error is still told: {}", failed.text);

    let list = get(&app, "/api/v1/registries").await;
    let one = get(&app, "/api/v1/registries/presigned").await;
    for reply in [&failed, &list, &one] {
        assert!(!reply.text.contains(SECRET), "{}", reply.text);
    }
    let shown = one.json();
    let location = shown["source"]["location"].as_str().expect("location");
    assert!(location.ends_with("/catalog.json?token=***&X-Amz-Signature=***"), "{location}");
    assert!(shown["lastError"].as_str().is_some_and(|e| e.contains("503")), "{shown}");
    assert!(shown["recentRuns"][0]["error"].as_str().is_some_and(|e| e.contains("503")), "{shown}");
    scheduler.stop().await;
}
