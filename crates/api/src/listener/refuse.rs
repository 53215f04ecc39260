//! Refusing a connection when every slot is taken: a 503 problem+json with `Retry-After`, then a close. The
//! answer is sent from one of [`SHEDDING_SLOTS`](super::limits::SHEDDING_SLOTS) short-lived tasks that also
//! read what the client sent (closing a socket with unread data would reset it, and the client could lose
//! the answer); when those are busy too, the connection is closed at once.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::problem::{PROBLEM_JSON, Problem};

/// The detail of the 503 a refused connection gets.
pub const TOO_MANY_CONNECTIONS: &str = "The server has too many open connections; retry shortly.";

/// The `Retry-After` of that 503, in seconds.
const RETRY_AFTER_SECONDS: u32 = 1;

/// How long a refused connection may take to receive the answer and close.
const LINGER: Duration = Duration::from_secs(1);

/// The bytes of the 503 answer: status line, headers and problem+json body.
pub(super) fn answer() -> Bytes {
    let body = Problem::new(StatusCode::SERVICE_UNAVAILABLE, TOO_MANY_CONNECTIONS).body().to_string();
    Bytes::from(format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: {PROBLEM_JSON}\r\nretry-after: {RETRY_AFTER_SECONDS}\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    ))
}

/// Refuses `stream`: answers it from a shedding slot when one is free, else closes it.
pub(super) fn refuse(stream: TcpStream, answer: Bytes, shedding: &Arc<Semaphore>) {
    if let Ok(slot) = Arc::clone(shedding).try_acquire_owned() {
        tokio::spawn(answer_and_close(stream, answer, slot));
    }
}

async fn answer_and_close(mut stream: TcpStream, answer: Bytes, _slot: OwnedSemaphorePermit) {
    let _ = tokio::time::timeout(LINGER, async {
        stream.write_all(&answer).await?;
        stream.shutdown().await?;
        let mut sink = [0_u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}
