//! `thv operator api`: the per-registry API pod the operator runs in each registry's `<name>-api`
//! Deployment. Only the arguments live here; the pod is [`thv_operator::api_pod::ApiPod`].

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
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
                        Examples:\n  \
                        thv operator api --namespace team-a --registry platform\n  \
                        thv operator api --namespace team-a --registry platform \\\n      \
                        --listen 127.0.0.1:8081 --log-format text\n  \
                        curl -s localhost:8080/readyz\n  \
                        curl -s 'localhost:8080/v0.1/servers?limit=2'\n\n\
                        Storage layout and RBAC: docs/operator.md.")]
pub struct ApiArgs {
    /// The namespace of the MCPRegistry (and of its storage ConfigMap).
    #[arg(long, env = "POD_NAMESPACE", value_name = "NAMESPACE")]
    pub namespace: String,
    /// The MCPRegistry whose catalog is served.
    #[arg(long, env = "THV_REGISTRY", value_name = "NAME")]
    pub registry: String,
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
    let mut pod = ApiPod::new(&args.namespace, &args.registry);
    pod.http.request_timeout = args.request_timeout;
    pod.database = database(locations)?;
    tracing::info!(namespace = %args.namespace, registry = %args.registry, listen = %args.listen, "serving");
    pod.run(client, listener, crate::registry::serve::shutdown_signal()).await?;
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
        assert_eq!(parsed.args.namespace, "team-a");
        assert_eq!(parsed.args.registry, "platform");
        assert_eq!(parsed.args.listen.to_string(), "0.0.0.0:8080");
    }

    #[test]
    fn the_deployment_passes_the_database_in_the_variable_every_command_reads() {
        // The operator's API Deployment sets it from the Secret (secretKeyRef); `database` reads it here.
        assert_eq!(thv_operator::controller::workload::DATABASE_ENV, crate::config::DATABASE_ENV);
    }
}
