//! The URL source against a real HTTP server on loopback.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use thv_sources::{AuthSpec, FetchOutcome, Payload, SecretRef, Source, SourceError, UrlSource, UrlSpec, Validators};

const BODY: &[u8] = br#"{"servers": [{"name": "io.github.alice/notes"}]}"#;
const ETAG: &str = "\"v1\"";
const LAST_MODIFIED: &str = "Wed, 17 Dec 2025 10:00:00 GMT";
const TOKEN: &str = "s3cret-bearer-token";
const PASSWORD: &str = "pa55-w0rd-secret";

/// What the server saw.
#[derive(Default)]
struct Seen {
    /// Request headers, in order.
    requests: Vec<(String, HeaderMap)>,
    /// 200 responses that carried the document.
    bodies_sent: usize,
    /// 304 responses.
    not_modified: usize,
}

type Shared = Arc<Mutex<Seen>>;

fn record(seen: &Shared, path: &str, headers: &HeaderMap) {
    seen.lock().expect("lock").requests.push((path.to_owned(), headers.clone()));
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

async fn etag(State(seen): State<Shared>, headers: HeaderMap) -> Response {
    record(&seen, "/etag", &headers);
    let mut seen = seen.lock().expect("lock");
    if header_str(&headers, header::IF_NONE_MATCH) == Some(ETAG) {
        seen.not_modified += 1;
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, ETAG)]).into_response();
    }
    seen.bodies_sent += 1;
    ([(header::ETAG, ETAG)], BODY).into_response()
}

async fn last_modified(State(seen): State<Shared>, headers: HeaderMap) -> Response {
    record(&seen, "/last-modified", &headers);
    let mut seen = seen.lock().expect("lock");
    if header_str(&headers, header::IF_MODIFIED_SINCE) == Some(LAST_MODIFIED) {
        seen.not_modified += 1;
        return StatusCode::NOT_MODIFIED.into_response();
    }
    seen.bodies_sent += 1;
    ([(header::LAST_MODIFIED, LAST_MODIFIED)], BODY).into_response()
}

async fn plain(State(seen): State<Shared>, headers: HeaderMap) -> Response {
    record(&seen, "/plain", &headers);
    seen.lock().expect("lock").bodies_sent += 1;
    BODY.into_response()
}

async fn bearer(headers: HeaderMap) -> Response {
    let expected = format!("Bearer {TOKEN}");
    match header_str(&headers, header::AUTHORIZATION) {
        Some(auth) if auth == expected => BODY.into_response(),
        _ => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn basic(headers: HeaderMap) -> Response {
    // base64("alice:pa55-w0rd-secret")
    match header_str(&headers, header::AUTHORIZATION) {
        Some("Basic YWxpY2U6cGE1NS13MHJkLXNlY3JldA==") => BODY.into_response(),
        Some(_) => StatusCode::FORBIDDEN.into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn echo_headers(State(seen): State<Shared>, headers: HeaderMap) -> Response {
    record(&seen, "/headers", &headers);
    BODY.into_response()
}

async fn gzipped(State(seen): State<Shared>, headers: HeaderMap) -> Response {
    record(&seen, "/gzip", &headers);
    let accepts = header_str(&headers, header::ACCEPT_ENCODING).is_some_and(|v| v.contains("gzip"));
    if !accepts {
        return StatusCode::NOT_ACCEPTABLE.into_response();
    }
    ([(header::CONTENT_ENCODING, "gzip")], gzip(BODY)).into_response()
}

async fn gzip_bomb() -> Response {
    // 64 MiB of zeros in about 64 KiB.
    ([(header::CONTENT_ENCODING, "gzip")], gzip(&vec![0u8; 64 * 1024 * 1024])).into_response()
}

async fn big() -> Response {
    vec![b' '; 2 * 1024 * 1024].into_response()
}

async fn big_stream() -> Response {
    // No Content-Length: 64 chunks of 64 KiB.
    let chunks = futures::stream::iter((0..64).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; 65536]))));
    Body::from_stream(chunks).into_response()
}

async fn status(Path(code): Path<u16>) -> Response {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR).into_response()
}

async fn slow() -> Response {
    tokio::time::sleep(Duration::from_secs(30)).await;
    BODY.into_response()
}

async fn slow_body() -> Response {
    // Headers at once, then one byte every 100 ms for a long time.
    let chunks = futures::stream::unfold(0u32, |n| async move {
        if n >= 600 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        Some((Ok::<_, std::io::Error>(bytes::Bytes::from_static(b" ")), n + 1))
    });
    Body::from_stream(chunks).into_response()
}

async fn redirect(Path(hops): Path<u32>) -> Response {
    if hops == 0 {
        return BODY.into_response();
    }
    (StatusCode::FOUND, [(header::LOCATION, format!("/redirect/{}", hops - 1))]).into_response()
}

