//! Server lookup across registries: the first registry in the config wins a name, and a server may be
//! named by its short name when exactly one full name ends in `/<short>` (as ToolHive does).

use std::collections::HashSet;

use anyhow::bail;
use thv_store::{ServerVersion, Store};

use crate::config::Config;

/// A stored version with the registry it comes from.
#[derive(Debug, Clone)]
pub struct Found {
    /// Registry name.
    pub registry: String,
    /// The version.
    pub version: ServerVersion,
}

/// Every version visible through the configured registries (or only `only`), first registry winning each
/// name. Deleted versions are left out.
pub async fn visible(config: &Config, store: &dyn Store, only: Option<&str>) -> anyhow::Result<Vec<Found>> {
    if let Some(name) = only {
        config.registry(name)?;
    }
    let mut taken: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    for spec in &config.registries {
        if only.is_some_and(|o| o != spec.name) {
            continue;
        }
        let catalog = store.catalog(&spec.name).await?;
        let names: HashSet<String> = catalog.iter().map(|v| v.name.clone()).collect();
        for v in catalog {
            if v.status != "deleted" && !taken.contains(&v.name) {
                out.push(Found { registry: spec.name.clone(), version: v });
            }
        }
        taken.extend(names);
    }
    Ok(out)
}

/// Resolves a full or short server name among `found`.
pub fn resolve_name<'a>(found: &'a [Found], query: &str) -> anyhow::Result<&'a str> {
    if let Some(f) = found.iter().find(|f| f.version.name == query) {
        return Ok(&f.version.name);
    }
    let suffix = format!("/{query}");
    let mut matches: Vec<&str> =
        found.iter().map(|f| f.version.name.as_str()).filter(|n| n.ends_with(&suffix)).collect();
    matches.sort_unstable();
    matches.dedup();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => bail!("no server named {query:?} (thv search {query} finds similar names)"),
        many => bail!("several servers match {query:?}: {}; use the full name", many.join(", ")),
    }
}
