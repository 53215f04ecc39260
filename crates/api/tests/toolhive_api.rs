//! The ToolHive API (`/api/v1`) over real catalogs: ToolHive's own catalog and the production dump, synced
//! from files by the real pipeline into SQLite, then served from the snapshot.

mod common;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request};
use common::{assert_problem, enc, get, send};
use serde_json::{Value, json};
use thv_api::{AppState, load_snapshot};
use thv_store::{SqliteStore, Store};
use thv_sync::RegistrySpec;
use thv_testdata::{REAL_DUMP, TOOLHIVE_REGISTRY, read_json, shared_file};

/// A registry spec reading a file.
fn file_spec(name: &str, path: &std::path::Path, format: &str) -> RegistrySpec {
    serde_json::from_value(json!({
        "name": name,
        "source": {"file": {"path": path}},
        "format": format,
        "syncPolicy": {"enabled": false},
    }))
    .expect("spec")
}

/// ToolHive's catalog as `toolhive`, then the dump as `official`, synced and served; `None` without
/// `../shared`.
async fn app() -> Option<(Router, AppState, Value)> {
    let toolhive_file = shared_file(TOOLHIVE_REGISTRY)?;
    let dump_file = shared_file(REAL_DUMP)?;
    let specs = vec![file_spec("toolhive", &toolhive_file, "toolhive"), file_spec("official", &dump_file, "auto")];
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.expect("store"));
    let cache = tempfile::tempdir().expect("tempdir");
    for spec in &specs {
        let report = thv_sync::sync_spec(spec, store.as_ref(), cache.path()).await;
        assert!(report.error.is_none(), "{report:?}");
    }
    let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    let state = AppState::new(load_snapshot(store.as_ref(), &names).await.expect("snapshot"));
    state.set_store(store);
    state.set_registries(specs);
    Some((thv_api::router(state.clone()), state, read_json(&toolhive_file)))
}

/// The ToolHive file's entries (servers and remote servers) by key.
fn entries(catalog: &Value) -> Vec<(&String, &Value)> {
    ["servers", "remote_servers"].iter().filter_map(|kind| catalog[kind].as_object()).flatten().collect()
}

fn names_of(body: &Value) -> Vec<String> {
    body["servers"].as_array().expect("servers").iter().map(|s| s["name"].as_str().expect("name").to_owned()).collect()
}

#[tokio::test]
async fn lists_and_filters_like_the_catalog_says() {
    let Some((app, _, catalog)) = app().await else { return };
    let all = get(&app, "/api/v1/servers?registry=toolhive").await.json();
    assert_eq!(all["count"], entries(&catalog).len());
    assert_eq!(all["servers"].as_array().unwrap().len(), entries(&catalog).len());
    assert!(all["servers"].as_array().unwrap().iter().all(|s| s["registry"] == "toolhive"));

    let expect = |pred: &dyn Fn(&Value) -> bool| entries(&catalog).into_iter().filter(|(_, e)| pred(e)).count();
    let has = |field: &str, wanted: &str| {
        let field = field.to_owned();
        let wanted = wanted.to_owned();
        move |e: &Value| e[&field].as_array().is_some_and(|items| items.iter().any(|i| i == wanted.as_str()))
    };
    let cases: Vec<(&str, usize)> = vec![
        ("tier=Official", expect(&|e| e["tier"] == "Official")),
        ("tier=Community", expect(&|e| e["tier"] == "Community")),
        ("transport=streamable-http", expect(&|e| e["transport"] == "streamable-http")),
        ("transport=sse", expect(&|e| e["transport"] == "sse")),
        ("tag=database", expect(&has("tags", "database"))),
        ("tag=database,github", expect(&|e| has("tags", "database")(e) || has("tags", "github")(e))),
        ("tier=Official&transport=stdio", expect(&|e| e["tier"] == "Official" && e["transport"] == "stdio")),
    ];
    for (query, count) in cases {
        let body = get(&app, &format!("/api/v1/servers?registry=toolhive&{query}")).await.json();
        assert_eq!(body["count"], count, "{query}");
        assert!(count > 0 || query.contains("sse"), "{query} should match something in ToolHive's catalog");
    }

    // A term that is not part of any namespace, so the key stands for the name.
    let search = get(&app, "/api/v1/servers?registry=toolhive&search=KUBERNETES").await.json();
    let expected = entries(&catalog)
        .into_iter()
        .filter(|(key, e)| {
            key.contains("kubernetes")
                || ["title", "description"]
                    .iter()
                    .any(|f| e[f].as_str().is_some_and(|t| t.to_lowercase().contains("kubernetes")))
        })
        .count();
    assert!(expected > 0);
    assert_eq!(search["count"], expected);
}