async fn redirect_loop() -> Response {
    (StatusCode::FOUND, [(header::LOCATION, "/loop")]).into_response()
}

async fn to_metadata() -> Response {
    (StatusCode::FOUND, [(header::LOCATION, "http://169.254.169.254/latest/meta-data/")]).into_response()
}

async fn malformed() -> Response {
    "{not json at all".into_response()
}

struct Server {
    addr: SocketAddr,
    seen: Shared,
}

impl Server {
    async fn start() -> Self {
        let seen = Shared::default();
        let app = Router::new()
            .route("/etag", get(etag))
            .route("/last-modified", get(last_modified))
            .route("/plain", get(plain))
            .route("/bearer", get(bearer))
            .route("/basic", get(basic))
            .route("/headers", get(echo_headers))
            .route("/gzip", get(gzipped))
            .route("/bomb", get(gzip_bomb))
            .route("/big", get(big))
            .route("/big-stream", get(big_stream))
            .route("/status/{code}", get(status))
            .route("/slow", get(slow))
            .route("/slow-body", get(slow_body))
            .route("/redirect/{hops}", get(redirect))
            .route("/loop", get(redirect_loop))
            .route("/to-metadata", get(to_metadata))
            .route("/malformed", get(malformed))
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, seen }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn spec(&self, path: &str) -> UrlSpec {
        spec(&self.url(path))
    }

    fn requests(&self, path: &str) -> Vec<HeaderMap> {
        let seen = self.seen.lock().expect("lock");
        seen.requests.iter().filter(|(p, _)| p == path).map(|(_, h)| h.clone()).collect()
    }
}

fn spec(url: &str) -> UrlSpec {
    UrlSpec {
        url: url.into(),
        headers: BTreeMap::new(),
        auth: None,
        ca_bundle: None,
        max_bytes: None,
        timeout: None,
        max_redirects: None,
        allow_link_local: false,
    }
}

async fn fetch(spec: UrlSpec, previous: Option<&Validators>) -> Result<FetchOutcome, SourceError> {
    UrlSource::new(spec).expect("source").fetch(previous).await
}

fn fetched(outcome: FetchOutcome) -> thv_sources::Fetched {
    match outcome {
        FetchOutcome::Fetched(f) => f,
        FetchOutcome::NotModified { .. } => panic!("expected content, got NotModified"),
    }
}

fn secret_file(dir: &tempfile::TempDir, name: &str, value: &str) -> SecretRef {
    let path = dir.path().join(name);
    std::fs::write(&path, format!("{value}\n")).expect("write secret");
    SecretRef::File(path)
}

#[tokio::test]
async fn etag_revalidation_gets_a_304_without_a_body() {
    let server = Server::start().await;
    let first = fetched(fetch(server.spec("/etag"), None).await.expect("fetch"));
    assert_eq!(first.payload, Payload::Full(BODY.to_vec()));
    assert_eq!(first.revision, thv_sources::sha256_revision(BODY));
    assert_eq!(first.validators.etag.as_deref(), Some(ETAG));
    let again = fetch(server.spec("/etag"), Some(&first.validators)).await.expect("fetch");
    let FetchOutcome::NotModified { revision, validators } = again else { panic!("expected NotModified") };
    assert_eq!(revision, first.revision);
    assert_eq!(validators, first.validators);
    let requests = server.requests("/etag");
    assert_eq!(header_str(&requests[0], header::IF_NONE_MATCH), None);
    assert_eq!(header_str(&requests[1], header::IF_NONE_MATCH), Some(ETAG));
    let seen = server.seen.lock().expect("lock");
    assert_eq!((seen.bodies_sent, seen.not_modified), (1, 1));
}

#[tokio::test]
async fn last_modified_revalidation_gets_a_304_without_a_body() {
    let server = Server::start().await;
    let first = fetched(fetch(server.spec("/last-modified"), None).await.expect("fetch"));
    assert_eq!(first.validators.last_modified.as_deref(), Some(LAST_MODIFIED));
    let again = fetch(server.spec("/last-modified"), Some(&first.validators)).await.expect("fetch");
    assert!(matches!(again, FetchOutcome::NotModified { ref revision, .. } if *revision == first.revision));
    let requests = server.requests("/last-modified");
    assert_eq!(header_str(&requests[1], header::IF_MODIFIED_SINCE), Some(LAST_MODIFIED));
    let seen = server.seen.lock().expect("lock");
    assert_eq!((seen.bodies_sent, seen.not_modified), (1, 1));
}

