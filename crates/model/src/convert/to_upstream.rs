//! The field mapping ToolHive entry → `server.json`, as ToolHive does it, made better where the reference
//! says so: version from a semver image tag, repository source from the host, `args` also as positional
//! package arguments, `npx://`-style images back to their npm/PyPI/NuGet packages.

use serde_json::{Map, Value, json};

use super::ToolHiveEntry;
use super::image::{image_tag, package_for_image};
use super::names::full_name;
use crate::toolhive::{EnvVar, Header, STACKLOK_NAMESPACE, ServerEntry, StacklokExtension};
use crate::upstream::{
    Argument, ArgumentType, KeyValueInput, PUBLISHER_PROVIDED_KEY, Package, RegistryType, Remote, Repository,
    SchemaVersion, ServerJson, Transport, TransportType,
};
use crate::version::Semver;

/// Version written when nothing better is known (ToolHive's constant).
pub const DEFAULT_VERSION: &str = "1.0.0";
/// Longest description `server.json` allows.
pub const MAX_UPSTREAM_DESCRIPTION: usize = 100;

/// Maps one ToolHive entry to a `server.json` document. `notes` receives what was changed or guessed.
pub fn entry_to_server(key: &str, entry: &ToolHiveEntry, notes: &mut Vec<String>) -> ServerJson {
    match entry {
        ToolHiveEntry::Image(e) => image_to_server(key, e, notes),
        ToolHiveEntry::Remote(e) => remote_to_server(key, e, notes),
    }
}

fn image_to_server(key: &str, e: &ServerEntry, notes: &mut Vec<String>) -> ServerJson {
    let image = e.image.clone().unwrap_or_default();
    let (kind, identifier, package_version) = package_for_image(&image);
    let transport_type = TransportType::from(e.transport.as_deref().unwrap_or("stdio"));
    let url = match transport_type {
        TransportType::Stdio => None,
        _ => Some(match e.target_port {
            Some(port) if port > 0 => format!("http://localhost:{port}"),
            _ => "http://localhost".to_owned(),
        }),
    };
    let runtime_hint = match kind {
        RegistryType::Npm => Some("npx"),
        RegistryType::Pypi => Some("uvx"),
        RegistryType::Nuget => Some("dnx"),
        _ => None,
    };
    let version_source = match kind {
        RegistryType::Oci => image_tag(&image),
        _ => package_version.as_deref(),
    };
    let package = Package {
        registry_type: Some(kind),
        identifier: Some(identifier),
        version: package_version.clone(),
        runtime_hint: runtime_hint.map(str::to_owned),
        transport: Some(Transport { kind: Some(transport_type), url, ..Transport::default() }),
        package_arguments: e
            .args
            .as_ref()
            .filter(|a| !a.is_empty())
            .map(|args| args.iter().map(|a| positional(a)).collect()),
        environment_variables: e.env_vars.as_ref().map(|vars| vars.iter().map(env_var_to_input).collect()),
        ..Package::default()
    };
    let mut ext = common_extension(e);
    ext.permissions = e.permissions.clone();
    ext.provenance = e.provenance.clone();
    ext.docker_tags = e.docker_tags.clone();
    ext.proxy_port = e.proxy_port;
    ext.args = e.args.clone();
    let mut server = base_server(key, e, version_source, notes);
    server.packages = Some(vec![package]);
    server.meta = Some(extension_meta(&image, &ext));
    server
}

fn remote_to_server(key: &str, e: &ServerEntry, notes: &mut Vec<String>) -> ServerJson {
    let url = e.url.clone().unwrap_or_default();
    let remote = Remote {
        kind: e.transport.as_deref().map(TransportType::from),
        url: e.url.clone(),
        headers: e.headers.as_ref().map(|hs| hs.iter().map(header_to_input).collect()),
        ..Remote::default()
    };
    let mut ext = common_extension(e);
    ext.oauth_config = e.oauth_config.clone();
    ext.env_vars = e.env_vars.as_ref().map(|vars| vars.iter().filter_map(|v| serde_json::to_value(v).ok()).collect());
    ext.proxy_port = e.proxy_port;
    let mut server = base_server(key, e, None, notes);
    server.remotes = Some(vec![remote]);
    server.meta = Some(extension_meta(&url, &ext));
    server
}

