//! `thv registry sync`: sync registries now.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use clap::Args;
use thv_store::{ChangeKind, RegistryState, SyncOutcome};
use thv_sync::{SyncReport, sync_spec};

use super::scope::{ClusterScope, Located, ScopeArgs};
use crate::config::{Config, Locations};
use crate::output::{OutputFormat, ago, clip, count_cells, plural, print_data, table};

/// Arguments of `thv registry sync`.
#[derive(Debug, Args)]
#[command(after_help = "Registries sync concurrently; a slow or failing one does not hold up the others.\n\
                        An MCPRegistry of the cluster is synced by the operator: the command sets its sync-trigger \
                        annotation and, with --wait, waits for the operator's result (--all means the local \
                        registries unless --kube).\n\
                        Exit status: 0 when every sync succeeded or found nothing new, 1 when any failed.\n\n\
                        Examples:\n  thv registry sync official\n  thv registry sync --all -o json\n  \
                        thv registry sync internal partner -v\n  thv registry sync platform --kube -n team-a --wait")]
pub struct SyncArgs {
    /// Where the registries are.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// For MCPRegistries: wait until the operator has run the sync, and print its result.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits for the operator.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10m", requires = "wait")]
    pub timeout: Duration,
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
    let targets = args.scope.resolve().await?;
    if let Some(scope) = &targets.cluster {
        let local_names = match targets.local {
            true => Config::load(&locations.config_file()?)?.registries.iter().map(|s| s.name.clone()).collect(),
            false => Vec::new(),
        };
        let mut remote = Vec::new();
        if args.all && targets.explicit_kube {
            let api: kube::Api<thv_operator::McpRegistry> =
                kube::Api::namespaced(scope.cluster.client.clone(), &scope.namespace);
            let list = api.list(&kube::api::ListParams::default()).await.map_err(|e| {
                super::cluster::api_error(e, "list", "mcpregistries", Some(&scope.namespace), &scope.cluster.context)
            })?;
            remote = list.items;
        }
        let mut local = Vec::new();
        for name in &args.names {
            match super::scope::locate(&targets, name, &local_names).await? {
                Located::Local => local.push(name),
                Located::Cluster(_, registry) => remote.push(*registry),
            }
        }
        if !remote.is_empty() && !local.is_empty() {
            bail!(
                "{} local and {} in {}: sync them in two runs, with --local and with --kube",
                local.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", "),
                remote.iter().map(kube::ResourceExt::name_any).collect::<Vec<_>>().join(", "),
                scope.label()
            );
        }
        if targets.explicit_kube || !remote.is_empty() {
            return sync_cluster(args, scope, &remote).await;
        }
    }
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
        let mut kept = Vec::new();
        for r in reports.iter().filter(|r| r.outcome == SyncOutcome::Failed) {
            kept.push((r.registry.as_str(), store.registry_state(&r.registry).await?));
        }
        print_summary(&reports, &kept, args.verbose);
    } else {
        print_data(args.output, &reports)?;
    }
    let failed = reports.iter().any(|r| r.outcome == SyncOutcome::Failed);
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// One MCPRegistry's sync as `-o json` prints it.
#[derive(serde::Serialize)]
struct ClusterSync<'a> {
    scope: String,
    #[serde(flatten)]
    result: &'a thv_operator::jobs::RegistrySyncResult,
}

/// Asks the operator to sync each registry (and with `--wait` waits for all of them); exit 1 when any failed.
async fn sync_cluster(
    args: &SyncArgs,
    scope: &ClusterScope,
    registries: &[thv_operator::McpRegistry],
) -> anyhow::Result<ExitCode> {
    if registries.is_empty() {
        bail!("no MCPRegistries in {} to sync", scope.label());
    }
    let wait = args.wait.then_some(args.timeout);
    let requests = registries.iter().map(|registry| super::cluster::sync(scope, registry, wait));
    let results: Vec<_> = futures::future::join_all(requests).await.into_iter().collect::<anyhow::Result<_>>()?;
    if !args.output.is_table() {
        let rows: Vec<ClusterSync<'_>> =
            results.iter().map(|result| ClusterSync { scope: scope.label(), result }).collect();
        print_data(args.output, &rows)?;
    } else if wait.is_none() {
        for r in &results {
            crate::output::write_stderr(format_args!(
                "{}: sync requested in {}; the operator runs it (--wait waits for the result; \
                 thv registry show {} --kube shows it)",
                r.name,
                scope.label(),
                r.name
            ));
        }
    } else {
        let mut t = table(&["REGISTRY", "SCOPE", "RESULT", "SERVERS", "REVISION", "REASON", "MESSAGE"]);
        for r in &results {
            t.add_row([
                r.name.clone(),
                scope.label(),
                format!("{:?}", r.result),
                r.servers.map_or_else(|| "-".to_owned(), |n| n.to_string()),
                clip(r.revision.as_deref().unwrap_or("-"), 40),
                r.reason.clone().unwrap_or_default(),
                clip(r.message.as_deref().unwrap_or(""), 80),
            ]);
        }
        crate::output::outln!("{t}");
    }
    let failed = results.iter().any(|r| r.result == thv_operator::jobs::RegistrySyncOutcome::Failed);
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// What a failed sync leaves: the last good catalog, or none when no sync ever succeeded.
fn kept_after_failure(state: Option<&RegistryState>) -> String {
    match state {
        Some(s) if s.last_success_at.is_some() => format!(
            "its last good catalog ({}, synced {}) is kept",
            plural(s.server_count, "server version"),
            ago(s.last_success_at.as_deref())
        ),
        _ => "it has no catalog yet: nothing is stored until a sync succeeds".to_owned(),
    }
}

/// Prints the reports; `kept` holds the stored state of each registry whose sync failed.
fn print_summary(reports: &[SyncReport], kept: &[(&str, Option<RegistryState>)], verbose: bool) {
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
            let state = kept.iter().find(|(name, _)| *name == r.registry).and_then(|(_, s)| s.as_ref());
            crate::output::outln!("{}: {}", r.registry, kept_after_failure(state));
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
