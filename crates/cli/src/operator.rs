//! `thv operator …` commands: the Kubernetes operator's resources (`crds`) and a registry's API pod (`api`).
//! (The controller, `thv operator run`, is not built yet.)

use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use crate::output::outln;

/// The `thv operator` subcommands.
#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Print the CustomResourceDefinitions (MCPRegistry) generated from the operator's types.
    #[command(after_help = "Examples:\n  \
        thv operator crds | kubectl apply --server-side -f -\n  \
        thv operator crds -o json > crds.json\n\n\
        The same YAML is committed as deploy/crds/; `kubectl apply -k deploy/` installs it with the operator.")]
    Crds(CrdsArgs),
    /// Serve one MCPRegistry's stored catalog read-only (the operator's per-registry API pod).
    Api(crate::operator_api::ApiArgs),
}

/// Arguments of `thv operator crds`.
#[derive(Debug, Args)]
pub struct CrdsArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = CrdFormat::Yaml)]
    output: CrdFormat,
}

/// How `thv operator crds` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CrdFormat {
    /// A YAML stream, one document per CRD (for kubectl).
    Yaml,
    /// A JSON array of the CRDs.
    Json,
}

/// Runs a `thv operator` subcommand.
pub async fn run(cmd: &OperatorCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        OperatorCommand::Crds(args) => {
            let text = match args.output {
                CrdFormat::Yaml => thv_operator::crds_yaml()?,
                CrdFormat::Json => thv_operator::crds_json()?,
            };
            outln!("{}", text.trim_end());
            Ok(ExitCode::SUCCESS)
        }
        OperatorCommand::Api(args) => crate::operator_api::run(args).await,
    }
}
