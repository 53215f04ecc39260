//! `thv operator api`: the per-registry API pod the operator runs in each registry's `<name>-api`
//! Deployment, or with `--all-registries` the aggregate API of every registry of the namespace (or the
//! cluster). Only the arguments live here; the pods are [`thv_operator::api_pod::ApiPod`] and
//! [`thv_operator::aggregate::AggregateApiPod`].

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use thv_operator::aggregate::{AggregateApiPod, Scope};
use thv_operator::api_pod::ApiPod;

use crate::logging::LogFormat;

/// Arguments of `thv operator api`.
#[derive(Debug, Args)]
#[command(after_help = "Serves one MCPRegistry's stored catalog read-only: it follows the registry's storage \
                        ConfigMap <name>-registry-storage through a watch of the Kubernetes API and serves each \
                        new catalog a moment after the operator writes it. /readyz is 503 until the storage \
                        exists and has been read; /healthz answers once it listens. The operator starts it in \
                        the registry's <name>-api Deployment; it needs get on mcpregistries and list, watch on \
                        configmaps in the namespace. For a registry with storage.type postgres it serves the \
                        PostgreSQL database whose URL is in THV_DATABASE (the Deployment sets it from the \
                        registry's Secret) as a read-only replica, any number of them. Each flag can also come from its environment variable \
                        (POD_NAMESPACE, THV_REGISTRY, THV_LISTEN, ...). SIGTERM or SIGINT stops it \
                        gracefully.\n\n\
                        With --all-registries it serves every MCPRegistry of the namespace (with \
                        --all-namespaces, of the cluster, each as <namespace>.<name>) as one /v0.1 aggregate: \
                        when several registries have a server name, the one with the highest spec.priority \
                        serves it (ties by name); each registry stays under /registry/<name>/v0.1. It follows \
                        the registries and their storage through watches (list, watch on mcpregistries and \
                        configmaps) and is ready once every registry present at start has been read. \
                        Registries with storage.type postgres are left out (logged).\n\n\
                        Examples:\n  \
                        thv operator api --namespace team-a --registry platform\n  \
                        thv operator api --namespace team-a --all-registries\n  \
                        thv operator api --all-registries --all-namespaces\n  \
                        thv operator api --namespace team-a --registry platform \\\n      \
                        --listen 127.0.0.1:8081 --log-format text\n  \
                        curl -s localhost:8080/readyz\n  \
                        curl -s 'localhost:8080/v0.1/servers?limit=2'\n\n\
                        Storage layout and RBAC: docs/operator.md.")]
pub struct ApiArgs {
    /// The namespace of the MCPRegistry (and of its storage ConfigMap); with --all-registries, the
    /// namespace whose registries are served.
    #[arg(long, env = "POD_NAMESPACE", value_name = "NAMESPACE", required_unless_present = "all_namespaces")]
    pub namespace: Option<String>,
    /// The MCPRegistry whose catalog is served.
    #[arg(long, env = "THV_REGISTRY", value_name = "NAME", required_unless_present = "all_registries")]
    pub registry: Option<String>,
    /// Serve every MCPRegistry of the namespace as one aggregate, by spec.priority then name.
    #[arg(long, env = "THV_ALL_REGISTRIES", conflicts_with = "registry")]
    pub all_registries: bool,
    /// With --all-registries: every MCPRegistry of the cluster, each served as <namespace>.<name>.
    #[arg(long, env = "THV_ALL_NAMESPACES", requires = "all_registries")]
    pub all_namespaces: bool,
    /// Address to listen on.
    #[arg(long, env = "THV_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// Log format on stderr (the level from THV_LOG, else RUST_LOG; default info).
    #[arg(long, env = "THV_LOG_FORMAT", value_enum, default_value = "json")]
    pub log_format: LogFormat,
    /// How long a request may take before it is answered 503 (e.g. 30s, 500ms).
    #[arg(long, env = "THV_REQUEST_TIMEOUT", value_parser = humantime::parse_duration, default_value = "30s")]
    pub request_timeout: Duration,
}

