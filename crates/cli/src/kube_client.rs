//! Reaching a Kubernetes cluster from the CLI with the user's own credentials: the kubeconfig (`KUBECONFIG`,
//! else `~/.kube/config`) and one of its contexts, or the in-cluster service account. Cluster RBAC then
//! decides what each person may do. Every command that talks to a cluster connects here; the namespace of
//! the context (or the pod) is the client's `default_namespace()`.

use anyhow::Context as _;
use kube::config::KubeConfigOptions;

/// Connects to the cluster of `context` (the kubeconfig's current context when `None`); without a
/// kubeconfig, and without a context asked for, the in-cluster configuration.
pub async fn connect(context: Option<&str>) -> anyhow::Result<kube::Client> {
    let config = match context {
        Some(name) => {
            let options = KubeConfigOptions { context: Some(name.to_owned()), ..KubeConfigOptions::default() };
            kube::Config::from_kubeconfig(&options)
                .await
                .with_context(|| format!("cannot use the kubeconfig context {name:?}"))?
        }
        None => kube::Config::infer()
            .await
            .context("cannot reach the Kubernetes API (no usable kubeconfig or KUBECONFIG, not in a pod)")?,
    };
    kube::Client::try_from(config).context("cannot build a Kubernetes client from the kubeconfig")
}
