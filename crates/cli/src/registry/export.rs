//! `thv registry export`: a registry's stored catalog as a file, in the ToolHive or the upstream format,
//! rendered by `thv_sync::export` (the rendering the operator's `MCPRegistryExportJob` uses too, so both write
//! the same bytes for the same catalog).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, ValueEnum};

use super::scope::{Located, ScopeArgs};
use crate::config::{Config, Locations};
use crate::files::write_output;
use crate::registry::convert::summarise;

/// Format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// A JSON array of `{server, _meta}` records: every version with its registry metadata (lossless).
    Upstream,
    /// A ToolHive catalog file: the latest version of each server.
    Toolhive,
}

/// Arguments of `thv registry export`.
#[derive(Debug, Args)]
#[command(after_help = "Exports what the registry serves: the last good catalog, imported entries included. \
                        The same catalog exports to the same bytes, so an export imported into an empty \
                        registry exports the same file again.\n\
                        Exit status: 0 when written, 2 when the registry is unknown or has no stored catalog.\n\n\
                        Examples:\n  thv registry export official --output official.json\n  \
                        thv registry export internal --format toolhive -o registry.json\n  \
                        thv registry export official | jq length\n  \
                        thv registry export platform --kube -n team-a -o platform.json")]
pub struct ExportArgs {
    /// Registry name.
    pub name: String,
    /// Where the registry is (an MCPRegistry's catalog is read from its storage ConfigMap).
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Format to write.
    #[arg(long, value_enum, default_value_t = ExportFormat::Upstream)]
    pub format: ExportFormat,
    /// Write to FILE (atomically); `-` or none: standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// List every entry that was degraded or left out of a ToolHive file, with the reasons.
    #[arg(short, long)]
    pub verbose: bool,
}

/// Runs the command.
pub async fn run(args: &ExportArgs, locations: &Locations) -> anyhow::Result<ExitCode> {
    let (what, versions) = match super::scope::find(&args.scope, &args.name, locations).await? {
        Located::Cluster(scope, registry) => {
            let versions = super::cluster::stored_catalog(&scope, &registry).await?;
            (format!("MCPRegistry {} in {}", args.name, scope.label()), versions)
        }
        Located::Local => (format!("registry {}", args.name), local_catalog(&args.name, locations).await?),
    };
    let (format, name) = match args.format {
        ExportFormat::Upstream => (thv_sync::export::ExportFormat::Upstream, "upstream records"),
        ExportFormat::Toolhive => (thv_sync::export::ExportFormat::Toolhive, "ToolHive file"),
    };
    let export = thv_sync::export::export(&versions, format);
    write_output(args.output.as_deref(), &export.bytes)?;
    summarise(&what, name, versions.len(), &[], &export.reports, args.verbose);
    Ok(ExitCode::SUCCESS)
}

/// The stored catalog of the local registry `name`.
async fn local_catalog(name: &str, locations: &Locations) -> anyhow::Result<Vec<thv_store::ServerVersion>> {
    let config = Config::load(&locations.config_file()?)?;
    let spec = config.registry(name)?;
    let Some(store) = crate::store::open_existing(locations).await? else {
        bail!("registry {}: {}", spec.name, crate::store::nothing_synced_yet(locations));
    };
    if store.registry_state(&spec.name).await?.is_none() {
        bail!("registry {} has no stored catalog yet (thv registry sync {0} or thv registry import)", spec.name);
    }
    Ok(store.catalog(&spec.name).await?)
}
