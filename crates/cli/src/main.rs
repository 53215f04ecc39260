//! `thv`: the thv-registry command-line tool.

mod config;
mod config_edit;
mod files;
mod input;
mod kube_client;
mod logging;
mod lookup;
mod operator;
mod operator_api;
mod output;
mod registry;
mod search;
mod server;
mod store;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// jemalloc: a replaced catalog snapshot's memory goes back to the system (crates/api/src/heap.rs).
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// thv-registry: a curated, always-fresh registry of MCP servers.
#[derive(Debug, Parser)]
#[command(
    name = "thv",
    version,
    about,
    long_about = None,
    after_help = "Examples:\n  \
                  thv registry add official \\\n      \
                  --registry-api https://registry.modelcontextprotocol.io\n  \
                  thv registry sync --all\n  \
                  thv search github\n  \
                  thv registry serve\n\n\
                  Every command has --help with examples; docs/cli.md describes them all."
)]
struct Cli {
    #[command(flatten)]
    locations: config::Locations,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Manage, sync, convert and validate registries (catalogs of MCP servers).
    #[command(subcommand)]
    Registry(registry::RegistryCommand),
    /// Find servers across the configured registries.
    Search(search::SearchArgs),
    /// Show one server's details.
    Show(server::ShowServerArgs),
    /// The Kubernetes operator: run the MCPRegistry controller or a registry's API pod, print the CRDs.
    #[command(subcommand)]
    Operator(operator::OperatorCommand),
}

/// Exit status for a failure the command could not get past (unreadable or unparsable input, I/O).
pub const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Held to the end of `main`, so the last buffered log lines are written out.
    let _log_guard = match &cli.command {
        Command::Registry(registry::RegistryCommand::Serve(args)) => {
            logging::init(args.log_format, tracing_subscriber::filter::LevelFilter::INFO)
        }
        Command::Operator(operator::OperatorCommand::Run(args)) => {
            logging::init(args.log_format, tracing_subscriber::filter::LevelFilter::INFO)
        }
        Command::Operator(operator::OperatorCommand::Api(args)) => {
            logging::init(args.log_format, tracing_subscriber::filter::LevelFilter::INFO)
        }
        _ => logging::init(logging::LogFormat::Text, tracing_subscriber::filter::LevelFilter::WARN),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            output::write_stderr(format_args!("error: cannot start the async runtime: {e}"));
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let result = runtime.block_on(async {
        let result = match cli.command {
            Command::Registry(cmd) => registry::run(cmd, &cli.locations).await,
            Command::Search(args) => search::run(&args, &cli.locations).await,
            Command::Show(args) => server::run(&args, &cli.locations).await,
            Command::Operator(cmd) => operator::run(&cmd, &cli.locations).await,
        };
        store::close_all().await;
        result
    });
    match result {
        Ok(code) => code,
        Err(err) => {
            output::write_stderr(format_args!("error: {err:#}"));
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