/// Name, description, title, version and repository.
fn base_server(key: &str, base: &ServerEntry, version_source: Option<&str>, notes: &mut Vec<String>) -> ServerJson {
    let version = match version_source {
        Some(tag) if Semver::parse(tag).is_some() => tag.to_owned(),
        Some(tag) => {
            notes.push(format!("version set to {DEFAULT_VERSION}: image tag `{tag}` is not semver"));
            DEFAULT_VERSION.to_owned()
        }
        None => DEFAULT_VERSION.to_owned(),
    };
    ServerJson {
        schema: Some(SchemaVersion::CURRENT.url()),
        name: Some(match base.name.as_deref() {
            Some(name) if name.contains('/') => name.to_owned(),
            _ => full_name(key),
        }),
        description: base.description.as_deref().map(|d| truncate_description(d, notes)),
        title: base.title.clone(),
        repository: base.repository_url.as_deref().filter(|u| !u.is_empty()).map(|url| repository_for(url, notes)),
        version: Some(version),
        ..ServerJson::default()
    }
}

/// The extension fields both entry kinds share. The description moves to `overview` when it had to be
/// shortened and there is no overview.
fn common_extension(base: &ServerEntry) -> StacklokExtension {
    let long_description = base.description.as_deref().filter(|d| d.chars().count() > MAX_UPSTREAM_DESCRIPTION);
    StacklokExtension {
        status: Some(base.status.clone().unwrap_or_else(|| "active".to_owned())),
        tier: base.tier.clone(),
        tools: base.tools.clone(),
        tags: base.tags.clone(),
        overview: base.overview.clone().or_else(|| long_description.map(str::to_owned)),
        tool_definitions: base.tool_definitions.clone(),
        custom_metadata: base.custom_metadata.clone(),
        metadata: base.metadata.as_ref().and_then(|m| serde_json::to_value(m).ok()),
        ..StacklokExtension::default()
    }
}

fn extension_meta(key: &str, ext: &StacklokExtension) -> Map<String, Value> {
    let ext = serde_json::to_value(ext).unwrap_or_else(|_| json!({}));
    let mut meta = Map::new();
    meta.insert(PUBLISHER_PROVIDED_KEY.to_owned(), json!({ STACKLOK_NAMESPACE: { key: ext } }));
    meta
}

/// Shortens a description to ≤100 characters at a word boundary, ending with `…`.
fn truncate_description(description: &str, notes: &mut Vec<String>) -> String {
    if description.chars().count() <= MAX_UPSTREAM_DESCRIPTION {
        return description.to_owned();
    }
    let limit: String = description.chars().take(MAX_UPSTREAM_DESCRIPTION - 1).collect();
    let cut = limit.rfind(char::is_whitespace).filter(|&i| i > 0).map_or(limit.as_str(), |i| &limit[..i]);
    notes.push(format!("description shortened to {MAX_UPSTREAM_DESCRIPTION} characters; the full text is in overview"));
    format!("{}…", cut.trim_end())
}

/// `repository{url, source}` with the source derived from the host.
fn repository_for(url: &str, notes: &mut Vec<String>) -> Repository {
    let host = url.split("://").nth(1).unwrap_or(url).split(['/', ':']).next().unwrap_or("").to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    let source = match host {
        "github.com" => "github".to_owned(),
        "gitlab.com" => "gitlab".to_owned(),
        other => {
            notes.push(format!("repository host `{other}` is neither github.com nor gitlab.com; the official registry would not accept it"));
            other.to_owned()
        }
    };
    Repository { url: Some(url.to_owned()), source: Some(source), ..Repository::default() }
}

fn positional(value: &str) -> Argument {
    Argument { value: Some(value.to_owned()), kind: Some(ArgumentType::Positional), ..Argument::default() }
}

fn env_var_to_input(v: &EnvVar) -> KeyValueInput {
    KeyValueInput {
        name: v.name.clone(),
        description: v.description.clone(),
        is_required: v.required,
        is_secret: v.secret,
        default: v.default.clone(),
        ..KeyValueInput::default()
    }
}

fn header_to_input(h: &Header) -> KeyValueInput {
    KeyValueInput {
        name: h.name.clone(),
        description: h.description.clone(),
        is_required: h.required,
        is_secret: h.secret,
        default: h.default.clone(),
        choices: h.choices.clone(),
        ..KeyValueInput::default()
    }
}
