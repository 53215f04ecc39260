//! Reaching a Kubernetes cluster from the CLI with the user's own credentials: the kubeconfig (`KUBECONFIG`,
//! else `~/.kube/config`) and one of its contexts, or the in-cluster service account. Cluster RBAC then
//! decides what each person may do. Every command that talks to a cluster connects here; the namespace of
//! the context (or the pod) is the client's `default_namespace()`.

use anyhow::Context as _;
use kube::config::{KubeConfigOptions, Kubeconfig};

/// The name [`Cluster::context`] has when the CLI runs in a pod without a kubeconfig.
pub const IN_CLUSTER: &str = "in-cluster";

/// A client of one cluster, with the kubeconfig context it came from.
#[derive(Clone)]
pub struct Cluster {
    /// The client, with the user's credentials.
    pub client: kube::Client,
    /// The kubeconfig context's name ([`IN_CLUSTER`] for the pod's service account).
    pub context: String,
    /// The context's namespace (`default` when it names none).
    pub namespace: String,
}

/// Whether a kubeconfig file is there to read: `KUBECONFIG` names at least one existing file, or (without
/// `KUBECONFIG`) `~/.kube/config` exists.
pub fn kubeconfig_present() -> bool {
    match std::env::var_os("KUBECONFIG").filter(|value| !value.is_empty()) {
        Some(paths) => std::env::split_paths(&paths).any(|path| path.is_file()),
        None => std::env::home_dir().is_some_and(|home| home.join(".kube").join("config").is_file()),
    }
}

/// Connects to the cluster of `context` (the kubeconfig's current context when `None`); without a
/// kubeconfig, and without a context asked for, the in-cluster configuration.
pub async fn connect(context: Option<&str>) -> anyhow::Result<kube::Client> {
    connect_cluster(context).await.map(|cluster| cluster.client)
}

/// [`connect`], keeping the context's name and namespace.
pub async fn connect_cluster(context: Option<&str>) -> anyhow::Result<Cluster> {
    if !kubeconfig_present() && context.is_none() {
        let config = kube::Config::incluster()
            .context("cannot reach the Kubernetes API (no usable kubeconfig or KUBECONFIG, not in a pod)")?;
        return cluster(config, IN_CLUSTER.to_owned());
    }
    let kubeconfig = Kubeconfig::read().context("cannot read the kubeconfig (KUBECONFIG, else ~/.kube/config)")?;
    let name = match context {
        Some(name) => name.to_owned(),
        None => kubeconfig.current_context.clone().context("the kubeconfig has no current-context (pass --context)")?,
    };
    let options = KubeConfigOptions { context: Some(name.clone()), ..KubeConfigOptions::default() };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .with_context(|| format!("cannot use the kubeconfig context {name:?}"))?;
    cluster(config, name)
}

fn cluster(config: kube::Config, context: String) -> anyhow::Result<Cluster> {
    let namespace = config.default_namespace.clone();
    let client = kube::Client::try_from(config).context("cannot build a Kubernetes client from the kubeconfig")?;
    Ok(Cluster { client, context, namespace })
}
