//! `thv registry import`: servers from a file into a registry's imported layer (`thv_sync::import`), which
//! every sync merges over the source; `--clear` empties the layer.

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use thv_sync::import::{clear, import};
use thv_sync::{EntryOutcome, ImportMode, ImportReport};

use super::scope::{ClusterScope, Located, ScopeArgs};
use crate::config::{Config, Locations};
use crate::input::read_input;
use crate::output::{OutputFormat, plural, print_data};

/// How an import changes the layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Add the file's servers and update those already imported; keep the other imported entries.
    Merge,
    /// The file's servers become the whole layer; other imported entries leave it.
    Replace,
}

/// Arguments of `thv registry import`.
#[derive(Debug, Args)]
#[command(after_help = "Imported servers are kept apart from the source and merged over it at every sync: an \
                        imported entry wins over the source's same name and version. They pass the registry's \
                        filter and validation policy like the source's records. The catalog is rebuilt at \
                        once, without fetching the source. A file that is not a catalog changes nothing.\n\
                        Exit status: 0 when imported, 1 when some records were rejected (the rest was \
                        imported), 2 when the file cannot be read or is not a catalog.\n\
                        For an MCPRegistry of the cluster the command creates an MCPRegistryImportJob with the \
                        file inline (256 KiB at most) and, with --wait, waits for the operator's result.\n\n\
                        Examples:\n  thv registry import --file internal.json --registry platform\n  \
                        thv registry import --file servers.json --registry platform \\\n      \
                        --mode replace -o json\n  \
                        thv registry import --registry platform --clear\n  \
                        thv registry import --file internal.json --registry platform \\\n      \
                        --kube -n team-a --wait")]
pub struct ImportArgs {
    /// Where the registry is.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// For an MCPRegistry: wait until the operator has run the import job, and print its result.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits for the operator.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10m", requires = "wait")]
    pub timeout: std::time::Duration,
    /// Catalog file to import (any supported format); `-` reads standard input.
    #[arg(long, value_name = "FILE", required_unless_present = "clear", conflicts_with = "clear")]
    pub file: Option<String>,
    /// Registry to import into.
    #[arg(long, value_name = "NAME")]
    pub registry: String,
    /// How the import changes the layer.
    #[arg(long, value_enum, default_value_t = Mode::Merge)]
    pub mode: Mode,
    /// Empty the registry's imported layer instead (the source's versions stay).
    #[arg(long)]
    pub clear: bool,
    /// List every entry, not only the rejected ones.
    #[arg(short, long)]
    pub verbose: bool,
    /// Output format of the result.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// Runs the command.
pub async fn run(args: &ImportArgs, locations: &Locations) -> anyhow::Result<ExitCode> {
    if let Located::Cluster(scope, _) = super::scope::find(&args.scope, &args.registry, locations).await? {
        return import_cluster(args, &scope).await;
    }
    let config = Config::load(&locations.config_file()?)?;
    let spec = config.registry(&args.registry)?;
    let doc = args.file.as_deref().map(read_input).transpose()?;
    let store = crate::store::open(locations).await?;
    let report = match &doc {
        Some(doc) => {
            let mode = match args.mode {
                Mode::Merge => ImportMode::Merge,
                Mode::Replace => ImportMode::Replace,
            };
            import(spec, store.as_ref(), &doc.name, &doc.bytes, mode).await?
        }
        None => clear(spec, store.as_ref()).await?,
    };
    if args.output.is_table() {
        print_summary(&report, doc.as_ref().map(|d| d.name.as_str()), args.verbose);
    } else {
        print_data(args.output, &report)?;
    }
    Ok(if report.counts.rejected > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Imports the file through an MCPRegistryImportJob; exit 1 when the job failed or rejected records.
async fn import_cluster(args: &ImportArgs, scope: &ClusterScope) -> anyhow::Result<ExitCode> {
    let Some(file) = args.file.as_deref() else {
        anyhow::bail!(
            "--clear is for local registries: in {}, import an empty catalog with --mode replace",
            scope.label()
        );
    };
    let doc = read_input(file)?;
    let mode = match args.mode {
        Mode::Merge => thv_operator::jobs::ImportMode::Merge,
        Mode::Replace => thv_operator::jobs::ImportMode::Replace,
    };
    let wait = args.wait.then_some(args.timeout);
    let done = super::cluster::import(scope, &args.registry, &doc, mode, wait).await?;
    if !args.output.is_table() {
        print_data(args.output, &done)?;
    } else {
        crate::output::outln!(
            "MCPRegistryImportJob {} in {}: {}{}",
            done.job,
            done.scope,
            done.phase,
            done.summary.as_deref().map(|s| format!(": {s}")).unwrap_or_default()
        );
    }
    let rejected = done.import.as_ref().is_some_and(|i| i.rejected > 0);
    Ok(if done.phase == "Failed" || rejected { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn print_summary(report: &ImportReport, file: Option<&str>, verbose: bool) {
    let c = &report.counts;
    let what = match (file, report.mode) {
        (Some(file), Some(ImportMode::Replace)) => format!("imported {file} (replacing the layer)"),
        (Some(file), _) => format!("imported {file}"),
        (None, _) => "cleared the imported layer".to_owned(),
    };
    crate::output::outln!(
        "registry {}: {what}: {} added, {} updated, {} unchanged, {} removed, {} rejected",
        report.registry,
        c.added,
        c.updated,
        c.unchanged,
        c.removed,
        c.rejected
    );
    crate::output::outln!(
        "registry {}: {} in the imported layer, {} served{}",
        report.registry,
        report.layer,
        plural(report.total, "version"),
        if report.outcome == thv_store::SyncOutcome::Unchanged { " (nothing changed)" } else { "" }
    );
    for e in report.entries.iter().filter(|e| verbose || e.outcome == EntryOutcome::Rejected) {
        let outcome = serde_json::to_value(e.outcome).ok().and_then(|v| v.as_str().map(str::to_owned));
        let at = e.pointer.as_deref().map(|p| format!(" at {p}")).unwrap_or_default();
        let reason = e.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
        crate::output::outln!(
            "  {} {}{}{at}{reason}",
            outcome.unwrap_or_default(),
            e.server.as_deref().unwrap_or("?"),
            e.version.as_deref().map(|v| format!("@{v}")).unwrap_or_default()
        );
    }
}
