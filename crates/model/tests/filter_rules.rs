//! Every filter rule, table-driven over a small hand-made catalog.

use serde_json::{Value, json};
use thv_model::Catalog;
use thv_model::catalog::{CatalogInfo, GroupInfo};
use thv_model::filter::{CriterionKind, Decision, DropReason, Filter, FilterError, ServerFacts};
use thv_model::upstream::{ServerJson, ServerResponse};

const PUBLISHER: &str = "io.modelcontextprotocol.registry/publisher-provided";

/// A server with packages (by transport type), remotes (by type) and, when `ext` is not null, a
/// ToolHive extension filed under its first package identifier or remote URL.
fn server(name: &str, packages: &[&str], remotes: &[&str], ext: Value) -> ServerJson {
    let packages: Vec<Value> = packages
        .iter()
        .enumerate()
        .map(
            |(i, t)| json!({"registryType": "oci", "identifier": format!("ghcr.io/x/{i}:1"), "transport": {"type": t}}),
        )
        .collect();
    let remotes: Vec<Value> = remotes
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"type": t, "url": format!("https://example.com/{i}")}))
        .collect();
    let key = packages
        .first()
        .and_then(|p| p["identifier"].as_str())
        .or_else(|| remotes.first().and_then(|r| r["url"].as_str()))
        .unwrap_or("none")
        .to_owned();
    let mut doc = json!({"name": name, "version": "1.0.0", "description": "d"});
    if !packages.is_empty() {
        doc["packages"] = Value::Array(packages);
    }
    if !remotes.is_empty() {
        doc["remotes"] = Value::Array(remotes);
    }
    if !ext.is_null() {
        doc["_meta"] = json!({PUBLISHER: {"io.github.stacklok": {key: ext}}});
    }
    serde_json::from_value(doc).expect("test server parses")
}

/// The fixture catalog, named A…F in the comments of the cases.
fn fixture() -> Vec<ServerJson> {
    vec![
        // A: Official, stdio, category (string form).
        server(
            "io.github.stacklok/fetch",
            &["stdio"],
            &[],
            json!({"status": "Active", "tier": "Official", "tags": ["Web", "fetch"],
                   "custom_metadata": {"category": "Networking"}}),
        ),
        // B: Community, two remotes, categories (array form), experimental tag.
        server(
            "io.github.acme/fetch-experimental",
            &[],
            &["streamable-http", "sse"],
            json!({"status": "active", "tier": "Community", "tags": ["experimental"],
                   "custom_metadata": {"categories": ["Dev Tools", "AI"]}}),
        ),
        // C: no extension at all (no tier, tags or categories), stdio package and sse remote.
        server("com.example/no-tier", &["stdio"], &["sse"], Value::Null),
        // D: no `/` in the name, so no short name.
        server("plain-name", &[], &["sse"], Value::Null),
        // E: two slashes, so no short name either.
        server("a/b/c", &["streamable-http"], &[], json!({"tags": ["web"]})),
        // F: extension with no tier but tags.
        server("org.example/tagged", &["stdio"], &[], json!({"tags": ["Database", "SQL"]})),
    ]
}

fn filter(v: Value) -> Filter {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("filter {v}: {e}"))
}

fn kept(f: &Filter) -> Vec<String> {
    let compiled = f.compile();
    fixture().iter().filter(|s| compiled.matches(s)).map(|s| s.name_str().to_owned()).collect()
}

const A: &str = "io.github.stacklok/fetch";
const B: &str = "io.github.acme/fetch-experimental";
const C: &str = "com.example/no-tier";
const D: &str = "plain-name";
const E: &str = "a/b/c";
const F: &str = "org.example/tagged";

