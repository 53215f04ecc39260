//! 2,000 slow-header connections against `Server::run` with its default limits, over raw TCP on loopback:
//! each sends a request line and one header line, never the blank line that ends the head. The server must
//! close them (the header-read timeout) while still answering a normal client.

mod common;

use std::time::{Duration, Instant};

use common::raw::{Listening, get_once, slow_header_client};
use thv_api::listener::ConnectionLimits;
use tokio::io::AsyncReadExt;

/// How many connections the test holds.
const SLOW_CLIENTS: usize = 2_000;

/// Raises this process's soft open-file limit so that both ends of every connection fit (the server runs in
/// the test process), failing with the reason when the hard limit is too low.
fn allow_open_files(needed: u64) {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current.is_none_or(|soft| soft >= needed) {
        return;
    }
    assert!(
        limit.maximum.is_none_or(|hard| hard >= needed),
        "this test needs {needed} open files; the hard limit is {:?} (raise it with `ulimit -Hn`)",
        limit.maximum
    );
    setrlimit(Resource::Nofile, rustix::process::Rlimit { current: Some(needed), maximum: limit.maximum })
        .expect("raising the soft open-file limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_header_connections_are_closed_while_normal_requests_answer() {
    allow_open_files(2 * SLOW_CLIENTS as u64 + 512);
    let server = Listening::start(ConnectionLimits::default()).await;
    let address = server.address;

    // Open them one after the other (no SYN is dropped from a full backlog), each waiting for its close.
    let mut waiting = Vec::with_capacity(SLOW_CLIENTS);
    for _ in 0..SLOW_CLIENTS {
        let mut stream = slow_header_client(address).await;
        let opened = Instant::now();
        waiting.push(tokio::spawn(async move {
            let mut buffer = [0_u8; 1024];
            let mut answered = 0;
            let closed = loop {
                match tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buffer)).await {
                    Ok(Ok(0) | Err(_)) => break Some(opened.elapsed()),
                    Ok(Ok(read)) => answered += read,
                    Err(_) => break None,
                }
            };
            (closed, answered)
        }));
    }

    // A normal client is served during the hold.
    let started = Instant::now();
    assert_eq!(get_once(address, "/healthz").await.status, 200);
    assert_eq!(get_once(address, "/v0.1/servers?limit=5").await.status, 200);
    let normal = started.elapsed();
    assert!(normal < Duration::from_secs(2), "normal requests took {normal:?} during the hold");

    let mut closed_in_time = 0;
    let (mut earliest, mut latest) = (Duration::MAX, Duration::ZERO);
    for client in waiting {
        let (closed, answered) = client.await.expect("client");
        assert_eq!(answered, 0, "a slow-header connection got bytes instead of a close");
        if let Some(after) = closed {
            earliest = earliest.min(after);
            latest = latest.max(after);
            if after <= Duration::from_secs(15) {
                closed_in_time += 1;
            }
        }
    }
    eprintln!(
        "{closed_in_time} of {SLOW_CLIENTS} slow-header connections closed by the server within 15 s \
         (first after {earliest:?}, last after {latest:?}); normal requests meanwhile took {normal:?}"
    );
    assert!(closed_in_time * 100 >= SLOW_CLIENTS * 95, "only {closed_in_time} of {SLOW_CLIENTS} closed within 15 s");
    assert!(earliest >= Duration::from_secs(9), "closed after {earliest:?}, before the 10 s header-read timeout");

    server.shut_down().await.expect("joined").expect("served until shutdown");
}
