//! Timings of filtering and digesting real catalogs. Ignored by default (timings on a shared machine
//! are noisy); run them in release:
//!
//! ```text
//! cargo test -p thv-model --release --test filter_perf -- --ignored --nocapture
//! ```
//!
//! In release builds they also check the budgets: filtering well under 1 ms per 1,000 servers, and
//! digesting the 2,794-record dump within 25 ms (about 1.3× a plain `serde_json::to_vec` of the same
//! records on the 2-core development VM; most of it is reading the strings and SHA-256).

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde_json::json;
use thv_model::digest::catalog_digest;
use thv_model::filter::Filter;
use thv_model::upstream::{ServerJson, ServerResponse, UpstreamFile};
use thv_testdata::{REAL_DUMP, TOOLHIVE_UPSTREAM_EXAMPLE, read_json, shared_file};

/// The best of `rounds` runs (the least disturbed by other work on the machine).
fn best_of<T>(rounds: usize, mut f: impl FnMut() -> T) -> Duration {
    (0..rounds)
        .map(|_| {
            let started = Instant::now();
            black_box(f());
            started.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// 10,000 servers: the real dump plus ToolHive's example (which carries tiers and tags), repeated.
fn ten_thousand() -> Option<Vec<ServerJson>> {
    let dump: Vec<ServerResponse> = serde_json::from_value(read_json(&shared_file(REAL_DUMP)?)).expect("dump parses");
    let example: UpstreamFile =
        serde_json::from_value(read_json(&shared_file(TOOLHIVE_UPSTREAM_EXAMPLE)?)).expect("example parses");
    let pool: Vec<ServerJson> = dump.into_iter().map(|e| e.server).chain(example.data.servers).collect();
    Some(pool.iter().cycle().take(10_000).cloned().collect())
}

#[test]
#[ignore = "timing; run in release with --ignored"]
fn filtering_ten_thousand_servers() {
    let Some(servers) = ten_thousand() else {
        return;
    };
    let filters = [
        (
            "names only",
            json!({"include": {"names": ["io.github.*", "com.*"]}, "exclude": {"names": ["*-experimental", "*test*"]}}),
        ),
        (
            "every kind",
            json!({
                "include": {"names": ["*"], "tiers": ["Official", "Community"], "transports": ["stdio", "streamable-http"],
                            "tags": ["api", "database", "browser"]},
                "exclude": {"names": ["*-experimental"], "tags": ["deprecated"], "categories": ["internal"]}
            }),
        ),
        (
            "exclude only, all kinds",
            json!({"exclude": {"names": ["*-mcp", "fetch"], "tiers": ["Community"], "transports": ["sse"],
                               "tags": ["Database"], "categories": ["x"]}}),
        ),
    ];
    let release = !cfg!(debug_assertions);
    for (what, f) in filters {
        let f: Filter = serde_json::from_value(f).expect("filter");
        let compile = best_of(20, || f.compile());
        let compiled = f.compile();
        let kept = servers.iter().filter(|s| compiled.matches(s)).count();
        let elapsed = best_of(10, || servers.iter().filter(|s| compiled.matches(s)).count());
        let per_thousand = elapsed / 10;
        eprintln!(
            "{what}: compile {compile:?}; 10,000 servers in {elapsed:?} ({per_thousand:?} per 1,000), kept {kept} ({})",
            if release { "release" } else { "debug" }
        );
        if release {
            assert!(per_thousand < Duration::from_micros(500), "{what}: {per_thousand:?} per 1,000 servers");
        }
    }
}

#[test]
#[ignore = "timing; run in release with --ignored"]
fn digesting_the_real_dump() {
    let Some(path) = shared_file(REAL_DUMP) else {
        return;
    };
    let entries: Vec<ServerResponse> = serde_json::from_value(read_json(&path)).expect("dump parses");
    let elapsed = best_of(10, || catalog_digest(&entries));
    let release = !cfg!(debug_assertions);
    eprintln!(
        "catalog_digest of {} records: {elapsed:?} ({})",
        entries.len(),
        if release { "release" } else { "debug" }
    );
    if release {
        assert!(elapsed < Duration::from_millis(25), "{elapsed:?}");
    }
}
