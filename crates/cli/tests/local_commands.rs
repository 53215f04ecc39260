//! End-to-end tests of the `thv` binary's local registry commands: `thv registry add|list|show|remove|sync`,
//! `thv search` and `thv show`, against a real SQLite store in a temporary directory.
//!
//! Every test has its own directory and points `THV_CONFIG`, `THV_DATABASE`, `XDG_*` and `HOME` into it, so
//! nothing reads or writes the developer's files.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use thv_testdata::{REAL_DUMP, TOOLHIVE_REGISTRY, shared_file};

// ---------------------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------------------

mod support;

use support::{Env, Run, write_atomically};

/// Command-line arguments written as one line (none has a space).
fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// The shared file, or `None` to skip (see `thv_testdata::shared_file`).
fn shared(relative: &str) -> Option<String> {
    shared_file(relative).map(|p| p.to_string_lossy().into_owned())
}

// ---------------------------------------------------------------------------------------------------------
// Generated catalogs
// ---------------------------------------------------------------------------------------------------------

const SCHEMA: &str = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json";

/// What a generated record looks like.
struct Rec<'a> {
    name: &'a str,
    version: &'a str,
    published: &'a str,
    title: Option<&'a str>,
    description: &'a str,
    tier: &'a str,
    tags: &'a [&'a str],
    transport: &'a str,
}

impl Rec<'_> {
    /// The `{server, _meta}` record: a stdio npm package or a remote, with ToolHive's tier and tags.
    fn to_json(&self) -> Value {
        let short = self.name.rsplit('/').next().unwrap_or(self.name);
        let (key, mut server) = if self.transport == "stdio" {
            let identifier = format!("@gen/{short}");
            let package = json!({"registryType": "npm", "identifier": identifier, "version": self.version,
                "transport": {"type": "stdio"}});
            (identifier, json!({"packages": [package]}))
        } else {
            let url = format!("https://{short}.example.com/mcp");
            (url.clone(), json!({"remotes": [{"type": self.transport, "url": url}]}))
        };
        server["$schema"] = SCHEMA.into();
        server["name"] = self.name.into();
        server["description"] = self.description.into();
        server["version"] = self.version.into();
        if let Some(title) = self.title {
            server["title"] = title.into();
        }
        server["_meta"] = json!({"io.modelcontextprotocol.registry/publisher-provided": {"io.github.stacklok": {
            key: {"status": "Active", "tier": self.tier, "tags": self.tags, "tools": ["t"]}}}});
        json!({"server": server, "_meta": {"io.modelcontextprotocol.registry/official": {
            "status": "active", "publishedAt": self.published, "updatedAt": self.published, "isLatest": false}}})
    }
}

fn rec<'a>(name: &'a str, version: &'a str, description: &'a str) -> Rec<'a> {
    Rec {
        name,
        version,
        published: "2025-06-01T00:00:00Z",
        title: None,
        description,
        tier: "Community",
        tags: &[],
        transport: "stdio",
    }
}

/// The first registry of the search tests: two versions of `notes`, an ambiguous short name `tool`, and a
/// server (`shared`) that the second registry also has.
fn alpha_catalog() -> Value {
    let records = [
        Rec {
            published: "2025-01-01T00:00:00Z",
            title: Some("Acme Notes"),
            tier: "Official",
            tags: &["notes", "productivity"],
            ..rec("io.github.acme/notes", "1.0.0", "Keep NOTES in Markdown (old release)")
        },
        Rec {
            published: "2025-02-01T00:00:00Z",
            title: Some("Acme Notes"),
            tier: "Official",
            tags: &["notes", "productivity"],
            ..rec("io.github.acme/notes", "1.1.0", "Keep NOTES in Markdown")
        },
        Rec { tags: &["weather"], transport: "streamable-http", ..rec("io.github.acme/weather", "2.0.0", "Forecasts") },
        Rec { tags: &["util"], transport: "sse", ..rec("com.example/tool", "1.0.0", "An example tool") },
        Rec { tags: &["util", "legacy"], ..rec("org.other/tool", "0.1.0", "Another tool") },
        Rec { tier: "Official", ..rec("io.github.acme/shared", "1.0.0", "shared server, from alpha") },
    ];
    Value::Array(records.iter().map(Rec::to_json).collect())
}

/// The second registry: a higher version of `shared` (which alpha still wins) and a server of its own.
fn beta_catalog() -> Value {
    let records = [
        rec("io.github.acme/shared", "9.0.0", "shared server, from beta"),
        Rec { title: Some("Zebra Crossing"), tags: &["maps"], ..rec("io.github.beta/only", "1.0.0", "Beta's own") },
    ];
    Value::Array(records.iter().map(Rec::to_json).collect())
}

/// `n` simple records named `io.example.gen/s-<i>`.
fn numbered_catalog(n: usize, description: &str) -> Value {
    let names: Vec<String> = (0..n).map(|i| format!("io.example.gen/s-{i:05}")).collect();
    let records: Vec<Value> = names.iter().map(|name| rec(name, "1.0.0", description).to_json()).collect();
    Value::Array(records)
}

/// Adds `name` over a file and syncs it; returns the sync report.
#[track_caller]
fn add_and_sync(env: &Env, name: &str, file: &str) -> Value {
    env.ok(&["registry", "add", name, "--file", file]);
    let reports = env.json(&["registry", "sync", name]);
    assert_eq!(reports[0]["outcome"], "success", "{reports}");
    reports[0].clone()
}

// ---------------------------------------------------------------------------------------------------------
// thv registry add
// ---------------------------------------------------------------------------------------------------------

#[test]
fn add_writes_each_source_kind_to_the_config() {
    let env = Env::new();
    std::fs::write(env.path("catalog.json"), "[]").expect("write");
    // A relative --file path is stored absolute: syncs run from anywhere.
    env.ok(&["registry", "add", "local", "--file", "catalog.json", "--interval", "30m", "--format", "upstream"]);
    env.ok(&words(
        "registry add partner --url https://partner.example.com/registry.json --header X-Tenant=acme \
         --token-env PARTNER_TOKEN --include-name io.github.acme/* --exclude-name *-experimental \
         --include-tag database --exclude-tag deprecated --tier Official --transport stdio \
         --transport sse --category Data",
    ));
    env.ok(&words(
        "registry add internal --git https://git.example.com/platform/mcp-catalog.git --branch main \
         --path catalog/registry.json --username bot --password-file /run/secrets/git-token",
    ));
    env.ok(&words(
        "registry add official --registry-api https://registry.modelcontextprotocol.io --latest-only \
         --manual --token-file /run/secrets/api-token",
    ));
    env.ok(&["registry", "add", "pinned", "--git", "file:///srv/catalog.git", "--tag", "v1"]);

    assert_eq!(env.configured_names(), ["local", "partner", "internal", "official", "pinned"], "kept in order");

    let local = env.configured("local");
    let expected_path = env.path("catalog.json").to_string_lossy().into_owned();
    assert_eq!(local["source"], json!({"file": {"path": expected_path}}));
    assert_eq!(local["format"], "upstream");
    assert_eq!(local["syncPolicy"], json!({"interval": "30m"}), "only what was chosen is written: {local}");
    assert!(local.get("filter").is_none(), "no filter written when none given: {local}");

    let partner = env.configured("partner");
    assert_eq!(
        partner["source"],
        json!({"url": {"url": "https://partner.example.com/registry.json", "headers": {"X-Tenant": "acme"},
            "auth": {"bearer": {"token": {"env": "PARTNER_TOKEN"}}}}})
    );
    assert!(partner.get("syncPolicy").is_none(), "the default sync policy is not written: {partner}");
    assert!(partner.get("format").is_none(), "auto is the default and not written: {partner}");
    assert_eq!(
        partner["filter"],
        json!({
            "include": {"names": ["io.github.acme/*"], "tags": ["database"], "tiers": ["Official"],
                "transports": ["stdio", "sse"], "categories": ["Data"]},
            "exclude": {"names": ["*-experimental"], "tags": ["deprecated"]},
        })
    );

    let internal = env.configured("internal");
    assert_eq!(
        internal["source"],
        json!({"git": {"repository": "https://git.example.com/platform/mcp-catalog.git", "branch": "main",
            "path": "catalog/registry.json",
            "auth": {"basic": {"username": "bot", "password": {"file": "/run/secrets/git-token"}}}}})
    );

    let official = env.configured("official");
    assert_eq!(
        official["source"],
        json!({"registryApi": {"url": "https://registry.modelcontextprotocol.io",
            "auth": {"bearer": {"token": {"file": "/run/secrets/api-token"}}}, "latestOnly": true}})
    );
    assert_eq!(official["syncPolicy"], json!({"enabled": false}), "--manual");

    assert_eq!(env.configured("pinned")["source"]["git"]["tag"], "v1");

    // The listing agrees with the file, before any sync.
    let rows = env.json(&["registry", "list"]);
    let kinds: Vec<(&str, &str, &str, &str)> = rows
        .as_array()
        .expect("array")
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or("?");
            (s("name"), s("sourceKind"), s("interval"), s("status"))
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("local", "file", "30m", "pending"),
            ("partner", "url", "1h", "pending"),
            ("internal", "git", "1h", "pending"),
            ("official", "registryApi", "manual", "pending"),
            ("pinned", "git", "1h", "pending"),
        ]
    );
    assert_eq!(rows[2]["source"], "https://git.example.com/platform/mcp-catalog.git@main:catalog/registry.json");
}

