//! `thv registry serve` end to end, as a user runs it: tokens made by `thv registry token` at the default
//! path while the server runs.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Runs `thv args` with `XDG_CONFIG_HOME=home`; panics unless it succeeds; returns its stdout.
fn thv(home: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_thv"))
        .args(args)
        .env("XDG_CONFIG_HOME", home)
        .env_remove("THV_TOKEN_FILE")
        .stdin(Stdio::null())
        .output()
        .expect("thv runs");
    assert!(output.status.success(), "thv {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf8")
}

/// The status of `GET path` with `Authorization: Bearer token`.
fn status_with_token(addr: &str, path: &str, token: &str) -> u16 {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n")
        .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// Polls until `GET path` with `token` answers `expected`; returns how long that took after `since`.
fn time_until(addr: &str, path: &str, token: &str, expected: u16, since: Instant) -> Duration {
    loop {
        if status_with_token(addr, path, token) == expected {
            return since.elapsed();
        }
        assert!(since.elapsed() < Duration::from_secs(10), "{path} never answered {expected}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A `thv registry serve` child, killed when dropped.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Defect: with no token file at start, a token made by `thv registry token create` (default path) while
/// the server ran was still refused minutes later. The path is watched: created, revoked and deleted
/// tokens apply within 2 s.
#[test]
fn tokens_made_after_start_at_the_default_path_apply_within_2_s() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("config");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/registries.yaml");
    let database = dir.path().join("serve.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_thv"))
        .args(["--config", config.to_str().expect("utf8"), "--database", database.to_str().expect("utf8")])
        .args(["registry", "serve", "--listen", "127.0.0.1:0", "--require-auth-for-reads"])
        .env("XDG_CONFIG_HOME", &home)
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .env_remove("THV_TOKEN_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("thv starts");
    let stderr = child.stderr.take().expect("stderr");
    let server = Serving(child);
    // Read the log to its end, so the server never blocks on a full pipe; pass on where it listens.
    let (listening, address) = std::sync::mpsc::channel();
    let log = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let event: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            if event["message"] == "serving" {
                let _ = listening.send(event["address"].as_str().unwrap_or_default().to_owned());
            }
            lines.push(line);
        }
        lines
    });
    let addr = address.recv_timeout(Duration::from_secs(30)).expect("the server said where it listens");
    let addr = addr.trim_start_matches("http://").to_owned();
    assert!(!home.join("thv/tokens").exists(), "no token file at start");
    let path = "/v0.1/servers?limit=1";

    let token = thv(&home, &["registry", "token", "create", "late", "--scope", "read"]).trim().to_owned();
    let created = Instant::now();
    assert!(home.join("thv/tokens").is_file(), "created at the default path");
    let took = time_until(&addr, path, &token, 200, created);
    assert!(took <= Duration::from_millis(2500), "the new token applied after {took:?}");

    thv(&home, &["registry", "token", "revoke", "late"]);
    let took = time_until(&addr, path, &token, 401, Instant::now());
    assert!(took <= Duration::from_millis(2500), "the revocation applied after {took:?}");

    let again = thv(&home, &["registry", "token", "create", "again"]).trim().to_owned();
    time_until(&addr, path, &again, 200, Instant::now());
    std::fs::remove_file(home.join("thv/tokens")).expect("delete");
    let took = time_until(&addr, path, &again, 401, Instant::now());
    assert!(took <= Duration::from_millis(2500), "the deletion applied after {took:?}");
    drop(server);
    let lines = log.join().expect("the log");
    assert!(lines.iter().all(|line| !line.contains(&token) && !line.contains(&again)), "a token was logged");
    assert!(lines.iter().any(|line| line.contains("token file reloaded")), "{lines:?}");
}
