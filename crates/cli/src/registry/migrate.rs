//! `thv registry migrate`: a catalog file or a local registry as Kubernetes manifests (an MCPRegistry and the
//! ConfigMap with its data), built by `thv_operator::migrate`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;
use thv_model::load::load_bytes;
use thv_operator::migrate::{Encoding, Migration, Target, migrate};
use thv_sources::{DEFAULT_CONFIG_MAP_KEY, SourceSpec};
use thv_sync::{RegistrySpec, SourceFormat};

use crate::config::{Config, Locations};
use crate::files::write_output;
use crate::input::read_input;
use crate::output::ResultFormat;
use crate::registry::convert::FromFormat;

/// Arguments of `thv registry migrate`.
#[derive(Debug, Args)]
#[command(after_help = "A file (or a registry with a file source) goes into a ConfigMap the MCPRegistry reads: \
                        as text when it fits the 1 MiB object limit, else gzip-compressed in binaryData; a \
                        catalog too large even then is refused. Other sources (URL, Git, registry API) are kept \
                        as they are. Apply with `kubectl apply --server-side -f FILE` (client-side apply copies \
                        the object into an annotation limited to 256 KiB).\n\
                        Exit status: 0 when the manifests were written, 2 when the input is not a catalog or \
                        the registry cannot be expressed as an MCPRegistry.\n\n\
                        Examples:\n  thv registry migrate registry.json --output k8s-registry.yaml\n  \
                        thv registry migrate --registry internal -n team-a \\\n      \
                        --output internal.yaml\n  \
                        thv registry migrate registry.json | kubectl apply --server-side -f -")]
pub struct MigrateArgs {
    /// Catalog file to migrate (any supported format); `-` reads standard input.
    #[arg(value_name = "FILE", required_unless_present = "registry", conflicts_with = "registry")]
    pub file: Option<String>,
    /// Migrate this configured registry: its source, sync policy, filter and validation.
    #[arg(long, value_name = "NAME")]
    pub registry: Option<String>,
    /// Name of the MCPRegistry [default: the registry's name, or the file's name without extension].
    #[arg(long)]
    pub name: Option<String>,
    /// Namespace of the objects [default: none written, kubectl's current namespace].
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// ConfigMap key holding the catalog.
    #[arg(long, default_value = DEFAULT_CONFIG_MAP_KEY)]
    pub key: String,
    /// Format of FILE.
    #[arg(long, value_enum, default_value_t = FromFormat::Auto)]
    pub from: FromFormat,
    /// Write the manifests to FILE (atomically); `-` or none: standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// How to print the summary: a message on stderr, or JSON or YAML on stdout (then --output is required).
    #[arg(long, value_enum, default_value_t = ResultFormat::Table)]
    pub summary: ResultFormat,
}

/// The JSON/YAML shape of the summary.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    registry: String,
    namespace: Option<String>,
    config_map: Option<String>,
    key: Option<String>,
    encoding: Option<Encoding>,
    data_bytes: u64,
    output: String,
}

