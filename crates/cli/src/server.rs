//! `thv show`: one server's details.

use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use serde::Serialize;
use thv_model::filter::ServerFacts;
use thv_model::upstream::ServerJson;

use crate::config::{Config, Locations};
use crate::lookup::{resolve_name, visible};
use crate::output::{OutputFormat, print_data};

/// Arguments of `thv show`.
#[derive(Debug, Args)]
#[command(after_help = "SERVER is a full name (io.github.acme/tool) or a short name (tool) when exactly one \
                        server's name is <namespace>/tool.\n\n\
                        Examples:\n  thv show io.github.stacklok/fetch\n  thv show fetch --version 1.0.3 -o json")]
pub struct ShowServerArgs {
    /// Server name, full or short.
    pub server: String,
    /// Only look in this registry.
    #[arg(long)]
    pub registry: Option<String>,
    /// Version to show [default: the latest].
    #[arg(long)]
    pub version: Option<String>,
    /// Output format (`json`/`yaml` print the registry API record).
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// The JSON/YAML shape: the registry it comes from and the API record.
#[derive(Debug, Serialize)]
struct Shown {
    registry: String,
    server: serde_json::Value,
    #[serde(rename = "_meta")]
    meta: serde_json::Value,
}

/// Runs the command.
pub async fn run(args: &ShowServerArgs, locations: &Locations) -> anyhow::Result<ExitCode> {
    let path = locations.config_file()?;
    let config = Config::load(&path)?;
    config.warn_if_empty(&path);
    let Some(store) = crate::store::open_existing(locations).await? else {
        bail!("no server named {:?}: {}", args.server, crate::store::nothing_synced_yet(locations));
    };
    let found = visible(&config, store.as_ref(), args.registry.as_deref()).await?;
    let name = resolve_name(&found, &args.server)?.to_owned();
    let versions: Vec<_> = found.iter().filter(|f| f.version.name == name).collect();
    let chosen = match &args.version {
        Some(v) => versions.iter().find(|f| &f.version.version == v),
        None => versions.iter().find(|f| f.version.is_latest).or(versions.first()),
    };
    let Some(found) = chosen else {
        let known: Vec<&str> = versions.iter().map(|f| f.version.version.as_str()).collect();
        bail!("{name} has no version {:?}; versions: {}", args.version.as_deref().unwrap_or(""), known.join(", "));
    };
    let v = &found.version;
    let mut official = serde_json::json!({
        "status": v.status, "publishedAt": v.published_at, "updatedAt": v.updated_at, "isLatest": v.is_latest,
    });
    if let Some(m) = &v.status_message {
        official["statusMessage"] = m.clone().into();
    }
    let mut meta = serde_json::Map::new();
    if let serde_json::Value::Object(extra) = &v.extra_meta {
        meta.extend(extra.clone());
    }
    meta.insert("io.modelcontextprotocol.registry/official".into(), official);
    if !args.output.is_table() {
        let shown = Shown { registry: found.registry.clone(), server: v.document.to_value(), meta: meta.into() };
        print_data(args.output, &shown)?;
        return Ok(ExitCode::SUCCESS);
    }
    let server: ServerJson = v.document.decode().unwrap_or_default();
    let facts = ServerFacts::of(&server);
    crate::output::outln!("{} {}", v.name, v.version);
    if let Some(t) = &server.title {
        crate::output::outln!("  title:       {t}");
    }
    crate::output::outln!("  description: {}", server.description.as_deref().unwrap_or(""));
    crate::output::outln!("  registry:    {}", found.registry);
    crate::output::outln!("  status:      {}{}", v.status, if v.is_latest { " (latest)" } else { "" });
    if let Some(tier) = facts.tier {
        crate::output::outln!("  tier:        {tier}");
    }
    if !facts.tags.is_empty() {
        crate::output::outln!("  tags:        {}", facts.tags.join(", "));
    }
    if let Some(url) = server.repository.as_ref().and_then(|r| r.url.as_deref()).filter(|u| !u.is_empty()) {
        crate::output::outln!("  repository:  {url}");
    }
    for p in server.packages() {
        crate::output::outln!(
            "  package:     {} {}{} ({})",
            p.kind().map_or("?", |k| k.as_str()),
            p.identifier_str(),
            p.version.as_deref().map(|v| format!("@{v}")).unwrap_or_default(),
            p.transport_type().map_or("?", |t| t.as_str())
        );
        for e in p.environment_variables.iter().flatten() {
            let required = if e.is_required == Some(true) { " (required)" } else { "" };
            let secret = if e.is_secret == Some(true) { " (secret)" } else { "" };
            crate::output::outln!(
                "    env {}{required}{secret}: {}",
                e.name.as_deref().unwrap_or("?"),
                e.description.as_deref().unwrap_or("")
            );
        }
    }
    for r in server.remotes() {
        crate::output::outln!(
            "  remote:      {} {}",
            r.kind.as_ref().map_or("?", |k| k.as_str()),
            r.url.as_deref().unwrap_or("")
        );
    }
    let others: Vec<&str> = versions.iter().map(|f| f.version.version.as_str()).filter(|x| *x != v.version).collect();
    if !others.is_empty() {
        crate::output::outln!("  other versions: {}", others.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}
