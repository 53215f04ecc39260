//! Operational endpoints: health, readiness, version and Prometheus metrics.

mod common;

use axum::body::Body;
use axum::http::{Request, header};
use common::{assert_problem, get, send, state_of};
use serde_json::json;
use std::sync::Arc;

use thv_api::{AppState, OPENMETRICS_TEXT, router};
use thv_store::{SqliteStore, Store};

async fn two_empty_registries() -> AppState {
    state_of(vec![("first", Vec::new()), ("second", Vec::new())]).await
}

/// The value of the sample line that starts with `prefix` (name and labels), if any.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(prefix)?.trim().parse().ok())
}

#[tokio::test]
async fn liveness_endpoints() {
    let app = router(two_empty_registries().await);
    for path in ["/healthz", "/health"] {
        let reply = get(&app, path).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.header("content-type"), Some("application/json"));
        assert_eq!(reply.json(), json!({"status": "ok"}));
    }
    let reply = get(&app, "/ping").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({"pong": true}));
}

#[tokio::test]
async fn readiness_follows_the_flag() {
    let state = two_empty_registries().await;
    let app = router(state.clone());
    let reply = get(&app, "/readyz").await;
    assert_problem(&reply, 503, "The catalogs have not been loaded from the store yet.");
    // Liveness does not depend on readiness.
    assert_eq!(get(&app, "/healthz").await.status, 200);

    state.set_ready(true);
    let reply = get(&app, "/readyz").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({"status": "ready", "registries": 2}));

    state.set_ready(false);
    assert_eq!(get(&app, "/readyz").await.status, 503);
}

#[tokio::test]
async fn ready_without_registries_says_so() {
    let state = state_of(Vec::new()).await;
    state.set_ready(true);
    let reply = get(&router(state), "/readyz").await;
    assert_eq!(reply.status, 200, "still ready: an empty catalog is a valid state");
    let body = reply.json();
    assert_eq!((body["status"].as_str(), body["registries"].as_u64()), (Some("ready"), Some(0)), "{body}");
    let warning = body["warning"].as_str().unwrap_or_else(|| panic!("no warning: {body}"));
    assert!(warning.contains("no registries are configured"), "{warning}");
}

#[tokio::test]
async fn readiness_probes_the_store() {
    let state = two_empty_registries().await;
    let store = Arc::new(SqliteStore::in_memory().await.expect("store"));
    state.set_store(Arc::clone(&store) as Arc<dyn Store>);
    state.set_ready(true);
    let app = router(state);
    let reply = get(&app, "/readyz").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json(), json!({"status": "ready", "registries": 2}));

    store.close().await;
    assert_problem(&get(&app, "/readyz").await, 503, "The database does not answer.");
    assert_eq!(get(&app, "/healthz").await.status, 200);
}

#[tokio::test]
async fn version_is_snake_case() {
    let app = router(two_empty_registries().await);
    let reply = get(&app, "/version").await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert!(body["git_commit"].is_string(), "{body}");
    assert!(body["build_time"].is_string(), "{body}");
    assert_eq!(body.as_object().map(|o| o.len()), Some(3), "{body}");
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let app = router(two_empty_registries().await);
    assert_eq!(get(&app, "/v0.1/servers/io.example%2Fnone/versions/1.0.0").await.status, 404);
    assert_eq!(get(&app, "/v0.1/servers/io.example%2Fnone/versions/2.0.0").await.status, 404);
    assert_eq!(get(&app, "/registry/first/v0/servers").await.status, 200);
    assert_eq!(get(&app, "/no/such/path").await.status, 404);
    // Made-up methods are one label value, so a client cannot grow the metrics without bound.
    for method in ["FOO1", "FOO2"] {
        let request = Request::builder().method(method).uri("/v0.1/servers").body(Body::empty()).expect("request");
        assert_eq!(send(&app, request).await.status, 404);
    }

    let request = Request::builder()
        .uri("/metrics")
        .header(header::ACCEPT, "application/openmetrics-text; version=1.0.0")
        .body(Body::empty())
        .expect("request");
    let reply = send(&app, request).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some(OPENMETRICS_TEXT));
    let text = &reply.text;
    assert!(text.ends_with("# EOF\n"), "{text}");
    let route = "/v0.1/servers/{server_name}/versions/{version}";
    let count = format!("thv_http_requests_total{{route=\"{route}\",method=\"GET\",status=\"4xx\"}}");
    assert_eq!(sample(text, &count), Some(2.0), "{text}");
    let list = "thv_http_requests_total{route=\"/registry/{registry}/v0/servers\",method=\"GET\",status=\"2xx\"}";
    assert_eq!(sample(text, list), Some(1.0), "{text}");
    let unmatched = "thv_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"4xx\"}";
    assert_eq!(sample(text, unmatched), Some(1.0), "{text}");
    let latency = format!("thv_http_request_duration_seconds_count{{route=\"{route}\",method=\"GET\",status=\"4xx\"}}");
    assert_eq!(sample(text, &latency), Some(2.0), "{text}");
    // Raw paths never become labels.
    assert!(!text.contains("io.example"), "{text}");
    let other = "thv_http_requests_total{route=\"/v0.1/servers\",method=\"other\",status=\"4xx\"}";
    assert_eq!(sample(text, other), Some(2.0), "{text}");
    assert!(!text.contains("FOO1"), "{text}");
}

#[tokio::test]
async fn metrics_record_syncs() {
    let state = two_empty_registries().await;
    let app = router(state.clone());
    state.metrics().record_sync("first", "success", 1.5, 42, 1_764_000_000);
    state.metrics().record_sync("first", "failed", 0.5, 42, 1_764_000_600);
    state.metrics().record_sync("second", "unchanged", 0.25, 7, 1_764_000_300);

    let text = get(&app, "/metrics").await.text;
    let runs = |registry: &str, outcome: &str| {
        sample(&text, &format!("thv_sync_runs_total{{registry=\"{registry}\",outcome=\"{outcome}\"}}"))
    };
    assert_eq!(runs("first", "success"), Some(1.0), "{text}");
    assert_eq!(runs("first", "failed"), Some(1.0), "{text}");
    assert_eq!(runs("second", "unchanged"), Some(1.0), "{text}");
    assert_eq!(sample(&text, "thv_sync_duration_seconds_count{registry=\"first\"}"), Some(2.0), "{text}");
    assert_eq!(sample(&text, "thv_sync_duration_seconds_sum{registry=\"first\"}"), Some(2.0), "{text}");
    assert_eq!(sample(&text, "thv_registry_servers{registry=\"first\"}"), Some(42.0), "{text}");
    assert_eq!(sample(&text, "thv_registry_servers{registry=\"second\"}"), Some(7.0), "{text}");
    // A failed run does not move the last successful sync time.
    let last = |registry: &str| {
        sample(&text, &format!("thv_registry_last_success_timestamp_seconds{{registry=\"{registry}\"}}"))
    };
    assert_eq!(last("first"), Some(1_764_000_000.0), "{text}");
    assert_eq!(last("second"), Some(1_764_000_300.0), "{text}");
}
