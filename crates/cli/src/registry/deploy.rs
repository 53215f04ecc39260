//! `thv registry deploy`: a ToolHive `MCPServer` for a registry entry, built by the operator's one builder
//! (`thv_operator::mcpserver`), labelled so that the operator keeps it in step with the entry. Printed with
//! `--dry-run`, else server-side applied through the user's kubeconfig (`kube_client::connect`).

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use kube::api::DynamicObject;
use serde_json::Value;
use thv_operator::mcpserver::managed::{self, Desired};
use thv_operator::mcpserver::plan::Association;
use thv_operator::mcpserver::{DEFAULT_VERSION, GROUP, REGISTRY_NAMESPACE_LABEL, cluster};

use crate::config::{Config, Locations};
use crate::output::{OutputFormat, print_data, write_stderr};

/// How the MCPServer is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ManifestFormat {
    /// YAML, for `kubectl apply -f -`.
    Yaml,
    /// JSON.
    Json,
}

/// Arguments of `thv registry deploy`.
#[derive(Debug, Args)]
#[command(after_help = "The MCPServer runs the entry's image with its transport, port, arguments and the \
                        defaults of its non-secret environment variables, and carries the labels \
                        toolhive.stacklok.io/registry-name, registry-namespace, server-name, tier and category, \
                        so the operator applies the registry's syncPolicy.onUpdate when the entry changes. \
                        The entry comes from the local registry's stored catalog (thv registry sync first). \
                        --env values are applied under their own field manager (thv-registry-deploy): the \
                        operator never changes them.\n\
                        Exit status: 0 when printed or applied, 2 when the server, the registry or an --env \
                        is wrong, or the cluster has no MCPServer CRD (ToolHive's operator is not installed).\n\n\
                        Examples:\n  thv registry deploy fetch --registry toolhive --dry-run\n  \
                        thv registry deploy gitlab --registry toolhive -n team-a \\\n      \
                        --env GITLAB_API_URL=https://gitlab.example.com/api/v4\n  \
                        thv registry deploy fetch --registry toolhive --dry-run \\\n      \
                        | kubectl apply --server-side -f -")]
pub struct DeployArgs {
    /// Server to deploy: its full name, or a short name only one server of the registry has.
    pub server: String,
    /// The registry whose entry it runs (a configured local registry; the MCPRegistry of that name is expected
    /// in the same namespace).
    #[arg(long, value_name = "NAME")]
    pub registry: String,
    /// Namespace of the MCPServer [default: the kubeconfig context's; with --dry-run, none written].
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Name of the MCPServer [default: the server's short name, in lower case].
    #[arg(long)]
    pub name: Option<String>,
    /// An environment variable of the server, over the entry's default (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// The kubeconfig context to use [default: the current one].
    #[arg(long)]
    pub context: Option<String>,
    /// Print the MCPServer instead of applying it (no cluster needed).
    #[arg(long)]
    pub dry_run: bool,
    /// Print the MCPServer (with --dry-run, or as applied) as YAML or JSON [default: yaml with --dry-run,
    /// else a message on stderr].
    #[arg(short = 'o', long = "output", value_enum)]
    pub output: Option<ManifestFormat>,
}

/// Parses `KEY=VALUE` (the key an environment variable name).
fn parse_env(text: &str) -> Result<(String, String), String> {
    let Some((key, value)) = text.split_once('=') else {
        return Err(format!("{text:?} is not KEY=VALUE"));
    };
    let valid = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "{key:?} is not an environment variable name (letters, digits and '_', not first a digit)"
        ));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// What `deploy` builds: the entry and where its MCPServer goes.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The entry.
    pub desired: Desired,
    /// Its labels.
    pub association: Association,
    /// The object's name.
    pub name: String,
    /// Its namespace (`None`: the client's default, or none written in a dry run).
    pub namespace: Option<String>,
    /// The person's variables.
    pub env: Vec<(String, String)>,
}

impl Plan {
    /// The MCPServer as one object at `api_version` (the namespace and `registry-namespace` label only when
    /// known).
    pub fn manifest(&self, api_version: &str) -> Value {
        let namespace = self.namespace.as_deref().unwrap_or_default();
        let mut manifest =
            managed::deploy_manifest(api_version, namespace, &self.name, &self.association, &self.desired, &self.env);
        if self.namespace.is_none()
            && let Some(metadata) = manifest.get_mut("metadata").and_then(Value::as_object_mut)
        {
            metadata.remove("namespace");
            if let Some(labels) = metadata.get_mut("labels").and_then(Value::as_object_mut) {
                labels.remove(REGISTRY_NAMESPACE_LABEL);
            }
        }
        manifest
    }
}

