//! The read API over the real production dump (2,794 versions, 1,108 names).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{OFFICIAL, assert_problem, dump, dump_app, enc, get};
use jiff::Timestamp;
use serde_json::Value;
use thv_api::BAD_UPDATED_SINCE;

fn key(record: &Value) -> (String, String) {
    let text = |field: &str| record["server"][field].as_str().unwrap_or_default().to_owned();
    (text("name"), text("version"))
}

/// Every (name, version) of the dump, byte-wise ordered.
fn expected_keys() -> Vec<(String, String)> {
    let mut keys: Vec<_> = dump().expect("dump").iter().map(key).collect();
    keys.sort();
    keys
}

/// Walks every page of `query` (which must not hold `cursor`); returns the items and the page sizes.
async fn walk(app: &axum::Router, prefix: &str, query: &str, limit: usize) -> (Vec<Value>, Vec<usize>) {
    let mut items = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut uri = format!("{prefix}/servers?limit={limit}{query}");
        if let Some(c) = &cursor {
            uri.push_str(&format!("&cursor={}", enc(c)));
        }
        let reply = get(app, &uri).await;
        assert_eq!(reply.status, 200, "{uri}: {}", reply.text);
        assert_eq!(reply.header("content-type"), Some("application/json"));
        let body = reply.json();
        let page = body["servers"].as_array().expect("servers").clone();
        assert_eq!(body["metadata"]["count"], page.len(), "{uri}");
        sizes.push(page.len());
        let next = body["metadata"].get("nextCursor");
        if page.len() == limit {
            let last = key(page.last().expect("a full page has a last item"));
            assert_eq!(next.and_then(Value::as_str), Some(format!("{}:{}", last.0, last.1).as_str()));
        } else {
            assert!(next.is_none(), "nextCursor is omitted on a short page: {}", body["metadata"]);
        }
        items.extend(page);
        match next.and_then(Value::as_str) {
            Some(c) => cursor = Some(c.to_owned()),
            None => return (items, sizes),
        }
        assert!(sizes.len() < 1_000, "paging terminates");
    }
}

#[tokio::test]
async fn walking_every_page_returns_each_version_once_in_order() {
    let Some(app) = dump_app() else { return };
    for prefix in ["/v0.1", "/v0", "/registry/official/v0.1", "/registry/official/v0"] {
        let (items, sizes) = walk(&app, prefix, "", 100).await;
        let keys: Vec<_> = items.iter().map(key).collect();
        assert_eq!(keys, expected_keys(), "{prefix}");
        assert_eq!(sizes.len(), 28);
        assert_eq!(sizes.last(), Some(&94));
    }
}

#[tokio::test]
async fn items_carry_the_document_and_the_official_block() {
    let Some(app) = dump_app() else { return };
    let by_key: BTreeMap<_, _> = dump().expect("dump").iter().map(|r| (key(r), r)).collect();
    let (items, _) = walk(&app, "/v0.1", "", 100).await;
    for item in &items {
        let original = by_key[&key(item)];
        assert_eq!(item["server"], original["server"]);
        assert_eq!(item["_meta"][OFFICIAL], original["_meta"][OFFICIAL]);
    }
}

#[tokio::test]
async fn default_limit_is_30() {
    let Some(app) = dump_app() else { return };
    let body = get(&app, "/v0.1/servers").await.json();
    assert_eq!(body["metadata"]["count"], 30);
    assert_eq!(body["servers"].as_array().map(Vec::len), Some(30));
    let keys = expected_keys();
    assert_eq!(body["metadata"]["nextCursor"], format!("{}:{}", keys[29].0, keys[29].1));
}

#[tokio::test]
async fn bad_limits_are_422() {
    let Some(app) = dump_app() else { return };
    for (limit, message) in
        [("0", "expected number >= 1"), ("101", "expected number <= 100"), ("abc", "expected integer")]
    {
        let reply = get(&app, &format!("/v0.1/servers?limit={limit}")).await;
        assert_problem(&reply, 422, "validation failed");
        let error = &reply.json()["errors"][0];
        assert_eq!(error["message"], message);
        assert_eq!(error["location"], "query.limit");
    }
    assert_eq!(get(&app, "/v0.1/servers?limit=1").await.json()["metadata"]["count"], 1);
}

