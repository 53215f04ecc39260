//! What a registry entry says an MCPServer runs, and the MCPServer bodies built from it.
//!
//! The managed fields of `spec` (ToolHive's MCPServer names): `image`, `transport`, `mcpPort` (the entry's
//! `target_port`, for HTTP transports), `args`, and `env` items for the entry's environment variables that
//! have a default and are not secrets (a secret's value never goes into a spec). Required variables without
//! a default are listed in [`Desired::required_env`], for the person deploying to set.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use thv_model::convert::{ToolHiveEntry, upstream_to_toolhive};
use thv_model::upstream::ServerJson;

use super::plan::{Association, ManagedField};
use super::{CATEGORY_LABEL, ENTRY_DIGEST_ANNOTATION, KIND, TIER_LABEL};

/// Longest label value Kubernetes accepts.
pub const LABEL_VALUE_MAX: usize = 63;

/// An entry that cannot be run as an MCPServer. Messages name the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// A remote server: it has a URL, not an image.
    #[error("server {server} is a remote server ({url}); an MCPServer runs a container image")]
    Remote {
        /// Full server name.
        server: String,
        /// Its URL.
        url: String,
    },
    /// The entry has no image.
    #[error("server {server} has no container image to run")]
    NoImage {
        /// Full server name.
        server: String,
    },
    /// The document has no ToolHive form.
    #[error("server {server} cannot be converted to a ToolHive entry: {reason}")]
    Unconvertible {
        /// Full server name.
        server: String,
        /// Why.
        reason: String,
    },
    /// Neither the name nor its short name is a label value.
    #[error("server {server} cannot be named by a label value (at most 63 letters, digits, '-', '_' or '.')")]
    Unlabelable {
        /// Full server name.
        server: String,
    },
}

/// The managed fields of an MCPServer's `spec`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedSpec {
    /// `spec.image`.
    pub image: String,
    /// `spec.transport` (`stdio` when the entry has none).
    pub transport: String,
    /// `spec.mcpPort`: the container port of an HTTP transport.
    pub mcp_port: Option<u16>,
    /// `spec.args` (empty: not managed).
    pub args: Vec<String>,
    /// `spec.env`: (name, default value), in the entry's order.
    pub env: Vec<(String, String)>,
}

/// What the registry says an MCPServer of one entry runs and how it is labelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// Full server name.
    pub server: String,
    /// The `server-name` label value naming it ([`server_label`]).
    pub server_label: String,
    /// The managed fields.
    pub spec: ManagedSpec,
    /// The `tier` label value, when the entry has a tier.
    pub tier: Option<String>,
    /// The `category` label value, when the entry has a category.
    pub category: Option<String>,
    /// Required environment variables without a default (not set by the registry).
    pub required_env: Vec<String>,
}

impl Desired {
    /// From a `server.json` document of the catalog (its ToolHive form decides the fields).
    pub fn from_server(server: &ServerJson) -> Result<Self, EntryError> {
        let name = server.name_str().to_owned();
        let converted = upstream_to_toolhive(server)
            .map_err(|e| EntryError::Unconvertible { server: name.clone(), reason: e.to_string() })?;
        let entry = match converted.value {
            ToolHiveEntry::Image(entry) => entry,
            ToolHiveEntry::Remote(entry) => {
                return Err(EntryError::Remote { server: name, url: entry.url.unwrap_or_default() });
            }
        };
        let image =
            entry.image.clone().filter(|i| !i.is_empty()).ok_or(EntryError::NoImage { server: name.clone() })?;
        let transport = entry.transport.clone().filter(|t| !t.is_empty()).unwrap_or_else(|| "stdio".to_owned());
        let mcp_port = if transport == "stdio" {
            None
        } else {
            entry.target_port.and_then(|p| u16::try_from(p).ok()).filter(|p| *p > 0)
        };
        let mut env = Vec::new();
        let mut required_env = Vec::new();
        for var in entry.env_vars.iter().flatten() {
            let Some(var_name) = var.name.clone().filter(|n| !n.is_empty()) else { continue };
            match (&var.default, var.secret.unwrap_or(false)) {
                (Some(default), false) => env.push((var_name, default.clone())),
                _ if var.required.unwrap_or(false) => required_env.push(var_name),
                _ => {}
            }
        }
        let category = entry.custom_metadata.as_ref().and_then(|custom| {
            custom.get("category").and_then(Value::as_str).or_else(|| {
                custom.get("categories").and_then(Value::as_array).and_then(|c| c.first()).and_then(Value::as_str)
            })
        });
        Ok(Self {
            server_label: server_label(&name).ok_or(EntryError::Unlabelable { server: name.clone() })?,
            server: name,
            spec: ManagedSpec { image, transport, mcp_port, args: entry.args.clone().unwrap_or_default(), env },
            tier: entry.tier.as_deref().and_then(label_value),
            category: category.and_then(label_value),
            required_env,
        })
    }

