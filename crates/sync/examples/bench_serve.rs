//! Serves a catalog file on loopback for sync benchmarks: as a static document with ETags
//! (`/registry.json`) and through an MCP Registry API (`/v0.1/servers`), on two ports.
//!
//! `cargo run --release -p thv-sync --example bench_serve -- FILE`
//! Prints one line `URL_DOCUMENT API_BASE` when ready, then serves until killed.

use serde_json::Value;
use thv_testdata::servers::{ApiOptions, TestDocumentServer, TestRegistryApi};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: bench_serve FILE")?;
    let bytes = std::fs::read(&path)?;
    let Value::Array(records) = serde_json::from_slice(&bytes)? else { return Err("not an array of records".into()) };
    let document = TestDocumentServer::start(bytes).await;
    let api = TestRegistryApi::start(records, ApiOptions::default()).await;
    println!("{} {}", document.url(), api.url());
    std::future::pending::<()>().await;
    Ok(())
}
