//! Validating the whole production dump (2,794 records) stays well under 20 ms in a release build:
//! `cargo test -p thv-model --release --test validate_speed -- --nocapture`. Debug builds only
//! report the timings.

use std::time::{Duration, Instant};

use serde_json::Value;
use thv_model::detect::{detect_format, upstream_records};
use thv_model::validate::{Against, effective_schema, validate_schema, validate_strict};
use thv_testdata::{REAL_DUMP, read_json, shared_file};

/// The best of several runs of `f`, and what it returned.
fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = f();
        best = best.min(start.elapsed());
        out = Some(value);
    }
    (best, out.expect("at least one run"))
}

#[test]
fn the_production_dump_validates_in_well_under_20_ms() {
    let Some(path) = shared_file(REAL_DUMP) else {
        return;
    };
    let doc = read_json(&path);
    let format = detect_format(&doc).expect("dump format");
    let servers: Vec<&Value> = upstream_records(&doc, format).into_iter().map(|r| r.server).collect();
    assert_eq!(servers.len(), 2_794);

    let (schema_time, invalid) = best_of(10, || {
        servers.iter().filter(|s| !validate_schema(s, effective_schema(s, Against::Declared)).is_empty()).count()
    });
    let (strict_time, _) = best_of(10, || servers.iter().map(|s| validate_strict(s).len()).sum::<usize>());
    let (walk_time, nodes) = best_of(10, || servers.iter().map(|s| count(s)).sum::<usize>());
    println!("baseline: visiting all {nodes} values takes {walk_time:?}");
    println!(
        "{} records: schema level {schema_time:?} ({invalid} invalid), strict level {strict_time:?}",
        servers.len()
    );
    assert_eq!(invalid, 395);
    if !cfg!(debug_assertions) {
        assert!(schema_time < Duration::from_millis(20), "schema validation took {schema_time:?}");
    }
}

/// Number of values in `v` (a baseline: the cost of merely visiting the documents).
fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(items) => items.iter().map(count).sum(),
        Value::Object(map) => map.values().map(count).sum(),
        _ => 0,
    }
}
