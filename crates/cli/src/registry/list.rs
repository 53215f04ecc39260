//! `thv registry list`: configured registries and their sync state.

use std::process::ExitCode;

use clap::Args;
use serde::Serialize;
use thv_sync::RegistryStatus;

use crate::config::{Config, Locations};
use crate::output::{OutputFormat, ago, clip, print_data, table};

/// Arguments of `thv registry list`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  thv registry list\n  thv registry list -o wide\n  thv registry list -o json")]
pub struct ListArgs {
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// One registry as listed (the JSON/YAML shape).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryRow {
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
            name: spec.name.clone(),
            source_kind: spec.source.kind().to_owned(),
            source: spec.source.location(),
            servers: state.as_ref().map_or(0, |s| s.server_count),
            last_sync: state.as_ref().and_then(|s| s.last_success_at.clone()),
            last_attempt: state.as_ref().and_then(|s| s.last_attempt_at.clone()),
            status: RegistryStatus::of(state.as_ref()),
            last_error: state.as_ref().and_then(|s| s.last_error.clone()),
            revision: state.as_ref().and_then(|s| s.revision.clone()),
            interval: if spec.sync_policy.enabled {
                humantime::format_duration(spec.sync_policy.interval).to_string()
            } else {
                "manual".to_owned()
            },
        });
    }
    Ok(rows)
}

/// Runs the command.
pub async fn run(args: &ListArgs, locations: &Locations) -> anyhow::Result<ExitCode> {
    let path = locations.config_file()?;
    let config = Config::load(&path)?;
    config.warn_if_empty(&path);
    let store = crate::store::open_existing(locations).await?;
    let rows = rows(&config, store.as_deref()).await?;
    if !args.output.is_table() {
        print_data(args.output, &rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let wide = args.output == OutputFormat::Wide;
    let mut header = vec!["NAME", "SOURCE", "SERVERS", "LAST SYNC", "STATUS"];
    if wide {
        header.extend(["INTERVAL", "REVISION", "LAST ERROR"]);
    }
    let mut t = table(&header);
    for r in &rows {
        let mut cells = vec![
            r.name.clone(),
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
