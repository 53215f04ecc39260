//! Times parse + validate + convert of a catalog file, in process, and prints peak memory.
//!
//! `cargo run --release -p thv-model --example bench_dump -- FILE [ITERATIONS]` (see `bench/model.sh`).

use std::time::{Duration, Instant};

use thv_model::detect::{FormatHint, parse_json, upstream_records};
use thv_model::load::load_owned;
use thv_model::validate::{ValidateOptions, validate_server};
use thv_model::write::{ToolHiveWriteOptions, to_toolhive};

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: bench_dump FILE [ITERATIONS]")?;
    let iterations: u32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(20);
    let bytes = std::fs::read(&path)?;
    let (mut parse, mut validate, mut load, mut convert) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut best_total = Duration::MAX;
    let mut counts = (0, 0, 0);
    for _ in 0..iterations {
        let t0 = Instant::now();
        let doc = parse_json(&bytes)?;
        let t1 = Instant::now();
        let format = thv_model::detect::detect_format(&doc)?;
        let invalid = upstream_records(&doc, format)
            .iter()
            .filter(|r| !validate_server(r.server, &ValidateOptions::default()).is_empty())
            .count();
        let t2 = Instant::now();
        let loaded = load_owned(doc, FormatHint::Auto)?;
        let t3 = Instant::now();
        let (registry, _) = to_toolhive(&loaded.catalog, &ToolHiveWriteOptions::default());
        let t4 = Instant::now();
        let written =
            registry.servers.as_ref().map_or(0, |s| s.len()) + registry.remote_servers.as_ref().map_or(0, |s| s.len());
        counts = (loaded.catalog.entries.len(), invalid, written);
        parse += t1 - t0;
        validate += t2 - t1;
        load += t3 - t2;
        convert += t4 - t3;
        best_total = best_total.min(t4 - t0);
    }
    let per = |d: Duration| d.as_secs_f64() * 1000.0 / f64::from(iterations);
    println!("file: {path} ({:.1} MB)", bytes.len() as f64 / 1e6);
    println!("records: {}  invalid (declared schema): {}  ToolHive entries written: {}", counts.0, counts.1, counts.2);
    println!(
        "mean over {iterations} runs: parse {:.1} ms, validate {:.1} ms, load into model {:.1} ms, convert to ToolHive {:.1} ms",
        per(parse),
        per(validate),
        per(load),
        per(convert)
    );
    println!(
        "total: mean {:.1} ms, best {:.1} ms",
        per(parse + validate + load + convert),
        best_total.as_secs_f64() * 1000.0
    );
    if let Some(kib) = peak_rss_kib() {
        println!("peak RSS: {:.1} MB", kib as f64 / 1024.0);
    }
    Ok(())
}