#[test]
fn rules_table() {
    let all = vec![A, B, C, D, E, F];
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        ("empty filter keeps everything", json!({}), all.clone()),
        ("empty include lists keep everything", json!({"include": {}, "exclude": {}}), all.clone()),
        // Exclude wins.
        (
            "exclude wins over a matching include",
            json!({"include": {"names": ["*"]}, "exclude": {"tags": ["experimental"]}}),
            vec![A, C, D, E, F],
        ),
        (
            "exclude wins even when the include names the server exactly",
            json!({"include": {"names": [B]}, "exclude": {"names": ["*-experimental"]}}),
            vec![],
        ),
        (
            "any exclude kind drops",
            json!({"exclude": {"tiers": ["official"], "transports": ["streamable-http"]}}),
            vec![C, D, F],
        ),
        (
            "exclude only: empty include means everything else",
            json!({"exclude": {"transports": ["stdio"]}}),
            vec![B, D, E],
        ),
        // AND across kinds, OR within a kind.
        ("OR within one kind", json!({"include": {"transports": ["stdio", "streamable-http"]}}), vec![A, B, C, E, F]),
        (
            "AND across kinds: tier and transport",
            json!({"include": {"tiers": ["Community"], "transports": ["sse"]}}),
            vec![B],
        ),
        (
            "AND across kinds can keep nothing",
            json!({"include": {"tiers": ["Official"], "transports": ["sse"]}}),
            vec![],
        ),
        ("AND of names and tags", json!({"include": {"names": ["io.github.*", "a/*"], "tags": ["web"]}}), vec![A, E]),
        // Names.
        ("* matches across /", json!({"include": {"names": ["io*fetch"]}}), vec![A]),
        ("* across a second /", json!({"include": {"names": ["a/*"]}}), vec![E]),
        ("* in the middle of both parts", json!({"include": {"names": ["*fetch*"]}}), vec![A, B]),
        ("? matches one character", json!({"include": {"names": ["f?tch", "plain-nam?", "plain-na?"]}}), vec![A, D]),
        ("a pattern without / matches the short name", json!({"include": {"names": ["fetch"]}}), vec![A]),
        ("a pattern with / matches only the full name", json!({"include": {"names": ["stacklok/fetch"]}}), vec![]),
        ("a name with two slashes has no short name", json!({"include": {"names": ["c", "b/c"]}}), vec![]),
        ("a name without / is matched as it is", json!({"include": {"names": ["plain-name"]}}), vec![D]),
        ("short-name patterns exclude too", json!({"exclude": {"names": ["fetch*", "tagged"]}}), vec![C, D, E]),
        ("names are case-sensitive", json!({"include": {"names": ["FETCH", "IO.GITHUB.*"]}}), vec![]),
        // Case-insensitive kinds.
        ("tags ignore case", json!({"include": {"tags": ["WEB"]}}), vec![A, E]),
        ("tiers ignore case", json!({"include": {"tiers": ["oFFICIAL"]}}), vec![A]),
        ("transports ignore case", json!({"include": {"transports": ["SSE"]}}), vec![B, C, D]),
        (
            "categories: string and array forms, case ignored",
            json!({"include": {"categories": ["networking", "DEV TOOLS"]}}),
            vec![A, B],
        ),
        ("values are exact, not substrings", json!({"include": {"tags": ["we", "Data"], "categories": []}}), vec![]),
        // Missing facts.
        ("no tier never matches an include tier", json!({"include": {"tiers": ["Official", "Community"]}}), vec![A, B]),
        (
            "no tier never matches an exclude tier",
            json!({"exclude": {"tiers": ["Official", "Community"]}}),
            vec![C, D, E, F],
        ),
        (
            "no tags or categories never match",
            json!({"exclude": {"tags": ["web", "sql", "experimental"], "categories": ["ai", "networking"]}}),
            vec![C, D],
        ),
    ];
    for (what, f, want) in cases {
        let f = filter(f);
        assert_eq!(kept(&f), want, "{what}: {f:?}");
    }
}

#[test]
fn facts_are_read_from_the_document() {
    let servers = fixture();
    let a = ServerFacts::of(&servers[0]);
    assert_eq!(a.name, A);
    assert_eq!(a.short_name, Some("fetch"));
    assert_eq!(a.tier, Some("Official"));
    assert_eq!(a.tags, ["Web", "fetch"]);
    assert_eq!(a.categories, ["Networking"]);
    assert_eq!(a.transports, ["stdio"]);

    let b = ServerFacts::of(&servers[1]);
    assert_eq!(b.categories, ["Dev Tools", "AI"]);
    assert_eq!(b.transports, ["streamable-http", "sse"]);

    let c = ServerFacts::of(&servers[2]);
    assert_eq!((c.tier, c.tags.len()), (None, 0));
    assert_eq!(c.transports, ["stdio", "sse"]);
    assert_eq!(ServerFacts::of(&servers[3]).short_name, None);
    assert_eq!(ServerFacts::of(&servers[4]).short_name, None);
}