#[test]
fn add_refuses_duplicates_bad_names_and_misplaced_options() {
    let env = Env::new();
    env.ok(&["registry", "add", "local", "--file", "a.json"]);
    let before = env.config_text();

    let dup = env.run(&["registry", "add", "local", "--url", "https://example.com/r.json"]).expect_code(2, "dup");
    assert!(dup.stderr.contains("\"local\" already exists"), "{}", dup.stderr);
    assert!(dup.stderr.contains("thv registry remove"), "says how to get past it: {}", dup.stderr);

    for bad in ["Local", "my_registry", "-x", "x-", "has space", "dotted.name", &"a".repeat(64)] {
        let run = env.run(&["registry", "add", "--file", "a.json", "--", bad]).expect_code(2, bad);
        assert!(run.stderr.contains("lowercase letters, digits or '-'"), "{bad}: {}", run.stderr);
    }
    // The longest allowed name is fine.
    env.ok(&["registry", "add", &"a".repeat(63), "--file", "a.json"]);
    env.ok(&["registry", "remove", &"a".repeat(63)]);

    let misplaced: [&[&str]; 11] = [
        &["--file", "a.json", "--header", "X-A=b"],
        &["--file", "a.json", "--token-env", "TOKEN"],
        &["--file", "a.json", "--username", "u", "--password-file", "p"],
        &["--git", "https://g.example/r.git", "--header", "X-A=b"],
        &["--url", "https://e.example/r.json", "--branch", "main"],
        &["--file", "a.json", "--tag", "v1"],
        &["--registry-api", "https://e.example", "--commit", "abc123"],
        &["--url", "https://e.example/r.json", "--path", "r.json"],
        &["--url", "https://e.example/r.json", "--latest-only"],
        &["--file", "a.json", "--url", "https://e.example/r.json"],
        &["--interval", "1h"],
    ];
    for args in misplaced {
        let mut all = vec!["registry", "add", "other"];
        all.extend(args);
        let run = env.run(&all).expect_code(2, &format!("{args:?}"));
        assert!(run.stderr.contains("error"), "{args:?}: {}", run.stderr);
    }
    let header = env.run(&["registry", "add", "other", "--file", "a.json", "--header", "X-A=b"]);
    assert!(header.stderr.contains("--header and credentials do not apply to --file"), "{}", header.stderr);
    let branch = env.run(&["registry", "add", "other", "--url", "https://e.example/r.json", "--branch", "main"]);
    assert!(branch.stderr.contains("--branch applies only to --git"), "{}", branch.stderr);
    let latest = env.run(&["registry", "add", "other", "--url", "https://e.example/r.json", "--latest-only"]);
    assert!(latest.stderr.contains("--latest-only applies only to --registry-api"), "{}", latest.stderr);
    let bad_interval = env.run(&["registry", "add", "other", "--file", "a.json", "--interval", "soon"]);
    assert_eq!(bad_interval.code, Some(2), "{}", bad_interval.stderr);
    let huge_interval = env.run(&["registry", "add", "other", "--file", "a.json", "--interval", "400000000000y"]);
    assert_eq!(huge_interval.code, Some(2), "{}", huge_interval.stderr);
    assert!(huge_interval.stderr.contains("out of range (allowed: 1s to 1year)"), "{}", huge_interval.stderr);

    assert_eq!(env.config_text(), before, "refused adds leave the configuration alone");
}