    /// `sha256:<hex>` of the managed fields and labels: a changed entry has another digest.
    pub fn digest(&self) -> String {
        thv_model::digest::value_digest(&json!({
            "spec": self.spec_json(&[]),
            "tier": self.tier,
            "category": self.category,
        }))
    }

    /// The `tier` and `category` labels the operator sets (absent ones are not set).
    pub fn classification_labels(&self) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::new();
        if let Some(tier) = &self.tier {
            labels.insert(TIER_LABEL.to_owned(), tier.clone());
        }
        if let Some(category) = &self.category {
            labels.insert(CATEGORY_LABEL.to_owned(), category.clone());
        }
        labels
    }

    /// The managed `spec` fields, without those in `kept` (set by another field manager).
    pub fn spec_json(&self, kept: &[ManagedField]) -> Value {
        let s = &self.spec;
        let mut spec = Map::new();
        let keep = |field: &ManagedField| !kept.contains(field);
        if keep(&ManagedField::Image) {
            spec.insert("image".into(), json!(s.image));
        }
        if keep(&ManagedField::Transport) {
            spec.insert("transport".into(), json!(s.transport));
        }
        if let Some(port) = s.mcp_port.filter(|_| keep(&ManagedField::McpPort)) {
            spec.insert("mcpPort".into(), json!(port));
        }
        if !s.args.is_empty() && keep(&ManagedField::Args) {
            spec.insert("args".into(), json!(s.args));
        }
        let env: Vec<Value> = s
            .env
            .iter()
            .filter(|(name, _)| keep(&ManagedField::Env(name.clone())))
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect();
        if !env.is_empty() {
            spec.insert("env".into(), Value::Array(env));
        }
        Value::Object(spec)
    }
}

/// An entry that cannot be found in a catalog, or not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// No server, or several, by that name.
    #[error("registry {registry}: {source}")]
    Name {
        /// The registry searched.
        registry: String,
        /// Why the name did not resolve.
        #[source]
        source: thv_model::names::NameError,
    },
    /// The stored document does not parse.
    #[error("registry {registry}: the stored document of {server} does not parse: {reason}")]
    Document {
        /// The registry.
        registry: String,
        /// The server.
        server: String,
        /// The parser's message.
        reason: String,
    },
    /// The entry cannot run as an MCPServer.
    #[error("registry {registry}: {source}")]
    Entry {
        /// The registry.
        registry: String,
        /// Why.
        #[source]
        source: EntryError,
    },
}

/// The entry of `catalog` (registry `registry`'s stored versions) that `query` names (a full name, or a
/// short name only one server has): its latest version that is not deleted.
pub fn find_entry(registry: &str, catalog: &[thv_store::ServerVersion], query: &str) -> Result<Desired, LookupError> {
    let latest: Vec<&thv_store::ServerVersion> =
        catalog.iter().filter(|v| v.is_latest && v.status != "deleted").collect();
    let name = thv_model::names::resolve(latest.iter().map(|v| v.name.as_str()), query)
        .map_err(|source| LookupError::Name { registry: registry.to_owned(), source })?;
    let version = latest.iter().find(|v| v.name == name).ok_or_else(|| LookupError::Name {
        registry: registry.to_owned(),
        source: thv_model::names::NameError::NotFound(query.to_owned()),
    })?;
    let server: ServerJson = serde_json::from_str(version.document.as_str()).map_err(|e| LookupError::Document {
        registry: registry.to_owned(),
        server: name.to_owned(),
        reason: e.to_string(),
    })?;
    Desired::from_server(&server).map_err(|source| LookupError::Entry { registry: registry.to_owned(), source })
}

