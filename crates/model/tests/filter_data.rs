//! Filters over real catalogs, checked against counts computed here from the raw JSON by other means
//! (string operations and JSON pointers, not the model or the filter code).

use serde_json::Value;
use thv_model::Catalog;
use thv_model::filter::Filter;
use thv_model::toolhive::find_extension;
use thv_model::upstream::{ServerJson, ServerResponse, UpstreamFile};
use thv_testdata::{REAL_DUMP, TOOLHIVE_UPSTREAM_EXAMPLE, read_json, shared_file};

fn filter(v: Value) -> Filter {
    serde_json::from_value(v).expect("filter")
}

fn count(filter: &Filter, servers: &[ServerJson]) -> usize {
    let compiled = filter.compile();
    servers.iter().filter(|s| compiled.matches(s)).count()
}

/// The part after the single `/`, computed by counting slashes.
fn short(name: &str) -> Option<&str> {
    (name.matches('/').count() == 1).then(|| name.rsplit('/').next().unwrap_or(""))
}

/// Every transport `type` of a raw `server.json`.
fn raw_transports(server: &Value) -> Vec<String> {
    let list = |key: &str, pointer: &str| -> Vec<String> {
        server[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| item.pointer(pointer).and_then(Value::as_str))
            .map(str::to_lowercase)
            .collect()
    };
    let mut all = list("packages", "/transport/type");
    all.extend(list("remotes", "/type"));
    all
}

/// The only ToolHive extension object of a raw document (the example files have exactly one each).
fn raw_extension(server: &Value) -> &Value {
    let map = server
        .pointer("/_meta/io.modelcontextprotocol.registry~1publisher-provided/io.github.stacklok")
        .and_then(Value::as_object)
        .expect("every example server has a ToolHive extension");
    assert_eq!(map.len(), 1, "{}", server["name"]);
    map.values().next().expect("one entry")
}

