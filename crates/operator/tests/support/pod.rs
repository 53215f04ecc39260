//! An API pod (per-registry or aggregate) serving on a loopback port for a test, and the polling the tests
//! wait for it with.
#![allow(dead_code)] // Each test binary uses a different part.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use serde_json::Value;
use thv_operator::api_pod::ApiPodError;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// What a pod's `run` waits on to stop.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A running pod: its base URL, a client, and how to stop it.
pub struct LoopbackPod {
    base: String,
    http: reqwest::Client,
    /// How long [`LoopbackPod::wait_until`] waits.
    limit: Duration,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), ApiPodError>>,
}

impl LoopbackPod {
    /// Spawns `run(listener, shutdown)` on a free loopback port and waits until `/healthz` answers; a
    /// [`LoopbackPod::wait_until`] of this pod panics after `limit`.
    pub async fn start<F, Fut>(limit: Duration, run: F) -> Self
    where
        F: FnOnce(TcpListener, Shutdown) -> Fut,
        Fut: Future<Output = Result<(), ApiPodError>> + Send + 'static,
    {
        thv_sources::ensure_crypto_provider();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown: Shutdown = Box::pin(async {
            let _ = stopped.await;
        });
        let task = tokio::spawn(run(listener, shutdown));
        let pod = Self { base, http: reqwest::Client::new(), limit, stop: Some(stop), task };
        pod.wait_until("the pod listens", || async { pod.status("/healthz").await == Some(200) }).await;
        pod
    }

    /// The status of `GET path`; `None` when the request failed.
    pub async fn status(&self, path: &str) -> Option<u16> {
        self.http.get(format!("{}{path}", self.base)).send().await.ok().map(|r| r.status().as_u16())
    }

    /// The text of `GET path`.
    pub async fn text(&self, path: &str) -> String {
        let response = self.http.get(format!("{}{path}", self.base)).send().await.expect("GET");
        response.text().await.expect("text")
    }

    /// The JSON body of `GET path` (`null` when it is not JSON).
    pub async fn json(&self, path: &str) -> Value {
        let response = self.http.get(format!("{}{path}", self.base)).send().await.expect("GET");
        serde_json::from_slice(&response.bytes().await.expect("body")).unwrap_or(Value::Null)
    }

    /// The server names `/v0.1/servers` lists, in its order.
    pub async fn names(&self) -> Vec<String> {
        let body = self.json("/v0.1/servers").await;
        let servers = body["servers"].as_array().cloned().unwrap_or_default();
        servers.iter().filter_map(|s| s["server"]["name"].as_str().map(ToOwned::to_owned)).collect()
    }

    /// Polls `check` every 10 ms until it holds; panics after the pod's limit. Returns the time it took.
    pub async fn wait_until<F, Fut>(&self, what: &str, check: F) -> Duration
    where
        F: Fn() -> Fut,
        Fut: Future<Output = bool>,
    {
        let start = Instant::now();
        while !check().await {
            assert!(start.elapsed() < self.limit, "{what}: not within {:?}", self.limit);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        start.elapsed()
    }

    /// Stops the pod and checks that it stopped cleanly.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.expect("join").expect("the pod stops cleanly");
    }
}
