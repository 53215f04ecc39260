//! `thv`: the thv-registry command-line tool.

mod input;
mod registry;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// thv-registry: a registry of MCP servers — convert, validate and (soon) sync and serve catalogs.
#[derive(Debug, Parser)]
#[command(name = "thv", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with MCP server catalogs (registries).
    #[command(subcommand)]
    Registry(registry::RegistryCommand),
}

/// Exit status for a failure the command could not get past (unreadable or unparsable input, I/O).
pub const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Registry(cmd) => registry::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        super::Cli::command().debug_assert();
    }
}
