//! A Git smart-HTTP server for tests: axum on 127.0.0.1 in front of `git http-backend` (run as a CGI), with HTTP
//! basic authentication.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::io::AsyncWriteExt;

/// How the server behaves.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Serve repositories.
    Serve,
    /// Accept requests and never answer.
    Stall,
}

struct Shared {
    root: PathBuf,
    home: PathBuf,
    expected_authorization: String,
    mode: Mode,
    requests: AtomicUsize,
}

/// A running server; stops when the test's runtime ends.
pub struct GitHttp {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    shared: Arc<Shared>,
}

impl GitHttp {
    /// Serves the bare repositories under `root` to `user`:`password`.
    pub async fn start(root: PathBuf, home: PathBuf, user: &str, password: &str, mode: Mode) -> Self {
        let shared = Arc::new(Shared {
            root,
            home,
            expected_authorization: format!("Basic {}", base64(format!("{user}:{password}").as_bytes())),
            mode,
            requests: AtomicUsize::new(0),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, shared }
    }

    /// URL of the repository `name` (`<name>.git` under the root).
    pub fn url(&self, name: &str) -> String {
        format!("{}/{name}.git", self.base)
    }

    /// Requests seen so far.
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    if shared.mode == Mode::Stall {
        std::future::pending::<()>().await;
    }
    let authorized = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
        == Some(shared.expected_authorization.as_str());
    if !authorized {
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Basic realm=\"git\"")], "").into_response();
    }
    match cgi(&shared, request).await {
        Ok(response) => response,
        Err(message) => (StatusCode::INTERNAL_SERVER_ERROR, message).into_response(),
    }
}

/// Runs `git http-backend` for one request.
async fn cgi(shared: &Shared, request: Request) -> Result<Response, String> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 64 * 1024 * 1024).await.map_err(|e| e.to_string())?;
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let mut command = super::fixture::git_command(&shared.home);
    command
        .arg("http-backend")
        .env("GIT_PROJECT_ROOT", &shared.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", parts.uri.path())
        .env("QUERY_STRING", parts.uri.query().unwrap_or_default())
        .env("REQUEST_METHOD", parts.method.as_str())
        .env("CONTENT_TYPE", header("content-type"))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_GIT_PROTOCOL", header("git-protocol"))
        .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
        .env("REMOTE_USER", "tester")
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = tokio::process::Command::from(command).spawn().map_err(|e| e.to_string())?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let writer = tokio::spawn(async move {
        let _ = stdin.write_all(&body).await;
    });
    let output = child.wait_with_output().await.map_err(|e| e.to_string())?;
    writer.await.map_err(|e| e.to_string())?;
    parse_cgi(&output.stdout)
}

/// Splits CGI output into a response: headers up to the first empty line, `Status:` as the status code.
fn parse_cgi(output: &[u8]) -> Result<Response, String> {
    let split = output.windows(4).position(|w| w == b"\r\n\r\n").map(|i| (i, i + 4));
    let split = split.or_else(|| output.windows(2).position(|w| w == b"\n\n").map(|i| (i, i + 2)));
    let (head_end, body_start) = split.ok_or("CGI output without headers")?;
    let head = String::from_utf8_lossy(&output[..head_end]);
    let mut response = Response::builder();
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next().unwrap_or("500").parse::<u16>().map_err(|e| e.to_string())?;
            response = response.status(code);
        } else {
            response = response.header(name, HeaderValue::from_str(value).map_err(|e| e.to_string())?);
        }
    }
    response.body(Body::from(output[body_start..].to_vec())).map_err(|e| e.to_string())
}

fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let bytes = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = u32::from(bytes[0]) << 16 | u32::from(bytes[1]) << 8 | u32::from(bytes[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn base64_matches_the_rfc_examples() {
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
}
