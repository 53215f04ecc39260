//! The field mapping `server.json` → ToolHive entry, as ToolHive does it, made better where the reference
//! says so: any package type becomes an image (`npx://`, `uvx://`, `dnx://`), the primary remote is chosen
//! deterministically, the extension is found by its key, and status/tier get valid defaults.

use super::ToolHiveEntry;
use super::image::{ImageFor, image_for};
use crate::toolhive::{EnvVar, Header, Metadata, ServerEntry, StacklokExtension, find_extension};
use crate::upstream::{Argument, Input, KeyValueInput, Package, RegistryType, Remote, ServerJson, TransportType};

/// Why a document has no ToolHive form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unrepresentable {
    /// Neither packages nor remotes: ToolHive needs an image or a URL.
    #[error("has neither packages nor remotes; a ToolHive entry needs an image or a URL")]
    NothingToRun,
    /// The 2025-07-09 snake_case shape.
    #[error(
        "uses the 2025-07-09 snake_case shape (registry_type, environment_variables, …); re-publish it with a current $schema to convert it"
    )]
    SnakeCase,
}

/// Maps one document to a ToolHive entry. `notes` receives what was changed or could not be kept.
pub fn server_to_entry(server: &ServerJson, notes: &mut Vec<String>) -> Result<ToolHiveEntry, Unrepresentable> {
    if let Some(remote) = primary_remote(server.remotes()) {
        if server.remotes().len() > 1 {
            notes.push(format!(
                "{} remotes; the primary one is {}, the others are kept for the way back",
                server.remotes().len(),
                remote.url.as_deref().unwrap_or("")
            ));
        }
        if !server.packages().is_empty() {
            notes.push("packages are kept for the way back; a ToolHive remote entry cannot list them".to_owned());
        }
        return Ok(ToolHiveEntry::Remote(remote_entry(server, remote, notes)));
    }
    if let Some(package) = primary_package(server.packages()) {
        if server.packages().len() > 1 {
            notes.push(format!(
                "{} packages; the primary one is {} `{}`, the others are kept for the way back",
                server.packages().len(),
                package.kind().map_or("?", |k| k.as_str()),
                package.identifier_str()
            ));
        }
        return Ok(ToolHiveEntry::Image(image_entry(server, package, notes)));
    }
    Err(Unrepresentable::NothingToRun)
}

/// First streamable-http remote, else the first remote.
fn primary_remote(remotes: &[Remote]) -> Option<&Remote> {
    remotes.iter().find(|r| r.kind == Some(TransportType::StreamableHttp)).or_else(|| remotes.first())
}

/// First OCI package, else the first that maps to an image scheme, else the first.
fn primary_package(packages: &[Package]) -> Option<&Package> {
    packages
        .iter()
        .find(|p| p.kind() == Some(&RegistryType::Oci))
        .or_else(|| packages.iter().find(|p| matches!(image_for(p), ImageFor::Scheme(_))))
        .or_else(|| packages.first())
}

fn image_entry(server: &ServerJson, package: &Package, notes: &mut Vec<String>) -> ServerEntry {
    let image = image_for(package);
    match &image {
        ImageFor::Oci(_) => {}
        ImageFor::Scheme(s) => notes.push(format!("no OCI image; ToolHive builds `{s}` on demand")),
        ImageFor::NotRunnable(s) => notes.push(format!("no runnable image: ToolHive cannot run `{s}`")),
    }
    let ext = find_extension(server, Some(image.image()).or(package.identifier.as_deref()))
        .map(|(_, e)| e)
        .unwrap_or_default();
    let transport = package.transport.as_ref();
    let target_port = match transport.and_then(|t| t.kind.as_ref()) {
        Some(TransportType::Stdio) | None => None,
        Some(_) => transport.and_then(|t| t.url.as_deref()).and_then(url_port),
    };
    let mut env_vars: Vec<EnvVar> = package.environment_variables.iter().flatten().map(input_to_env_var).collect();
    env_vars.extend(package.runtime_arguments.iter().flatten().filter_map(env_from_runtime_argument));
    let args = flatten_arguments(package.package_arguments.as_deref().unwrap_or_default());
    let transport_name = transport.and_then(|t| t.kind.as_ref()).map_or("stdio", |k| k.as_str());
    ServerEntry {
        image: Some(image.image().to_owned()),
        target_port,
        proxy_port: ext.proxy_port,
        permissions: ext.permissions.clone(),
        env_vars: (!env_vars.is_empty()).then_some(env_vars),
        args: if args.is_empty() { ext.args.clone() } else { Some(args) },
        docker_tags: ext.docker_tags.clone(),
        provenance: ext.provenance.clone(),
        ..common_fields(server, &ext, transport_name, notes)
    }
}

