//! The cross-cutting HTTP layers: ETags and 304s, gzip, request ids, body limits and timeouts.

mod common;

use std::io::Read;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Method, Request, header};
use axum::routing::{get, post};
use common::{Reply, assert_problem, get as get_uri, send, state_of};
use serde_json::{Value, json};
use thv_api::{AppState, HttpOptions, http_layers, router};
use thv_store::{JsonText, ServerVersion};

fn version(name: &str) -> ServerVersion {
    ServerVersion {
        name: name.to_owned(),
        version: "1.0.0".to_owned(),
        document: JsonText::from_value(&json!({"name": name, "version": "1.0.0", "description": "d".repeat(200)})),
        extra_meta: Value::Null,
        digest: "sha256:test".to_owned(),
        status: "active".to_owned(),
        status_changed_at: None,
        status_message: None,
        published_at: "2025-01-01T00:00:00Z".to_owned(),
        updated_at: "2025-01-01T00:00:00Z".to_owned(),
        is_latest: true,
    }
}

/// One registry of 20 servers: a full page is several kilobytes.
async fn catalog() -> AppState {
    state_of(vec![("main", (0..20).map(|i| version(&format!("io.example/s{i:02}"))).collect())]).await
}

async fn get_with(app: &Router, uri: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = Request::builder().method(Method::GET).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(app, request.body(Body::empty()).expect("request")).await
}

#[tokio::test]
async fn successful_gets_carry_a_strong_etag_and_revalidate_with_304() {
    let app = router(catalog().await);
    let first = get_uri(&app, "/v0.1/servers?limit=5").await;
    assert_eq!(first.status, 200);
    let tag = first.header("etag").expect("an ETag").to_owned();
    assert!(tag.starts_with('"') && tag.ends_with('"') && tag.len() == 34, "{tag}");
    assert!(first.header("vary").is_some_and(|v| v.eq_ignore_ascii_case("accept-encoding")));
    // The same body gives the same tag; another body another.
    assert_eq!(get_uri(&app, "/v0.1/servers?limit=5").await.header("etag"), Some(tag.as_str()));
    assert_ne!(get_uri(&app, "/v0.1/servers?limit=6").await.header("etag"), Some(tag.as_str()));

    let weak = format!("W/{tag}");
    let list = format!("\"nope\", {tag}");
    for (condition, echoed) in [
        (tag.as_str(), tag.as_str()),
        (weak.as_str(), weak.as_str()),
        ("*", tag.as_str()),
        (list.as_str(), tag.as_str()),
    ] {
        let reply = get_with(&app, "/v0.1/servers?limit=5", &[("if-none-match", condition)]).await;
        assert_eq!(reply.status, 304, "If-None-Match: {condition}");
        assert_eq!(reply.header("etag"), Some(echoed), "If-None-Match: {condition}");
        assert!(reply.text.is_empty(), "a 304 has no body");
        assert!(reply.header("x-request-id").is_some());
    }
    let reply = get_with(&app, "/v0.1/servers?limit=5", &[("if-none-match", "\"other\"")]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text, first.text);
}

/// The strong tag of `body`: XXH3-128 in hex, quoted.
fn tag_of(body: &str) -> String {
    format!("\"{:032x}\"", xxhash_rust::xxh3::xxh3_128(body.as_bytes()))
}

/// Pre-rendered bodies (records, cached list pages) carry the tag the layer would compute, and revalidate.
#[tokio::test]
async fn pre_rendered_and_cached_bodies_carry_their_own_tag() {
    let app = router(catalog().await);
    for uri in ["/v0.1/servers", "/v0.1/servers?limit=3", "/v0.1/servers/io.example%2Fs01/versions/latest"] {
        let first = get_uri(&app, uri).await;
        let again = get_uri(&app, uri).await;
        assert_eq!(first.status, 200, "{uri}");
        assert_eq!(again.text, first.text, "{uri}: a cached page is the same page");
        assert_eq!(first.header("etag"), Some(tag_of(&first.text).as_str()), "{uri}");
        assert_eq!(again.header("etag"), first.header("etag"), "{uri}");
        assert_eq!(again.header("vary"), Some("accept-encoding"), "{uri}");
        let tag = first.header("etag").expect("tag");
        let revalidated = get_with(&app, uri, &[("if-none-match", tag)]).await;
        assert_eq!(revalidated.status, 304, "{uri}");
    }
    // A page reached through a cursor is cached under its own query.
    let first = get_uri(&app, "/v0.1/servers?limit=2").await.json();
    let cursor = first["metadata"]["nextCursor"].as_str().expect("a cursor").to_owned();
    let uri = format!(
        "/v0.1/servers?limit=2&cursor={}",
        url::form_urlencoded::byte_serialize(cursor.as_bytes()).collect::<String>()
    );
    let second = get_uri(&app, &uri).await;
    assert_ne!(second.text, get_uri(&app, "/v0.1/servers?limit=2").await.text);
    assert_eq!(get_uri(&app, &uri).await.text, second.text);
}

