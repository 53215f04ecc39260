//! `thv registry remove`: forget a registry and its stored catalog.

use std::process::ExitCode;

use clap::Args;

use crate::config::{Config, Locations};

/// Arguments of `thv registry remove`.
#[derive(Debug, Args)]
#[command(after_help = "The registry's stored catalog and sync history are deleted; its source is not touched.\n\n\
                        Examples:\n  thv registry remove partner")]
pub struct RemoveArgs {
    /// Registry name.
    pub name: String,
}

/// Runs the command.
pub async fn run(args: &RemoveArgs, locations: &Locations) -> anyhow::Result<ExitCode> {
    let path = locations.config_file()?;
    let mut config = Config::load_for_edit(&path)?;
    config.registry(&args.name)?;
    config.registries.retain(|r| r.name != args.name);
    // Without a database there is no stored catalog to delete, and none is created.
    if let Some(store) = crate::store::open_existing(locations).await? {
        store.remove_registry(&args.name).await?;
    }
    config.save(&path)?;
    eprintln!("removed registry {} and its stored catalog", args.name);
    Ok(ExitCode::SUCCESS)
}
