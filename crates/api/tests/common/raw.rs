//! A real `Server::run` on a loopback port, and HTTP/1.1 over raw TCP: what slow and idle clients do.

use std::net::SocketAddr;
use std::sync::Arc;

use thv_api::ServerBuilder;
use thv_api::listener::ConnectionLimits;
use thv_store::{SqliteStore, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server with no registries serving a loopback port under `limits`.
pub struct Listening {
    pub address: SocketAddr,
    stop: oneshot::Sender<()>,
    served: JoinHandle<Result<(), thv_api::ServerError>>,
}

impl Listening {
    pub async fn start(limits: ConnectionLimits) -> Self {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.expect("store"));
        let server = ServerBuilder::new(store, Vec::new()).connection_limits(limits).start().await.expect("start");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(server.run(listener, async move {
            let _ = stopped.await;
        }));
        Self { address, stop, served }
    }

    /// Asks for shutdown; the handle resolves once `Server::run` returned.
    pub fn shut_down(self) -> JoinHandle<Result<(), thv_api::ServerError>> {
        let _ = self.stop.send(());
        self.served
    }
}

/// One answer read off a raw connection.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// The head, lower-cased.
    pub head: String,
    pub body: String,
}

impl Answer {
    /// The value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(':').map(str::trim))
    }
}

/// Sends `GET path` with `Connection: close` on a new connection and reads the answer to the end.
pub async fn get_once(address: SocketAddr, path: &str) -> Answer {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no head in {text:?}"));
    parse(head, body.to_owned())
}

/// Sends `GET path` on a kept-alive `stream` and reads one answer (which must have a `content-length`).
pub async fn get_keep_alive(stream: &mut TcpStream, path: &str) -> Answer {
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes()).await.expect("write");
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    let head_end = loop {
        if let Some(end) = received.windows(4).position(|window| window == b"\r\n\r\n") {
            break end;
        }
        let read = stream.read(&mut buffer).await.expect("read");
        assert!(read > 0, "closed before the head: {:?}", String::from_utf8_lossy(&received));
        received.extend_from_slice(&buffer[..read]);
    };
    let head = String::from_utf8_lossy(&received[..head_end]).into_owned();
    let mut answer = parse(&head, String::new());
    let length: usize = answer.header("content-length").and_then(|n| n.parse().ok()).expect("content-length");
    let mut body = received[head_end + 4..].to_vec();
    while body.len() < length {
        let read = stream.read(&mut buffer).await.expect("read");
        assert!(read > 0, "closed in the body");
        body.extend_from_slice(&buffer[..read]);
    }
    answer.body = String::from_utf8_lossy(&body).into_owned();
    answer
}

fn parse(head: &str, body: String) -> Answer {
    let status = head.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or_else(|| panic!("{head:?}"));
    Answer { status, head: head.to_ascii_lowercase(), body }
}

/// Opens a connection that sends a request line and one header, never the blank line that ends the head.
pub async fn slow_header_client(address: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    stream.write_all(b"GET /v0.1/servers HTTP/1.1\r\nHost: test\r\n").await.expect("write");
    stream
}

/// The value of the sample `name` (with its labels, as exposed) in a `/metrics` body.
pub fn sample(metrics: &str, name: &str) -> Option<f64> {
    metrics.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}
