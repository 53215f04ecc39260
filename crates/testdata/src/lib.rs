//! Finds the third-party test data in `../shared/data` beside the project.
//!
//! A test asks for a file with [`shared_file`]; when `../shared` is absent it gets `None` and skips with a
//! message, unless `THV_REQUIRE_SHARED_DATA=1` is set (CI sets it), in which case the lookup panics so the
//! missing data fails the run instead of silently skipping.

use std::path::{Path, PathBuf};

/// The production registry dump (2,794 records, 1,108 names).
pub const REAL_DUMP: &str = "upstream/real/mcp-insights-servers.2025-12-18.json";
/// 55 diverse records of the dump.
pub const SUBSET_DIVERSE: &str = "upstream/real/subset-diverse.json";
/// ToolHive's own catalog (ToolHive format).
pub const TOOLHIVE_REGISTRY: &str = "toolhive/registry.json";
/// ToolHive's upstream wrapper example.
pub const TOOLHIVE_UPSTREAM_EXAMPLE: &str = "toolhive/upstream-registry.example.json";

/// `../shared/data`, found from the workspace root.
pub fn shared_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    workspace.join("../shared/data")
}

fn required() -> bool {
    std::env::var("THV_REQUIRE_SHARED_DATA").is_ok_and(|v| v == "1")
}

/// The path of `relative` under `../shared/data`, or `None` (with a note on stderr) when it is missing.
///
/// # Panics
/// When the file is missing and `THV_REQUIRE_SHARED_DATA=1`.
pub fn shared_file(relative: &str) -> Option<PathBuf> {
    let path = shared_dir().join(relative);
    if path.is_file() {
        return Some(path);
    }
    assert!(!required(), "THV_REQUIRE_SHARED_DATA=1 but {} is missing", path.display());
    eprintln!("skipping: {} not found (../shared is not beside the project)", path.display());
    None
}

/// Every file under `../shared/data/<dir>` with the extension `ext`, sorted; empty when missing.
///
/// # Panics
/// When the folder is missing and `THV_REQUIRE_SHARED_DATA=1`.
pub fn shared_files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let root = shared_dir().join(dir);
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == ext) {
                out.push(p);
            }
        }
    }
    assert!(!(out.is_empty() && required()), "THV_REQUIRE_SHARED_DATA=1 but {} has no .{ext} files", root.display());
    out.sort();
    out
}

/// Reads a JSON file, ignoring a UTF-8 BOM.
///
/// # Panics
/// When the file cannot be read or parsed (test data is expected to be valid).
pub fn read_json(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "servers")]
pub mod servers;