/// Runs the command.
pub async fn run(args: &MigrateArgs, locations: &Locations) -> anyhow::Result<ExitCode> {
    if args.summary != ResultFormat::Table && args.output.as_ref().is_none_or(|o| o.as_os_str() == "-") {
        bail!("--summary {:?} prints on standard output: write the manifests to a file with --output", args.summary);
    }
    let (local, data, default_name) = match (&args.registry, &args.file) {
        (Some(name), _) => {
            warn_of_imported_entries(name, locations).await;
            from_registry(name, locations)?
        }
        (None, Some(file)) => from_file(file, args.from)?,
        (None, None) => bail!("give a catalog FILE or --registry NAME"),
    };
    let name = match (&args.name, default_name) {
        (Some(name), _) => name.clone(),
        (None, Some(name)) => name,
        (None, None) => bail!("cannot make a registry name from the input's name: give one with --name"),
    };
    let target = Target { name, namespace: args.namespace.clone(), key: args.key.clone() };
    let migration = migrate(&local, data.as_deref(), &target)?;
    write_output(args.output.as_deref(), migration.to_yaml()?.as_bytes())?;
    let summary = summary(&migration, &target, args.output.as_ref());
    if args.summary == ResultFormat::Table {
        print_message(&summary);
    } else {
        args.summary.print(&summary)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Says on stderr when the registry has an imported layer: the manifests carry its source, not the layer.
/// Best effort: a database that cannot be read does not stop a migration, which does not need it.
async fn warn_of_imported_entries(name: &str, locations: &Locations) {
    let Ok(Some(store)) = crate::store::open_existing(locations).await else { return };
    let layer = store.imported(name).await.map_or(0, |layer| layer.len());
    if layer > 0 {
        crate::output::write_stderr(format_args!(
            "warning: registry {name} has {layer} imported entries (thv registry import); the manifests carry its \
             source and policy, not them"
        ));
    }
}

/// A catalog file as a registry with a file source of its detected format; the default name is the file's
/// stem made into a registry name.
fn from_file(file: &str, from: FromFormat) -> anyhow::Result<(RegistrySpec, Option<Vec<u8>>, Option<String>)> {
    let doc = read_input(file)?;
    let loaded = load_bytes(&doc.bytes, from.hint()).with_context(|| doc.name.clone())?;
    let format = if loaded.format.is_upstream() { "upstream" } else { "toolhive" };
    let name = (file != "-")
        .then(|| PathBuf::from(file).file_stem().map(|s| registry_name_of(&s.to_string_lossy())))
        .flatten()
        .flatten();
    let spec = serde_json::from_value(serde_json::json!({
        "name": name.as_deref().unwrap_or("migrated"), "source": {"file": {"path": file}}, "format": format,
    }))
    .context("cannot describe the file as a registry")?;
    Ok((spec, Some(doc.bytes), name))
}

/// A configured registry, with its file's content when it has a file source (checked to be a catalog).
fn from_registry(name: &str, locations: &Locations) -> anyhow::Result<(RegistrySpec, Option<Vec<u8>>, Option<String>)> {
    let config = Config::load(&locations.config_file()?)?;
    let spec = config.registry(name)?.clone();
    let data = match &spec.source {
        SourceSpec::File(file) => {
            let path = file.path.display().to_string();
            let doc = read_input(&path).with_context(|| format!("registry {name}: its file source"))?;
            load_bytes(&doc.bytes, spec.format.hint()).with_context(|| format!("registry {name}: {path}"))?;
            Some(doc.bytes)
        }
        _ => None,
    };
    Ok((spec, data, Some(name.to_owned())))
}

/// `stem` as a registry name (lowercase, other characters as `-`), if that makes one.
fn registry_name_of(stem: &str) -> Option<String> {
    let mapped: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let name = mapped.trim_matches('-').to_owned();
    thv_operator::labels::check_registry_name(&name).is_ok().then_some(name)
}

fn summary(migration: &Migration, target: &Target, output: Option<&PathBuf>) -> Summary {
    let config_map = migration.config_map.as_ref().and_then(|c| c.metadata.name.clone());
    Summary {
        registry: target.name.clone(),
        namespace: target.namespace.clone(),
        key: config_map.is_some().then(|| target.key.clone()),
        config_map,
        encoding: migration.encoding,
        data_bytes: migration.data_bytes,
        output: output.map_or_else(|| "-".to_owned(), |o| o.display().to_string()),
    }
}

fn print_message(s: &Summary) {
    let place = s.namespace.as_deref().map(|ns| format!("{ns}/")).unwrap_or_default();
    let data = match (&s.config_map, s.encoding) {
        (Some(cm), Some(Encoding::Gzip)) => format!(
            " and ConfigMap {place}{cm} (key {}, gzip-compressed in binaryData: {} bytes)",
            s.key.as_deref().unwrap_or_default(),
            s.data_bytes
        ),
        (Some(cm), _) => {
            format!(" and ConfigMap {place}{cm} (key {}, {} bytes)", s.key.as_deref().unwrap_or_default(), s.data_bytes)
        }
        _ => String::new(),
    };
    let to = if s.output == "-" { "standard output".to_owned() } else { s.output.clone() };
    crate::output::write_stderr(format_args!("wrote MCPRegistry {place}{}{data} to {to}", s.registry));
    if s.output != "-" {
        crate::output::write_stderr(format_args!("apply with: kubectl apply --server-side -f {}", s.output));
    }
}

impl FromFormat {
    /// The detection hint.
    pub fn hint(self) -> thv_model::detect::FormatHint {
        match self {
            Self::Auto => SourceFormat::Auto.hint(),
            Self::Toolhive => SourceFormat::Toolhive.hint(),
            Self::Upstream => SourceFormat::Upstream.hint(),
        }
    }
}
