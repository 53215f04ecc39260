//! Hybrid mode: whether a `thv registry` command acts on the local registries (the configuration file and
//! its database), on the cluster's MCPRegistries, or on both. `--local` and `--kube` choose; without them
//! the local registries always count, and the cluster too when a kubeconfig is present and the MCPRegistry
//! CRD is installed (see docs/cli.md#scopes). In auto mode a cluster that fails to answer is skipped with a
//! note on stderr; with `--kube` it is an error.

use std::time::Duration;

use anyhow::bail;
use clap::Args;
use kube::Resource as _;
use thv_operator::McpRegistry;

use crate::kube_client::{self, Cluster};

/// How long auto mode waits for the cluster's discovery answer before it skips the cluster.
pub const AUTO_TIMEOUT: Duration = Duration::from_secs(3);
/// How long `--kube` waits for the cluster's discovery answer before it fails.
pub const KUBE_TIMEOUT: Duration = Duration::from_secs(15);

/// `--local`, `--kube`, `--context`, `--namespace`: where the command acts.
#[derive(Debug, Clone, Default, Args)]
pub struct ScopeArgs {
    /// Only the local registries (the configuration file and its database).
    #[arg(long, conflicts_with_all = ["kube", "context", "namespace"])]
    pub local: bool,
    /// Only the cluster's MCPRegistries, with the kubeconfig's credentials (an unreachable cluster is an error).
    #[arg(long)]
    pub kube: bool,
    /// The kubeconfig context of the cluster (default: the current context).
    #[arg(long, value_name = "CONTEXT")]
    pub context: Option<String>,
    /// The cluster namespace (default: the context's namespace, else `default`).
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
}

/// One namespace of one cluster, as a command acts on it.
#[derive(Clone)]
pub struct ClusterScope {
    /// The client and its context.
    pub cluster: Cluster,
    /// The namespace acted on.
    pub namespace: String,
}

impl ClusterScope {
    /// `kube:<context>/<namespace>`: the SCOPE column of the cluster's rows.
    pub fn label(&self) -> String {
        label(&self.cluster.context, &self.namespace)
    }
}

/// `kube:<context>/<namespace>`.
pub fn label(context: &str, namespace: &str) -> String {
    format!("kube:{context}/{namespace}")
}

/// Where a command acts after detection.
pub struct Targets {
    /// The local registries count.
    pub local: bool,
    /// The cluster counts.
    pub cluster: Option<ClusterScope>,
    /// `--kube` was given: the cluster alone, chosen explicitly.
    pub explicit_kube: bool,
}

impl ScopeArgs {
    /// Detects the targets (see the module docs). Errors only with `--kube`.
    pub async fn resolve(&self) -> anyhow::Result<Targets> {
        if self.local {
            return Ok(Targets { local: true, cluster: None, explicit_kube: false });
        }
        if self.kube {
            let cluster = self.connect(KUBE_TIMEOUT).await?;
            return Ok(Targets { local: false, cluster: Some(cluster), explicit_kube: true });
        }
        if !kube_client::kubeconfig_present() {
            return Ok(Targets { local: true, cluster: None, explicit_kube: false });
        }
        let cluster = match self.connect(AUTO_TIMEOUT).await {
            Ok(cluster) => Some(cluster),
            Err(Skipped::CrdMissing(_)) => None,
            Err(Skipped::Failed(error)) => {
                crate::output::write_stderr(format_args!(
                    "note: local registries only: {error:#} (pass --local to skip the cluster, --kube to require it)"
                ));
                None
            }
        };
        Ok(Targets { local: true, cluster, explicit_kube: false })
    }

