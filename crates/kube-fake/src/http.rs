//! The fake over real HTTP: a loopback listener in front of the tower `Service`, so a separate process (the
//! `thv` binary under test) reaches it through a kubeconfig, as it would a cluster.

use std::net::SocketAddr;

use http::{Request, header};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use crate::server::FakeApiServer;

/// The client name of requests over HTTP without a bearer token.
pub const ANONYMOUS: &str = "anonymous";

/// A plain-HTTP listener on `127.0.0.1` serving a [`FakeApiServer`]; it stops (and closes its connections)
/// when dropped. A request's bearer token is its client name in the request log and in
/// [`crate::Fault::from_client`], so a test tells users apart by the token of their kubeconfig.
#[derive(Debug)]
pub struct HttpListener {
    address: SocketAddr,
    task: JoinHandle<()>,
}

impl HttpListener {
    /// The listener's address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The server URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// A kubeconfig (YAML) with one cluster, user and context named `context`: this server, the bearer
    /// `token` and `namespace` as the context's namespace.
    pub fn kubeconfig(&self, context: &str, namespace: &str, token: &str) -> String {
        let quote = |text: &str| serde_json::Value::from(text).to_string();
        let (context, namespace, token, url) = (quote(context), quote(namespace), quote(token), quote(&self.url()));
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: {context}\n\
             clusters:\n- name: {context}\n  cluster:\n    server: {url}\n\
             users:\n- name: {context}\n  user:\n    token: {token}\n\
             contexts:\n- name: {context}\n  context:\n    cluster: {context}\n    user: {context}\n    namespace: {namespace}\n"
        )
    }
}

impl Drop for HttpListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeApiServer {
    /// Serves this server over plain HTTP/1.1 on `127.0.0.1` (an ephemeral port) until the returned
    /// listener is dropped. Needs a Tokio runtime.
    pub async fn listen_http(&self) -> std::io::Result<HttpListener> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?;
        let server = self.clone();
        let task = tokio::spawn(async move {
            // Dropped with the accept loop, which aborts every connection still open.
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let server = server.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                        let server = server.clone();
                        async move { Ok::<_, std::convert::Infallible>(serve(server, request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        Ok(HttpListener { address, task })
    }
}

async fn serve(server: FakeApiServer, request: Request<hyper::body::Incoming>) -> http::Response<crate::ResponseBody> {
    let client = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map_or(ANONYMOUS, str::trim)
        .to_owned();
    let (parts, body) = request.into_parts();
    // A body that breaks off mid-request is answered as an empty one, which the routes refuse clearly.
    let bytes = body.collect().await.map(http_body_util::Collected::to_bytes).unwrap_or_default();
    server.as_client(&client).handle(Request::from_parts(parts, kube::client::Body::from(bytes))).await
}