#[test]
fn facts_follow_find_extension_key_choice() {
    // Two extension entries: the one filed under the package identifier wins, as in find_extension.
    let doc = json!({
        "name": "io.github.stacklok/x",
        "packages": [{"registryType": "oci", "identifier": "img:1", "transport": {"type": "stdio"}}],
        "_meta": {PUBLISHER: {"io.github.stacklok": {
            "other:2": {"tier": "Community", "tags": ["b"]},
            "img:1": {"tier": "Official", "tags": ["a"]}
        }}}
    });
    let s: ServerJson = serde_json::from_value(doc).expect("parses");
    let facts = ServerFacts::of(&s);
    let (_, ext) = thv_model::toolhive::find_extension(&s, None).expect("extension");
    assert_eq!(facts.tier, ext.tier.as_deref());
    assert_eq!(facts.tags, ext.tags.unwrap_or_default());

    // Several entries and none matches a package or remote: no extension, no tier.
    let doc = json!({
        "name": "io.github.stacklok/y",
        "_meta": {PUBLISHER: {"io.github.stacklok": {"p": {"tier": "Official"}, "q": {"tier": "Official"}}}}
    });
    let s: ServerJson = serde_json::from_value(doc).expect("parses");
    assert!(thv_model::toolhive::find_extension(&s, None).is_none());
    assert_eq!(ServerFacts::of(&s).tier, None);
}

#[test]
fn malformed_extension_fields_count_as_absent() {
    let s = server(
        "io.github.stacklok/odd",
        &["stdio"],
        &[],
        json!({"tier": 3, "tags": ["ok", 7, null], "custom_metadata": {"category": ["not", "a string"], "categories": "nope"}}),
    );
    let facts = ServerFacts::of(&s);
    assert_eq!(facts.tier, None);
    assert_eq!(facts.tags, ["ok"]);
    assert!(facts.categories.is_empty());
}

#[test]
fn decisions_say_why() {
    let servers = fixture();
    let f = filter(json!({
        "include": {"tiers": ["Official", "Community"], "transports": ["stdio"]},
        "exclude": {"names": ["*-experimental"], "tags": ["SQL"]}
    }));
    let c = f.compile();
    let decisions: Vec<Decision<'_>> = servers.iter().map(|s| c.decide(s)).collect();
    assert_eq!(
        decisions,
        [
            Decision::Keep,
            Decision::Excluded { kind: CriterionKind::Names, value: "*-experimental" },
            Decision::NotIncluded { kind: CriterionKind::Tiers },
            Decision::NotIncluded { kind: CriterionKind::Tiers },
            Decision::NotIncluded { kind: CriterionKind::Tiers },
            Decision::Excluded { kind: CriterionKind::Tags, value: "SQL" },
        ]
    );
    // A passes tiers but not transports when only sse is allowed.
    let f = filter(json!({"include": {"tiers": ["official"], "transports": ["sse"]}}));
    assert_eq!(f.compile().decide(&servers[0]), Decision::NotIncluded { kind: CriterionKind::Transports });
}

