//! The operator's HTTP endpoints on `--metrics-addr`: `/metrics` (OpenMetrics text), `/healthz` (the
//! process runs) and `/readyz` (200 once the watches have listed everything, or while this replica is a
//! standby waiting for the leader election; 503 with the watches still listing).

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::Readiness;
use super::metrics::Metrics;

/// The media type of `/metrics`.
pub const OPENMETRICS_TEXT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone)]
struct Admin {
    metrics: Arc<Metrics>,
    readiness: Arc<Readiness>,
}

/// The router of the admin endpoints.
pub fn router(metrics: Arc<Metrics>, readiness: Arc<Readiness>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(Admin { metrics, readiness })
}

/// Serves the admin endpoints on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    readiness: Arc<Readiness>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(metrics, readiness)).with_graceful_shutdown(shutdown).await
}

async fn metrics_text(State(admin): State<Admin>) -> Response {
    match admin.metrics.encode() {
        Ok(text) => ([(header::CONTENT_TYPE, OPENMETRICS_TEXT)], text).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "cannot encode the metrics\n").into_response(),
    }
}

async fn ready(State(admin): State<Admin>) -> Response {
    if admin.readiness.is_standby() {
        return (StatusCode::OK, "ok: standby, another replica leads\n").into_response();
    }
    let pending = admin.readiness.pending();
    if pending.is_empty() {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, format!("waiting for the watches of {} to list\n", pending.join(", ")))
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("read");
        let code = response.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
        (code, body)
    }

    #[tokio::test]
    async fn ready_after_the_watches_listed_or_as_a_standby() {
        let metrics = Arc::new(Metrics::new());
        let readiness = Arc::new(Readiness::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, Arc::clone(&metrics), Arc::clone(&readiness), async {
            let _ = stopped.await;
        }));

        assert_eq!(get(addr, "/healthz").await, (200, "ok\n".to_owned()));
        let (code, body) = get(addr, "/readyz").await;
        assert_eq!(code, 503);
        assert_eq!(
            body,
            "waiting for the watches of configmaps, deployments, mcpregistries, mcpregistryexportjobs, \
             mcpregistryimportjobs, mcpregistrysyncjobs, secrets, services to list\n"
        );
        readiness.set_standby(true);
        assert_eq!(get(addr, "/readyz").await, (200, "ok: standby, another replica leads\n".to_owned()));
        readiness.set_standby(false);
        for watch in [
            "mcpregistries",
            "deployments",
            "services",
            "configmaps",
            "mcpregistrysyncjobs",
            "mcpregistryexportjobs",
            "mcpregistryimportjobs",
        ] {
            readiness.synced(watch);
        }
        assert_eq!(get(addr, "/readyz").await.0, 503, "secrets still listing");
        readiness.synced("secrets");
        assert_eq!(get(addr, "/readyz").await, (200, "ok\n".to_owned()));

        metrics.set_registries(7);
        let (code, body) = get(addr, "/metrics").await;
        assert_eq!(code, 200);
        assert!(body.contains("thv_operator_registries 7"), "{body}");

        let _ = stop.send(());
        server.await.expect("join").expect("serve");
    }
}