    async fn connect(&self, timeout: Duration) -> Result<ClusterScope, Skipped> {
        let cluster = kube_client::connect_cluster(self.context.as_deref()).await.map_err(Skipped::Failed)?;
        let namespace = self.namespace.clone().unwrap_or_else(|| cluster.namespace.clone());
        let scope = ClusterScope { cluster, namespace };
        let group_version = McpRegistry::api_version(&());
        let answer = tokio::time::timeout(timeout, scope.cluster.client.list_api_group_resources(&group_version));
        let context = &scope.cluster.context;
        match answer.await {
            Err(_) => Err(Skipped::Failed(anyhow::anyhow!(
                "the cluster of context {context:?} did not answer within {}",
                humantime::format_duration(timeout)
            ))),
            Ok(Err(kube::Error::Api(status))) if status.code == 404 => Err(Skipped::CrdMissing(anyhow::anyhow!(
                "the MCPRegistry CRD ({group_version}) is not installed in the cluster of context {context:?} \
                 (thv operator crds | kubectl apply --server-side -f -)"
            ))),
            Ok(Err(error)) => Err(Skipped::Failed(
                anyhow::Error::new(error).context(format!("cannot reach the cluster of context {context:?}")),
            )),
            Ok(Ok(resources)) if resources.resources.iter().any(|r| r.name == "mcpregistries") => Ok(scope),
            Ok(Ok(_)) => Err(Skipped::CrdMissing(anyhow::anyhow!(
                "the cluster of context {context:?} serves {group_version} without mcpregistries"
            ))),
        }
    }
}

/// Why auto mode leaves the cluster out.
enum Skipped {
    /// No MCPRegistry CRD: the cluster is not one this CLI acts on (silently skipped).
    CrdMissing(anyhow::Error),
    /// The cluster failed to answer (a note on stderr).
    Failed(anyhow::Error),
}

impl From<Skipped> for anyhow::Error {
    fn from(skipped: Skipped) -> Self {
        match skipped {
            Skipped::CrdMissing(error) | Skipped::Failed(error) => error,
        }
    }
}

/// Where one named registry is.
pub enum Located {
    /// In the local configuration.
    Local,
    /// In the cluster, as this MCPRegistry.
    Cluster(ClusterScope, Box<McpRegistry>),
}

/// Finds the registry `name` among the targets: locally when `local_names` holds it, in the cluster when
/// its namespace has an MCPRegistry of that name. Both → an error asking for `--local` or `--kube`. Without a
/// cluster the local command runs (and says itself when the name is unknown). In auto mode a cluster that
/// cannot be asked (RBAC, network) is left out with a note.
pub async fn locate(targets: &Targets, name: &str, local_names: &[String]) -> anyhow::Result<Located> {
    let Some(scope) = &targets.cluster else { return Ok(Located::Local) };
    let local = targets.local && local_names.iter().any(|n| n == name);
    let remote = match crate::registry::cluster::get(scope, name).await {
        Ok(found) => found,
        Err(error) if targets.explicit_kube => return Err(error),
        Err(error) => {
            crate::output::write_stderr(format_args!("note: not looking in {}: {error:#}", scope.label()));
            None
        }
    };
    match (local, remote) {
        (true, Some(_)) => bail!(
            "registry {name} exists both locally and in {} as an MCPRegistry: pass --local or --kube to choose",
            scope.label()
        ),
        (_, Some(registry)) => Ok(Located::Cluster(scope.clone(), Box::new(registry))),
        (true, None) => Ok(Located::Local),
        (false, None) if targets.local => bail!(
            "no registry named {name}, neither locally nor as an MCPRegistry in {} (thv registry list shows them)",
            scope.label()
        ),
        (false, None) => bail!("no MCPRegistry {name} in {} (thv registry list --kube lists them)", scope.label()),
    }
}

/// Detects the targets of `scope` and finds the registry `name` among them ([`locate`]).
pub async fn find(scope: &ScopeArgs, name: &str, locations: &crate::config::Locations) -> anyhow::Result<Located> {
    let targets = scope.resolve().await?;
    let local_names = if targets.local && targets.cluster.is_some() {
        let config = crate::config::Config::load(&locations.config_file()?)?;
        config.registries.iter().map(|spec| spec.name.clone()).collect()
    } else {
        Vec::new()
    };
    locate(&targets, name, &local_names).await
}