/// Runs the command.
pub async fn run(args: &DeployArgs, locations: &Locations) -> anyhow::Result<ExitCode> {
    let desired = local_entry(&args.registry, &args.server, locations).await?;
    for name in desired.required_env.iter().filter(|n| !args.env.iter().any(|(k, _)| k == *n)) {
        write_stderr(format_args!(
            "warning: {name} is required by {} and has no default: set it with --env {name}=… (or a Secret in \
             spec.secrets)",
            desired.server
        ));
    }
    let name = match &args.name {
        Some(name) => name.clone(),
        None => managed::default_object_name(&desired),
    };
    thv_operator::labels::check_registry_name(&name)
        .map_err(|_| anyhow::anyhow!("{name:?} cannot name an MCPServer: give a DNS label with --name"))?;
    let mut plan = Plan {
        association: Association {
            registry: args.registry.clone(),
            registry_namespace: args.namespace.clone().unwrap_or_default(),
            server: desired.server_label.clone(),
        },
        desired,
        name,
        namespace: args.namespace.clone(),
        env: args.env.clone(),
    };
    if args.dry_run {
        let manifest = plan.manifest(&format!("{GROUP}/{DEFAULT_VERSION}"));
        print_manifest(args.output.unwrap_or(ManifestFormat::Yaml), &manifest)?;
        return Ok(ExitCode::SUCCESS);
    }
    let client = crate::kube_client::connect(args.context.as_deref()).await?;
    let namespace = plan.namespace.clone().unwrap_or_else(|| client.default_namespace().to_owned());
    plan.association.registry_namespace = namespace.clone();
    plan.namespace = Some(namespace);
    let applied = apply(client, &plan).await?;
    match args.output {
        Some(format) => print_manifest(format, &serde_json::to_value(&applied)?)?,
        None => write_stderr(format_args!(
            "MCPServer {}/{} applied: {} ({}) from registry {}",
            plan.namespace.as_deref().unwrap_or_default(),
            plan.name,
            plan.desired.spec.image,
            plan.desired.server,
            plan.association.registry
        )),
    }
    Ok(ExitCode::SUCCESS)
}

/// Applies the plan's MCPServer (namespace set) through `client`, at the version the cluster prefers.
pub async fn apply(client: kube::Client, plan: &Plan) -> anyhow::Result<DynamicObject> {
    let resource = cluster::discover(&client).await.context("cannot ask the cluster for the MCPServer kind")?;
    let Some(resource) = resource else {
        bail!(
            "the cluster has no MCPServer kind (CRD mcpservers.{GROUP}): install ToolHive's operator first, or \
             print the object with --dry-run"
        );
    };
    let namespace = plan.namespace.as_deref().unwrap_or_default();
    cluster::deploy(&client, &resource, namespace, &plan.name, &plan.association, &plan.desired, &plan.env)
        .await
        .map_err(|e| anyhow::anyhow!("cannot apply MCPServer {namespace}/{}: {}", plan.name, cluster::api_message(&e)))
}

/// The entry `server` of the local registry `registry`.
async fn local_entry(registry: &str, server: &str, locations: &Locations) -> anyhow::Result<Desired> {
    let config = Config::load(&locations.config_file()?)?;
    let spec = config.registry(registry)?;
    let Some(store) = crate::store::open_existing(locations).await? else {
        bail!("registry {}: {}", spec.name, crate::store::nothing_synced_yet(locations));
    };
    let catalog = store.catalog(&spec.name).await?;
    if catalog.is_empty() {
        bail!("registry {} has no stored catalog yet (thv registry sync {0})", spec.name);
    }
    Ok(managed::find_entry(&spec.name, &catalog, server)?)
}