#[tokio::test]
async fn updated_since_is_strict_and_validated() {
    let Some(app) = dump_app() else { return };
    for bad in ["yesterday", "2025-13-01T00:00:00Z", "2025-08-07"] {
        let reply = get(&app, &format!("/v0.1/servers?updated_since={bad}")).await;
        assert_problem(&reply, 400, BAD_UPDATED_SINCE);
    }
    // As the official document says: with `updated_since`, `include_deleted` is taken as true, even when
    // sent as false, so incremental syncs see deletions.
    let since = "updated_since=2000-01-01T00:00:00Z";
    let implied = get(&app, &format!("/v0.1/servers?limit=100&{since}")).await;
    let explicit = get(&app, &format!("/v0.1/servers?limit=100&{since}&include_deleted=false")).await;
    assert_eq!(explicit.status, 200, "{}", explicit.text);
    assert_eq!(explicit.text, implied.text);

    // Strictly after an existing timestamp: that record itself is excluded.
    let records = dump().expect("dump");
    let pivot_text = records[records.len() / 2]["_meta"][OFFICIAL]["updatedAt"].as_str().expect("updatedAt");
    let pivot: Timestamp = pivot_text.parse().expect("timestamp");
    let expected: BTreeSet<_> = records
        .iter()
        .filter(|r| {
            let at: Timestamp = r["_meta"][OFFICIAL]["updatedAt"].as_str().and_then(|t| t.parse().ok()).expect("at");
            at > pivot
        })
        .map(key)
        .collect();
    let (items, _) = walk(&app, "/v0.1", &format!("&updated_since={}", enc(pivot_text)), 100).await;
    let got: BTreeSet<_> = items.iter().map(key).collect();
    assert_eq!(items.len(), got.len());
    assert_eq!(got, expected);
    assert!(!got.is_empty() && got.len() < records.len());
}

#[tokio::test]
async fn malformed_cursors_never_error() {
    let Some(app) = dump_app() else { return };
    for cursor in ["", ":", "::::", "zzzz", "%", "%%ZZ", "a:b:c", "\u{1F600}", "~~~:~~~"] {
        let reply = get(&app, &format!("/v0.1/servers?cursor={}", enc(cursor))).await;
        assert_eq!(reply.status, 200, "cursor {cursor:?}: {}", reply.text);
    }
    // Past the end: an empty page without a cursor.
    let body = get(&app, "/v0.1/servers?cursor=~~~").await.json();
    assert_eq!(body["metadata"]["count"], 0);
    assert!(body["metadata"].get("nextCursor").is_none());
    // Without `:`, the cursor is a name: the page starts at the next name.
    let keys = expected_keys();
    let first = &keys[0].0;
    let body = get(&app, &format!("/v0.1/servers?limit=1&cursor={}", enc(first))).await.json();
    let next_name = keys.iter().map(|k| &k.0).find(|n| *n > first).expect("a second name");
    assert_eq!(&body["servers"][0]["server"]["name"], next_name.as_str());
}

#[tokio::test]
async fn version_latest_lists_one_version_per_name() {
    let Some(app) = dump_app() else { return };
    let (items, _) = walk(&app, "/v0.1", "&version=latest", 100).await;
    assert_eq!(items.len(), 1_108);
    let names: BTreeSet<_> = items.iter().map(|i| key(i).0).collect();
    assert_eq!(names.len(), 1_108);
    assert!(items.iter().all(|i| i["_meta"][OFFICIAL]["isLatest"] == true));

    let exact = expected_keys().iter().filter(|k| k.1 == "1.0.0").count();
    let (items, _) = walk(&app, "/v0.1", "&version=1.0.0", 100).await;
    assert_eq!(items.len(), exact);
}

/// Whether the dump record's name, title or description holds `term` (lower case), ignoring case.
fn record_mentions(record: &Value, term: &str) -> bool {
    ["name", "title", "description"]
        .iter()
        .any(|field| record["server"][field].as_str().is_some_and(|text| text.to_lowercase().contains(term)))
}

#[tokio::test]
async fn search_matches_name_title_and_description_ignoring_case() {
    let Some(app) = dump_app() else { return };
    let records = dump().expect("dump");
    // "weather" is in many descriptions and fewer names, so a name-only match finds fewer.
    let listed = |r: &&Value| r["_meta"][OFFICIAL]["status"] != "deleted";
    let expected: BTreeSet<_> =
        records.iter().filter(listed).filter(|r| record_mentions(r, "weather")).map(key).collect();
    let by_name = records.iter().filter(listed).filter(|r| key(r).0.to_lowercase().contains("weather")).count();
    assert!(expected.len() > by_name && by_name > 0, "{} vs {by_name}", expected.len());
    for term in ["weather", "Weather", "WEATHER"] {
        for prefix in ["/v0.1", "/v0", "/registry/official/v0.1"] {
            let (items, _) = walk(&app, prefix, &format!("&search={term}"), 100).await;
            let found: BTreeSet<_> = items.iter().map(key).collect();
            assert_eq!(found, expected, "{prefix} {term}");
        }
    }
    // With other filters: one item per name.
    let (items, _) = walk(&app, "/v0.1", "&search=weather&version=latest", 30).await;
    let names: BTreeSet<_> = expected.iter().map(|k| k.0.clone()).collect();
    assert_eq!(items.len(), names.len());
    let (items, _) = walk(&app, "/v0.1", "&search=no-such-thing-anywhere", 100).await;
    assert!(items.is_empty());
    // `%` and `_` are literal characters, not SQL wildcards.
    for (term, query) in [("%", "%25"), ("_", "_")] {
        let (items, _) = walk(&app, "/v0.1", &format!("&search={query}"), 100).await;
        let literal = records.iter().filter(listed).filter(|r| record_mentions(r, term)).count();
        assert_eq!(items.len(), literal, "{term}");
        assert!(literal < records.len() / 2, "{term}");
    }
}