/// The server-side apply body of an MCPServer under [`super::FIELD_MANAGER`]: the association labels (so
/// that an object the operator created keeps them), the classification labels of `desired`, the digest
/// annotation when given, and `spec` (a fragment of managed fields: [`Desired::spec_json`], or
/// [`super::plan::owned_spec`] to change labels only). Server-side apply removes what the manager applied
/// before and leaves out now, so every apply carries all the fields the operator means to keep.
pub fn apply_body(
    api_version: &str,
    namespace: &str,
    name: &str,
    association: &Association,
    desired: &Desired,
    spec: Value,
    digest: Option<&str>,
) -> Value {
    let mut labels: BTreeMap<String, String> = association.labels().into_iter().collect();
    labels.extend(desired.classification_labels());
    let mut metadata = json!({"name": name, "namespace": namespace, "labels": labels});
    if let Some(digest) = digest {
        metadata["annotations"] = json!({ENTRY_DIGEST_ANNOTATION: digest});
    }
    let mut body = json!({"apiVersion": api_version, "kind": KIND, "metadata": metadata});
    if spec.as_object().is_some_and(|s| !s.is_empty()) {
        body["spec"] = spec;
    }
    body
}

/// The apply body of the environment variables a person gives (`thv registry deploy --env`), applied under
/// [`super::USER_FIELD_MANAGER`] so that they stay theirs.
pub fn user_env_body(api_version: &str, namespace: &str, name: &str, env: &[(String, String)]) -> Value {
    let env: Vec<Value> = env.iter().map(|(k, v)| json!({"name": k, "value": v})).collect();
    json!({
        "apiVersion": api_version, "kind": KIND,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"env": env},
    })
}

/// The MCPServer `thv registry deploy` creates, as one object: the entry's managed fields and all five
/// labels, with the person's `env` values over the entry's defaults (on a cluster they are applied by two
/// field managers, see [`super::cluster::deploy`]).
pub fn deploy_manifest(
    api_version: &str,
    namespace: &str,
    name: &str,
    association: &Association,
    desired: &Desired,
    user_env: &[(String, String)],
) -> Value {
    let digest = desired.digest();
    let mut body =
        apply_body(api_version, namespace, name, association, desired, desired.spec_json(&[]), Some(&digest));
    if !user_env.is_empty() {
        let mut env: Vec<Value> = body["spec"].get("env").and_then(Value::as_array).cloned().unwrap_or_default();
        for (key, value) in user_env {
            let item = json!({"name": key, "value": value});
            match env.iter_mut().find(|e| e.get("name").and_then(Value::as_str) == Some(key)) {
                Some(existing) => *existing = item,
                None => env.push(item),
            }
        }
        body["spec"]["env"] = Value::Array(env);
    }
    body
}

/// The default object name of a server's MCPServer: its `server-name` label value in lower case, other
/// characters as `-` (an MCPServer name becomes part of Service names: a DNS label).
pub fn default_object_name(desired: &Desired) -> String {
    let lower: String = desired
        .server_label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect();
    let mut name = lower.trim_matches('-').to_owned();
    name.truncate(LABEL_VALUE_MAX);
    name.trim_end_matches('-').to_owned()
}

/// What a recreate carries over from the deleted object `live` (`onUpdate: recreate`), for another field
/// manager to apply after the operator created the server from the entry: labels, annotations and spec
/// fields the entry does not manage, and env variables the entry has no default for. `None` when nothing
/// is left.
pub fn carried_over(live: &Value, api_version: &str, desired: &Desired) -> Option<Value> {
    let metadata = live.get("metadata").cloned().unwrap_or_default();
    let ours = [
        super::REGISTRY_NAME_LABEL,
        super::REGISTRY_NAMESPACE_LABEL,
        super::SERVER_NAME_LABEL,
        TIER_LABEL,
        CATEGORY_LABEL,
        ENTRY_DIGEST_ANNOTATION,
        "kubectl.kubernetes.io/last-applied-configuration",
    ];
    let without_ours = |key: &str| -> Map<String, Value> {
        let mut map = metadata.get(key).and_then(Value::as_object).cloned().unwrap_or_default();
        map.retain(|k, _| !ours.contains(&k.as_str()));
        map
    };
    let (labels, annotations) = (without_ours("labels"), without_ours("annotations"));
    let mut spec: Map<String, Value> = live.get("spec").and_then(Value::as_object).cloned().unwrap_or_default();
    for managed in ["image", "transport", "mcpPort", "args"] {
        spec.remove(managed);
    }
    if let Some(Value::Array(env)) = spec.get_mut("env") {
        env.retain(|e| !desired.spec.env.iter().any(|(name, _)| e.get("name").and_then(Value::as_str) == Some(name)));
        if env.is_empty() {
            spec.remove("env");
        }
    }
    if labels.is_empty() && annotations.is_empty() && spec.is_empty() {
        return None;
    }
    Some(json!({
        "apiVersion": api_version,
        "kind": KIND,
        "metadata": {"name": metadata.get("name"), "namespace": metadata.get("namespace"),
                     "labels": labels, "annotations": annotations},
        "spec": spec,
    }))
}