/// Runs the API pod until SIGTERM or SIGINT.
pub async fn run(args: &ApiArgs, locations: &crate::config::Locations) -> anyhow::Result<ExitCode> {
    thv_sources::ensure_crypto_provider();
    let client = crate::kube_client::connect(None).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let shutdown = crate::registry::serve::shutdown_signal();
    if args.all_registries {
        let scope = match (&args.namespace, args.all_namespaces) {
            (_, true) => Scope::Cluster,
            (Some(namespace), false) => Scope::Namespace(namespace.clone()),
            (None, false) => {
                anyhow::bail!("--all-registries serves one namespace: give --namespace, or --all-namespaces")
            }
        };
        let mut pod = AggregateApiPod::new(scope);
        pod.http.request_timeout = args.request_timeout;
        tracing::info!(scope = ?pod.scope, listen = %args.listen, "serving the aggregate of the registries");
        pod.run(client, listener, shutdown).await?;
    } else {
        let (Some(namespace), Some(registry)) = (&args.namespace, &args.registry) else {
            anyhow::bail!("give --namespace and --registry, or --all-registries");
        };
        let mut pod = ApiPod::new(namespace, registry);
        pod.http.request_timeout = args.request_timeout;
        pod.database = database(locations)?;
        tracing::info!(namespace = %namespace, registry = %registry, listen = %args.listen, "serving");
        pod.run(client, listener, shutdown).await?;
    }
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// The PostgreSQL database of a `storage.type: postgres` registry, when THV_DATABASE (or --database) names
/// one, with the password rules of every command (`crate::store::location`).
fn database(locations: &crate::config::Locations) -> anyhow::Result<Option<thv_store::PostgresUrl>> {
    if locations.database().1 == crate::config::DatabaseSource::Default {
        return Ok(None);
    }
    match crate::store::location(locations)? {
        thv_store::StoreLocation::Postgres(url) => Ok(Some(url)),
        thv_store::StoreLocation::Sqlite(path) => anyhow::bail!(
            "thv operator api serves a ConfigMap or a PostgreSQL storage, not the SQLite file {}; unset \
             THV_DATABASE or give a postgres:// URL",
            path.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::ApiArgs;

    #[derive(Debug, Parser)]
    struct Api {
        #[command(flatten)]
        args: ApiArgs,
    }

    #[test]
    fn the_deployment_arguments_parse() {
        // What the operator's API Deployment passes (crates/operator/src/controller/workload.rs).
        let parsed =
            Api::try_parse_from(["api", "--namespace", "team-a", "--registry", "platform", "--listen", "0.0.0.0:8080"])
                .expect("the Deployment's arguments");
        assert_eq!(parsed.args.namespace.as_deref(), Some("team-a"));
        assert_eq!(parsed.args.registry.as_deref(), Some("platform"));
        assert_eq!(parsed.args.listen.to_string(), "0.0.0.0:8080");
    }

    /// The container arguments of the Deployment in `deploy/<relative>`, `$(POD_NAMESPACE)` as the kubelet
    /// expands it.
    fn manifest_args(relative: &str, namespace: &str) -> Vec<String> {
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy").join(relative);
        let text = std::fs::read_to_string(&path).expect("the manifest");
        let deployment: serde_json::Value = serde_saphyr::from_str(&text).expect("YAML");
        let args = deployment["spec"]["template"]["spec"]["containers"][0]["args"].as_array().expect("args").clone();
        let args = args.iter().map(|a| a.as_str().expect("a string").replace("$(POD_NAMESPACE)", namespace));
        std::iter::once("api".to_owned()).chain(args.skip(2)).collect()
    }

    #[test]
    fn the_aggregate_takes_a_namespace_or_the_cluster_and_no_registry() {
        let parsed =
            Api::try_parse_from(manifest_args("aggregate/deployment.yaml", "team-a")).expect("deploy/aggregate");
        assert!(parsed.args.all_registries && !parsed.args.all_namespaces);
        assert_eq!(parsed.args.namespace.as_deref(), Some("team-a"));
        // What components/aggregate-cluster replaces them with.
        let parsed = Api::try_parse_from(["api", "--all-registries", "--all-namespaces", "--listen=0.0.0.0:8080"])
            .expect("cluster");
        assert!(parsed.args.all_namespaces && parsed.args.namespace.is_none());
        let both = Api::try_parse_from(["api", "--namespace", "a", "--registry", "r", "--all-registries"]);
        assert!(both.is_err(), "one registry or all of them");
        assert!(Api::try_parse_from(["api", "--namespace", "a", "--all-namespaces"]).is_err());
    }

    #[test]
    fn the_deployment_passes_the_database_in_the_variable_every_command_reads() {
        // The operator's API Deployment sets it from the Secret (secretKeyRef); `database` reads it here.
        assert_eq!(thv_operator::controller::workload::DATABASE_ENV, crate::config::DATABASE_ENV);
    }
}
