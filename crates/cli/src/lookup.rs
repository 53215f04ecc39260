//! Server lookup across registries, by the rules of [`thv_model::names`]: the first registry in the
//! config wins a name, and a server may be named by its ToolHive short name when exactly one server has it.

use anyhow::bail;
use thv_model::names::{NameError, first_registry_wins, resolve};
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
    let mut catalogs = Vec::new();
    for spec in config.registries.iter().filter(|spec| only.is_none_or(|o| o == spec.name)) {
        let catalog = store.catalog(&spec.name).await?;
        catalogs.push(catalog.into_iter().map(|version| Found { registry: spec.name.clone(), version }));
    }
    let mut found = first_registry_wins(catalogs, |f: &Found| f.version.name.as_str());
    found.retain(|f| f.version.status != "deleted");
    Ok(found)
}

/// Resolves a full or short server name among `found`.
pub fn resolve_name<'a>(found: &'a [Found], query: &str) -> anyhow::Result<&'a str> {
    match resolve(found.iter().map(|f| f.version.name.as_str()), query) {
        Ok(name) => Ok(name),
        Err(NameError::NotFound(_)) => bail!("no server named {query:?} (thv search {query} finds similar names)"),
        Err(e @ NameError::Ambiguous { .. }) => bail!("{e}"),
    }
}
