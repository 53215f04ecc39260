//! `thv registry …` commands.

mod add;
mod cluster;
mod connections;
pub(crate) mod convert;
mod deploy;
mod export;
mod import;
mod list;
mod migrate;
mod remove;
mod scope;
pub(crate) mod serve;
mod show;
mod sync;
pub mod token;
mod validate;

use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Locations;

/// The `thv registry` subcommands.
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Add a registry: a named source with a sync policy and a filter.
    Add(Box<add::AddArgs>),
    /// List the configured registries and their sync state.
    List(list::ListArgs),
    /// Show a registry's configuration, recent syncs and latest changes.
    Show(show::ShowArgs),
    /// Remove a registry and its stored catalog.
    Remove(remove::RemoveArgs),
    /// Sync registries now.
    Sync(sync::SyncArgs),
    /// Serve the registries over the MCP Registry API and the ToolHive API, keeping them fresh with scheduled syncs.
    Serve(Box<serve::ServeArgs>),
    /// Convert a catalog between the ToolHive format and the official server.json formats.
    Convert(convert::ConvertArgs),
    /// Import servers from a file into a registry's imported layer, which every sync keeps over the source.
    Import(import::ImportArgs),
    /// Export a registry's stored catalog as a ToolHive or upstream file.
    Export(export::ExportArgs),
    /// Deploy a registry entry as a ToolHive MCPServer, labelled so the operator keeps it in step with the entry.
    Deploy(Box<deploy::DeployArgs>),
    /// Write Kubernetes manifests (an MCPRegistry and the ConfigMap with its data) for a catalog file or a registry.
    Migrate(migrate::MigrateArgs),
    /// Validate catalogs against the official server.json schemas (and the ToolHive schema).
    Validate(validate::ValidateArgs),
    /// Manage the API tokens `thv registry serve` accepts.
    #[command(subcommand)]
    Token(token::TokenCommand),
}

/// Runs a `thv registry` subcommand.
pub async fn run(cmd: RegistryCommand, locations: &Locations) -> anyhow::Result<ExitCode> {
    match cmd {
        RegistryCommand::Add(args) => add::run(&args, locations),
        RegistryCommand::List(args) => list::run(&args, locations).await,
        RegistryCommand::Show(args) => show::run(&args, locations).await,
        RegistryCommand::Remove(args) => remove::run(&args, locations).await,
        RegistryCommand::Sync(args) => sync::run(&args, locations).await,
        RegistryCommand::Serve(args) => serve::run(&args, locations).await,
        RegistryCommand::Convert(args) => convert::run(&args),
        RegistryCommand::Import(args) => import::run(&args, locations).await,
        RegistryCommand::Export(args) => export::run(&args, locations).await,
        RegistryCommand::Migrate(args) => migrate::run(&args, locations).await,
        RegistryCommand::Deploy(args) => deploy::run(&args, locations).await,
        RegistryCommand::Validate(args) => validate::run(&args),
        RegistryCommand::Token(cmd) => token::run(&cmd),
    }
}