#[test]
fn applying_to_a_catalog_records_what_was_dropped() {
    let mut entries: Vec<ServerResponse> = fixture().into_iter().map(ServerResponse::bare).collect();
    // A second version of B: every version is decided on its own and reported.
    let mut b2 = entries[1].clone();
    b2.server.version = Some("2.0.0".into());
    entries.push(b2);
    let info = CatalogInfo {
        version: Some("1.0.0".into()),
        groups: vec![GroupInfo { name: "g".into(), description: None, servers: vec![A.into(), B.into()] }],
        ..CatalogInfo::default()
    };
    let catalog = Catalog { info: info.clone(), entries };
    let f = filter(json!({"exclude": {"tags": ["experimental"], "names": ["plain-*"]}}));
    let outcome = f.compile().apply(catalog);

    let kept: Vec<&str> = outcome.kept.entries.iter().map(|e| e.server.name_str()).collect();
    assert_eq!(kept, [A, C, E, F]);
    assert_eq!(outcome.kept.info, info, "file-level information is kept");
    let dropped: Vec<(&str, &str, String)> =
        outcome.dropped.iter().map(|d| (d.name.as_str(), d.version.as_str(), d.reason.to_string())).collect();
    assert_eq!(
        dropped,
        [
            (B, "1.0.0", r#"excluded by tags value "experimental""#.to_owned()),
            (D, "1.0.0", r#"excluded by names value "plain-*""#.to_owned()),
            (B, "2.0.0", r#"excluded by tags value "experimental""#.to_owned()),
        ]
    );
    assert_eq!(outcome.dropped_names(), [B, D]);
    assert_eq!(
        outcome.dropped[0].reason,
        DropReason::Excluded { kind: CriterionKind::Tags, value: "experimental".into() }
    );

    let f = filter(json!({"include": {"tiers": ["official"]}}));
    let (kept, dropped) = f.compile().partition(fixture().into_iter().map(ServerResponse::bare).collect());
    assert_eq!(kept.len(), 1);
    assert!(dropped.iter().all(|d| d.reason == DropReason::NotIncluded { kind: CriterionKind::Tiers }));
    assert_eq!(dropped[0].reason.to_string(), "matches no include tiers value");
}

#[test]
fn serde_is_plain_camel_case_data() {
    let f: Filter = serde_json::from_value(json!({})).expect("empty object");
    assert!(f.is_empty());
    assert_eq!(serde_json::to_value(&f).expect("serialise"), json!({}));

    let f = filter(json!({"include": {"tiers": ["Official"]}, "exclude": {"names": ["*-experimental"]}}));
    assert!(!f.is_empty());
    assert_eq!(f.include.tiers, ["Official"]);
    assert!(f.exclude.tags.is_empty());
    assert_eq!(
        serde_json::to_value(&f).expect("serialise"),
        json!({"include": {"tiers": ["Official"]}, "exclude": {"names": ["*-experimental"]}}),
        "empty lists and sides are skipped"
    );
    assert!(
        serde_json::from_value::<Filter>(json!({"include": {"tag": ["x"]}})).is_err(),
        "a misspelt list is an error, not silently ignored"
    );
    assert!(serde_json::from_value::<Filter>(json!({"includes": {}})).is_err());
}

#[test]
fn digest_is_normalised_and_stable() {
    let base = filter(
        json!({"include": {"tiers": ["Official"], "tags": ["b", "a"]}, "exclude": {"names": ["*-experimental"]}}),
    );
    let same = filter(json!({
        "exclude": {"names": ["*-experimental", "*-experimental"]},
        "include": {"tags": ["A", "b", "a"], "tiers": ["official"]}
    }));
    assert_eq!(base.digest(), same.digest());
    assert_eq!(base.normalized(), same.normalized());

    let different = [
        json!({"include": {"tiers": ["Official"], "tags": ["b", "a"]}, "exclude": {"names": ["*-Experimental"]}}),
        json!({"include": {"tiers": ["Official"], "tags": ["b"]}, "exclude": {"names": ["*-experimental"]}}),
        json!({"exclude": {"tiers": ["Official"], "tags": ["b", "a"]}, "include": {"names": ["*-experimental"]}}),
        json!({"include": {"tiers": ["Official"], "categories": ["b", "a"]}, "exclude": {"names": ["*-experimental"]}}),
    ];
    for d in different {
        assert_ne!(base.digest(), filter(d.clone()).digest(), "{d}");
    }

    // The digest is SHA-256 of the canonical JSON of the normal form: fixed across releases.
    use sha2::{Digest, Sha256};
    let canonical = r#"{"exclude":{"names":["*-experimental"]},"include":{"tags":["a","b"],"tiers":["official"]}}"#;
    assert_eq!(base.digest(), hex::encode(Sha256::digest(canonical)));
    assert_eq!(Filter::default().digest(), hex::encode(Sha256::digest("{}")));
}

#[test]
fn validate_rejects_values_that_cannot_match() {
    assert_eq!(filter(json!({"include": {"names": ["a*"]}})).validate(), Ok(()));
    assert_eq!(
        filter(json!({"exclude": {"tags": ["ok", " "]}})).validate(),
        Err(FilterError::Empty { side: "exclude", kind: CriterionKind::Tags, index: 1 })
    );
    let err = filter(json!({"include": {"tiers": ["Official "]}})).validate().expect_err("trailing space");
    assert_eq!(err.to_string(), r#"filter.include.tiers[0] "Official " has surrounding whitespace; remove it"#);
}