#[test]
fn real_dump_names_and_transports() {
    let Some(path) = shared_file(REAL_DUMP) else {
        return;
    };
    let doc = read_json(&path);
    let raw = doc.as_array().expect("array of records");
    let entries: Vec<ServerResponse> = serde_json::from_value(doc.clone()).expect("records");
    let servers: Vec<ServerJson> = entries.iter().map(|e| e.server.clone()).collect();
    let names: Vec<&str> = raw.iter().map(|r| r["server"]["name"].as_str().expect("every record has a name")).collect();
    let total = names.len();
    assert!(total > 1_000, "the dump has {total} records");

    // `io.github.*` has no `/`, so it is tried on the full and the short name.
    let github = names
        .iter()
        .filter(|n| n.starts_with("io.github.") || short(n).is_some_and(|s| s.starts_with("io.github.")))
        .count();
    assert!(github > 0 && github < total);
    assert_eq!(count(&filter(serde_json::json!({"include": {"names": ["io.github.*"]}})), &servers), github);

    // A pattern with `/`: `*` crosses it, and only the full name counts.
    let slash = names.iter().filter(|n| n.starts_with("io.github.") && n.ends_with("/mcp")).count();
    assert_eq!(count(&filter(serde_json::json!({"include": {"names": ["io.github.*/mcp"]}})), &servers), slash);

    // Exclude by suffix.
    let mcp_suffix = names.iter().filter(|n| n.ends_with("-mcp")).count();
    assert!(mcp_suffix > 0);
    assert_eq!(count(&filter(serde_json::json!({"exclude": {"names": ["*-mcp"]}})), &servers), total - mcp_suffix);

    // Short-name match: the short name of the first record, counted in every namespace.
    let first_short = short(names[0]).expect("registry names have one slash");
    let same_short = names.iter().filter(|n| short(n) == Some(first_short) || **n == first_short).count();
    assert_eq!(count(&filter(serde_json::json!({"include": {"names": [first_short]}})), &servers), same_short);

    // Transports: OR within the list, AND with names; case does not matter.
    let sse = raw.iter().filter(|r| raw_transports(&r["server"]).iter().any(|t| t == "sse")).count();
    assert!(sse > 0);
    assert_eq!(count(&filter(serde_json::json!({"include": {"transports": ["SSE"]}})), &servers), sse);
    let com_remote = raw
        .iter()
        .filter(|r| {
            let n = r["server"]["name"].as_str().unwrap_or("");
            (n.starts_with("com.") || short(n).is_some_and(|s| s.starts_with("com.")))
                && raw_transports(&r["server"]).iter().any(|t| t == "sse" || t == "streamable-http")
        })
        .count();
    assert_eq!(
        count(
            &filter(serde_json::json!({"include": {"names": ["com.*"], "transports": ["sse", "streamable-http"]}})),
            &servers
        ),
        com_remote
    );

    // Applying to a catalog: kept + dropped = all, in order; dropped names are the distinct ones.
    let f = filter(serde_json::json!({"exclude": {"names": ["*-mcp"], "transports": ["sse"]}}));
    let outcome = f.compile().apply(Catalog { entries, ..Catalog::default() });
    let dropped_raw: Vec<&str> = raw
        .iter()
        .filter(|r| {
            let n = r["server"]["name"].as_str().unwrap_or("");
            n.ends_with("-mcp") || raw_transports(&r["server"]).iter().any(|t| t == "sse")
        })
        .map(|r| r["server"]["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(outcome.dropped.len(), dropped_raw.len());
    assert_eq!(outcome.kept.entries.len() + outcome.dropped.len(), total);
    let mut distinct = dropped_raw.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(outcome.dropped_names(), distinct);
    let dropped_in_order: Vec<&str> = outcome.dropped.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(dropped_in_order, dropped_raw);
}

#[test]
fn toolhive_example_tiers_tags_transports() {
    let Some(path) = shared_file(TOOLHIVE_UPSTREAM_EXAMPLE) else {
        return;
    };
    let doc = read_json(&path);
    let raw = doc.pointer("/data/servers").and_then(Value::as_array).expect("data.servers");
    let file: UpstreamFile = serde_json::from_value(doc.clone()).expect("wrapper parses");
    let servers = file.data.servers;
    let total = raw.len();

    let official = raw
        .iter()
        .filter(|s| raw_extension(s)["tier"].as_str().is_some_and(|t| t.eq_ignore_ascii_case("official")))
        .count();
    assert!(official > 0 && official < total);
    assert_eq!(count(&filter(serde_json::json!({"include": {"tiers": ["official"]}})), &servers), official);
    assert_eq!(count(&filter(serde_json::json!({"exclude": {"tiers": ["OFFICIAL"]}})), &servers), total - official);

    let has_tag = |s: &Value, tag: &str| {
        raw_extension(s)["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| t.as_str().is_some_and(|t| t.eq_ignore_ascii_case(tag)))
    };
    let database = raw.iter().filter(|s| has_tag(s, "database")).count();
    assert!(database > 0);
    assert_eq!(count(&filter(serde_json::json!({"exclude": {"tags": ["Database"]}})), &servers), total - database);

    // AND across kinds: Official tier, a stdio transport, and one of two tags; minus an excluded name.
    let want = raw
        .iter()
        .filter(|s| raw_extension(s)["tier"].as_str().is_some_and(|t| t.eq_ignore_ascii_case("official")))
        .filter(|s| raw_transports(s).iter().any(|t| t == "stdio"))
        .filter(|s| has_tag(s, "api") || has_tag(s, "browser"))
        .filter(|s| short(s["name"].as_str().unwrap_or("")) != Some("github"))
        .count();
    assert!(want > 0 && want < official);
    let f = filter(serde_json::json!({
        "include": {"tiers": ["Official"], "transports": ["stdio"], "tags": ["API", "browser"]},
        "exclude": {"names": ["github"]}
    }));
    assert_eq!(count(&f, &servers), want);
}

#[test]
fn facts_agree_with_find_extension_on_real_documents() {
    let mut servers: Vec<ServerJson> = Vec::new();
    if let Some(path) = shared_file(TOOLHIVE_UPSTREAM_EXAMPLE) {
        let file: UpstreamFile = serde_json::from_value(read_json(&path)).expect("wrapper parses");
        servers.extend(file.data.servers);
    }
    if let Some(path) = shared_file(REAL_DUMP) {
        let entries: Vec<ServerResponse> = serde_json::from_value(read_json(&path)).expect("records");
        servers.extend(entries.into_iter().map(|e| e.server));
    }
    let mut with_extension = 0;
    for s in &servers {
        let facts = thv_model::filter::ServerFacts::of(s);
        match find_extension(s, None) {
            Some((_, ext)) => {
                with_extension += 1;
                assert_eq!(facts.tier, ext.tier.as_deref(), "{}", s.name_str());
                let tags: Vec<&str> = ext.tags.iter().flatten().map(String::as_str).collect();
                assert_eq!(facts.tags, tags, "{}", s.name_str());
            }
            None => assert_eq!((facts.tier, facts.tags.len()), (None, 0), "{}", s.name_str()),
        }
    }
    if !servers.is_empty() {
        assert!(with_extension > 0);
    }
}