#[tokio::test]
async fn an_unchanged_body_without_validators_is_not_modified() {
    let server = Server::start().await;
    let first = fetched(fetch(server.spec("/plain"), None).await.expect("fetch"));
    assert_eq!(first.validators.etag, None);
    let again = fetch(server.spec("/plain"), Some(&first.validators)).await.expect("fetch");
    assert!(matches!(again, FetchOutcome::NotModified { ref revision, .. } if *revision == first.revision));
    // A different previous hash means new content.
    let stale = Validators { content_sha256: Some("sha256:00".into()), ..Validators::default() };
    assert!(matches!(fetch(server.spec("/plain"), Some(&stale)).await.expect("fetch"), FetchOutcome::Fetched(_)));
}

#[tokio::test]
async fn bearer_and_basic_credentials_are_sent_and_checked() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ok = server.spec("/bearer");
    ok.auth = Some(AuthSpec::Bearer { token: secret_file(&dir, "token", TOKEN) });
    assert!(matches!(fetch(ok, None).await.expect("bearer"), FetchOutcome::Fetched(_)));

    // Credentials from `auth` replace an Authorization header among the custom headers.
    let mut both = server.spec("/bearer");
    both.headers.insert("Authorization".into(), "Bearer from-headers".into());
    both.auth = Some(AuthSpec::Bearer { token: secret_file(&dir, "token", TOKEN) });
    assert!(matches!(fetch(both, None).await.expect("auth wins"), FetchOutcome::Fetched(_)));

    let mut wrong = server.spec("/bearer");
    wrong.auth = Some(AuthSpec::Bearer { token: secret_file(&dir, "wrong-token", "nope") });
    let err = fetch(wrong, None).await.expect_err("wrong token");
    assert!(matches!(err, SourceError::Unauthorized { status: 401, .. }), "{err}");
    assert!(!err.is_retryable());

    let mut ok = server.spec("/basic");
    ok.auth = Some(AuthSpec::Basic { username: "alice".into(), password: secret_file(&dir, "pw", PASSWORD) });
    assert!(matches!(fetch(ok, None).await.expect("basic"), FetchOutcome::Fetched(_)));

    let mut wrong = server.spec("/basic");
    wrong.auth = Some(AuthSpec::Basic { username: "alice".into(), password: secret_file(&dir, "bad-pw", "guess") });
    let err = fetch(wrong, None).await.expect_err("wrong password");
    assert!(matches!(err, SourceError::Unauthorized { status: 403, .. }), "{err}");

    let err = fetch(server.spec("/basic"), None).await.expect_err("no credentials");
    assert!(matches!(err, SourceError::Unauthorized { status: 401, .. }), "{err}");
}

#[tokio::test]
async fn custom_headers_are_sent() {
    let server = Server::start().await;
    let mut spec = server.spec("/headers");
    spec.headers.insert("X-Team".into(), "platform".into());
    spec.headers.insert("Accept".into(), "application/json".into());
    fetch(spec, None).await.expect("fetch");
    let requests = server.requests("/headers");
    assert_eq!(header_str(&requests[0], header::HeaderName::from_static("x-team")), Some("platform"));
    assert_eq!(header_str(&requests[0], header::ACCEPT), Some("application/json"));
    assert!(header_str(&requests[0], header::USER_AGENT).is_some_and(|ua| ua.starts_with("thv-registry/")));
}

#[tokio::test]
async fn gzip_bodies_are_decompressed() {
    let server = Server::start().await;
    let got = fetched(fetch(server.spec("/gzip"), None).await.expect("fetch"));
    assert_eq!(got.payload, Payload::Full(BODY.to_vec()));
    assert_eq!(got.revision, thv_sources::sha256_revision(BODY));
}

#[tokio::test]
async fn oversized_bodies_and_gzip_bombs_are_too_large() {
    let server = Server::start().await;
    for path in ["/big", "/big-stream", "/bomb"] {
        let mut spec = server.spec(path);
        spec.max_bytes = Some(1024 * 1024);
        let started = Instant::now();
        let err = fetch(spec, None).await.expect_err(path);
        assert!(matches!(err, SourceError::TooLarge { limit: 1_048_576, .. }), "{path}: {err}");
        assert!(err.to_string().contains(path), "{path}: {err}");
        assert!(!err.is_retryable());
        assert!(started.elapsed() < Duration::from_secs(20), "{path} took {:?}", started.elapsed());
    }
    // The default limit (64 MiB) lets a 2 MiB body through.
    assert!(matches!(fetch(server.spec("/big"), None).await.expect("fetch"), FetchOutcome::Fetched(_)));
}

