//! Any HTTP request to the API router, as `thv registry serve` builds it, over a catalog synced from
//! `../shared/data`: query parameters and cursors (`crates/api/src/params.rs`), paths, `Authorization` headers
//! (bearer tokens of a token file, OIDC JWTs checked against a provider on loopback), conditional and
//! compression headers. The input is the request as HTTP/1.1 text (`thv_fuzz::request`).
//!
//! Checks: no panic, no server error but 503 (this fixture has no store and no scheduler), every JSON body
//! parses, and a problem's body carries its status.
#![no_main]

use std::sync::OnceLock;

use axum::Router;
use axum::http::{Method, header};
use libfuzzer_sys::fuzz_target;
use thv_fuzz::{api, catalog, request};

fn app() -> &'static Router {
    static APP: OnceLock<Router> = OnceLock::new();
    APP.get_or_init(|| api::router(catalog::snapshot(), &["official", "toolhive"], Some(api::auth())))
}

fuzz_target!(|data: &[u8]| {
    let Some(request) = request::parse(data) else { return };
    let head = request.method() == Method::HEAD;
    let (response, body) = api::send(app(), request);
    let status = response.status();
    assert!(!status.is_server_error() || status.as_u16() == 503, "{status}: {}", String::from_utf8_lossy(&body));
    let headers = response.headers();
    let media = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let encoded = headers.contains_key(header::CONTENT_ENCODING);
    if head || encoded || body.is_empty() || !media.contains("json") {
        return;
    }
    let json: serde_json::Value = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{status} {media}: the body is not JSON ({e}): {}", String::from_utf8_lossy(&body)));
    if media == thv_api::PROBLEM_JSON {
        assert_eq!(json["status"], status.as_u16(), "a problem with another status in its body: {json}");
    }
});
