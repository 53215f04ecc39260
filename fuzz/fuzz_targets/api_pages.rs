//! Cursor pagination of `GET /v0.1/servers` over any catalog: the input is a catalog document, synced into a
//! snapshot as `thv` does (lenient load, diff), then walked page by page from `metadata.nextCursor`, as every
//! client of the registry API walks it.
//!
//! Checks: the walk ends, visits every version that is not deleted exactly once, in (name, version) order,
//! and every page but the last is full.
#![no_main]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use thv_api::{RegistrySnapshot, Snapshot};
use thv_fuzz::api;
use thv_model::detect::FormatHint;
use thv_model::load::load_bytes;

const NOW: &str = "2025-12-18T00:00:00Z";

fn percent_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(loaded) = load_bytes(data, FormatHint::Auto) else { return };
    // As a sync judges them: the first record of a (name, version) wins.
    let mut keys = std::collections::HashSet::new();
    let candidates = loaded
        .catalog
        .entries
        .into_iter()
        .filter(|entry| keys.insert((entry.server.name_str().to_owned(), entry.server.version_str().to_owned())))
        .map(|entry| thv_sync::diff::candidate(entry, NOW));
    let mut versions = thv_sync::diff::diff(&[], candidates.collect(), NOW).take_upserts();
    let snapshot = Snapshot::new(vec![("fuzz".to_owned(), RegistrySnapshot::new(&versions))]);
    let app = api::router(snapshot, &["fuzz"], None);

    versions.retain(|v| v.status != "deleted");
    let mut expected: Vec<(String, String)> = versions.into_iter().map(|v| (v.name, v.version)).collect();
    expected.sort();
    expected.dedup();
    // A page size from the input, so that short and long walks are both tried.
    let limit = 1 + data.len() % 7;

    let mut seen: Vec<(String, String)> = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..=expected.len() + 1 {
        let mut uri = format!("/v0.1/servers?limit={limit}");
        if let Some(cursor) = &cursor {
            uri.push_str("&cursor=");
            uri.push_str(&percent_encode(cursor));
        }
        let request = Request::get(&uri).body(Body::empty()).expect("a request");
        let (response, body) = api::send(&app, request);
        assert_eq!(response.status(), StatusCode::OK, "{uri}: {}", String::from_utf8_lossy(&body));
        let page: Value = serde_json::from_slice(&body).expect("a JSON page");
        let servers = page["servers"].as_array().expect("a servers list");
        for item in servers {
            let text = |field: &str| item["server"][field].as_str().unwrap_or_default().to_owned();
            seen.push((text("name"), text("version")));
        }
        match page["metadata"]["nextCursor"].as_str() {
            Some(next) => {
                assert_eq!(servers.len(), limit, "{uri}: a page with a next cursor is not full");
                cursor = Some(next.to_owned());
            }
            None => {
                assert_eq!(seen, expected, "the walk did not list every version once, in order");
                return;
            }
        }
    }
    panic!("the walk did not end after {} pages; seen so far: {seen:?}", expected.len() + 2);
});
