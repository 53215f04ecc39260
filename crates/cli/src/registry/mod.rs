//! `thv registry …` commands.

mod convert;
mod validate;

use std::process::ExitCode;

use clap::Subcommand;

/// The `thv registry` subcommands.
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Convert a catalog between the ToolHive format and the official server.json formats.
    Convert(convert::ConvertArgs),
    /// Validate catalogs against the official server.json schemas (and the ToolHive schema).
    Validate(validate::ValidateArgs),
}

/// Runs a `thv registry` subcommand.
pub fn run(cmd: RegistryCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RegistryCommand::Convert(args) => convert::run(&args),
        RegistryCommand::Validate(args) => validate::run(&args),
    }
}
