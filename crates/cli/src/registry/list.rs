//! `thv registry list`: configured registries and their sync state.

use std::process::ExitCode;

use clap::Args;
use serde::Serialize;
use thv_sync::RegistryStatus;

use super::scope::ScopeArgs;
use crate::config::{Config, Locations};
use crate::output::{OutputFormat, ago, clip, print_data, table};

/// Arguments of `thv registry list`.
#[derive(Debug, Args)]
#[command(after_help = "Lists the local registries and, when a kubeconfig is present and the cluster has the \
                        MCPRegistry CRD, the MCPRegistries of the context's namespace (SCOPE says which: local \
                        or kube:<context>/<namespace>). --local or --kube chooses one side.\n\n\
                        Examples:\n  thv registry list\n  thv registry list -o wide\n  thv registry list -o json\n  \
                        thv registry list --kube --context prod -n team-a\n  thv registry list --kube -A")]
pub struct ListArgs {
    /// Where to look.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// The MCPRegistries of every namespace of the cluster.
    #[arg(short = 'A', long, conflicts_with_all = ["namespace", "local"])]
    pub all_namespaces: bool,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// One registry as listed (the JSON/YAML shape).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryRow {
    /// `local`, or `kube:<context>/<namespace>` for an MCPRegistry.
    pub scope: String,
    /// Name.
    pub name: String,
    /// Source kind: file, url, git or registryApi.
    pub source_kind: String,
    /// Source location (no secrets).
    pub source: String,
    /// Server versions in the current catalog.
    pub servers: u64,
    /// Last successful sync (RFC 3339), if any.
    pub last_sync: Option<String>,
    /// Last attempt (RFC 3339), if any.
    pub last_attempt: Option<String>,
    /// `pending`, `ready`, `failing` or `stalled` ([`RegistryStatus`]).
    pub status: RegistryStatus,
    /// Error of the last failed attempt.
    pub last_error: Option<String>,
    /// Source revision of the current catalog.
    pub revision: Option<String>,
    /// Automatic sync interval, e.g. `1h`, or `manual`.
    pub interval: String,
    /// An MCPRegistry's `Ready` condition (absent for local registries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready: Option<ReadyCondition>,
}

/// An MCPRegistry's `Ready` condition, as listed.
#[derive(Debug, Serialize)]
pub struct ReadyCondition {
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Why (`Synced`, `SourceNotFound`, …).
    pub reason: String,
    /// The operator's words.
    pub message: String,
}

/// A registry's automatic sync interval as listed: `1h`, or `manual`.
pub fn interval(spec: &thv_sync::RegistrySpec) -> String {
    if spec.sync_policy.enabled {
        humantime::format_duration(spec.sync_policy.interval).to_string()
    } else {
        "manual".to_owned()
    }
}

/// Builds the rows for every configured registry (never synced, without a database).
pub async fn rows(config: &Config, store: Option<&dyn thv_store::Store>) -> anyhow::Result<Vec<RegistryRow>> {
    let mut rows = Vec::new();
    for spec in &config.registries {
        let state = match store {
            Some(store) => store.registry_state(&spec.name).await?,
            None => None,
        };
        rows.push(RegistryRow {
            scope: "local".to_owned(),
            name: spec.name.clone(),
            source_kind: spec.source.kind().to_owned(),
            source: spec.source.location(),
            servers: state.as_ref().map_or(0, |s| s.server_count),
            last_sync: state.as_ref().and_then(|s| s.last_success_at.clone()),
            last_attempt: state.as_ref().and_then(|s| s.last_attempt_at.clone()),
            status: RegistryStatus::of(state.as_ref()),
            last_error: state.as_ref().and_then(|s| s.last_error.clone()),
            revision: state.as_ref().and_then(|s| s.revision.clone()),
            interval: interval(spec),
            ready: None,
        });
    }
    Ok(rows)
}

/// Runs the command.
pub async fn run(args: &ListArgs, locations: &Locations) -> anyhow::Result<ExitCode> {
    let targets = args.scope.resolve().await?;
    let mut rows = Vec::new();
    if targets.local {
        let path = locations.config_file()?;
        let config = Config::load(&path)?;
        // With a cluster to list, an empty local configuration is not worth a warning.
        if targets.cluster.is_none() {
            config.warn_if_empty(&path);
        }
        let store = crate::store::open_existing(locations).await?;
        rows = self::rows(&config, store.as_deref()).await?;
    }
    if let Some(scope) = &targets.cluster {
        match super::cluster::rows(scope, args.all_namespaces).await {
            Ok(cluster_rows) => rows.extend(cluster_rows),
            Err(error) if !targets.explicit_kube => {
                crate::output::write_stderr(format_args!("note: local registries only: {error:#}"));
            }
            Err(error) => return Err(error),
        }
    }
    if !args.output.is_table() {
        print_data(args.output, &rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let wide = args.output == OutputFormat::Wide;
    let mut header = vec!["NAME", "SCOPE", "SOURCE", "SERVERS", "LAST SYNC", "STATUS"];
    if wide {
        header.extend(["INTERVAL", "REVISION", "LAST ERROR"]);
    }
    let mut t = table(&header);
    for r in &rows {
        let mut cells = vec![
            r.name.clone(),
            r.scope.clone(),
            format!("{} {}", r.source_kind, r.source),
            r.servers.to_string(),
            ago(r.last_sync.as_deref()),
            r.status.to_string(),
        ];
        if wide {
            cells.extend([
                r.interval.clone(),
                r.revision.clone().unwrap_or_default(),
                clip(r.last_error.as_deref().unwrap_or(""), 80),
            ]);
        }
        t.add_row(cells);
    }
    crate::output::outln!("{t}");
    Ok(ExitCode::SUCCESS)
}
