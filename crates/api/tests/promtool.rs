//! `GET /metrics` passes `promtool check metrics` (syntax and lint) in its default format.
//!
//! Needs `promtool` (Debian's `prometheus` package); `scripts/test.sh` installs it and sets
//! `THV_REQUIRE_TOOLS=1`, which turns a missing promtool into a failure instead of a skip.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use axum::body::Body;
use axum::http::{Method, Request, header};
use common::{get, send, state_of};
use thv_api::{OPENMETRICS_TEXT, PROMETHEUS_TEXT, router};

/// Whether promtool can run; panics when it cannot and `THV_REQUIRE_TOOLS=1`.
fn promtool_available() -> bool {
    let found = Command::new("promtool").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("THV_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "promtool is required (THV_REQUIRE_TOOLS=1) but cannot run; install Debian's `prometheus` package"
        );
        eprintln!("skipped: promtool not found (apt-get install prometheus, or run scripts/test.sh)");
    }
    found
}

/// `promtool check metrics` on `text`: its exit code and output.
fn promtool_check(text: &str) -> (Option<i32>, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool starts");
    child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write to promtool");
    let output = child.wait_with_output().expect("promtool finishes");
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code(), said)
}

#[tokio::test]
async fn promtool_accepts_the_metrics() {
    if !promtool_available() {
        return;
    }
    let state = state_of(vec![("first", Vec::new()), ("second", Vec::new())]).await;
    let app = router(state.clone());
    assert_eq!(get(&app, "/v0.1/servers").await.status, 200);
    assert_eq!(get(&app, "/registry/first/v0/servers/io.example%2Fnone/versions").await.status, 404);
    assert_eq!(get(&app, "/no/such/path").await.status, 404);
    state.metrics().record_sync("first", "success", 0.2, 3, 1_764_000_000);
    state.metrics().record_sync("second", "failed", 1.5, 0, 1_764_000_100);

    let reply = get(&app, "/metrics").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some(PROMETHEUS_TEXT));
    assert!(!reply.text.contains("# EOF") && !reply.text.contains("# UNIT"), "{}", reply.text);
    assert!(reply.text.contains("# TYPE thv_http_requests_total counter\n"), "{}", reply.text);
    let (code, said) = promtool_check(&reply.text);
    assert_eq!(code, Some(0), "promtool: {said}\n{}", reply.text);

    let request = Request::builder()
        .method(Method::GET)
        .uri("/metrics")
        .header(header::ACCEPT, "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
        .body(Body::empty())
        .expect("request");
    let reply = send(&app, request).await;
    assert_eq!(reply.header("content-type"), Some(OPENMETRICS_TEXT));
    assert!(reply.text.ends_with("# EOF\n"), "{}", reply.text);
    // promtool 2.42 reads stdin as the Prometheus format only: OpenMetrics describes counters on their base
    // name, which it reports as "no help text", so that format is checked for its own shape instead.
    assert!(reply.text.contains("# TYPE thv_http_requests counter\n"), "{}", reply.text);
    assert!(reply.text.contains("\nthv_sync_runs_total{"), "{}", reply.text);
}
