//! `thv search`: find servers across the configured registries.

use std::process::ExitCode;

use clap::Args;
use serde::Serialize;
use thv_model::filter::{Criteria, Filter, ServerFacts};
use thv_model::upstream::ServerJson;

use crate::config::{Config, Locations};
use crate::lookup::visible;
use crate::output::{OutputFormat, clip, plural, print_data, table};

/// Arguments of `thv search`.
#[derive(Debug, Args)]
#[command(after_help = "QUERY matches, case-insensitively, part of a server's name, title or description.\n\
                        Only the latest version of each server is listed; the first registry in the config wins a name.\n\n\
                        Examples:\n  thv search github\n  thv search --tier Official --transport stdio\n  \
                        thv search database --registry internal -o json")]
pub struct SearchArgs {
    /// Text to look for (empty lists everything).
    #[arg(default_value = "")]
    pub query: String,
    /// Only this registry.
    #[arg(long)]
    pub registry: Option<String>,
    /// Only servers with this tag (repeatable: any of them).
    #[arg(long)]
    pub tag: Vec<String>,
    /// Only servers of this tier (repeatable).
    #[arg(long)]
    pub tier: Vec<String>,
    /// Only servers offering this transport (repeatable).
    #[arg(long)]
    pub transport: Vec<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// One search hit (the JSON/YAML shape).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hit {
    /// Full name.
    pub name: String,
    /// Latest version.
    pub version: String,
    /// Registry it comes from.
    pub registry: String,
    /// Display title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// ToolHive tier.
    pub tier: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Transports offered.
    pub transports: Vec<String>,
    /// `active` or `deprecated`.
    pub status: String,
}

/// Runs the command.
pub async fn run(args: &SearchArgs, locations: &Locations) -> anyhow::Result<ExitCode> {
    let path = locations.config_file()?;
    let config = Config::load(&path)?;
    config.warn_if_empty(&path);
    let found = match crate::store::open_existing(locations).await? {
        Some(store) => visible(&config, store.as_ref(), args.registry.as_deref()).await?,
        None => {
            if let Some(name) = &args.registry {
                config.registry(name)?;
            }
            if !config.registries.is_empty() {
                eprintln!("warning: {}", crate::store::nothing_synced_yet(locations));
            }
            Vec::new()
        }
    };
    let filter = Filter {
        include: Criteria {
            tags: args.tag.clone(),
            tiers: args.tier.clone(),
            transports: args.transport.clone(),
            ..Criteria::default()
        },
        ..Filter::default()
    }
    .compile();
    let query = args.query.to_lowercase();
    let mut hits = Vec::new();
    for f in found.into_iter().filter(|f| f.version.is_latest) {
        let Ok(server) = f.version.document.decode::<ServerJson>() else { continue };
        let text_match = query.is_empty()
            || [server.name.as_deref(), server.title.as_deref(), server.description.as_deref()]
                .into_iter()
                .flatten()
                .any(|t| t.to_lowercase().contains(&query));
        if !text_match || !filter.matches(&server) {
            continue;
        }
        let facts = ServerFacts::of(&server);
        hits.push(Hit {
            name: f.version.name,
            version: f.version.version,
            registry: f.registry,
            title: server.title.clone(),
            description: server.description.clone(),
            tier: facts.tier.map(str::to_owned),
            tags: facts.tags.iter().map(|s| (*s).to_owned()).collect(),
            transports: facts.transports.iter().map(|s| (*s).to_owned()).collect(),
            status: f.version.status,
        });
    }
    if !args.output.is_table() {
        print_data(args.output, &hits)?;
        return Ok(ExitCode::SUCCESS);
    }
    if hits.is_empty() {
        eprintln!("no servers match");
        return Ok(ExitCode::SUCCESS);
    }
    let wide = args.output == OutputFormat::Wide;
    let mut header = vec!["NAME", "VERSION", "REGISTRY", "TIER", "TRANSPORTS", "DESCRIPTION"];
    if wide {
        header.push("TAGS");
    }
    let mut t = table(&header);
    for h in &hits {
        let mut cells = vec![
            h.name.clone(),
            h.version.clone(),
            h.registry.clone(),
            h.tier.clone().unwrap_or_else(|| "-".into()),
            h.transports.join(","),
            clip(h.description.as_deref().unwrap_or(""), if wide { 100 } else { 60 }),
        ];
        if wide {
            cells.push(h.tags.join(","));
        }
        t.add_row(cells);
    }
    crate::output::outln!("{t}");
    eprintln!("{}", plural(hits.len(), "server"));
    Ok(ExitCode::SUCCESS)
}
