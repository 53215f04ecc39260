//! The HTTP listener every `thv` server goes through ([`serve`]): it accepts TCP connections and serves
//! them with hyper's HTTP/1.1 connection builder (which `axum::serve` hides) under [`ConnectionLimits`]:
//!
//! - **Timeouts.** A request head must arrive within the header-read timeout (from the connection's start
//!   for the first request, from the first byte for the next ones); a keep-alive connection may wait the
//!   idle timeout for its next request; a response that makes no progress for the idle timeout (the client
//!   stopped reading) is dropped. Each closes the connection without an answer, as nginx and Go do.
//!   Handlers keep their own timeout (the router's 503).
//! - **A connection cap** below the open-file limit ([`default_max_connections`]). Past it,
//!   [`RESERVED_SLOTS`] more connections are served one request each with a header-read timeout of at
//!   most [`RESERVED_HEADER_READ_TIMEOUT`], so probes and scrapes still answer while slow clients hold the
//!   regular slots; past those, connections are answered 503 with `Retry-After` and closed. The process
//!   never opens more descriptors for connections than the cap and those slots.
//! - **Accept errors** are counted by kind and logged at most every 10 s; running out of descriptors
//!   pauses accepting for 100 ms instead of spinning.
//! - **Graceful shutdown.** When the shutdown future resolves, accepting stops, connections between
//!   requests close at once, requests in flight finish, and [`serve`] returns when every connection is
//!   closed.
//!
//! The counts are [`ConnectionMetrics`].

mod accept;
mod activity;
mod connection;
mod limits;
mod metrics;
mod refuse;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

pub use limits::{
    ConnectionLimits, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT, FD_HEADROOM_MIN, MAX_DEFAULT_CONNECTIONS,
    RESERVED_HEADER_READ_TIMEOUT, RESERVED_SLOTS, SHEDDING_SLOTS, default_max_connections, fd_limit_warning,
    max_connections_for, open_file_limit,
};
pub use metrics::ConnectionMetrics;
pub use refuse::TOO_MANY_CONNECTIONS;

use connection::Shared;
use metrics::Slot;

/// Serves `router` on `listener` under `limits`, counting into `metrics`, until `shutdown` resolves; then
/// stops accepting and returns once every connection has closed (requests in flight finish first).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    metrics: ConnectionMetrics,
    shutdown: impl Future<Output = ()>,
) {
    // A semaphore holds at most `Semaphore::MAX_PERMITS`, and the drain below acquires them as one `u32`.
    let cap = limits.max_connections.clamp(1, u32::MAX as usize);
    if let Some(warning) = fd_limit_warning(cap, open_file_limit()) {
        tracing::warn!("{warning}");
    }
    metrics.set_limit(cap);
    let regular = Arc::new(Semaphore::new(cap));
    let reserved = Arc::new(Semaphore::new(RESERVED_SLOTS));
    let shedding = Arc::new(Semaphore::new(SHEDDING_SLOTS));
    let refusal = refuse::answer();
    let shared = Arc::new(Shared::new(router, ConnectionLimits { max_connections: cap, ..limits }, metrics));
    let (stop, stopped) = watch::channel(());
    let mut errors = accept::ErrorLog::default();
    let mut shutdown = pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                shared.metrics.accept_error(accept::label(&error));
                if !accept::is_per_connection(&error) {
                    errors.error(&error);
                    tokio::time::sleep(accept::PAUSE).await;
                }
                continue;
            }
        };
        // As nginx does: a response's last segment is not held back waiting for the client's ACK.
        let _ = stream.set_nodelay(true);
        let (slot, permit) = match Arc::clone(&regular).try_acquire_owned() {
            Ok(permit) => (Slot::Regular, permit),
            Err(_) => match Arc::clone(&reserved).try_acquire_owned() {
                Ok(permit) => (Slot::Reserved, permit),
                Err(_) => {
                    shared.metrics.refused();
                    refuse::refuse(stream, refusal.clone(), &shedding);
                    continue;
                }
            },
        };
        let shared = Arc::clone(&shared);
        let stopped = stopped.clone();
        tokio::spawn(async move {
            connection::serve(stream, slot, shared, stopped).await;
            drop(permit);
        });
    }
    drop(listener);
    drop(stop);
    // Every slot back: every connection closed. The semaphores are never closed, so these cannot fail.
    let _ = regular.acquire_many(cap as u32).await;
    let _ = reserved.acquire_many(RESERVED_SLOTS as u32).await;
}