#[tokio::test]
async fn the_aggregate_lists_each_name_once_first_registry_first() {
    let Some((app, state, _)) = app().await else { return };
    let body = get(&app, "/api/v1/servers").await.json();
    let names = names_of(&body);
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(names, sorted, "ordered by name, each once");
    let snapshot = state.snapshot();
    let latest_live = |registry: &str| {
        snapshot.registry(registry).unwrap().records().iter().filter(|r| r.is_latest && !r.deleted).count()
    };
    assert!(names.len() >= latest_live("toolhive") && names.len() <= latest_live("toolhive") + latest_live("official"));
    for item in body["servers"].as_array().unwrap() {
        let name = item["name"].as_str().unwrap();
        let owner = if snapshot.registry("toolhive").unwrap().contains(name) { "toolhive" } else { "official" };
        assert_eq!(item["registry"], owner, "{name}");
    }
    // Dump names with the official tier marker are found by transport too.
    let remote = get(&app, "/api/v1/servers?registry=official&transport=streamable-http").await.json();
    assert!(remote["count"].as_u64().unwrap() > 100, "{}", remote["count"]);
}

#[tokio::test]
async fn one_server_in_either_format() {
    let Some((app, _, catalog)) = app().await else { return };
    let (key, entry) = entries(&catalog).into_iter().find(|(_, e)| e["image"].is_string()).expect("an image entry");
    // By short name, ToolHive's format: the entry as ToolHive wrote it, plus the name it is listed under.
    let shown = get(&app, &format!("/api/v1/servers/{key}?registry=toolhive")).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(shown.header("vary"), Some("accept"));
    let mut got = shown.json();
    let full_name = got["name"].as_str().expect("name").to_owned();
    assert!(full_name.ends_with(&format!("/{key}")), "{full_name}");
    got.as_object_mut().unwrap().remove("name");
    let mut want = entry.clone();
    want.as_object_mut().unwrap().remove("name");
    assert_eq!(got, want);

    // The same server by full name, as server.json, by query and by Accept header.
    let upstream = get(&app, &format!("/api/v1/servers/{}?format=upstream", enc(&full_name))).await;
    let official = get(&app, &format!("/v0.1/servers/{}/versions/latest", enc(&full_name))).await;
    assert_eq!(upstream.text, official.text);
    let request = Request::builder()
        .uri(format!("/api/v1/servers/{key}"))
        .header("accept", "application/json; format=upstream")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, request).await.text, official.text);

    assert_problem(&get(&app, "/api/v1/servers/no-such-server").await, 404, "Server \"no-such-server\" not found");
    let bad = get(&app, &format!("/api/v1/servers/{key}?format=xml")).await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.json()["errors"][0]["location"], "query.format");
    assert_problem(&get(&app, "/api/v1/servers?registry=nope").await, 404, "Registry \"nope\" not found");
}

#[tokio::test]
async fn an_older_version_and_an_ambiguous_short_name() {
    let Some((app, state, _)) = app().await else { return };
    let snapshot = state.snapshot();
    let official = snapshot.registry("official").unwrap();
    let record = official.records().iter().find(|r| !r.is_latest && !r.deleted).expect("an older version");
    let url = format!(
        "/api/v1/servers/{}?registry=official&version={}&format=upstream",
        enc(&record.name),
        enc(&record.version)
    );
    let reply = get(&app, &url).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["server"]["version"], record.version.as_str());

    // A short name shared by several servers of the dump.
    let mut counts = std::collections::HashMap::<&str, usize>::new();
    for r in official.records().iter().filter(|r| r.is_latest) {
        if let Some(short) = thv_model::filter::short_name(&r.name) {
            *counts.entry(short).or_default() += 1;
        }
    }
    let (short, _) = counts.into_iter().find(|(_, n)| *n > 1).expect("a shared short name in the dump");
    let reply = get(&app, &format!("/api/v1/servers/{}?registry=official", enc(short))).await;
    assert_eq!(reply.status, 409, "{}", reply.text);
    assert!(reply.json()["detail"].as_str().unwrap().contains("use a full name"));
}

#[tokio::test]
async fn registries_report_their_state_without_secrets() {
    let Some((app, _, _)) = app().await else { return };
    let body = get(&app, "/api/v1/registries").await.json();
    assert_eq!(body["count"], 2);
    let official = &body["registries"][1];
    assert_eq!(official["name"], "official");
    assert_eq!(official["status"], "ready");
    assert_eq!(official["source"]["type"], "file");
    assert_eq!(official["serverCount"], 2794);
    assert_eq!(official["serverNames"], 1108);
    assert!(official["lastSyncTime"].is_string());

    let one = get(&app, "/api/v1/registries/toolhive").await.json();
    assert_eq!(one["recentRuns"].as_array().unwrap().len(), 1);
    assert_eq!(one["recentRuns"][0]["outcome"], "success");
    let changes = get(&app, "/api/v1/registries/toolhive/changes").await.json();
    let sets = changes["changeSets"].as_array().unwrap();
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0]["changes"].as_array().unwrap().len(), sets[0]["counts"]["added"].as_u64().unwrap() as usize);
    assert_problem(&get(&app, "/api/v1/registries/nope").await, 404, "Registry \"nope\" not found");
    assert_eq!(get(&app, "/api/v1/registries/toolhive/changes?limit=0").await.status, 422);

    // Without a scheduler, a sync cannot run; without a token it is refused first.
    let post = |uri: &str| Request::builder().method(Method::POST).uri(uri).body(Body::empty()).unwrap();
    let refused = send(&app, post("/api/v1/registries/toolhive/sync")).await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.header("www-authenticate"), Some("Bearer realm=\"thv-registry\""));
}
