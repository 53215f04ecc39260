//! `thv registry convert`: ToolHive ⇄ server.json, losslessly.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use thv_model::load::{EntryIssue, load_bytes};
use thv_model::write::{EntryReport, Outcome, ToolHiveWriteOptions, to_toolhive, to_upstream_file};

use crate::files::write_output;
use crate::input::read_input;
use crate::output::plural;

/// Input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FromFormat {
    /// Detect from the content.
    Auto,
    /// A ToolHive catalog file.
    Toolhive,
    /// Any server.json-based document (array, API page, wrapper file, single document).
    Upstream,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ToFormat {
    /// A ToolHive catalog file (one version per server).
    Toolhive,
    /// A JSON array of `{server, _meta}` records (every version).
    Upstream,
    /// ToolHive's upstream registry file: `{version, meta, data: {servers}}`.
    UpstreamFile,
}

/// Arguments of `thv registry convert`.
#[derive(Debug, Args)]
#[command(after_help = "Exit status: 0 when the document converted (entries it could not hold are reported on \
                        stderr), 2 when the input cannot be read or is not a catalog.\n\n\
                        Examples:\n  thv registry convert --to upstream registry.json -o servers.json\n  \
                        curl -s https://example.com/v0.1/servers | \\\n      \
                        thv registry convert --to toolhive")]
pub struct ConvertArgs {
    /// Format of the input.
    #[arg(long, value_enum, default_value_t = FromFormat::Auto)]
    pub from: FromFormat,
    /// Format to write.
    #[arg(long, value_enum)]
    pub to: ToFormat,
    /// Write to FILE (atomically) instead of standard output (`-`: standard output).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// List every entry that was degraded or skipped, with the reasons.
    #[arg(short, long)]
    pub verbose: bool,
    /// Input file; `-` reads standard input.
    #[arg(value_name = "INPUT", default_value = "-")]
    pub input: String,
}

/// Runs the command.
pub fn run(args: &ConvertArgs) -> anyhow::Result<ExitCode> {
    let doc = read_input(&args.input)?;
    let loaded = load_bytes(&doc.bytes, args.from.hint()).with_context(|| doc.name.clone())?;
    let options = ToolHiveWriteOptions { now: Some(jiff::Timestamp::now().round(jiff::Unit::Second)?.to_string()) };
    let (mut json, reports) = match args.to {
        ToFormat::Toolhive => {
            let (registry, reports) = to_toolhive(&loaded.catalog, &options);
            (serde_json::to_vec_pretty(&registry)?, reports)
        }
        ToFormat::Upstream => (serde_json::to_vec_pretty(&loaded.catalog.entries)?, Vec::new()),
        ToFormat::UpstreamFile => {
            (serde_json::to_vec_pretty(&to_upstream_file(&loaded.catalog, &options))?, Vec::new())
        }
    };
    json.push(b'\n');
    write_output(args.output.as_deref(), &json)?;
    summarise(
        &doc.name,
        &loaded.format.to_string(),
        loaded.catalog.entries.len(),
        &loaded.skipped,
        &reports,
        args.verbose,
    );
    Ok(ExitCode::SUCCESS)
}

/// Prints what a conversion did on standard error: records read, written, left out (with reasons).
pub(crate) fn summarise(
    name: &str,
    format: &str,
    loaded: usize,
    unreadable: &[EntryIssue],
    reports: &[EntryReport],
    verbose: bool,
) {
    let count = |o: Outcome| reports.iter().filter(|r| r.outcome == o).count();
    eprint!("{name}: {format}, {}", plural(loaded, "record"));
    if !unreadable.is_empty() {
        eprint!(", {} unreadable", unreadable.len());
    }
    if !reports.is_empty() {
        eprint!(
            "; {} written ({} with notes), {} left out",
            count(Outcome::Converted) + count(Outcome::Degraded),
            count(Outcome::Degraded),
            count(Outcome::Skipped)
        );
    }
    eprintln!();
    for issue in unreadable {
        eprintln!(
            "  unreadable {} {} at {}: {}",
            issue.server.as_deref().unwrap_or("?"),
            issue.version.as_deref().unwrap_or(""),
            issue.pointer,
            issue.message
        );
    }
    let mut reasons: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for r in reports.iter().filter(|r| r.outcome == Outcome::Skipped) {
        *reasons.entry(r.notes.first().map_or("", String::as_str)).or_default() += 1;
    }
    for (reason, n) in &reasons {
        eprintln!("  left out {n}: {reason}");
    }
    if verbose {
        for r in reports.iter().filter(|r| r.outcome != Outcome::Converted) {
            eprintln!("  {:?} {} {}: {}", r.outcome, r.server, r.version, r.notes.join("; "));
        }
    } else if count(Outcome::Degraded) > 0 {
        eprintln!("  (--verbose lists what each entry's ToolHive form could not show; the way back restores it)");
    }
}
