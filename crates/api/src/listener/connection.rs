//! Serving one accepted connection: HTTP/1.1 through hyper, closed when its phase times out
//! ([`super::activity`]), and gracefully at shutdown (a request in flight finishes; a connection between
//! requests closes at once).

use std::convert::Infallible;
use std::pin::pin;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tower::ServiceExt;

use super::activity::{Activity, TrackedBody, TrackedStream};
use super::limits::{ConnectionLimits, RESERVED_HEADER_READ_TIMEOUT};
use super::metrics::{ConnectionMetrics, Slot};

/// What every connection of a listener shares.
pub(super) struct Shared {
    pub(super) router: Router,
    pub(super) limits: ConnectionLimits,
    pub(super) metrics: ConnectionMetrics,
    /// Keep-alive connections (regular slots).
    keep_alive: http1::Builder,
    /// One request per connection (reserved slots).
    one_request: http1::Builder,
}

impl Shared {
    pub(super) fn new(router: Router, limits: ConnectionLimits, metrics: ConnectionMetrics) -> Self {
        let builder = |keep_alive: bool| {
            let mut builder = http1::Builder::new();
            // The timeouts are [`Activity`]'s: hyper's own header timeout would also cut idle keep-alive
            // connections at the header timeout.
            builder.keep_alive(keep_alive).header_read_timeout(None);
            builder
        };
        Self { router, limits, metrics, keep_alive: builder(true), one_request: builder(false) }
    }
}

/// Serves `stream` in `slot` until the client closes it, a timeout closes it, or the listener shuts down
/// (`shutdown` changes or closes).
pub(super) async fn serve(stream: TcpStream, slot: Slot, shared: Arc<Shared>, mut shutdown: watch::Receiver<()>) {
    let _open = shared.metrics.accepted(slot);
    let limits = shared.limits;
    let (header_read_timeout, builder) = match slot {
        Slot::Regular => (limits.header_read_timeout, &shared.keep_alive),
        Slot::Reserved => (limits.header_read_timeout.min(RESERVED_HEADER_READ_TIMEOUT), &shared.one_request),
    };
    let activity = Arc::new(Activity::new(header_read_timeout, limits.idle_timeout));
    let io = TokioIo::new(TrackedStream::new(stream, Arc::clone(&activity)));
    let router = shared.router.clone();
    let tracked = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        tracked.handling();
        let activity = Arc::clone(&tracked);
        let router = router.clone();
        async move {
            let Ok(response) = router.oneshot(request).await;
            activity.responding();
            Ok::<_, Infallible>(response.map(|body| TrackedBody::new(body, activity)))
        }
    });
    let mut connection = pin!(builder.serve_connection(io, service));
    let mut expiry = pin!(tokio::time::sleep_until(tokio::time::Instant::now()));
    let mut stopping = false;
    loop {
        let deadline = activity.deadline();
        if let Some((at, _)) = deadline {
            expiry.as_mut().reset(at);
        }
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(error) = served {
                    tracing::debug!(error = %error, "HTTP connection ended with an error");
                }
                return;
            }
            () = activity.changed() => {}
            () = expiry.as_mut(), if deadline.is_some() => {
                // The phase may have moved on (a write since): close only when its deadline passed.
                if let Some((at, timeout)) = activity.deadline()
                    && at <= tokio::time::Instant::now()
                {
                    shared.metrics.timed_out(timeout);
                    return;
                }
            }
            _ = shutdown.changed(), if !stopping => {
                stopping = true;
                if activity.is_between_requests() {
                    return;
                }
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}
