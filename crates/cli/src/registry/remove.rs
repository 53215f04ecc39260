//! `thv registry remove`: forget a registry and its stored catalog.

use std::process::ExitCode;

use clap::Args;
use serde::Serialize;
use thv_sync::RegistrySpec;

use crate::config::{ConfigFile, Locations};
use crate::output::ResultFormat;

/// Arguments of `thv registry remove`.
#[derive(Debug, Args)]
#[command(after_help = "The registry's entry is removed from the configuration file (the rest of the file stays \
                        as written), and its stored catalog and sync history are deleted; its source is not \
                        touched.\n\n\
                        Examples:\n  thv registry remove partner\n  thv registry remove partner -o json")]
pub struct RemoveArgs {
    /// Registry name.
    pub name: String,
    /// What to print: a message, or what was removed (JSON or YAML).
    #[arg(short = 'o', long = "output", value_enum, default_value_t = ResultFormat::Table)]
    pub output: ResultFormat,
}

/// What `thv registry remove -o json|yaml` prints.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Removed {
    /// The configuration file written.
    config: String,
    /// The registry as it was configured, without secrets ([`RegistrySpec::redacted`]).
    registry: RegistrySpec,
    /// Whether a stored catalog and sync history were deleted (false without a database).
    catalog_deleted: bool,
}

/// Runs the command.
pub async fn run(args: &RemoveArgs, locations: &Locations) -> anyhow::Result<ExitCode> {
    let path = locations.config_file()?;
    let mut file = ConfigFile::open(&path)?;
    // The edit is checked before anything is deleted; the file is written last.
    let registry = file.remove(&args.name)?;
    // Without a database there is no stored catalog to delete, and none is created.
    let store = crate::store::open_existing(locations).await?;
    if let Some(store) = &store {
        store.remove_registry(&args.name).await?;
    }
    file.save()?;
    if store.is_some() {
        eprintln!("removed registry {} from {} and deleted its stored catalog", args.name, path.display());
    } else {
        eprintln!("removed registry {} from {} (nothing was stored for it)", args.name, path.display());
    }
    let registry = registry.redacted();
    args.output.print(&Removed { config: path.display().to_string(), registry, catalog_deleted: store.is_some() })?;
    Ok(ExitCode::SUCCESS)
}