fn remote_entry(server: &ServerJson, remote: &Remote, notes: &mut Vec<String>) -> ServerEntry {
    let ext = find_extension(server, remote.url.as_deref()).map(|(_, e)| e).unwrap_or_default();
    let env_vars: Vec<EnvVar> =
        ext.env_vars.iter().flatten().filter_map(|v| serde_json::from_value(v.clone()).ok()).collect();
    let transport_name = remote.kind.as_ref().map_or("streamable-http", |k| k.as_str());
    ServerEntry {
        url: remote.url.clone(),
        headers: remote.headers.as_ref().map(|hs| hs.iter().map(input_to_header).collect()),
        oauth_config: ext.oauth_config.clone(),
        env_vars: (!env_vars.is_empty()).then_some(env_vars),
        proxy_port: ext.proxy_port,
        ..common_fields(server, &ext, transport_name, notes)
    }
}

/// The fields both entry kinds share.
fn common_fields(
    server: &ServerJson,
    ext: &StacklokExtension,
    transport: &str,
    notes: &mut Vec<String>,
) -> ServerEntry {
    if ext.tools.as_ref().is_none_or(Vec::is_empty) {
        notes.push("no tools listed; the ToolHive schema requires at least one".to_owned());
    }
    ServerEntry {
        name: server.name.clone(),
        title: server.title.clone(),
        description: server.description.clone(),
        overview: ext.overview.clone(),
        tier: Some(ext.tier.clone().unwrap_or_else(|| "Community".to_owned())),
        status: Some(legacy_status(ext.status.as_deref())),
        transport: Some(transport.to_owned()),
        tools: ext.tools.clone(),
        tool_definitions: ext.tool_definitions.clone(),
        tags: ext.tags.clone(),
        metadata: ext.metadata.as_ref().and_then(|m| serde_json::from_value::<Metadata>(m.clone()).ok()),
        repository_url: server.repository.as_ref().and_then(|r| r.url.clone()).filter(|u| !u.is_empty()),
        custom_metadata: ext.custom_metadata.clone(),
        ..ServerEntry::default()
    }
}

/// `Active` or `Deprecated`, compared case-insensitively; anything else is kept as written.
fn legacy_status(status: Option<&str>) -> String {
    match status {
        None => "Active".to_owned(),
        Some(s) if s.eq_ignore_ascii_case("active") => "Active".to_owned(),
        Some(s) if s.eq_ignore_ascii_case("deprecated") => "Deprecated".to_owned(),
        Some(s) => s.to_owned(),
    }
}

/// The explicit port of an `http(s)://host:port/…` URL.
fn url_port(url: &str) -> Option<i64> {
    let authority = url.split("://").nth(1)?.split(['/', '?', '#']).next()?;
    let port = authority.rsplit_once(':')?.1;
    port.parse::<u16>().ok().filter(|&p| p > 0).map(i64::from)
}

fn input_to_env_var(v: &KeyValueInput) -> EnvVar {
    EnvVar {
        name: v.name.clone(),
        description: v.description.clone(),
        required: v.is_required,
        secret: v.is_secret,
        default: v.default.clone(),
        ..EnvVar::default()
    }
}

fn input_to_header(h: &KeyValueInput) -> Header {
    Header {
        name: h.name.clone(),
        description: h.description.clone(),
        required: h.is_required,
        secret: h.is_secret,
        default: h.default.clone(),
        choices: h.choices.clone(),
        ..Header::default()
    }
}

/// A runtime argument `-e KEY=value` / `--env KEY={var}` as an environment variable (ToolHive's rule).
fn env_from_runtime_argument(arg: &Argument) -> Option<EnvVar> {
    if !matches!(arg.name.as_deref(), Some("-e" | "--env")) {
        return None;
    }
    let (key, value) = arg.value.as_deref()?.split_once('=')?;
    let variable = value.strip_prefix('{').and_then(|v| v.strip_suffix('}'));
    let var_input: Option<&Input> = variable.and_then(|v| arg.variables.as_ref()?.get(v));
    Some(EnvVar {
        name: Some(key.to_owned()),
        description: arg.description.clone(),
        required: arg.is_required,
        secret: var_input.and_then(|i| i.is_secret),
        default: match var_input {
            Some(i) => i.default.clone(),
            None if variable.is_some() => None,
            None => Some(value.to_owned()),
        },
        ..EnvVar::default()
    })
}

/// Arguments as ToolHive's flat list: each argument's `name` (if set) then its `value` (if set).
fn flatten_arguments(args: &[Argument]) -> Vec<String> {
    args.iter().flat_map(|a| a.name.iter().chain(a.value.iter()).cloned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_come_from_explicit_url_ports() {
        assert_eq!(url_port("http://localhost:8080/mcp"), Some(8080));
        assert_eq!(url_port("http://localhost/mcp"), None);
        assert_eq!(url_port("http://localhost:{--port}/mcp"), None);
        assert_eq!(url_port("not a url"), None);
    }

    #[test]
    fn status_is_normalised_case_insensitively() {
        assert_eq!(legacy_status(Some("active")), "Active");
        assert_eq!(legacy_status(Some("DEPRECATED")), "Deprecated");
        assert_eq!(legacy_status(None), "Active");
        assert_eq!(legacy_status(Some("retired")), "retired");
    }
}
