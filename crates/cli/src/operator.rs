//! `thv operator …` commands: the Kubernetes operator (`run`), a registry's API pod (`api`) and the
//! resources (`crds`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use thv_operator::controller::leader::LeaderSettings;
use thv_operator::controller::workload::ApiPodTemplate;
use thv_operator::controller::{ClusterBackend, OperatorOptions, Settings};

use crate::logging::LogFormat;
use crate::output::outln;

/// The `thv operator` subcommands.
#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Run the operator: sync every MCPRegistry into its storage ConfigMap and run its API; run the
    /// MCPRegistrySyncJobs and MCPRegistryExportJobs.
    #[command(after_help = "In a cluster (in-cluster config) or from a workstation (the current kubeconfig \
        context). The first SIGTERM or SIGINT stops taking new work and lets the syncs in flight finish; a \
        second one exits at once.\n\n\
        Examples:\n  \
        thv operator run                         # all namespaces, one replica\n  \
        thv operator run --namespace team-a      # one namespace (a Role is enough)\n  \
        thv operator run --leader-elect          # several replicas, one reconciles\n  \
        thv operator run --concurrency 4         # four reconciles at once\n  \
        curl -s localhost:8080/readyz; curl -s localhost:8080/metrics\n\n\
        Behaviour, conditions, Events, metrics and RBAC: docs/operator.md.")]
    Run(Box<RunArgs>),
    /// Print the CustomResourceDefinitions (MCPRegistry, MCPRegistrySyncJob, MCPRegistryExportJob) generated
    /// from the operator's types.
    #[command(after_help = "Examples:\n  \
        thv operator crds | kubectl apply --server-side -f -\n  \
        thv operator crds -o json > crds.json\n\n\
        The same YAML is committed as deploy/crds/; `kubectl apply -k deploy/` installs it with the operator.")]
    Crds(CrdsArgs),
    /// Serve one MCPRegistry's stored catalog read-only (the operator's per-registry API pod).
    Api(crate::operator_api::ApiArgs),
}

/// Arguments of `thv operator crds`.
#[derive(Debug, Args)]
pub struct CrdsArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = CrdFormat::Yaml)]
    output: CrdFormat,
}

/// How `thv operator crds` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CrdFormat {
    /// A YAML stream, one document per CRD (for kubectl).
    Yaml,
    /// A JSON array of the CRDs.
    Json,
}

/// Arguments of `thv operator run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Watch MCPRegistries in this namespace only (the operator then needs a Role there, not a ClusterRole).
    /// Default: all namespaces.
    #[arg(long, env = "THV_OPERATOR_NAMESPACE", value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// Where /metrics, /healthz and /readyz listen.
    #[arg(long, env = "THV_METRICS_ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,
    /// Reconciles at once (Flux's default is 2).
    #[arg(long, env = "THV_CONCURRENCY", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// The image of the registries' API pods (`thv operator api`).
    #[arg(long, env = "THV_API_IMAGE", default_value = DEFAULT_API_IMAGE)]
    pub api_image: String,
    /// Git sources cache their clones here.
    #[arg(long, env = "THV_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// This replica's name: the Events' reporting instance and the Lease holder identity [default: the host
    /// name].
    #[arg(long, env = "POD_NAME", value_name = "NAME")]
    pub pod_name: Option<String>,
    /// Log format on stderr (the level from THV_LOG, else RUST_LOG; default info).
    #[arg(long, env = "THV_LOG_FORMAT", value_enum, default_value = "json")]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub leader: LeaderArgs,
}

/// Leader election.
#[derive(Debug, Args)]
#[command(next_help_heading = "Leader election")]
pub struct LeaderArgs {
    /// Take part in a leader election on a Lease: only the holder reconciles, the others wait as standbys.
    #[arg(long, env = "THV_LEADER_ELECT")]
    pub leader_elect: bool,
    /// The Lease's name.
    #[arg(long, env = "THV_LEADER_ELECTION_ID", default_value = "thv-operator")]
    pub leader_election_id: String,
    /// The Lease's namespace [default: the pod's namespace, POD_NAMESPACE].
    #[arg(long, env = "POD_NAMESPACE", value_name = "NAMESPACE")]
    pub leader_election_namespace: Option<String>,
    /// How long the Lease stays valid after its holder's last renewal (a standby takes over after this).
    #[arg(long, env = "THV_LEASE_DURATION", value_parser = lease_duration, default_value = "15s")]
    pub lease_duration: Duration,
}

/// The image `deploy/` installs: the API pods run the operator's own release.
const DEFAULT_API_IMAGE: &str = concat!("ghcr.io/thv-registry/thv-registry:", env!("CARGO_PKG_VERSION"));

fn lease_duration(text: &str) -> Result<Duration, String> {
    thv_model::duration::DurationRange::new(Duration::from_secs(5), Duration::from_secs(300)).parse(text)
}

/// Runs a `thv operator` subcommand.
pub async fn run(cmd: &OperatorCommand, locations: &crate::config::Locations) -> anyhow::Result<ExitCode> {
    match cmd {
        OperatorCommand::Run(args) => run_controller(args, locations).await,
        OperatorCommand::Crds(args) => {
            let text = match args.output {
                CrdFormat::Yaml => thv_operator::crds_yaml()?,
                CrdFormat::Json => thv_operator::crds_json()?,
            };
            outln!("{}", text.trim_end());
            Ok(ExitCode::SUCCESS)
        }
        OperatorCommand::Api(args) => crate::operator_api::run(args, locations).await,
    }
}

async fn run_controller(args: &RunArgs, locations: &crate::config::Locations) -> anyhow::Result<ExitCode> {
    let client = crate::kube_client::connect(None).await?;
    let identity = args.pod_name.clone().unwrap_or_else(host_name);
    let leader = args
        .leader
        .leader_elect
        .then(|| -> anyhow::Result<LeaderSettings> {
            let namespace = args.leader.leader_election_namespace.clone().context(
                "--leader-elect needs the Lease's namespace: set --leader-election-namespace or POD_NAMESPACE",
            )?;
            Ok(LeaderSettings {
                lease_name: args.leader.leader_election_id.clone(),
                namespace,
                identity: identity.clone(),
                lease_duration: args.leader.lease_duration,
                renew_before: args.leader.lease_duration / 3,
            })
        })
        .transpose()?;
    let options = OperatorOptions {
        settings: Settings {
            namespace: args.namespace.clone(),
            concurrency: args.concurrency,
            api: ApiPodTemplate { image: args.api_image.clone() },
            instance: Some(identity),
            job_backoff: Default::default(),
        },
        metrics_addr: args.metrics_addr,
        leader,
    };
    let cache_dir = args.cache_dir.clone().unwrap_or_else(|| locations.cache_dir());
    let backend = Arc::new(ClusterBackend::new(client.clone(), cache_dir));
    thv_operator::controller::run_operator(client, backend, options, first_signal()).await?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Resolves on the first SIGTERM or SIGINT; a second one exits the process at once.
async fn first_signal() {
    crate::registry::serve::shutdown_signal().await;
    tracing::info!("shutting down: finishing the reconciles in flight (a second signal exits at once)");
    tokio::spawn(async {
        crate::registry::serve::shutdown_signal().await;
        tracing::warn!("second signal: exiting");
        std::process::exit(130);
    });
}

fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_owned()))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "thv-operator".to_owned())
}
