//! Writes a synthetic catalog of `{server, _meta}` records, shaped like the official registry's.
//!
//! `cargo run --release -p thv-sync --example gen_catalog -- COUNT FILE [GENERATION]`
//! Names are unique; every tenth name has three versions (the last one latest). GENERATION is written
//! into every description, so two generations differ in every record.

use std::io::Write;

use serde_json::json;

fn record(i: usize, version: usize, latest: bool, generation: u64) -> serde_json::Value {
    let name = format!("io.github.bench-org-{}/server-{i:06}", i % 97);
    let v = format!("1.{version}.0");
    let published =
        format!("2025-{:02}-{:02}T{:02}:{:02}:00.{:06}Z", 1 + i % 12, 1 + i % 28, i % 24, i % 60, i % 999_999);
    json!({
        "server": {
            "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
            "name": name,
            "title": format!("Bench server {i}"),
            "description": format!("Synthetic server {i} for benchmarks (generation {generation})"),
            "repository": {"url": format!("https://github.com/bench-org-{}/server-{i}", i % 97), "source": "github"},
            "version": v,
            "packages": [{
                "registryType": if i.is_multiple_of(3) { "oci" } else { "npm" },
                "identifier": if i.is_multiple_of(3) { format!("ghcr.io/bench/server-{i}:{v}") } else { format!("@bench/server-{i}") },
                "version": if i.is_multiple_of(3) { None } else { Some(v.clone()) },
                "transport": {"type": "stdio"},
                "environmentVariables": [
                    {"name": "API_TOKEN", "description": "Token for the upstream API", "isRequired": true, "isSecret": true},
                    {"name": "LOG_LEVEL", "description": "Log level", "default": "info", "choices": ["debug", "info", "warn"]}
                ],
                "packageArguments": [{"type": "named", "name": "--port", "valueHint": "port", "default": "8080"}]
            }],
            "remotes": [{"type": "streamable-http", "url": format!("https://mcp.bench-{i}.example.com/mcp")}]
        },
        "_meta": {"io.modelcontextprotocol.registry/official": {
            "status": "active", "publishedAt": published, "updatedAt": published, "isLatest": latest
        }}
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().ok_or("usage: gen_catalog COUNT FILE [GENERATION]")?.parse()?;
    let path = args.next().ok_or("usage: gen_catalog COUNT FILE [GENERATION]")?;
    let generation: u64 = args.next().map(|g| g.parse()).transpose()?.unwrap_or(1);
    let mut records = Vec::with_capacity(count);
    let mut i = 0;
    while records.len() < count {
        let versions = if i % 10 == 0 { 3 } else { 1 };
        for version in 0..versions.min(count - records.len()) {
            records.push(record(i, version, version + 1 == versions, generation));
        }
        i += 1;
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    serde_json::to_writer(&mut out, &records)?;
    out.flush()?;
    eprintln!("wrote {count} records ({i} names) to {path}");
    Ok(())
}