fn print_manifest(format: ManifestFormat, manifest: &Value) -> anyhow::Result<()> {
    match format {
        ManifestFormat::Yaml => print_data(OutputFormat::Yaml, manifest),
        ManifestFormat::Json => print_data(OutputFormat::Json, manifest),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use thv_model::upstream::ServerJson;
    use thv_operator::mcpserver::FIELD_MANAGER;

    use super::*;

    fn fetch() -> Desired {
        let server: ServerJson = serde_json::from_value(json!({
            "name": "io.github.example/fetch", "version": "1.2.0", "description": "Fetches web pages as Markdown.",
            "packages": [{"registryType": "oci", "identifier": "ghcr.io/example/fetch:1.2.0", "transport": {"type": "stdio"},
                          "environmentVariables": [{"name": "FETCH_TIMEOUT", "description": "Timeout in seconds", "default": "30"}]}]
        }))
        .expect("server.json");
        Desired::from_server(&server).expect("desired")
    }

    fn plan(namespace: &str) -> Plan {
        let desired = fetch();
        Plan {
            association: Association {
                registry: "toolhive".into(),
                registry_namespace: namespace.into(),
                server: desired.server_label.clone(),
            },
            name: managed::default_object_name(&desired),
            desired,
            namespace: Some(namespace.into()),
            env: vec![("FETCH_TIMEOUT".into(), "5".into())],
        }
    }

    fn toolhive_crd() -> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition {
        serde_json::from_value(json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "mcpservers.toolhive.stacklok.dev"},
            "spec": {"group": "toolhive.stacklok.dev", "scope": "Namespaced",
                     "names": {"kind": "MCPServer", "plural": "mcpservers", "singular": "mcpserver"},
                     "versions": [{"name": "v1beta1", "served": true, "storage": true,
                                   "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
        }))
        .expect("CRD")
    }

    #[test]
    fn env_must_be_key_equals_value() {
        assert_eq!(parse_env("A_B=x=y"), Ok(("A_B".into(), "x=y".into())));
        assert_eq!(parse_env("EMPTY="), Ok(("EMPTY".into(), String::new())));
        assert_eq!(parse_env("nokey").unwrap_err(), "\"nokey\" is not KEY=VALUE");
        assert!(parse_env("1A=x").unwrap_err().contains("not an environment variable name"));
        assert!(parse_env("=x").is_err());
    }

    #[tokio::test]
    async fn deploy_creates_the_mcpserver_with_its_labels_and_the_persons_env() {
        let fake = thv_kube_fake::FakeApiServer::new();
        fake.register_crd(&toolhive_crd());
        let applied = apply(fake.client_as("user"), &plan("default")).await.expect("applied");
        let object = serde_json::to_value(&applied).expect("json");
        assert_eq!(object["apiVersion"], "toolhive.stacklok.dev/v1beta1");
        assert_eq!(object["spec"]["image"], "ghcr.io/example/fetch:1.2.0");
        assert_eq!(object["spec"]["env"], json!([{"name": "FETCH_TIMEOUT", "value": "5"}]));
        let labels = &object["metadata"]["labels"];
        assert_eq!(labels["toolhive.stacklok.io/registry-name"], "toolhive");
        assert_eq!(labels["toolhive.stacklok.io/registry-namespace"], "default");
        assert_eq!(labels["toolhive.stacklok.io/server-name"], "fetch");
        let managers: Vec<&str> = object["metadata"]["managedFields"]
            .as_array()
            .expect("managed fields")
            .iter()
            .filter_map(|m| m["manager"].as_str())
            .collect();
        assert_eq!(managers, [FIELD_MANAGER, "thv-registry-deploy"], "the person's value is theirs");
        // Deploying again changes nothing and does not conflict.
        apply(fake.client_as("user"), &plan("default")).await.expect("idempotent");
    }

    #[tokio::test]
    async fn without_the_crd_deploy_says_what_to_install() {
        let fake = thv_kube_fake::FakeApiServer::new();
        let error = apply(fake.client_as("user"), &plan("default")).await.expect_err("no CRD");
        assert_eq!(
            error.to_string(),
            "the cluster has no MCPServer kind (CRD mcpservers.toolhive.stacklok.dev): install ToolHive's operator \
             first, or print the object with --dry-run"
        );
    }

    #[test]
    fn a_dry_run_without_namespace_writes_none() {
        let mut plan = plan("x");
        plan.namespace = None;
        let manifest = plan.manifest("toolhive.stacklok.dev/v1beta1");
        assert!(manifest["metadata"].get("namespace").is_none());
        assert!(manifest["metadata"]["labels"].get("toolhive.stacklok.io/registry-namespace").is_none());
        assert_eq!(manifest["spec"]["env"], json!([{"name": "FETCH_TIMEOUT", "value": "5"}]));
    }
}