#[test]
fn add_keeps_credentials_out_of_the_config() {
    let env = Env::new();
    let token_file = env.path("token");
    std::fs::write(&token_file, "file-secret-7f3a\n").expect("write token");
    let token_file = token_file.to_string_lossy().into_owned();
    let secret_env = "env-secret-91bc";

    let add = |args: &[&str]| {
        let mut all = vec!["registry", "add"];
        all.extend(args);
        let mut cmd = env.command(&all);
        cmd.env("PARTNER_TOKEN", secret_env).env("GIT_PASSWORD", secret_env);
        let out = cmd.output().expect("thv starts");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    add(&["a", "--url", "https://a.example/r.json", "--token-file", &token_file]);
    add(&["b", "--url", "https://b.example/r.json", "--token-env", "PARTNER_TOKEN"]);
    add(&["c", "--git", "https://c.example/r.git", "--username", "bot", "--password-env", "GIT_PASSWORD"]);
    add(&["d", "--registry-api", "https://d.example", "--username", "bot", "--password-file", &token_file]);

    let text = env.config_text();
    for secret in ["file-secret-7f3a", secret_env] {
        assert!(!text.contains(secret), "a secret value is in the configuration:\n{text}");
    }
    assert_eq!(env.configured("a")["source"]["url"]["auth"], json!({"bearer": {"token": {"file": token_file}}}));
    assert_eq!(env.configured("b")["source"]["url"]["auth"], json!({"bearer": {"token": {"env": "PARTNER_TOKEN"}}}));
    assert_eq!(
        env.configured("c")["source"]["git"]["auth"],
        json!({"basic": {"username": "bot", "password": {"env": "GIT_PASSWORD"}}})
    );
    assert_eq!(
        env.configured("d")["source"]["registryApi"]["auth"],
        json!({"basic": {"username": "bot", "password": {"file": token_file}}})
    );

    // Secrets cannot be given as values at all: no such options, no credential headers, no URL userinfo.
    let refused: [&[&str]; 7] = [
        &["e", "--url", "https://e.example/r.json", "--token", "cli-secret-1"],
        &["e", "--git", "https://e.example/r.git", "--username", "bot", "--password", "cli-secret-1"],
        &["e", "--url", "https://e.example/r.json", "--header", "Authorization=Bearer cli-secret-1"],
        &["e", "--registry-api", "https://e.example", "--header", "proxy-authorization=Basic cli-secret-1"],
        &["e", "--url", "https://e.example/r.json", "--header", "Cookie=session=cli-secret-1"],
        &["e", "--url", "https://bot:cli-secret-1@e.example/r.json"],
        &["e", "--git", "https://cli-secret-1@e.example/r.git"],
    ];
    for args in refused {
        let mut all = vec!["registry", "add"];
        all.extend(args);
        let run = env.run(&all).expect_code(2, &format!("{args:?}"));
        assert!(!run.stderr.contains("cli-secret-1"), "the error repeats the secret: {}", run.stderr);
    }
    let header = env.run(&["registry", "add", "e", "--url", "https://e.example/r.json", "--header", "Authorization=x"]);
    assert!(header.stderr.contains("--token-file"), "points to the right option: {}", header.stderr);
    assert!(!env.config_text().contains("cli-secret-1"), "{}", env.config_text());
    assert!(env.configured_names().iter().all(|n| n != "e"));

    // Nor do they show in the listing or the registry details.
    for args in [&["registry", "list", "-o", "wide"][..], &["registry", "show", "a"], &["registry", "show", "d"]] {
        let out = env.ok(args).stdout;
        assert!(!out.contains("file-secret-7f3a") && !out.contains(secret_env), "{args:?}: {out}");
    }
}

#[test]
fn help_of_each_command_shows_examples() {
    let env = Env::new();
    let commands: [&[&str]; 7] = [
        &["registry", "add"],
        &["registry", "list"],
        &["registry", "show"],
        &["registry", "remove"],
        &["registry", "sync"],
        &["search"],
        &["show"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let help = env.ok(&args).stdout;
        let invocation = format!("  thv {}", command.join(" "));
        assert!(help.contains("Examples:"), "{command:?} --help has no examples:\n{help}");
        assert!(
            help.lines().any(|l| l.starts_with(&invocation)),
            "{command:?} --help has no example of itself ({invocation:?}):\n{help}"
        );
    }
}

// ---------------------------------------------------------------------------------------------------------
// thv registry sync
// ---------------------------------------------------------------------------------------------------------

#[test]
fn sync_of_the_toolhive_catalog_then_unchanged() {
    let Some(path) = shared(TOOLHIVE_REGISTRY) else { return };
    let env = Env::new();
    env.ok(&["registry", "add", "toolhive", "--file", &path]);

    let reports = env.json(&["registry", "sync", "toolhive"]);
    assert_eq!(reports.as_array().map(Vec::len), Some(1), "{reports}");
    let r = &reports[0];
    assert_eq!(r["registry"], "toolhive");
    assert_eq!(r["outcome"], "success");
    assert_eq!(r["error"], Value::Null);
    assert!(r["runId"].is_i64(), "{r}");
    assert!(r["revision"].as_str().is_some_and(|s| s.starts_with("sha256:")), "{r}");
    assert!(r["digest"].as_str().is_some_and(|s| s.starts_with("sha256:")), "{r}");
    assert_eq!(r["counts"], json!({"total": 102, "added": 102, "removed": 0, "updated": 0, "skipped": 0}));
    assert_eq!((r["invalidKept"].as_u64(), r["filteredOut"].as_u64()), (Some(0), Some(0)), "{r}");
    assert_eq!(r["changes"].as_array().map(Vec::len), Some(102));
    assert!(r["changes"].as_array().expect("changes").iter().all(|c| c["kind"] == "added"));
    assert!(r["duration"].is_string(), "{r}");

    let again = env.json(&["registry", "sync", "toolhive"]);
    assert_eq!(again[0]["outcome"], "unchanged", "{again}");
    assert_eq!(again[0]["counts"]["total"], 102);
    assert_eq!(again[0]["counts"]["added"], 0);
    assert_eq!(again[0]["changes"], json!([]));
    assert_eq!(again[0]["digest"], r["digest"]);

    let row = env.list_row("toolhive");
    assert_eq!((row["servers"].as_u64(), row["status"].as_str()), (Some(102), Some("ready")), "{row}");
    assert_eq!(row["revision"], r["revision"]);
    assert_eq!(env.search(&["--registry", "toolhive"]).len(), 102, "one version per server in this catalog");

    // The table summary names the outcome and the counts.
    let table = env.ok(&["registry", "sync", "toolhive"]).stdout;
    let line = table.lines().find(|l| l.trim_start().starts_with("toolhive")).expect("a row");
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&cells[..3], ["toolhive", "unchanged", "102"], "{table}");
}

#[test]
fn sync_of_the_real_dump_then_unchanged() {
    let Some(path) = shared(REAL_DUMP) else { return };
    let env = Env::new();
    env.ok(&["registry", "add", "real", "--file", &path]);

    let r = env.json(&["registry", "sync", "real"])[0].clone();
    assert_eq!(r["outcome"], "success", "{r}");
    assert_eq!(r["counts"]["total"], 2_794);
    assert_eq!(r["counts"]["added"], 2_794);
    assert_eq!(r["counts"]["skipped"], 0);
    assert_eq!(r["invalidKept"], 395, "records with findings against their declared schema are kept and counted");

    let again = env.json(&["registry", "sync", "real"])[0].clone();
    assert_eq!(again["outcome"], "unchanged", "{again}");
    assert_eq!(again["counts"]["total"], 2_794);
    assert_eq!(again["counts"]["added"], 0);

    assert_eq!(env.list_row("real")["servers"], 2_794);
    // 1,108 names: search lists one (the latest) version of each.
    let hits = env.search(&["--registry", "real"]);
    let names: BTreeSet<&str> = hits.iter().filter_map(|h| h["name"].as_str()).collect();
    assert_eq!(names.len(), hits.len(), "one hit per name");
    assert_eq!(hits.len(), 1_108);
}

#[test]
fn sync_all_and_unknown_names() {
    let env = Env::new();
    env.write_empty_config();
    let none = env.run(&["registry", "sync", "--all"]).expect_code(2, "nothing configured");
    assert!(none.stderr.contains("thv registry add"), "{}", none.stderr);
    let none = env.run(&["registry", "sync", "x"]).expect_code(2, "nothing configured");
    assert!(none.stderr.contains("none are configured"), "{}", none.stderr);

    let a = env.write_json("a.json", &alpha_catalog());
    let b = env.write_json("b.json", &beta_catalog());
    env.ok(&["registry", "add", "alpha", "--file", &a]);
    env.ok(&["registry", "add", "beta", "--file", &b]);

    let unknown = env.run(&["registry", "sync", "alpha", "gamma"]).expect_code(2, "unknown name");
    assert!(unknown.stderr.contains("\"gamma\""), "{}", unknown.stderr);
    assert!(unknown.stderr.contains("configured: alpha, beta"), "lists the names: {}", unknown.stderr);
    assert_eq!(env.list_row("alpha")["status"], "pending", "nothing synced when a name is unknown");

    let both = env.run(&["registry", "sync", "--all", "alpha"]);
    assert_eq!(both.code, Some(2), "--all with names: {}", both.stderr);

    let reports = env.json(&["registry", "sync", "--all"]);
    let summary: Vec<(&str, &str, u64)> = reports
        .as_array()
        .expect("array")
        .iter()
        .map(|r| {
            (
                r["registry"].as_str().unwrap_or("?"),
                r["outcome"].as_str().unwrap_or("?"),
                r["counts"]["total"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(summary, [("alpha", "success", 6), ("beta", "success", 2)]);

    let again = env.json(&["registry", "sync", "beta", "alpha"]);
    let outcomes: Vec<(&str, &str)> = again
        .as_array()
        .expect("array")
        .iter()
        .map(|r| (r["registry"].as_str().unwrap_or("?"), r["outcome"].as_str().unwrap_or("?")))
        .collect();
    assert_eq!(outcomes, [("beta", "unchanged"), ("alpha", "unchanged")], "one report per name, in the order given");
}

#[test]
fn a_failed_sync_keeps_the_previous_catalog() {
    let env = Env::new();
    let path = env.write_json("a.json", &alpha_catalog());
    let first = add_and_sync(&env, "alpha", &path);
    let before = env.search(&["--registry", "alpha"]);
    assert_eq!(before.len(), 5);

    std::fs::rename(&path, env.path("moved.json")).expect("move the catalog away");
    let failed = env.run(&["registry", "sync", "alpha", "-o", "json"]).expect_code(1, "failed sync");
    let r = failed.json()[0].clone();
    assert_eq!(r["outcome"], "failed", "{r}");
    assert!(r["error"].as_str().is_some_and(|e| e.contains(&path)), "the error names the file: {r}");
    assert_eq!(r["counts"]["total"], 6, "the previous catalog's size: {r}");
    assert_eq!(r["digest"], first["digest"]);

    let table = env.run(&["registry", "sync", "alpha"]).expect_code(1, "failed sync, table");
    assert!(
        table.stdout.contains("alpha: its last good catalog (6 server versions, synced ")
            && table.stdout.contains("ago) is kept"),
        "{}",
        table.stdout
    );

    let row = env.list_row("alpha");
    assert_eq!(row["status"], "failing", "{row}");
    assert!(row["lastError"].as_str().is_some_and(|e| e.contains(&path)), "{row}");
    assert_eq!(row["servers"], 6, "{row}");
    assert!(row["lastSync"].is_string() && row["lastAttempt"] != row["lastSync"], "{row}");
    assert_eq!(env.search(&["--registry", "alpha"]), before, "the catalog is untouched");
    assert_eq!(env.json(&["show", "notes"])["server"]["version"], "1.1.0");

    let wide = env.ok(&["registry", "list", "-o", "wide"]).stdout;
    assert!(wide.contains("failing") && wide.contains("cannot read"), "{wide}");

    let shown = env.json(&["registry", "show", "alpha"]);
    assert_eq!(shown["state"]["failedAttempts"], 2, "{}", shown["state"]);
    assert_eq!(shown["state"]["serverCount"], 6);
    let outcomes: Vec<&str> =
        shown["runs"].as_array().expect("runs").iter().filter_map(|r| r["outcome"].as_str()).collect();
    assert_eq!(outcomes, ["failed", "failed", "success"], "newest first");

    // The file comes back as it was: the next sync finds nothing new and the registry is healthy again.
    std::fs::rename(env.path("moved.json"), &path).expect("move the catalog back");
    let back = env.json(&["registry", "sync", "alpha"]);
    assert_eq!(back[0]["outcome"], "unchanged", "{back}");
    let row = env.list_row("alpha");
    assert_eq!((row["status"].as_str(), row["lastError"].is_null()), (Some("ready"), true), "{row}");
}

#[test]
fn an_unreadable_catalog_fails_the_sync() {
    let env = Env::new();
    let path = env.path("broken.json");
    std::fs::write(&path, "{\"servers\": ").expect("write");
    env.ok(&["registry", "add", "broken", "--file", &path.to_string_lossy()]);
    let run = env.run(&["registry", "sync", "broken", "-o", "json"]).expect_code(1, "broken document");
    assert_eq!(run.json()[0]["outcome"], "failed");
    let row = env.list_row("broken");
    assert_eq!((row["status"].as_str(), row["servers"].as_u64()), (Some("stalled"), Some(0)), "{row}");
    assert_eq!(row["lastSync"], Value::Null);
}

// ---------------------------------------------------------------------------------------------------------
// thv registry list / show / remove
// ---------------------------------------------------------------------------------------------------------

#[test]
fn list_in_each_format() {
    let env = Env::new();
    env.write_empty_config();
    let empty = env.ok(&["registry", "list"]);
    assert!(empty.stdout.is_empty() && empty.stderr.contains("thv registry add"), "{}", empty.stderr);
    assert_eq!(env.json(&["registry", "list"]), json!([]));

    let a = env.write_json("a.json", &alpha_catalog());
    let first = add_and_sync(&env, "alpha", &a);
    env.ok(&["registry", "add", "later", "--url", "https://later.example/r.json", "--manual"]);

    let rows = env.json(&["registry", "list"]);
    let keys: Vec<&str> = rows[0].as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "scope",
            "name",
            "sourceKind",
            "source",
            "servers",
            "lastSync",
            "lastAttempt",
            "status",
            "lastError",
            "revision",
            "interval"
        ],
        "the documented fields, in order"
    );
    let alpha = &rows[0];
    assert_eq!(alpha["scope"], "local", "without a kubeconfig only the local registries are listed");
    assert_eq!(alpha["name"], "alpha");
    assert_eq!(alpha["sourceKind"], "file");
    assert_eq!(alpha["source"], a.as_str());
    assert_eq!(alpha["servers"], 6);
    assert_eq!(alpha["status"], "ready");
    assert_eq!(alpha["lastError"], Value::Null);
    assert_eq!(alpha["revision"], first["revision"]);
    assert_eq!(alpha["interval"], "1h");
    let synced_at = alpha["lastSync"].as_str().expect("lastSync").parse::<jiff::Timestamp>();
    assert!(synced_at.is_ok(), "lastSync is RFC 3339: {alpha}");
    assert_eq!(alpha["lastAttempt"], alpha["lastSync"]);
    let later = &rows[1];
    assert_eq!(
        (later["servers"].as_u64(), later["status"].as_str(), later["interval"].as_str()),
        (Some(0), Some("pending"), Some("manual"))
    );
    assert!(later["lastSync"].is_null() && later["revision"].is_null(), "{later}");

    let yaml = env.ok(&["registry", "list", "-o", "yaml"]).stdout;
    let from_yaml: Value = serde_saphyr::from_str(&yaml).expect("YAML");
    assert_eq!(from_yaml, rows, "YAML carries the same data as JSON");

    let table = env.ok(&["registry", "list"]).stdout;
    let header: Vec<&str> =
        table.lines().next().expect("header").split("  ").map(str::trim).filter(|s| !s.is_empty()).collect();
    assert_eq!(header, ["NAME", "SCOPE", "SOURCE", "SERVERS", "LAST SYNC", "STATUS"]);
    let alpha_line = table.lines().find(|l| l.trim_start().starts_with("alpha ")).expect("alpha row");
    assert!(alpha_line.contains(&format!("file {a}")) && alpha_line.contains(" 6 "), "{alpha_line}");
    assert!(alpha_line.contains("ago") && alpha_line.trim_end().ends_with("ready"), "{alpha_line}");
    let later_line = table.lines().find(|l| l.trim_start().starts_with("later ")).expect("later row");
    assert!(later_line.contains("never") && later_line.contains("pending"), "{later_line}");

    let wide = env.ok(&["registry", "list", "-o", "wide"]).stdout;
    let header = wide.lines().next().expect("header");
    for column in ["NAME", "SOURCE", "SERVERS", "LAST SYNC", "STATUS", "INTERVAL", "REVISION", "LAST ERROR"] {
        assert!(header.contains(column), "{column} missing: {header}");
    }
    let revision = first["revision"].as_str().expect("revision");
    assert!(wide.contains(revision) && wide.contains("manual"), "{wide}");
}

#[test]
fn registry_show_reports_spec_state_runs_and_latest_changes() {
    let env = Env::new();
    let path = env.write_json("gen.json", &numbered_catalog(4, "first"));
    env.ok(&["registry", "add", "gen", "--file", &path, "--interval", "2h", "--exclude-name", "*-00003"]);
    let first = env.json(&["registry", "sync", "gen"])[0].clone();
    assert_eq!((first["counts"]["total"].as_u64(), first["filteredOut"].as_u64()), (Some(3), Some(1)), "{first}");

    // Next generation: s-00000 changes, s-00001 goes, s-00004 comes, s-00002 stays.
    let mut next = numbered_catalog(5, "first");
    let records = next.as_array_mut().expect("array");
    records[0]["server"]["description"] = "second".into();
    records.remove(1);
    env.write_json("gen.json", &next);
    let second = env.json(&["registry", "sync", "gen"])[0].clone();
    assert_eq!(second["counts"], json!({"total": 3, "added": 1, "removed": 1, "updated": 1, "skipped": 0}));
    // Nothing new: no run is recorded ("an unchanged source costs no write").
    let unchanged = env.json(&["registry", "sync", "gen"])[0].clone();
    assert_eq!((unchanged["outcome"].as_str(), &unchanged["runId"]), (Some("unchanged"), &Value::Null), "{unchanged}");
    // A failure, then a recovery from the same file: both are recorded.
    std::fs::rename(&path, env.path("away.json")).expect("move away");
    env.run(&["registry", "sync", "gen"]).expect_code(1, "missing file");
    std::fs::rename(env.path("away.json"), &path).expect("move back");
    let recovered = env.json(&["registry", "sync", "gen"])[0].clone();
    assert_eq!(recovered["outcome"], "unchanged", "{recovered}");
    assert!(recovered["runId"].is_i64(), "the recovery is recorded: {recovered}");

    let shown = env.json(&["registry", "show", "gen"]);
    let keys: Vec<&str> = shown.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys, ["spec", "state", "importedEntries", "runs", "latestChanges"]);
    let configured = env.configured("gen");
    for key in ["name", "source", "filter"] {
        assert_eq!(shown["spec"][key], configured[key], "the spec is the configured one");
    }
    assert_eq!(shown["spec"]["syncPolicy"]["interval"], "2h");
    assert_eq!(shown["spec"]["syncPolicy"]["enabled"], true, "the spec shows the defaults too");
    let state = &shown["state"];
    assert_eq!(state["serverCount"], 3);
    assert_eq!(state["revision"], second["revision"]);
    assert_eq!(state["contentDigest"], second["digest"]);
    assert_eq!(state["failedAttempts"], 0);
    assert!(state["lastSuccessAt"].is_string(), "{state}");

    let runs = shown["runs"].as_array().expect("runs");
    let ids: Vec<i64> = runs.iter().filter_map(|r| r["id"].as_i64()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let outcomes: Vec<&str> = runs.iter().filter_map(|r| r["outcome"].as_str()).collect();
    assert_eq!(outcomes, ["unchanged", "failed", "success", "success"]);
    assert_eq!(runs[0]["id"], recovered["runId"]);
    assert!(runs[1]["error"].as_str().is_some_and(|e| e.contains("gen.json")), "{}", runs[1]);
    assert_eq!(runs[2]["id"], second["runId"]);
    assert_eq!(runs[2]["counts"], second["counts"]);
    assert_eq!(runs[3]["id"], first["runId"]);

    // The latest change set is that of the last sync that changed something, not the unchanged one.
    let latest = &shown["latestChanges"];
    assert_eq!(latest["runId"], second["runId"]);
    assert_eq!(latest["finishedAt"], runs[2]["finishedAt"]);
    let mut changes: Vec<(String, String)> = latest["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| (c["kind"].as_str().unwrap_or("?").to_owned(), c["name"].as_str().unwrap_or("?").to_owned()))
        .collect();
    changes.sort();
    let expected: Vec<(String, String)> = [
        ("added", "io.example.gen/s-00004"),
        ("removed", "io.example.gen/s-00001"),
        ("updated", "io.example.gen/s-00000"),
    ]
    .iter()
    .map(|(k, n)| ((*k).to_owned(), (*n).to_owned()))
    .collect();
    assert_eq!(changes, expected);

    let limited = env.json(&["registry", "show", "gen", "--runs", "1"]);
    assert_eq!(limited["runs"].as_array().map(Vec::len), Some(1));
    assert_eq!(limited["runs"][0]["id"], recovered["runId"]);
    assert_eq!(limited["latestChanges"], shown["latestChanges"], "the latest change set is older than the runs shown");

    let yaml: Value = serde_saphyr::from_str(&env.ok(&["registry", "show", "gen", "-o", "yaml"]).stdout).expect("YAML");
    assert_eq!(yaml["latestChanges"], shown["latestChanges"]);

    let table = env.ok(&["registry", "show", "gen"]).stdout;
    for needle in ["Registry gen", "interval: 2h", "servers: 3", "Recent syncs:", "Latest change set", "s-00004"] {
        assert!(table.contains(needle), "{needle:?} missing:\n{table}");
    }

    let unknown = env.run(&["registry", "show", "nope"]).expect_code(2, "unknown registry");
    assert!(unknown.stderr.contains("configured: gen"), "{}", unknown.stderr);

    let never = Env::new();
    never.ok(&["registry", "add", "fresh", "--file", "x.json"]);
    let fresh = never.json(&["registry", "show", "fresh"]);
    assert_eq!((&fresh["state"], &fresh["runs"], &fresh["latestChanges"]), (&Value::Null, &json!([]), &Value::Null));
}

#[test]
fn remove_forgets_the_registry_and_its_servers() {
    let env = Env::new();
    let a = env.write_json("a.json", &alpha_catalog());
    let b = env.write_json("b.json", &beta_catalog());
    add_and_sync(&env, "alpha", &a);
    add_and_sync(&env, "beta", &b);
    assert!(env.search_names(&["zebra"]).contains(&"io.github.beta/only".to_owned()));

    let out = env.ok(&["registry", "remove", "beta"]);
    assert!(out.stderr.contains("removed registry beta"), "{}", out.stderr);
    assert_eq!(env.configured_names(), ["alpha"]);
    let listed: Vec<Value> = env.json(&["registry", "list"]).as_array().expect("array").clone();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["name"], "alpha");
    assert_eq!(env.search_names(&["zebra"]), Vec::<String>::new(), "beta's servers are gone");
    assert_eq!(env.search_names(&["beta"]), Vec::<String>::new());
    env.run(&["show", "io.github.beta/only"]).expect_code(2, "show of a removed server");
    env.run(&["search", "--registry", "beta"]).expect_code(2, "search in a removed registry");
    // Alpha is untouched.
    assert_eq!(env.search(&["--registry", "alpha"]).len(), 5);

    let again = env.run(&["registry", "remove", "beta"]).expect_code(2, "remove twice");
    assert!(again.stderr.contains("configured: alpha"), "{}", again.stderr);

    // Adding it again starts from nothing: a full sync, not "unchanged" from stale state.
    env.ok(&["registry", "add", "beta", "--file", &b]);
    assert_eq!(env.list_row("beta")["status"], "pending");
    let resync = env.json(&["registry", "sync", "beta"]);
    assert_eq!((resync[0]["outcome"].as_str(), resync[0]["counts"]["added"].as_u64()), (Some("success"), Some(2)));
}

// ---------------------------------------------------------------------------------------------------------
// thv search / thv show
// ---------------------------------------------------------------------------------------------------------

/// Alpha then beta, both synced.
fn two_registries() -> Env {
    let env = Env::new();
    let a = env.write_json("a.json", &alpha_catalog());
    let b = env.write_json("b.json", &beta_catalog());
    add_and_sync(&env, "alpha", &a);
    add_and_sync(&env, "beta", &b);
    env
}

#[test]
fn search_matches_text_and_filters() {
    let env = two_registries();
    let names = |args: &[&str]| env.search_names(args);
    let all = [
        "com.example/tool",
        "io.github.acme/notes",
        "io.github.acme/shared",
        "io.github.acme/weather",
        "io.github.beta/only",
        "org.other/tool",
    ];
    assert_eq!(names(&[]), all, "an empty query lists everything, one entry per name");

    assert_eq!(names(&["notes"]), ["io.github.acme/notes"], "name");
    assert_eq!(names(&["MARKDOWN"]), ["io.github.acme/notes"], "description, case-insensitively");
    assert_eq!(names(&["zebra"]), ["io.github.beta/only"], "title, case-insensitively");
    assert_eq!(names(&["TOOL"]), ["com.example/tool", "org.other/tool"]);
    assert_eq!(names(&["no such text"]), Vec::<String>::new());

    assert_eq!(names(&["--tier", "Official"]), ["io.github.acme/notes", "io.github.acme/shared"]);
    assert_eq!(names(&["--tier", "official"]), names(&["--tier", "Official"]), "tiers ignore case");
    assert_eq!(names(&["--tag", "util"]), ["com.example/tool", "org.other/tool"]);
    assert_eq!(
        names(&["--tag", "legacy", "--tag", "weather"]),
        ["io.github.acme/weather", "org.other/tool"],
        "any tag"
    );
    assert_eq!(names(&["--transport", "sse"]), ["com.example/tool"]);
    assert_eq!(
        names(&["--transport", "streamable-http", "--transport", "sse"]),
        ["com.example/tool", "io.github.acme/weather"]
    );
    assert_eq!(names(&["tool", "--transport", "stdio"]), ["org.other/tool"], "query and filters together");
    assert_eq!(names(&["--tier", "Official", "--tag", "util"]), Vec::<String>::new(), "filters AND together");
    assert_eq!(names(&["--registry", "beta"]), ["io.github.acme/shared", "io.github.beta/only"]);
    assert_eq!(names(&["shared", "--registry", "beta"]), ["io.github.acme/shared"]);

    let unknown = env.run(&["search", "--registry", "gamma"]).expect_code(2, "unknown registry");
    assert!(unknown.stderr.contains("configured: alpha, beta"), "{}", unknown.stderr);

    // Only the latest version, with the documented fields.
    let hits = env.search(&["notes"]);
    assert_eq!(
        hits,
        [json!({"name": "io.github.acme/notes", "version": "1.1.0", "registry": "alpha", "title": "Acme Notes",
            "description": "Keep NOTES in Markdown", "tier": "Official", "tags": ["notes", "productivity"],
            "transports": ["stdio"], "status": "active"})]
    );
    let old = env.search(&["old release"]);
    assert_eq!(old, Vec::<Value>::new(), "an older version's description does not match");

    let yaml: Value = serde_saphyr::from_str(&env.ok(&["search", "notes", "-o", "yaml"]).stdout).expect("YAML");
    assert_eq!(yaml, Value::Array(hits));

    let table = env.ok(&["search", "tool"]);
    assert_eq!(table.stdout.lines().count(), 3, "header and two rows:\n{}", table.stdout);
    assert!(table.stdout.lines().next().is_some_and(|h| h.contains("NAME") && h.contains("REGISTRY")));
    assert!(table.stderr.contains("2 servers"), "{}", table.stderr);
    let nothing = env.ok(&["search", "no such text"]);
    assert!(nothing.stdout.is_empty() && nothing.stderr.contains("no servers match"), "{}", nothing.stderr);
}

#[test]
fn show_by_full_and_short_name_and_version() {
    let env = two_registries();

    let full = env.json(&["show", "io.github.acme/notes"]);
    let keys: Vec<&str> = full.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys, ["registry", "server", "_meta"]);
    assert_eq!(full["registry"], "alpha");
    assert_eq!(full["server"]["name"], "io.github.acme/notes");
    assert_eq!(full["server"]["version"], "1.1.0", "the latest version by default");
    let official = &full["_meta"]["io.modelcontextprotocol.registry/official"];
    assert_eq!(
        (official["isLatest"].as_bool(), official["status"].as_str()),
        (Some(true), Some("active")),
        "{official}"
    );
    assert_eq!(official["publishedAt"], "2025-02-01T00:00:00Z");

    assert_eq!(env.json(&["show", "notes"]), full, "a unique short name");
    let old = env.json(&["show", "notes", "--version", "1.0.0"]);
    assert_eq!(old["server"]["version"], "1.0.0");
    assert_eq!(old["server"]["description"], "Keep NOTES in Markdown (old release)");
    assert_eq!(old["_meta"]["io.modelcontextprotocol.registry/official"]["isLatest"], false);

    let missing = env.run(&["show", "notes", "--version", "3.0.0"]).expect_code(2, "unknown version");
    assert!(missing.stderr.contains("1.0.0") && missing.stderr.contains("1.1.0"), "lists versions: {}", missing.stderr);

    let ambiguous = env.run(&["show", "tool"]).expect_code(2, "ambiguous short name");
    assert!(
        ambiguous.stderr.contains("com.example/tool") && ambiguous.stderr.contains("org.other/tool"),
        "lists the matches: {}",
        ambiguous.stderr
    );
    assert_eq!(env.json(&["show", "org.other/tool"])["server"]["version"], "0.1.0", "the full name is never ambiguous");

    for unknown in ["nothing", "io.github.acme/nothing", "acme/notes", "note"] {
        let run = env.run(&["show", unknown]).expect_code(2, unknown);
        assert!(run.stderr.contains("no server named"), "{unknown}: {}", run.stderr);
    }
    env.run(&["show", "notes", "--registry", "beta"]).expect_code(2, "not in beta");
    assert_eq!(env.json(&["show", "only", "--registry", "beta"])["registry"], "beta");

    let table = env.ok(&["show", "notes"]).stdout;
    for needle in [
        "io.github.acme/notes 1.1.0",
        "title:       Acme Notes",
        "registry:    alpha",
        "tier:        Official",
        "other versions: 1.0.0",
    ] {
        assert!(table.contains(needle), "{needle:?} missing:\n{table}");
    }
}

#[test]
fn the_first_registry_in_the_config_wins_a_name() {
    let env = two_registries();
    let hits = env.search(&["shared"]);
    assert_eq!(hits.len(), 1, "one entry per name: {hits:?}");
    assert_eq!((hits[0]["registry"].as_str(), hits[0]["version"].as_str()), (Some("alpha"), Some("1.0.0")));
    let shown = env.json(&["show", "shared"]);
    assert_eq!((shown["registry"].as_str(), shown["server"]["version"].as_str()), (Some("alpha"), Some("1.0.0")));
    // Beta's version of the name is hidden, even when asked for explicitly.
    env.run(&["show", "shared", "--version", "9.0.0"]).expect_code(2, "beta's version");
    // Within beta alone it is there.
    assert_eq!(env.json(&["show", "shared", "--registry", "beta"])["server"]["version"], "9.0.0");

    // Reordering the configuration hands the name to beta.
    let text = env.config_text();
    let config: Value = serde_saphyr::from_str(&text).expect("YAML");
    let mut registries = config["registries"].as_array().expect("registries").clone();
    registries.reverse();
    std::fs::write(env.config_path(), serde_saphyr::to_string(&json!({"registries": registries})).expect("YAML"))
        .expect("write config");
    assert_eq!(env.configured_names(), ["beta", "alpha"]);
    let hits = env.search(&["shared"]);
    assert_eq!((hits[0]["registry"].as_str(), hits[0]["version"].as_str()), (Some("beta"), Some("9.0.0")));
    assert_eq!(env.json(&["show", "shared"])["registry"], "beta");
}

// ---------------------------------------------------------------------------------------------------------
// A sync killed at any moment leaves one whole catalog
// ---------------------------------------------------------------------------------------------------------

/// Records in a generation of the big catalog: odd generations have servers 0..20000, even generations drop
/// the first 500 and add 300 more.
const BIG: usize = 20_000;

fn big_range(generation: u32) -> std::ops::Range<usize> {
    if generation % 2 == 1 { 0..BIG } else { 500..BIG + 300 }
}

fn big_name(i: usize) -> String {
    format!("io.example.big/server-{i:05}")
}

/// Generation `generation` of the big catalog (about 1 KB per record); every description names the generation.
fn big_catalog(generation: u32) -> Vec<u8> {
    let pad = "p".repeat(700);
    let records: Vec<Value> = big_range(generation)
        .map(|i| {
            let server = json!({"$schema": SCHEMA, "name": big_name(i),
                "description": format!("generation {generation} of server {i}"),
                "version": format!("1.0.{generation}"),
                "repository": {"url": format!("https://github.com/example/s{i}"), "source": "github"},
                "remotes": [{"type": "streamable-http", "url": format!("https://s{i}.example.com/mcp")}],
                "_meta": {"pad": pad}});
            json!({"server": server, "_meta": {"io.modelcontextprotocol.registry/official": {"status": "active",
                "publishedAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-01-01T00:00:00Z", "isLatest": true}}})
        })
        .collect();
    serde_json::to_vec(&records).expect("JSON")
}

/// When to kill a sync.
#[derive(Debug, Clone, Copy)]
enum Kill {
    /// After this long.
    After(Duration),
    /// As soon as the database's write-ahead log holds this many bytes: the commit's transaction is being
    /// written (it writes ~25 MB), so the kill lands mid-commit.
    WalOver(u64),
}

/// Runs `thv registry sync big` and kills it (SIGKILL) as `kill` says; returns whether it was still running.
fn sync_and_kill(env: &Env, kill: Kill) -> bool {
    let wal = PathBuf::from(format!("{}-wal", env.database_path().display()));
    // A log left over by an earlier (killed) process would trigger a size-based kill at once; SQLite
    // reuses such a log from its start, so fall back to a time-based kill then.
    let kill = match kill {
        Kill::WalOver(bytes) if std::fs::metadata(&wal).map_or(0, |m| m.len()) >= bytes => {
            Kill::After(Duration::from_millis(150))
        }
        other => other,
    };
    let mut child: Child = env
        .command(&["registry", "sync", "big"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("thv starts");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            return false;
        }
        let due = match kill {
            Kill::After(d) => start.elapsed() >= d,
            Kill::WalOver(bytes) => std::fs::metadata(&wal).is_ok_and(|m| m.len() >= bytes),
        };
        if due || start.elapsed() > Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(Duration::from_millis(match kill {
            Kill::After(_) => 5,
            Kill::WalOver(_) => 1,
        }));
    }
    let running = child.try_wait().expect("try_wait").is_none();
    let _ = child.kill();
    child.wait().expect("wait for the killed child");
    running
}

/// Checks the store holds exactly one whole generation among `allowed` (0: nothing) and returns it.
#[track_caller]
fn assert_one_generation(env: &Env, allowed: [u32; 2], context: &str) -> u32 {
    let row = env.list_row("big");
    let servers = row["servers"].as_u64().expect("servers");
    let hits = env.search(&["--registry", "big"]);
    if servers == 0 {
        assert!(allowed.contains(&0), "{context}: the catalog is empty but generation {allowed:?} expected: {row}");
        assert_eq!(row["status"], "pending", "{context}: {row}");
        assert!(hits.is_empty(), "{context}: list says 0 servers, search finds {}", hits.len());
        env.run(&["show", &big_name(10_000)]).expect_code(2, "show in an empty catalog");
        return 0;
    }
    assert_eq!(row["status"], "ready", "{context}: {row}");
    let generation_of = |description: &str| -> u32 {
        description
            .strip_prefix("generation ")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|g| g.parse().ok())
            .unwrap_or_else(|| panic!("{context}: unexpected description {description:?}"))
    };
    let generations: BTreeSet<u32> =
        hits.iter().map(|h| generation_of(h["description"].as_str().unwrap_or(""))).collect();
    assert_eq!(generations.len(), 1, "{context}: a mix of generations {generations:?}");
    let generation = generations.into_iter().next().expect("one generation");
    assert!(allowed.contains(&generation), "{context}: generation {generation}, expected one of {allowed:?}");
    let expected: usize = big_range(generation).len();
    assert_eq!(servers, expected as u64, "{context}: list count vs generation {generation}");
    assert_eq!(hits.len(), expected, "{context}: search count vs generation {generation}");
    let names: BTreeSet<String> = hits.iter().filter_map(|h| h["name"].as_str().map(str::to_owned)).collect();
    let expected_names: BTreeSet<String> = big_range(generation).map(big_name).collect();
    assert!(names == expected_names, "{context}: the names are not those of generation {generation}");
    let version = format!("1.0.{generation}");
    assert!(hits.iter().all(|h| h["version"] == version.as_str()), "{context}: versions of another generation");
    let shown = env.json(&["show", &big_name(10_000)]);
    assert_eq!(
        shown["server"]["description"],
        format!("generation {generation} of server 10000"),
        "{context}: show disagrees with search"
    );
    generation
}

#[test]
fn a_sync_killed_at_any_moment_leaves_one_whole_generation() {
    let env = Env::new();
    let file = env.path("big.json");
    let mut file_generation = 1;
    write_atomically(&file, &big_catalog(file_generation));
    env.ok(&["registry", "add", "big", "--file", &file.to_string_lossy()]);

    let mut stored = 0;
    let mut mid_commit_kills = 0;
    // The very first sync, killed: nothing or generation 1.
    for kill in [Kill::After(Duration::from_millis(50)), Kill::WalOver(4 << 20)] {
        let running = sync_and_kill(&env, kill);
        mid_commit_kills += u32::from(running && matches!(kill, Kill::WalOver(_)));
        stored = assert_one_generation(&env, [0, 1], &format!("first sync, {kill:?}, killed: {running}"));
    }

    // A clean sync, timed: the kills below are spread over a sync of that size.
    if stored == file_generation {
        file_generation += 1;
        write_atomically(&file, &big_catalog(file_generation));
    }
    let start = Instant::now();
    let report = env.json(&["registry", "sync", "big"]);
    let full = start.elapsed();
    assert_eq!(report[0]["outcome"], "success", "{report}");
    assert_eq!(report[0]["counts"]["total"], big_range(file_generation).len());
    stored = assert_one_generation(&env, [file_generation, file_generation], "after a clean sync");
    eprintln!("a clean sync of generation {stored} took {full:?}");

    let at = |fraction: f64| Kill::After(full.mul_f64(fraction));
    let rounds = [
        Kill::After(Duration::from_millis(50)),
        at(0.5),
        Kill::WalOver(1 << 20),
        at(1.0),
        Kill::WalOver(16 << 20),
        at(1.5),
    ];
    for (round, kill) in rounds.into_iter().enumerate() {
        // Each round has a new generation to write: a different count, different names, new descriptions.
        if stored == file_generation {
            file_generation += 1;
            write_atomically(&file, &big_catalog(file_generation));
        }
        let running = sync_and_kill(&env, kill);
        mid_commit_kills += u32::from(running && matches!(kill, Kill::WalOver(_)));
        let context = format!("round {round}, {kill:?}, killed while running: {running}");
        stored = assert_one_generation(&env, [stored, file_generation], &context);
        eprintln!("{context}: generation {stored} stored, file has {file_generation}");
    }
    assert!(
        mid_commit_kills >= 1,
        "no kill landed while the commit was writing (the test watches the SQLite write-ahead log {}-wal)",
        env.database_path().display()
    );

    // A clean sync after all that brings the store to the file's generation (a new one if it is there
    // already), and a second finds nothing new.
    if stored == file_generation {
        file_generation += 1;
        write_atomically(&file, &big_catalog(file_generation));
    }
    let report = env.json(&["registry", "sync", "big"]);
    assert_eq!(report[0]["outcome"], "success", "{report}");
    assert_eq!(report[0]["counts"]["total"], big_range(file_generation).len());
    assert_eq!(assert_one_generation(&env, [file_generation, file_generation], "final sync"), file_generation);
    let again = env.json(&["registry", "sync", "big"]);
    assert_eq!(again[0]["outcome"], "unchanged", "{again}");
    let shown = env.json(&["registry", "show", "big"]);
    assert_eq!(shown["state"]["failedAttempts"], 0, "a kill records no failure: {}", shown["state"]);
}

// ---------------------------------------------------------------------------------------------------------
// Output to a closed pipe
// ---------------------------------------------------------------------------------------------------------

#[test]
fn output_to_a_closed_pipe_ends_quietly() {
    let env = Env::new();
    let path = env.write_json("gen.json", &numbered_catalog(4_000, "a generated server to fill the pipe"));
    add_and_sync(&env, "gen", &path);
    env.ok(&["registry", "add", "verbose", "--file", &path]);

    let commands: [&[&str]; 6] = [
        &["search"],
        &["search", "-o", "json"],
        &["search", "-o", "yaml"],
        &["search", "-o", "wide"],
        &["registry", "show", "gen", "-o", "json"],
        &["registry", "sync", "verbose", "-v"],
    ];
    for args in commands {
        let mut child = env.command(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("thv starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        stdout.read_line(&mut first).expect("read a line");
        assert!(!first.trim().is_empty(), "{args:?}: an empty first line");
        drop(stdout);
        let mut stderr = String::new();
        child.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("read stderr");
        let status = child.wait().expect("thv finishes");
        assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
        assert_eq!(status.code(), Some(0), "{args:?}: {stderr}");
    }
    // The outputs were far larger than a pipe's buffer, so the reader really went away mid-output.
    for args in &commands[..5] {
        assert!(env.ok(args).stdout.len() > 256 << 10, "{args:?}: output too small to fill a pipe");
    }
    let report = env.json(&["registry", "sync", "verbose"]);
    assert_eq!(report[0]["outcome"], "unchanged", "the sync cut short by the closed pipe had committed: {report}");
}

// ---------------------------------------------------------------------------------------------------------
// thv registry token
// ---------------------------------------------------------------------------------------------------------

#[test]
fn tokens_are_stored_hashed_listed_and_revoked() {
    let env = Env::new();
    let created = env.ok(&["registry", "token", "create", "ci", "--scope", "write"]);
    let token = created.stdout.trim().to_owned();
    assert!(token.starts_with("thv_") && token.len() == 47, "{token}");
    let file = env.path("xdg-config/thv/tokens");
    let text = std::fs::read_to_string(&file).expect("the default token file");
    assert!(!text.contains(&token), "only the hash is stored");
    assert!(text.lines().any(|l| l.starts_with("ci sha256:") && l.ends_with(" write")), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&file).expect("metadata").permissions().mode() & 0o777, 0o600);
    }
    let viewer = env.ok(&["registry", "token", "create", "viewer"]).stdout.trim().to_owned();
    assert_ne!(viewer, token);
    env.run(&["registry", "token", "create", "ci"]).expect_code(2, "a name is used once");
    env.run(&["registry", "token", "create", "bad name"]).expect_code(2, "names are checked");

    let listed = env.json(&["registry", "token", "list"]);
    assert_eq!(listed, json!([{"name": "ci", "scopes": "write"}, {"name": "viewer", "scopes": "read"}]));
    env.ok(&["registry", "token", "revoke", "ci"]);
    assert_eq!(env.json(&["registry", "token", "list"]), json!([{"name": "viewer", "scopes": "read"}]));
    env.run(&["registry", "token", "revoke", "ci"]).expect_code(2, "revoking twice");
}

#[test]
fn serve_refuses_a_broken_token_file_by_line() {
    let env = Env::new();
    env.write_empty_config();
    std::fs::write(env.path("tokens"), "ci thv_pasted-token-by-mistake write\n").expect("write");
    let run = env
        .run(&["registry", "serve", "--listen", "127.0.0.1:0", "--token-file", "tokens"])
        .expect_code(2, "a token file holding a token instead of a hash");
    assert!(run.stderr.contains("tokens:1:") && run.stderr.contains("store hashes"), "{}", run.stderr);
    assert!(!run.stderr.contains("thv_pasted-token-by-mistake"), "the token is not echoed: {}", run.stderr);
}

#[test]
fn durations_in_the_config_are_bounded_when_it_is_loaded() {
    let env = Env::new();
    let cases = [
        ("syncPolicy: { interval: 400000000000y }", "syncPolicy.interval"),
        ("syncPolicy: { retry: { backoffInterval: 400000000000y } }", "syncPolicy.retry.backoffInterval"),
        ("source: { git: { repository: 'https://g.example/r.git', timeout: 400000000000y } }", "source.git.timeout"),
        ("source: { url: { url: 'https://e.example/r.json', timeout: 400000000000y } }", "source.url.timeout"),
        (
            "source: { registryApi: { url: 'https://e.example', fullResyncInterval: 400000000000y } }",
            "source.registryApi.fullResyncInterval",
        ),
    ];
    std::fs::create_dir_all(env.path("config")).expect("config dir");
    for (yaml, field) in cases {
        let source = if yaml.starts_with("source:") { "" } else { "    source: { file: { path: a.json } }\n" };
        let text = format!("registries:\n  - name: far\n{source}    {yaml}\n");
        std::fs::write(env.config_path(), &text).expect("write config");
        let serve = ["registry", "serve", "--listen", "127.0.0.1:0"];
        for args in [&["registry", "list"][..], &["registry", "sync", "far"], &serve] {
            let run = env.run(args).expect_code(2, &format!("{args:?} with {yaml}"));
            let want =
                format!("{}: registry far: {field}: 400000000000years is out of range", env.config_path().display());
            assert!(run.stderr.contains(&want), "{args:?} {yaml}: {}", run.stderr);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Secrets in source URLs
// ---------------------------------------------------------------------------------------------------------

/// A loopback HTTP server that answers every request with 503, for the rest of the test process.
fn unavailable_server() -> String {
    use std::io::Write as _;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut request = [0u8; 8192];
            let _ = stream.read(&mut request);
            let _ =
                stream.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    format!("http://{addr}")
}

/// A loopback address nothing listens on.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    format!("http://{addr}")
}

/// Query-string credentials (presigned URLs, `?token=`) of failing sources appear in no output, log or
/// stored record: locations and errors show `?token=***&X-Amz-Signature=***`.
#[test]
fn secrets_in_source_urls_appear_in_no_output() {
    const SECRET: &str = "S3CRET";
    let env = Env::new();
    let query = format!("?token={SECRET}&X-Amz-Signature={SECRET}");
    let unavailable = unavailable_server();
    let closed = closed_port();
    let sources = [
        ("unavailable", "--url", format!("{unavailable}/catalog.json{query}")),
        ("refused", "--url", format!("{closed}/catalog.json{query}")),
        ("api", "--registry-api", format!("{unavailable}/registry{query}")),
        ("git", "--git", format!("{closed}/catalog.git{query}")),
    ];
    let mut outputs: Vec<(String, Run)> = Vec::new();
    for (name, option, url) in &sources {
        let args = ["registry", "add", name, option, url.as_str(), "-o", "json"];
        outputs.push((format!("{args:?}"), env.ok(&args)));
    }

    // The server's logs: the first syncs fail at once and are logged with their errors.
    let mut serve = env
        .command(&["registry", "serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("thv serve starts");
    let mut lines = BufReader::new(serve.stderr.take().expect("stderr")).lines();
    let mut logged = Vec::new();
    let mut failed = BTreeSet::new();
    while failed.len() < sources.len() {
        let Some(Ok(line)) = lines.next() else { panic!("serve stopped logging: {logged:?}") };
        let event: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        if event["message"].as_str().is_some_and(|m| m.starts_with("sync failed")) {
            failed.insert(event["registry"].as_str().unwrap_or_default().to_owned());
        }
        logged.push(line);
    }
    let _ = serve.kill();
    let _ = serve.wait();
    for line in &logged {
        assert!(!line.contains(SECRET), "a secret was logged: {line}");
    }

    let sync = env.run(&["registry", "sync", "--all", "-o", "json"]).expect_code(1, "failing syncs");
    for report in sync.json().as_array().expect("reports") {
        assert_eq!(report["outcome"], "failed", "{report}");
        assert!(report["error"].as_str().is_some_and(|e| !e.is_empty()), "{report}");
    }
    outputs.push(("sync -o json".into(), sync));
    outputs.push(("sync".into(), env.run(&["registry", "sync", "--all"]).expect_code(1, "failing syncs")));
    for format in ["table", "wide", "json", "yaml"] {
        outputs.push((format!("list -o {format}"), env.ok(&["registry", "list", "-o", format])));
    }
    for (name, _, _) in &sources {
        for format in ["table", "json", "yaml"] {
            outputs.push((format!("show {name} -o {format}"), env.ok(&["registry", "show", name, "-o", format])));
        }
    }
    for (what, run) in &outputs {
        assert!(
            !run.stdout.contains(SECRET) && !run.stderr.contains(SECRET),
            "{what}:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }

    let rows = env.json(&["registry", "list"]);
    for row in rows.as_array().expect("rows") {
        assert!(row["source"].as_str().is_some_and(|s| s.contains("?token=***&X-Amz-Signature=***")), "{row}");
        assert!(row["lastError"].as_str().is_some_and(|e| !e.is_empty()), "{row}");
    }
    let shown = env.json(&["registry", "show", "unavailable"]);
    assert_eq!(
        shown["spec"]["source"]["url"]["url"],
        format!("{unavailable}/catalog.json?token=***&X-Amz-Signature=***")
    );
    assert!(env.config_text().contains(SECRET), "the configuration itself keeps the real URL");
    for file in ["data/registry.db", "data/registry.db-wal"] {
        let stored = std::fs::read(env.path(file)).unwrap_or_default();
        assert!(!stored.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()), "{file} holds the secret");
    }
    for format in ["json", "yaml"] {
        let (name, option, url) = &sources[0];
        let removed = env.ok(&["registry", "remove", name, "-o", format]);
        assert!(!removed.stdout.contains(SECRET) && !removed.stderr.contains(SECRET), "{}", removed.stdout);
        env.ok(&["registry", "add", name, option, url.as_str()]);
    }
}

// ---------------------------------------------------------------------------------------------------------
// Files thv writes
// ---------------------------------------------------------------------------------------------------------

/// Every file is written through one atomic helper: a converted catalog gets the permissions of any new
/// file (it was private, 0600, like a temporary file), and an edited configuration keeps its own.
#[cfg(unix)]
#[test]
fn written_files_get_the_usual_permissions_or_keep_their_own() {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    let env = Env::new();
    // What any new file gets here (0666 less this process's umask).
    std::fs::write(env.path("reference"), "").expect("write");
    let usual = mode(&env.path("reference"));
    std::fs::write(env.path("catalog.json"), alpha_catalog().to_string()).expect("write");

    env.ok(&["registry", "convert", "--to", "toolhive", "catalog.json", "-o", "out/toolhive.json"]);
    assert_eq!(mode(&env.path("out/toolhive.json")), usual, "a converted catalog is an ordinary file");

    env.ok(&["registry", "add", "a", "--file", "catalog.json"]);
    assert_eq!(mode(&env.config_path()), usual, "a new configuration is an ordinary file");
    std::fs::set_permissions(env.config_path(), std::fs::Permissions::from_mode(0o640)).expect("chmod");
    env.ok(&["registry", "add", "b", "--file", "catalog.json"]);
    assert_eq!(mode(&env.config_path()), 0o640, "an edited configuration keeps its permissions");
    env.ok(&["registry", "remove", "a"]);
    assert_eq!(mode(&env.config_path()), 0o640, "an edited configuration keeps its permissions");

    env.ok(&["registry", "token", "create", "ci"]);
    assert_eq!(mode(&env.path("xdg-config/thv/tokens")), 0o600, "the token file stays private");
}

// ---------------------------------------------------------------------------------------------------------
// What a new user trips on
// ---------------------------------------------------------------------------------------------------------

/// A configuration file named by `THV_CONFIG` or `--config` that does not exist is an error naming it
/// (a typo used to look like an empty configuration, exit 0, and `serve` started with nothing).
#[test]
fn a_named_configuration_file_must_exist() {
    let env = Env::new();
    let path = env.config_path().display().to_string();
    let commands: [&[&str]; 8] = [
        &["registry", "list"],
        &["registry", "list", "-o", "json"],
        &["registry", "show", "a"],
        &["registry", "remove", "a"],
        &["registry", "sync", "--all"],
        &["search", "notes"],
        &["show", "notes"],
        &["registry", "serve", "--listen", "127.0.0.1:0"],
    ];
    for args in commands {
        let run = env.run(args).expect_code(2, &format!("thv {args:?} with a missing THV_CONFIG file"));
        assert!(run.stderr.contains(&path) && run.stderr.contains("does not exist"), "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.matches("error:").count(), 1, "{args:?}: {}", run.stderr);
    }
    let run = env.run(&["--config", "nope.yaml", "registry", "list"]).expect_code(2, "--config nope.yaml");
    assert!(run.stderr.contains("nope.yaml") && run.stderr.contains("does not exist"), "{}", run.stderr);
    assert!(!env.path("nope.yaml").exists() && !env.config_path().exists(), "reading creates no configuration");

    // The command that writes the configuration creates the named file.
    env.ok(&["--config", "new.yaml", "registry", "add", "a", "--url", "https://a.example/r.json"]);
    assert!(env.path("new.yaml").is_file(), "add creates the file --config names");
    let listed = env.ok(&["--config", "new.yaml", "registry", "list", "-o", "json"]).json();
    assert_eq!(listed[0]["name"], "a");
}

/// The default configuration file may be absent or empty (nothing configured yet): a warning, not an error.
#[test]
fn an_absent_or_empty_default_configuration_is_a_warning() {
    let env = Env::new();
    let default = env.path("xdg-config/thv/registries.yaml");
    let warning = format!("warning: no registries configured in {}", default.display());
    for create in [false, true] {
        if create {
            std::fs::create_dir_all(default.parent().expect("folder")).expect("mkdir");
            std::fs::write(&default, "# nothing yet\n").expect("write");
        }
        for args in [&["registry", "list"][..], &["registry", "list", "-o", "json"], &["search", "x"]] {
            let run = env.run_with_default_config(args).expect_code(0, &format!("{args:?}"));
            assert!(run.stderr.contains(&warning), "{args:?} (file there: {create}): {}", run.stderr);
        }
        let run = env.run_with_default_config(&["registry", "list", "-o", "json"]);
        assert_eq!(run.json(), json!([]), "the JSON output stays data");
    }
}

/// A YAML error says `error:` once and names the file, in the message and in the snippet.
#[test]
fn a_yaml_error_names_the_file() {
    let env = Env::new();
    std::fs::create_dir_all(env.path("config")).expect("mkdir");
    std::fs::write(env.config_path(), "registries:\n  - name: [\n").expect("write");
    let path = env.config_path().display().to_string();
    for args in [&["registry", "list"][..], &["registry", "add", "b", "--url", "https://b.example/r.json"]] {
        let run = env.run(args).expect_code(2, "a broken configuration");
        assert_eq!(run.stderr.matches("error:").count(), 1, "{args:?}: {}", run.stderr);
        assert!(run.stderr.starts_with(&format!("error: {path}: line 2 column 11")), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(&format!("--> {path}:2:11")), "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("<input>"), "{args:?}: {}", run.stderr);
    }
    assert_eq!(env.config_text(), "registries:\n  - name: [\n", "a broken configuration is left as it was");
}

/// Commands that only read create no database and no folder for it (`list --database /nowhere/m.db` made
/// the folder): they say nothing was synced yet. Only the commands that write create it.
#[test]
fn reading_commands_create_no_database() {
    let env = Env::new();
    let a = env.write_json("a.json", &alpha_catalog());
    env.ok(&["registry", "add", "alpha", "--file", &a]);
    env.ok(&["registry", "add", "gone", "--file", &a]);
    let database = env.path("nowhere/deeper/m.db");
    let db = database.to_str().expect("utf-8 path");
    let folder = env.path("nowhere");

    let rows = env.json(&["--database", db, "registry", "list"]);
    assert_eq!((&rows[0]["servers"], &rows[0]["lastSync"]), (&json!(0), &Value::Null), "{rows}");
    let table = env.ok(&["--database", db, "registry", "list", "-o", "wide"]);
    assert!(table.stdout.contains("alpha") && table.stdout.contains("never"), "{}", table.stdout);
    let shown = env.json(&["--database", db, "registry", "show", "alpha"]);
    assert_eq!((&shown["state"], &shown["runs"]), (&Value::Null, &json!([])), "{shown}");
    let shown = env.ok(&["--database", db, "registry", "show", "alpha"]);
    assert!(shown.stdout.contains("never synced"), "{}", shown.stdout);
    let search = env.ok(&["--database", db, "search", "notes", "-o", "json"]);
    assert_eq!(search.json(), json!([]));
    assert!(search.stderr.contains("nothing synced yet") && search.stderr.contains(db), "{}", search.stderr);
    let show = env.run(&["--database", db, "show", "notes"]).expect_code(2, "no server without a database");
    assert!(show.stderr.contains("nothing synced yet") && show.stderr.contains(db), "{}", show.stderr);
    env.run(&["--database", db, "search", "--registry", "nope"]).expect_code(2, "an unknown registry is an error");
    env.ok(&["--database", db, "registry", "remove", "gone"]);
    assert_eq!(env.configured_names(), ["alpha"], "remove without a database still edits the configuration");
    assert!(!folder.exists(), "a reading command created {}", folder.display());

    // sync writes: it creates the folder and the database, and then the readers find them.
    let reports = env.json(&["--database", db, "registry", "sync", "alpha"]);
    assert_eq!(reports[0]["outcome"], "success", "{reports}");
    assert!(database.is_file(), "sync creates the database");
    assert_eq!(env.json(&["--database", db, "registry", "list"])[0]["servers"], 6);
    assert_eq!(env.json(&["--database", db, "search", "notes"])[0]["name"], "io.github.acme/notes");
}

/// `add` appends the new entry and `remove` deletes that entry's lines: the user's comments, order and
/// layout stay as written, and no default is written (the whole file used to be rewritten, comments
/// dropped and every default spelled out).
#[test]
fn add_and_remove_edit_the_configuration_in_place() {
    let env = Env::new();
    let a = env.write_json("a.json", &alpha_catalog());
    let written = format!(
        "# Our registries, in priority order.\n\
         registries:\n\
         \x20 # The local catalog.\n\
         \x20 - name: local\n\
         \x20   source: {{ file: {{ path: '{a}' }} }}   # kept as written\n\
         \x20   syncPolicy: {{ interval: 10m }}\n\
         # (end of the list)\n"
    );
    std::fs::create_dir_all(env.path("config")).expect("mkdir");
    std::fs::write(env.config_path(), &written).expect("write");

    let added = env.json(&["registry", "add", "partner", "--url", "https://p.example/r.json", "--tier", "Official"]);
    assert_eq!(added["registry"]["name"], "partner");
    assert_eq!(added["registry"]["syncPolicy"]["interval"], "1h", "-o json shows the registry with its defaults");
    assert_eq!(added["config"], env.config_path().display().to_string());
    let text = env.config_text();
    let (kept, closing) = written.split_at(written.find("# (end").expect("closing comment"));
    let appended = text
        .strip_prefix(kept)
        .and_then(|t| t.strip_suffix(closing))
        .unwrap_or_else(|| panic!("the file was rewritten:\n{text}"));
    assert_eq!(
        appended,
        "  - name: partner\n    source:\n      url:\n        url: https://p.example/r.json\n    \
         filter:\n      include:\n        tiers:\n        - Official\n",
        "only what was chosen is written, indented as the entries already there"
    );
    env.ok(&["registry", "add", "manual", "--url", "https://m.example/r.json", "--manual", "--interval", "2h"]);
    assert_eq!(env.configured("manual")["syncPolicy"], json!({"enabled": false, "interval": "2h"}));
    assert_eq!(env.configured_names(), ["local", "partner", "manual"]);

    // Removing takes the entry's lines and the comment just above it, nothing else.
    let removed = env.json(&["registry", "remove", "local"]);
    assert_eq!((&removed["registry"]["name"], &removed["catalogDeleted"]), (&json!("local"), &json!(false)));
    let text = env.config_text();
    assert!(text.starts_with("# Our registries, in priority order.\nregistries:\n  - name: partner\n"), "{text}");
    assert!(text.ends_with("# (end of the list)\n"), "{text}");
    env.ok(&["registry", "remove", "manual"]);
    env.ok(&["registry", "remove", "partner"]);
    assert_eq!(env.config_text(), "# Our registries, in priority order.\nregistries: []\n# (end of the list)\n");
    assert_eq!(env.json(&["registry", "list"]), json!([]));

    // A list written in flow style is not rewritten: the error shows the lines to add by hand.
    std::fs::write(env.config_path(), format!("registries: [{{name: local, source: {{file: {{path: '{a}'}}}}}}]\n"))
        .expect("write");
    let before = env.config_text();
    let refused =
        env.run(&["registry", "add", "other", "--url", "https://o.example/r.json"]).expect_code(2, "flow list");
    assert!(
        refused.stderr.contains("without rewriting it") && refused.stderr.contains("- name: other"),
        "{}",
        refused.stderr
    );
    assert_eq!(env.config_text(), before, "the file is left as it was");
}

/// A first sync that fails says there is no catalog yet (it said "the previous catalog is still served").
#[test]
fn a_failed_first_sync_says_there_is_no_catalog_yet() {
    let env = Env::new();
    let missing = env.path("missing.json").display().to_string();
    env.ok(&["registry", "add", "fresh", "--file", &missing]);
    for _ in 0..2 {
        let run = env.run(&["registry", "sync", "fresh"]).expect_code(1, "the file is missing");
        assert!(run.stdout.contains("fresh: sync failed:") && run.stdout.contains("missing.json"), "{}", run.stdout);
        assert!(
            run.stdout.contains("fresh: it has no catalog yet: nothing is stored until a sync succeeds"),
            "{}",
            run.stdout
        );
        assert!(!run.stdout.contains("last good catalog") && !run.stdout.contains("previous"), "{}", run.stdout);
    }
}

/// Counts in human output agree with their noun: "1 server", not "1 servers".
#[test]
fn human_output_says_one_server() {
    let env = Env::new();
    let a = env.write_json("a.json", &alpha_catalog());
    add_and_sync(&env, "alpha", &a);
    let one = env.ok(&["search", "weather"]);
    assert_eq!(one.stderr.trim(), "1 server", "{}", one.stderr);
    let two = env.ok(&["search", "tool"]);
    assert_eq!(two.stderr.trim(), "2 servers", "{}", two.stderr);
}
