//! `thv registry sync`: sync registries now.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use clap::Args;
use thv_store::{ChangeKind, SyncOutcome};
use thv_sync::{SyncReport, sync_spec};

use crate::config::{Config, Locations};
use crate::output::{OutputFormat, clip, count_cells, plural, print_data, table};

/// Arguments of `thv registry sync`.
#[derive(Debug, Args)]
#[command(after_help = "Registries sync concurrently; a slow or failing one does not hold up the others.\n\
                        Exit status: 0 when every sync succeeded or found nothing new, 1 when any failed.\n\n\
                        Examples:\n  thv registry sync official\n  thv registry sync --all -o json\n  \
                        thv registry sync internal partner -v")]
pub struct SyncArgs {
    /// Registries to sync.
    #[arg(value_name = "NAME", required_unless_present = "all", conflicts_with = "all")]
    pub names: Vec<String>,
    /// Sync every configured registry.
    #[arg(long)]
    pub all: bool,
    /// List every changed server version.
    #[arg(short, long)]
    pub verbose: bool,
    /// Output format of the summary.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// Runs the command.
pub async fn run(args: &SyncArgs, locations: &Locations) -> anyhow::Result<ExitCode> {
    let path = locations.config_file()?;
    let config = Config::load(&path)?;
    let specs: Vec<_> = if args.all {
        config.registries.iter().collect()
    } else {
        args.names.iter().map(|n| config.registry(n)).collect::<anyhow::Result<_>>()?
    };
    if specs.is_empty() {
        bail!("no registries configured in {} (add one with `thv registry add`)", path.display());
    }
    let store = crate::store::open(locations).await?;
    let cache = locations.cache_dir();
    let progress = std::io::stderr().is_terminal().then(indicatif::MultiProgress::new);
    let syncs = specs.iter().map(|spec| {
        let bar = progress.as_ref().map(|p| {
            let bar = p.add(indicatif::ProgressBar::new_spinner());
            bar.set_message(format!("{}: syncing from {} {}", spec.name, spec.source.kind(), spec.source.location()));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let store = std::sync::Arc::clone(&store);
        let cache = cache.clone();
        async move {
            let report = sync_spec(spec, store.as_ref(), &cache).await;
            if let Some(bar) = bar {
                bar.finish_with_message(format!("{}: {}", spec.name, report.outcome.as_str()));
            }
            report
        }
    });
    let reports = futures::future::join_all(syncs).await;
    if args.output.is_table() {
        print_summary(&reports, args.verbose);
    } else {
        print_data(args.output, &reports)?;
    }
    let failed = reports.iter().any(|r| r.outcome == SyncOutcome::Failed);
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn print_summary(reports: &[SyncReport], verbose: bool) {
    let mut t =
        table(&["REGISTRY", "OUTCOME", "SERVERS", "ADDED", "REMOVED", "UPDATED", "SKIPPED", "TIME", "REVISION"]);
    for r in reports {
        let mut row = vec![r.registry.clone(), r.outcome.as_str().to_owned()];
        row.extend(count_cells(&r.counts));
        row.push(format!("{:.2}s", r.duration.as_secs_f64()));
        row.push(clip(r.revision.as_deref().unwrap_or("-"), 40));
        t.add_row(row);
    }
    crate::output::outln!("{t}");
    for r in reports {
        if let Some(error) = &r.error {
            crate::output::outln!("{}: sync failed: {error}", r.registry);
            crate::output::outln!("{}: the previous catalog is still served", r.registry);
        }
        if r.invalid_kept > 0 {
            crate::output::outln!(
                "{}: {} kept with validation findings (thv registry validate shows them)",
                r.registry,
                plural(r.invalid_kept, "record")
            );
        }
        let limit = if verbose { usize::MAX } else { 5 };
        for kind in [ChangeKind::Added, ChangeKind::Removed, ChangeKind::Updated] {
            let names: Vec<String> =
                r.changes.iter().filter(|c| c.kind == kind).map(|c| format!("{}@{}", c.name, c.version)).collect();
            if names.is_empty() {
                continue;
            }
            let more = names.len().saturating_sub(limit);
            let shown: Vec<&str> = names.iter().take(limit).map(String::as_str).collect();
            let kind = match kind {
                ChangeKind::Added => "added",
                ChangeKind::Removed => "removed",
                ChangeKind::Updated => "updated",
            };
            let tail = if more > 0 { format!(" and {more} more (-v lists all)") } else { String::new() };
            crate::output::outln!("{}: {kind}: {}{tail}", r.registry, shown.join(", "));
        }
        for s in r.skipped.iter().take(if verbose { usize::MAX } else { 5 }) {
            crate::output::outln!(
                "{}: skipped {}{}: {}",
                r.registry,
                s.server.as_deref().unwrap_or("?"),
                s.version.as_deref().map(|v| format!("@{v}")).unwrap_or_default(),
                s.reason
            );
        }
    }
}
