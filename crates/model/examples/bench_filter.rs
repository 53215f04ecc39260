//! Times filtering 10,000 real servers, digesting the production dump, and validating it at the schema and
//! strict levels; prints each figure beside its budget.
//!
//! `cargo run --release -p thv-model --example bench_filter -- SHARED_DATA_DIR` (see `bench/model.sh`).
//! Budgets: filtering under 0.5 ms per 1,000 servers, the dump's digest under 25 ms, schema-level
//! validation of the dump under 20 ms.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use thv_model::detect::{detect_format, parse_json, upstream_records};
use thv_model::digest::catalog_digest;
use thv_model::filter::Filter;
use thv_model::upstream::{ServerJson, ServerResponse, UpstreamFile};
use thv_model::validate::{Against, effective_schema, validate_schema, validate_strict};

const DUMP: &str = "upstream/real/mcp-insights-servers.2025-12-18.json";
const TOOLHIVE_EXAMPLE: &str = "toolhive/upstream-registry.example.json";

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

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn read(path: &Path) -> Result<Value, Box<dyn std::error::Error>> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(parse_json(&bytes)?)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = std::env::args().nth(1).ok_or("usage: bench_filter SHARED_DATA_DIR")?;
    let data = Path::new(&data);
    let dump_doc = read(&data.join(DUMP))?;
    let dump: Vec<ServerResponse> = serde_json::from_value(dump_doc.clone())?;
    let example: UpstreamFile = serde_json::from_value(read(&data.join(TOOLHIVE_EXAMPLE))?)?;

    // 10,000 servers: the dump plus ToolHive's example (which carries tiers and tags), repeated.
    let pool: Vec<ServerJson> = dump.iter().map(|e| e.server.clone()).chain(example.data.servers).collect();
    let servers: Vec<ServerJson> = pool.iter().cycle().take(10_000).cloned().collect();
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
    for (what, spec) in filters {
        let filter: Filter = serde_json::from_value(spec)?;
        let compile = best_of(20, || filter.compile());
        let compiled = filter.compile();
        let kept = servers.iter().filter(|s| compiled.matches(s)).count();
        let elapsed = best_of(10, || servers.iter().filter(|s| compiled.matches(s)).count());
        println!(
            "filter ({what}): compile {:.3} ms; 10,000 servers {:.2} ms = {:.3} ms per 1,000 (budget 0.5), kept {kept}",
            millis(compile),
            millis(elapsed),
            millis(elapsed) / 10.0
        );
    }

    let digest = best_of(10, || catalog_digest(&dump));
    println!("catalog digest of {} records: {:.1} ms (budget 25)", dump.len(), millis(digest));

    let format = detect_format(&dump_doc)?;
    let records: Vec<&Value> = upstream_records(&dump_doc, format).into_iter().map(|r| r.server).collect();
    let invalid =
        records.iter().filter(|s| !validate_schema(s, effective_schema(s, Against::Declared)).is_empty()).count();
    let schema = best_of(10, || {
        records.iter().filter(|s| !validate_schema(s, effective_schema(s, Against::Declared)).is_empty()).count()
    });
    let strict = best_of(10, || records.iter().map(|s| validate_strict(s).len()).sum::<usize>());
    println!(
        "validation of {} records: schema level {:.1} ms (budget 20, {invalid} invalid), strict level {:.1} ms",
        records.len(),
        millis(schema),
        millis(strict)
    );
    Ok(())
}
