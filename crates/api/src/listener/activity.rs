//! What one connection is doing, and when it must be closed for doing nothing ([`Activity`]): reading a
//! request head, handling a request, sending a response, or waiting between requests. The socket
//! ([`TrackedStream`]) and the response bodies ([`TrackedBody`]) report progress to it.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::metrics::Timeout;

/// Accepted, nothing read yet: the header-read timeout runs from the start.
const FRESH: u8 = 0;
/// A request head is arriving.
const HEAD: u8 = 1;
/// A handler runs (bounded by the request timeout of the router, not here).
const HANDLING: u8 = 2;
/// The response is being sent.
const RESPONDING: u8 = 3;
/// Between two requests of a keep-alive connection.
const IDLE: u8 = 4;

/// The phase of one connection and when it began, with the timeouts that bound each phase.
#[derive(Debug)]
pub(super) struct Activity {
    started: Instant,
    header_read_timeout: Duration,
    idle_timeout: Duration,
    phase: AtomicU8,
    /// Milliseconds from `started` to the start of the phase.
    since: AtomicU64,
    /// Milliseconds from `started` to the last write to the socket.
    written: AtomicU64,
    changed: Notify,
}

impl Activity {
    pub(super) fn new(header_read_timeout: Duration, idle_timeout: Duration) -> Self {
        Self {
            started: Instant::now(),
            header_read_timeout,
            idle_timeout,
            phase: AtomicU8::new(FRESH),
            since: AtomicU64::new(0),
            written: AtomicU64::new(0),
            changed: Notify::new(),
        }
    }

    fn elapsed_millis(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn enter(&self, phase: u8) {
        self.since.store(self.elapsed_millis(), Ordering::Relaxed);
        self.phase.store(phase, Ordering::Relaxed);
        self.changed.notify_one();
    }

    /// Bytes arrived: between requests, the next request's head has begun.
    fn read_some(&self) {
        match self.phase.load(Ordering::Relaxed) {
            // The first request's head counts from the connection's start, as in the FRESH phase.
            FRESH => self.phase.store(HEAD, Ordering::Relaxed),
            IDLE => self.enter(HEAD),
            _ => {}
        }
    }

    fn wrote_some(&self) {
        self.written.store(self.elapsed_millis(), Ordering::Relaxed);
    }

    /// A request head was read and its handler called.
    pub(super) fn handling(&self) {
        self.enter(HANDLING);
    }

    /// The handler answered; its response is being sent.
    pub(super) fn responding(&self) {
        self.enter(RESPONDING);
    }

    /// The response was sent (or dropped).
    fn responded(&self) {
        self.enter(IDLE);
    }

    /// Whether the connection is between requests, with nothing of the next one read: closing it loses
    /// nothing.
    pub(super) fn is_between_requests(&self) -> bool {
        matches!(self.phase.load(Ordering::Relaxed), FRESH | IDLE)
    }

    /// When the current phase times out, and which timeout that is; `None` while a handler runs.
    pub(super) fn deadline(&self) -> Option<(Instant, Timeout)> {
        let since = self.since.load(Ordering::Relaxed);
        let (from, limit, timeout) = match self.phase.load(Ordering::Relaxed) {
            FRESH | HEAD => (since, self.header_read_timeout, Timeout::Header),
            RESPONDING => (since.max(self.written.load(Ordering::Relaxed)), self.idle_timeout, Timeout::Response),
            IDLE => (since, self.idle_timeout, Timeout::Idle),
            _ => return None,
        };
        Some((self.started + Duration::from_millis(from) + limit, timeout))
    }

    /// Resolves at the next change of phase (or at once, when one happened since the last call).
    pub(super) async fn changed(&self) {
        self.changed.notified().await;
    }
}

/// The client's socket, reporting reads and writes to the connection's [`Activity`].
pub(super) struct TrackedStream {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl TrackedStream {
    pub(super) fn new(stream: TcpStream, activity: Arc<Activity>) -> Self {
        Self { stream, activity }
    }

    fn wrote(&self, written: &Poll<io::Result<usize>>) {
        if matches!(written, Poll::Ready(Ok(n)) if *n > 0) {
            self.activity.wrote_some();
        }
    }
}

impl AsyncRead for TrackedStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(read, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read_some();
        }
        read
    }
}

impl AsyncWrite for TrackedStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.wrote(&written);
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.wrote(&written);
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// A response body that tells the connection's [`Activity`] when it is gone (sent in full, or dropped).
pub(super) struct TrackedBody {
    body: Body,
    _sent: Sent,
}

impl TrackedBody {
    pub(super) fn new(body: Body, activity: Arc<Activity>) -> Self {
        Self { body, _sent: Sent(activity) }
    }
}

/// Marks the response sent when dropped.
struct Sent(Arc<Activity>);

impl Drop for Sent {
    fn drop(&mut self) {
        self.0.responded();
    }
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Activity, Timeout};

    #[tokio::test(start_paused = true)]
    async fn each_phase_has_its_timeout() {
        let (header, idle) = (Duration::from_secs(10), Duration::from_secs(60));
        let activity = Activity::new(header, idle);
        let start = activity.started;
        assert_eq!(activity.deadline(), Some((start + header, Timeout::Header)));
        assert!(activity.is_between_requests());

        // The first request's head counts from the connection's start, however late its first byte.
        tokio::time::advance(Duration::from_secs(4)).await;
        activity.read_some();
        assert_eq!(activity.deadline(), Some((start + header, Timeout::Header)));
        assert!(!activity.is_between_requests());

        activity.handling();
        assert_eq!(activity.deadline(), None, "handlers have their own timeout");
        tokio::time::advance(Duration::from_secs(1)).await;
        activity.responding();
        let responding = start + Duration::from_secs(5);
        assert_eq!(activity.deadline(), Some((responding + idle, Timeout::Response)));
        tokio::time::advance(Duration::from_secs(2)).await;
        activity.wrote_some();
        assert_eq!(activity.deadline(), Some((responding + Duration::from_secs(2) + idle, Timeout::Response)));

        activity.responded();
        let idle_since = start + Duration::from_secs(7);
        assert_eq!(activity.deadline(), Some((idle_since + idle, Timeout::Idle)));
        assert!(activity.is_between_requests());
        // The next request's head counts from its first byte.
        tokio::time::advance(Duration::from_secs(30)).await;
        activity.read_some();
        assert_eq!(activity.deadline(), Some((idle_since + Duration::from_secs(30) + header, Timeout::Header)));
    }
}
