//! The connection limits of `Server::run` over raw TCP on loopback: the idle keep-alive timeout, the
//! connection cap with its reserved slots and 503 refusals (counted in `/metrics`), and shutdown with idle
//! connections open.

mod common;

use std::time::{Duration, Instant};

use common::raw::{Listening, get_keep_alive, get_once, sample, slow_header_client};
use thv_api::listener::{ConnectionLimits, RESERVED_HEADER_READ_TIMEOUT, RESERVED_SLOTS, TOO_MANY_CONNECTIONS};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Reads from `stream` until the server closes it (or `within` passes): how long that took.
async fn closed_after(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buffer = [0_u8; 1024];
    match tokio::time::timeout(within, stream.read(&mut buffer)).await {
        Ok(Ok(0) | Err(_)) => Some(started.elapsed()),
        Ok(Ok(read)) => panic!("got {read} bytes instead of a close"),
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout_not_the_header_timeout() {
    let (header_read_timeout, idle_timeout) = (Duration::from_millis(400), Duration::from_millis(1200));
    let server = Listening::start(ConnectionLimits { header_read_timeout, idle_timeout, max_connections: 100 }).await;
    let mut stream = TcpStream::connect(server.address).await.expect("connect");
    assert_eq!(get_keep_alive(&mut stream, "/healthz").await.status, 200);
    // Waiting between requests longer than the header-read timeout is fine: the connection is kept alive.
    tokio::time::sleep(header_read_timeout * 2).await;
    assert_eq!(get_keep_alive(&mut stream, "/healthz").await.status, 200);

    let after = closed_after(&mut stream, Duration::from_secs(5)).await.expect("the server closed the idle connection");
    assert!(
        after >= idle_timeout - Duration::from_millis(50) && after < idle_timeout + Duration::from_secs(1),
        "closed {after:?} after the last answer, with an idle timeout of {idle_timeout:?}"
    );
    let metrics = get_once(server.address, "/metrics").await.body;
    assert_eq!(sample(&metrics, "thv_http_connections_timed_out_total{timeout=\"idle\"}"), Some(1.0), "{metrics}");
    server.shut_down().await.expect("joined").expect("served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_cap_probes_answer_from_reserved_slots_refusals_are_503_and_the_flood_end_frees_slots() {
    const CAP: usize = 16;
    let limits = ConnectionLimits {
        header_read_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_secs(60),
        max_connections: CAP,
    };
    let server = Listening::start(limits).await;
    let address = server.address;
    let mut flood = Vec::new();
    for _ in 0..CAP {
        flood.push(slow_header_client(address).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Every regular slot is held by a slow client: a probe is served from a reserved slot.
    assert_eq!(get_once(address, "/healthz").await.status, 200);

    // The reserved slots are held too: the next connection is refused with a 503 and Retry-After.
    for _ in 0..RESERVED_SLOTS {
        flood.push(slow_header_client(address).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = get_once(address, "/healthz").await;
    assert_eq!(refused.status, 503, "{refused:?}");
    assert_eq!(refused.header("retry-after"), Some("1"), "{refused:?}");
    assert_eq!(refused.header("content-type"), Some("application/problem+json"), "{refused:?}");
    assert!(refused.body.contains(TOO_MANY_CONNECTIONS), "{refused:?}");

    // Slow clients in reserved slots are cut after their short header-read timeout: probes answer again
    // while the regular slots are still held.
    tokio::time::sleep(RESERVED_HEADER_READ_TIMEOUT + Duration::from_millis(300)).await;
    let metrics = get_once(address, "/metrics").await;
    assert_eq!(metrics.status, 200);
    let metrics = metrics.body;
    let value = |name: &str| sample(&metrics, name).unwrap_or_else(|| panic!("no {name} in {metrics}"));
    assert_eq!(value("thv_http_connections_limit"), CAP as f64);
    assert_eq!(value("thv_http_connections_refused_total"), 1.0);
    assert_eq!(value("thv_http_connections_accepted_total{slot=\"regular\"}"), CAP as f64);
    // The probe, the slow clients and this scrape.
    assert_eq!(value("thv_http_connections_accepted_total{slot=\"reserved\"}"), (RESERVED_SLOTS + 2) as f64);
    assert_eq!(value("thv_http_connections_timed_out_total{timeout=\"header\"}"), RESERVED_SLOTS as f64);
    assert_eq!(value("thv_http_connections_open"), (CAP + 1) as f64, "the regular slots and this scrape");

    // The flood ends: its slots are free within a second.
    drop(flood);
    let ended = Instant::now();
    loop {
        let metrics = get_once(address, "/metrics").await.body;
        if sample(&metrics, "thv_http_connections_open") == Some(1.0) {
            break;
        }
        assert!(ended.elapsed() < Duration::from_secs(1), "slots still held a second after the flood: {metrics}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let recovered = ended.elapsed();
    eprintln!("the flood's slots were free {recovered:?} after it ended");
    server.shut_down().await.expect("joined").expect("served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_idle_connections_at_once_and_returns() {
    let server = Listening::start(ConnectionLimits {
        header_read_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
        max_connections: 100,
    })
    .await;
    let mut idle = TcpStream::connect(server.address).await.expect("connect");
    assert_eq!(get_keep_alive(&mut idle, "/healthz").await.status, 200);
    let mut fresh = TcpStream::connect(server.address).await.expect("connect");
    tokio::time::sleep(Duration::from_millis(100)).await;

    let started = Instant::now();
    let served = server.shut_down();
    assert!(closed_after(&mut idle, Duration::from_secs(5)).await.is_some_and(|after| after < Duration::from_secs(1)));
    assert!(closed_after(&mut fresh, Duration::from_secs(5)).await.is_some_and(|after| after < Duration::from_secs(1)));
    tokio::time::timeout(Duration::from_secs(2), served).await.expect("returned").expect("joined").expect("served");
    assert!(started.elapsed() < Duration::from_secs(2));
}
