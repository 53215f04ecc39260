//! `thv registry show`: a registry's configuration, recent syncs and latest change set.

use std::process::ExitCode;

use clap::Args;
use serde::Serialize;
use thv_store::{Change, SyncOutcome, SyncRun};
use thv_sync::RegistrySpec;

use super::scope::{Located, ScopeArgs};
use crate::config::{Config, Locations};
use crate::output::{OutputFormat, clip, count_cells, plural, print_data, table};

/// Arguments of `thv registry show`.
#[derive(Debug, Args)]
#[command(after_help = "A name both local and an MCPRegistry of the cluster needs --local or --kube.\n\n\
                        Examples:\n  thv registry show official\n  thv registry show official --runs 3 -o json\n  \
                        thv registry show platform --kube -n team-a")]
pub struct ShowArgs {
    /// Registry name.
    pub name: String,
    /// Where to look.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// How many recent syncs to show.
    #[arg(long, default_value_t = 10)]
    pub runs: u32,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// The JSON/YAML shape of `thv registry show`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Shown {
    /// Without secrets ([`RegistrySpec::redacted`]).
    spec: RegistrySpec,
    state: Option<thv_store::RegistryState>,
    /// Entries of the imported layer (`thv registry import`).
    imported_entries: usize,
    runs: Vec<SyncRun>,
    latest_changes: Option<LatestChanges>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LatestChanges {
    run_id: i64,
    finished_at: String,
    changes: Vec<Change>,
}

/// Runs the command.
pub async fn run(args: &ShowArgs, locations: &Locations) -> anyhow::Result<ExitCode> {
    if let Located::Cluster(scope, registry) = super::scope::find(&args.scope, &args.name, locations).await? {
        return show_cluster(args.output, &super::cluster::shown(&scope, &registry));
    }
    let config = Config::load(&locations.config_file()?)?;
    let spec = config.registry(&args.name)?;
    // Without a database nothing was synced: the registry is shown as never synced, and nothing is created.
    let shown = match crate::store::open_existing(locations).await? {
        Some(store) => stored(spec, store.as_ref(), args.runs).await?,
        None => {
            Shown { spec: spec.redacted(), state: None, imported_entries: 0, runs: Vec::new(), latest_changes: None }
        }
    };
    if !args.output.is_table() {
        print_data(args.output, &shown)?;
        return Ok(ExitCode::SUCCESS);
    }
    crate::output::outln!("Registry {}", spec.name);
    crate::output::outln!("{}", indent(&serde_saphyr::to_string(&shown.spec)?));
    if let Some(s) = &shown.state {
        crate::output::outln!("State:");
        crate::output::outln!("  servers: {}", s.server_count);
        crate::output::outln!("  revision: {}", s.revision.as_deref().unwrap_or("-"));
        crate::output::outln!("  digest: {}", s.content_digest.as_deref().unwrap_or("-"));
        if shown.imported_entries > 0 {
            crate::output::outln!(
                "  imported: {} in the imported layer (merged over the source at every sync; \
                 thv registry import --registry {} --clear empties it)",
                shown.imported_entries,
                spec.name
            );
        }
        crate::output::outln!("  last success: {}", s.last_success_at.as_deref().unwrap_or("never"));
        if s.failed_attempts > 0 {
            crate::output::outln!(
                "  failing: {}; last error: {}",
                plural(s.failed_attempts, "attempt"),
                s.last_error.as_deref().unwrap_or("")
            );
        }
    } else {
        crate::output::outln!("State: never synced (thv registry sync {})", spec.name);
    }
    if !shown.runs.is_empty() {
        crate::output::outln!("Recent syncs:");
        let mut t = table(&["ID", "FINISHED", "OUTCOME", "SERVERS", "+", "-", "~", "SKIPPED", "ERROR"]);
        for r in &shown.runs {
            let mut row = vec![r.id.to_string(), r.finished_at.clone(), r.outcome.as_str().to_owned()];
            row.extend(count_cells(&r.counts));
            row.push(clip(r.error.as_deref().unwrap_or(""), 60));
            t.add_row(row);
        }
        crate::output::outln!("{t}");
    }
    if let Some(c) = &shown.latest_changes {
        crate::output::outln!("Latest change set (sync {} at {}):", c.run_id, c.finished_at);
        let mut t = table(&["CHANGE", "SERVER", "VERSION"]);
        for ch in c.changes.iter().take(50) {
            t.add_row([format!("{:?}", ch.kind).to_lowercase(), ch.name.clone(), ch.version.clone()]);
        }
        crate::output::outln!("{t}");
        if c.changes.len() > 50 {
            crate::output::outln!("… and {} more (-o json lists all)", c.changes.len() - 50);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints an MCPRegistry: its spec in the local vocabulary, its state and its conditions.
fn show_cluster(output: OutputFormat, shown: &super::cluster::ShownCluster) -> anyhow::Result<ExitCode> {
    if !output.is_table() {
        print_data(output, shown)?;
        return Ok(ExitCode::SUCCESS);
    }
    crate::output::outln!("MCPRegistry {} in {}", shown.name, shown.scope);
    match &shown.spec {
        Some(spec) => crate::output::outln!("{}", indent(&serde_saphyr::to_string(spec)?)),
        None => crate::output::outln!("  (spec not shown: kubectl get mcpregistry {} -o yaml)", shown.name),
    }
    let row = &shown.summary;
    crate::output::outln!("State: {}", row.status);
    crate::output::outln!("  servers: {} versions", row.servers);
    crate::output::outln!("  revision: {}", row.revision.as_deref().unwrap_or("-"));
    crate::output::outln!("  last success: {}", row.last_sync.as_deref().unwrap_or("never"));
    if let Some(endpoint) = &shown.status.api_endpoint {
        crate::output::outln!("  api: {endpoint}");
    }
    if !shown.status.conditions.is_empty() {
        crate::output::outln!("Conditions:");
        let mut t = table(&["TYPE", "STATUS", "REASON", "MESSAGE"]);
        for c in &shown.status.conditions {
            t.add_row([c.type_.clone(), c.status.clone(), c.reason.clone(), clip(&c.message, 80)]);
        }
        crate::output::outln!("{t}");
    }
    Ok(ExitCode::SUCCESS)
}

/// What the store holds about `spec`: its state, its `runs` most recent syncs and its latest change set.
async fn stored(spec: &RegistrySpec, store: &dyn thv_store::Store, runs: u32) -> anyhow::Result<Shown> {
    let state = store.registry_state(&spec.name).await?;
    let recent = store.runs(&spec.name, runs).await?;
    let mut latest_changes = first_change_set(store, &recent).await?;
    // The latest change set may be older than the runs shown (after failures or unchanged syncs).
    if latest_changes.is_none() && recent.len() >= runs as usize {
        let oldest_shown = recent.last().map_or(i64::MAX, |r| r.id);
        let older: Vec<SyncRun> =
            store.runs(&spec.name, u32::MAX).await?.into_iter().filter(|r| r.id < oldest_shown).collect();
        latest_changes = first_change_set(store, &older).await?;
    }
    let imported_entries = store.imported(&spec.name).await?.len();
    Ok(Shown { spec: spec.redacted(), state, imported_entries, runs: recent, latest_changes })
}

/// The change set of the newest successful run among `runs` (newest first) that changed something.
async fn first_change_set(store: &dyn thv_store::Store, runs: &[SyncRun]) -> anyhow::Result<Option<LatestChanges>> {
    for run in runs.iter().filter(|r| r.outcome == SyncOutcome::Success) {
        let changes = store.changes(&run.registry, run.id).await?;
        if !changes.is_empty() {
            return Ok(Some(LatestChanges { run_id: run.id, finished_at: run.finished_at.clone(), changes }));
        }
    }
    Ok(None)
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}