/// The `server-name` label value of a server: its full name when that is a label value, else its short
/// name (`io.github.stacklok/fetch` → `fetch`), as `thv_model::names::resolve` finds it again.
pub fn server_label(full: &str) -> Option<String> {
    if is_label_value(full) {
        return Some(full.to_owned());
    }
    thv_model::names::short_name(full).filter(|s| is_label_value(s)).map(ToOwned::to_owned)
}

/// Whether `value` is a Kubernetes label value.
pub fn is_label_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    let inner = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    value.len() <= LABEL_VALUE_MAX
        && (value.is_empty()
            || (bytes.first().is_some_and(u8::is_ascii_alphanumeric)
                && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
                && bytes.iter().all(inner)))
}

/// A tier or category as a label value: other characters become `-`, the ends are trimmed to a letter or
/// digit, at most 63 characters (`Data & Analytics` → `Data---Analytics`). `None` when nothing is left.
pub fn label_value(text: &str) -> Option<String> {
    let replaced: String =
        text.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' }).collect();
    let mut value = replaced.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_owned();
    value.truncate(LABEL_VALUE_MAX);
    let value = value.trim_end_matches(|c: char| !c.is_ascii_alphanumeric()).to_owned();
    (!value.is_empty()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(extension: Value, package: Value) -> ServerJson {
        serde_json::from_value(json!({
            "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
            "name": "io.github.example/fetch",
            "version": "1.2.0",
            "description": "Fetches web pages as Markdown.",
            "packages": [package],
            "_meta": {"io.modelcontextprotocol.registry/publisher-provided": {"io.github.stacklok": {
                "ghcr.io/example/fetch:1.2.0": extension
            }}}
        }))
        .expect("server.json")
    }

    fn fetch() -> ServerJson {
        server(
            json!({"tier": "Official", "status": "Active", "tools": ["fetch"], "args": ["--max-bytes", "100000"],
                   "custom_metadata": {"category": "Web & Search"}}),
            json!({"registryType": "oci", "identifier": "ghcr.io/example/fetch:1.2.0",
            "transport": {"type": "streamable-http", "url": "http://localhost:8080"},
            "environmentVariables": [
                {"name": "FETCH_TIMEOUT", "description": "Timeout in seconds", "default": "30"},
                {"name": "FETCH_TOKEN", "description": "Token for the site", "isSecret": true, "isRequired": true, "default": "x"},
                {"name": "FETCH_SITE", "description": "Site to fetch from", "isRequired": true}
            ]}),
        )
    }

    #[test]
    fn an_entry_gives_the_managed_fields_and_labels() {
        let desired = Desired::from_server(&fetch()).expect("desired");
        assert_eq!(desired.server_label, "fetch");
        assert_eq!(
            desired.spec,
            ManagedSpec {
                image: "ghcr.io/example/fetch:1.2.0".into(),
                transport: "streamable-http".into(),
                mcp_port: Some(8080),
                args: vec!["--max-bytes".into(), "100000".into()],
                env: vec![("FETCH_TIMEOUT".into(), "30".into())],
            }
        );
        assert_eq!(desired.required_env, ["FETCH_TOKEN", "FETCH_SITE"], "a secret's default is never copied");
        assert_eq!(desired.tier.as_deref(), Some("Official"));
        assert_eq!(desired.category.as_deref(), Some("Web---Search"));
    }

    #[test]
    fn stdio_has_no_port_and_a_remote_is_refused() {
        let stdio = server(
            json!({"tier": "Community"}),
            json!({"registryType": "oci", "identifier": "ghcr.io/example/fetch:1.2.0", "transport": {"type": "stdio"}}),
        );
        let desired = Desired::from_server(&stdio).expect("desired");
        assert_eq!((desired.spec.transport.as_str(), desired.spec.mcp_port), ("stdio", None));
        assert_eq!(desired.category, None);
        let remote: ServerJson = serde_json::from_value(json!({
            "name": "io.github.example/remote", "version": "1.0.0", "description": "A remote server here.",
            "remotes": [{"type": "streamable-http", "url": "https://mcp.example.com/mcp"}]
        }))
        .expect("server.json");
        let error = Desired::from_server(&remote).expect_err("remote");
        assert_eq!(
            error.to_string(),
            "server io.github.example/remote is a remote server (https://mcp.example.com/mcp); an MCPServer runs a container image"
        );
    }

    #[test]
    fn the_digest_moves_with_the_managed_fields_only() {
        let desired = Desired::from_server(&fetch()).expect("desired");
        let mut other = desired.clone();
        other.required_env.clear();
        assert_eq!(desired.digest(), other.digest(), "not a managed field");
        other.spec.image = "ghcr.io/example/fetch:1.3.0".into();
        assert_ne!(desired.digest(), other.digest());
        let mut relabelled = desired.clone();
        relabelled.tier = Some("Community".into());
        assert_ne!(desired.digest(), relabelled.digest());
    }

    #[test]
    fn bodies_leave_out_kept_fields() {
        let desired = Desired::from_server(&fetch()).expect("desired");
        let association =
            Association { registry: "platform".into(), registry_namespace: "team-a".into(), server: "fetch".into() };
        let kept = [ManagedField::Image, ManagedField::Env("FETCH_TIMEOUT".into())];
        let digest = desired.digest();
        let spec = desired.spec_json(&kept);
        let body =
            apply_body("toolhive.stacklok.dev/v1beta1", "team-a", "fetch", &association, &desired, spec, Some(&digest));
        assert_eq!(
            body,
            json!({
                "apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": "MCPServer",
                "metadata": {"name": "fetch", "namespace": "team-a",
                    "labels": {
                        "toolhive.stacklok.io/registry-name": "platform",
                        "toolhive.stacklok.io/registry-namespace": "team-a",
                        "toolhive.stacklok.io/server-name": "fetch",
                        "toolhive.stacklok.io/tier": "Official",
                        "toolhive.stacklok.io/category": "Web---Search"},
                    "annotations": {"toolhive.stacklok.io/registry-entry-digest": desired.digest()}},
                "spec": {"transport": "streamable-http", "mcpPort": 8080, "args": ["--max-bytes", "100000"]}
            })
        );
        let labels_only = apply_body("v", "team-a", "fetch", &association, &desired, json!({}), None);
        assert!(labels_only.get("spec").is_none() && labels_only["metadata"].get("annotations").is_none());
    }

    #[test]
    fn a_recreate_carries_over_what_the_entry_does_not_manage() {
        let desired = Desired::from_server(&fetch()).expect("desired");
        let live = json!({
            "apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": "MCPServer",
            "metadata": {"name": "fetch", "namespace": "team-a", "uid": "u1", "resourceVersion": "7",
                "labels": {"toolhive.stacklok.io/registry-name": "platform", "toolhive.stacklok.io/tier": "Community", "team": "web"},
                "annotations": {"note": "mine", "toolhive.stacklok.io/registry-entry-digest": "sha256:old"}},
            "spec": {"image": "ghcr.io/example/fetch:1.1.0", "serviceAccount": "fetcher",
                     "env": [{"name": "MINE", "value": "1"}, {"name": "FETCH_TIMEOUT", "value": "5"}]},
            "status": {"phase": "Running"}
        });
        let carried = carried_over(&live, "toolhive.stacklok.dev/v1beta1", &desired).expect("something");
        assert_eq!(
            carried,
            json!({"apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": "MCPServer",
                   "metadata": {"name": "fetch", "namespace": "team-a", "labels": {"team": "web"}, "annotations": {"note": "mine"}},
                   "spec": {"serviceAccount": "fetcher", "env": [{"name": "MINE", "value": "1"}]}})
        );
        let bare = json!({"metadata": {"name": "fetch", "labels": {"toolhive.stacklok.io/tier": "x"}}, "spec": {"image": "i"}});
        assert_eq!(carried_over(&bare, "v", &desired), None);
    }

    #[test]
    fn label_values_are_made_valid() {
        assert_eq!(label_value("Official").as_deref(), Some("Official"));
        assert_eq!(label_value(" Data & Analytics ").as_deref(), Some("Data---Analytics"));
        assert_eq!(label_value("&&"), None);
        assert_eq!(label_value(&"a".repeat(80)).map(|v| v.len()), Some(63));
        assert_eq!(server_label("io.github.stacklok/fetch").as_deref(), Some("fetch"));
        assert_eq!(server_label("fetch").as_deref(), Some("fetch"));
        assert!(is_label_value("a.b_c-d") && !is_label_value("-a") && !is_label_value("a/b"));
    }
}