#[tokio::test]
async fn server_errors_are_retryable_client_errors_are_not() {
    let server = Server::start().await;
    let err = fetch(server.spec("/status/500"), None).await.expect_err("500");
    assert!(matches!(err, SourceError::HttpStatus { status: 500, .. }), "{err}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains(&server.url("/status/500")), "{err}");
    let err = fetch(server.spec("/status/404"), None).await.expect_err("404");
    assert!(matches!(err, SourceError::HttpStatus { status: 404, .. }), "{err}");
    assert!(!err.is_retryable());
    let err = fetch(server.spec("/status/429"), None).await.expect_err("429");
    assert!(err.is_retryable(), "{err}");
}

#[tokio::test]
async fn refused_connections_are_retryable_network_errors() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let err = fetch(spec(&format!("http://{addr}/registry.json")), None).await.expect_err("refused");
    assert!(matches!(err, SourceError::Network { .. }), "{err}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

#[tokio::test]
async fn slow_responses_time_out() {
    let server = Server::start().await;
    for path in ["/slow", "/slow-body"] {
        let mut spec = server.spec(path);
        spec.timeout = Some(Duration::from_millis(300));
        let started = Instant::now();
        let err = fetch(spec, None).await.expect_err(path);
        assert!(matches!(err, SourceError::Timeout { .. }), "{path}: {err}");
        assert!(err.is_retryable());
        assert!(started.elapsed() < Duration::from_secs(5), "{path} took {:?}", started.elapsed());
    }
}

#[tokio::test]
async fn redirects_are_followed_up_to_the_limit() {
    let server = Server::start().await;
    let got = fetched(fetch(server.spec("/redirect/5"), None).await.expect("5 hops"));
    assert_eq!(got.payload, Payload::Full(BODY.to_vec()));
    let err = fetch(server.spec("/redirect/6"), None).await.expect_err("6 hops");
    assert!(err.to_string().contains("more than 5 redirects"), "{err}");
    let mut none = server.spec("/redirect/1");
    none.max_redirects = Some(0);
    assert!(fetch(none, None).await.is_err());
    let err = fetch(server.spec("/loop"), None).await.expect_err("loop");
    assert!(err.to_string().contains("redirects"), "{err}");
}

#[tokio::test]
async fn malformed_json_is_returned_as_is() {
    let server = Server::start().await;
    let got = fetched(fetch(server.spec("/malformed"), None).await.expect("fetch"));
    assert_eq!(got.payload.bytes(), b"{not json at all");
}

#[tokio::test]
async fn link_local_and_metadata_addresses_are_refused_before_connecting() {
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.10.20:8080/registry.json",
        "http://[fe80::1]/registry.json",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
    ] {
        let started = Instant::now();
        let err = fetch(spec(url), None).await.expect_err(url);
        assert!(matches!(err, SourceError::ForbiddenAddress { .. }), "{url}: {err}");
        assert!(!err.is_retryable());
        // Refused at once, not after a connection attempt timed out.
        assert!(started.elapsed() < Duration::from_secs(1), "{url} took {:?}", started.elapsed());
    }
    // A redirect to a metadata address is refused too.
    let server = Server::start().await;
    let err = fetch(server.spec("/to-metadata"), None).await.expect_err("redirect");
    assert!(matches!(err, SourceError::ForbiddenAddress { ref host, .. } if host == "169.254.169.254"), "{err}");
    // Loopback by name and by address stays allowed.
    let by_name = format!("http://localhost:{}/plain", server.addr.port());
    assert!(fetch(spec(&by_name), None).await.is_ok());
}

#[tokio::test]
async fn secrets_never_appear_in_errors() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    let urls = [
        server.url("/bearer").replace("http://", "http://alice:userinfo-secret@"),
        server.url("/status/500").replace("http://", "http://alice:userinfo-secret@"),
        server.url("/loop").replace("http://", "http://alice:userinfo-secret@"),
        server.url("/big-stream").replace("http://", "http://alice:userinfo-secret@"),
        server.url("/slow"),
        server.url("/to-metadata"),
        format!("http://alice:userinfo-secret@{closed}/x"),
        "http://alice:userinfo-secret@169.254.169.254/".to_owned(),
    ];
    let mut errors = Vec::new();
    for url in urls {
        for auth in [
            AuthSpec::Bearer { token: secret_file(&dir, "token", "wrong-but-secret-token") },
            AuthSpec::Basic {
                username: "alice".into(),
                password: secret_file(&dir, "pw", "wrong-but-secret-password"),
            },
        ] {
            let mut spec = spec(&url);
            spec.auth = Some(auth);
            spec.max_bytes = Some(1024);
            spec.timeout = Some(Duration::from_millis(300));
            let source = UrlSource::new(spec).expect("source");
            assert!(!source.describe().contains("userinfo-secret"));
            errors.push(source.fetch(None).await.expect_err(&url));
        }
    }
    for err in &errors {
        for text in [err.to_string(), format!("{err:?}")] {
            for secret in ["userinfo-secret", "wrong-but-secret-token", "wrong-but-secret-password", "d3JvbmctYnV0"] {
                assert!(!text.contains(secret), "secret {secret} in {text}");
            }
        }
    }
}