#[tokio::test]
async fn no_etag_on_errors_or_metrics() {
    let app = router(catalog().await);
    let reply = get_with(&app, "/v0.1/servers/io.example%2Fnone/versions", &[("if-none-match", "*")]).await;
    assert_problem(&reply, 404, "Server not found");
    assert_eq!(reply.header("etag"), None);
    let reply = get_with(&app, "/v0.1/servers?limit=0", &[("if-none-match", "*")]).await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.header("etag"), None);
    let reply = get_with(&app, "/metrics", &[("if-none-match", "*")]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("etag"), None);
}

fn gunzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes).read_to_string(&mut text).expect("gzip body");
    text
}

/// A GET whose body is kept as bytes (it may be gzip).
async fn get_raw(app: &Router, uri: &str, headers: &[(&str, &str)]) -> (axum::http::HeaderMap, Vec<u8>) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut request = Request::builder().method(Method::GET).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app.clone().oneshot(request.body(Body::empty()).expect("request")).await.expect("infallible");
    let headers = response.headers().clone();
    (headers, response.into_body().collect().await.expect("body").to_bytes().to_vec())
}

#[tokio::test]
async fn large_bodies_are_gzipped_on_request_with_a_weak_etag() {
    let app = router(catalog().await);
    let plain = get_uri(&app, "/v0.1/servers?limit=20").await;
    assert!(plain.text.len() > 4096, "{}", plain.text.len());
    assert_eq!(plain.header("content-encoding"), None);
    let strong = plain.header("etag").expect("ETag").to_owned();

    let (headers, body) = get_raw(&app, "/v0.1/servers?limit=20", &[("accept-encoding", "gzip")]).await;
    assert_eq!(headers.get("content-encoding").map(|v| v.as_bytes()), Some(&b"gzip"[..]));
    assert!(body.len() < plain.text.len() / 2, "{} bytes compressed", body.len());
    assert_eq!(gunzip(&body), plain.text);
    let etag = headers.get("etag").and_then(|v| v.to_str().ok()).expect("ETag");
    assert_eq!(etag, format!("W/{strong}"), "the gzip representation's tag is weak");
    let vary: Vec<_> = headers.get_all("vary").iter().filter_map(|v| v.to_str().ok()).collect();
    assert_eq!(vary.iter().filter(|v| v.eq_ignore_ascii_case("accept-encoding")).count(), 1, "{vary:?}");
    // The weak tag revalidates.
    let reply = get_with(&app, "/v0.1/servers?limit=20", &[("accept-encoding", "gzip"), ("if-none-match", etag)]).await;
    assert_eq!(reply.status, 304);
    assert_eq!(reply.header("etag"), Some(etag));

    // Small bodies stay plain.
    let (headers, body) = get_raw(&app, "/healthz", &[("accept-encoding", "gzip")]).await;
    assert_eq!(headers.get("content-encoding"), None);
    assert_eq!(body, br#"{"status":"ok"}"#);
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = router(catalog().await);
    let reply = get_with(&app, "/healthz", &[("x-request-id", "client-id_1.2")]).await;
    assert_eq!(reply.header("x-request-id"), Some("client-id_1.2"));
    let generated = get_uri(&app, "/no/such/path").await;
    let id = generated.header("x-request-id").expect("an id on errors too");
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    assert_ne!(get_uri(&app, "/healthz").await.header("x-request-id"), Some(id));
    // Unsafe or overlong ids are replaced.
    for bad in ["has space", "quote\"d", &"a".repeat(200)] {
        let reply = get_with(&app, "/healthz", &[("x-request-id", bad)]).await;
        let id = reply.header("x-request-id").expect("id");
        assert_ne!(id, bad);
        assert_eq!(id.len(), 32);
    }
}

/// A router with a POST route that reads its body and a route slower than the timeout.
async fn limited_app() -> Router {
    let routes = Router::new().route("/upload", post(|body: Bytes| async move { body.len().to_string() })).route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "late"
        }),
    );
    let options = HttpOptions { request_timeout: Duration::from_millis(50), body_limit: 64 };
    http_layers(routes, catalog().await, options)
}

fn upload(body: &'static [u8], content_length: bool) -> Request<Body> {
    let mut request = Request::builder().method(Method::POST).uri("/upload");
    if content_length {
        request = request.header(header::CONTENT_LENGTH, body.len());
    }
    request.body(Body::from(body)).expect("request")
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_problems() {
    let app = limited_app().await;
    let reply = send(&app, upload(&[b'x'; 64], true)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text, "64");
    // Declared too large: refused before the handler.
    let reply = send(&app, upload(&[b'x'; 65], true)).await;
    assert_problem(&reply, 413, "The request body is larger than 64 bytes.");
    assert!(reply.header("x-request-id").is_some());
    // Not declared: the extractor hits the limit while reading.
    let reply = send(&app, upload(&[b'x'; 1000], false)).await;
    assert_problem(&reply, 413, "The request body is larger than 64 bytes.");
}

#[tokio::test]
async fn slow_requests_time_out_with_503() {
    let app = limited_app().await;
    let started = std::time::Instant::now();
    let reply = get_uri(&app, "/slow").await;
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert_problem(&reply, 503, "The request did not complete within 50 ms.");
    assert!(reply.header("x-request-id").is_some());
}