/// The name with the most versions in the dump.
fn busiest_name() -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (name, _) in expected_keys() {
        *counts.entry(name).or_default() += 1;
    }
    counts.into_iter().max_by_key(|(_, n)| *n).map(|(name, _)| name).expect("a name")
}

#[tokio::test]
async fn versions_are_newest_first() {
    let Some(app) = dump_app() else { return };
    let name = busiest_name();
    let expected = expected_keys().iter().filter(|k| k.0 == name).count();
    let body = get(&app, &format!("/v0.1/servers/{}/versions", enc(&name))).await.json();
    let servers = body["servers"].as_array().expect("servers");
    assert_eq!(servers.len(), expected);
    assert!(expected > 1);
    assert_eq!(body["metadata"], serde_json::json!({"count": expected}));
    let published: Vec<Timestamp> = servers
        .iter()
        .map(|s| s["_meta"][OFFICIAL]["publishedAt"].as_str().and_then(|t| t.parse().ok()).expect("publishedAt"))
        .collect();
    assert!(published.windows(2).all(|w| w[0] >= w[1]), "newest publishedAt first");
}

#[tokio::test]
async fn one_version_by_number_or_latest() {
    let Some(app) = dump_app() else { return };
    let name = busiest_name();
    let records = dump().expect("dump");
    let latest = records.iter().find(|r| key(r).0 == name && r["_meta"][OFFICIAL]["isLatest"] == true).expect("latest");
    let older = records.iter().find(|r| key(r).0 == name && r["_meta"][OFFICIAL]["isLatest"] == false).expect("older");

    let reply = get(&app, &format!("/v0.1/servers/{}/versions/latest", enc(&name))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.json()["server"], latest["server"]);
    assert_eq!(reply.json()["_meta"], latest["_meta"]);

    let version = key(older).1;
    let reply = get(&app, &format!("/v0/servers/{}/versions/{}", enc(&name), enc(&version))).await;
    assert_eq!(reply.json()["server"], older["server"]);

    let reply = get(&app, &format!("/v0.1/servers/{}/versions/9.9.9-nope", enc(&name))).await;
    assert_problem(&reply, 404, "Server not found");
}

#[tokio::test]
async fn names_are_one_encoded_segment_and_a_second_decode_is_tolerated() {
    let Some(app) = dump_app() else { return };
    let name = busiest_name();
    let (namespace, rest) = name.split_once('/').expect("a namespaced name");
    let once = format!("{namespace}%2F{rest}");
    let twice = format!("{namespace}%252F{rest}");
    for segment in [&once, &twice, &once.replace("%2F", "%2f")] {
        let reply = get(&app, &format!("/v0.1/servers/{segment}/versions")).await;
        assert_eq!(reply.status, 200, "{segment}: {}", reply.text);
        let reply = get(&app, &format!("/v0.1/servers/{segment}/versions/latest")).await;
        assert_eq!(reply.json()["server"]["name"], name.as_str(), "{segment}");
    }
    // An unencoded `/` misses the route.
    let reply = get(&app, &format!("/v0.1/servers/{name}/versions")).await;
    assert_problem(&reply, 404, thv_api::ENDPOINT_NOT_FOUND);
}

#[tokio::test]
async fn unknown_names_and_paths_are_404_problems() {
    let Some(app) = dump_app() else { return };
    assert_problem(&get(&app, "/v0.1/servers/io.example%2Fnope/versions").await, 404, "Server not found");
    assert_problem(&get(&app, "/v0.1/servers/io.example%2Fnope/versions/latest").await, 404, "Server not found");
    for path in ["/", "/v0.1", "/v0.2/servers", "/v0.1/servers/x", "/registry/official/v1/servers"] {
        assert_problem(&get(&app, path).await, 404, thv_api::ENDPOINT_NOT_FOUND);
    }
    let reply = get(&app, "/registry/nope/v0.1/servers").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.header("content-type"), Some("application/problem+json"));
}
