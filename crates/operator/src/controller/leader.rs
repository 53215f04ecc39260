//! Leader election on a `coordination.k8s.io/v1` Lease (kube-lease-manager): with `--leader-elect`, only the
//! replica holding the Lease reconciles; the others wait as standbys and take over when the holder stops
//! renewing it (after the lease duration) or releases it on shutdown.

use std::time::Duration;

use kube::Client;
use kube_lease_manager::{LeaseManagerBuilder, LeaseManagerError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How to take part in the election.
#[derive(Debug, Clone)]
pub struct LeaderSettings {
    /// The Lease's name.
    pub lease_name: String,
    /// The Lease's namespace (the operator's own).
    pub namespace: String,
    /// This replica's identity (the pod name).
    pub identity: String,
    /// How long a lease is valid after its last renewal.
    pub lease_duration: Duration,
    /// How long before expiry the holder renews it.
    pub renew_before: Duration,
}

/// The election could not start.
#[derive(Debug, thiserror::Error)]
#[error("leader election on Lease {namespace}/{lease}: {source}")]
pub struct LeaderError {
    namespace: String,
    lease: String,
    #[source]
    source: LeaseManagerError,
}

/// This replica's place in the election.
pub struct Leadership {
    state: watch::Receiver<bool>,
    task: JoinHandle<Result<kube_lease_manager::LeaseManager, LeaseManagerError>>,
}

/// Joins the election: the Lease is created when missing, then renewed while held.
pub async fn join(client: Client, settings: &LeaderSettings) -> Result<Leadership, LeaderError> {
    let error =
        |source| LeaderError { namespace: settings.namespace.clone(), lease: settings.lease_name.clone(), source };
    let manager = LeaseManagerBuilder::new(client, &settings.lease_name)
        .with_namespace(&settings.namespace)
        .with_identity(&settings.identity)
        .with_duration(settings.lease_duration.as_secs().max(2))
        .with_grace(settings.renew_before.as_secs().max(1))
        .with_field_manager(super::FIELD_MANAGER)
        .build()
        .await
        .map_err(error)?;
    let (state, task) = manager.watch().await;
    Ok(Leadership { state, task })
}

impl Leadership {
    /// Waits until this replica holds the Lease. `false` when the election stopped first.
    pub async fn acquired(&mut self) -> bool {
        self.state.wait_for(|leading| *leading).await.is_ok()
    }

    /// Waits until this replica no longer holds the Lease (another took it over, or renewing failed).
    pub async fn lost(&mut self) {
        let _ = self.state.wait_for(|leading| !*leading).await;
    }

    /// Leaves the election, releasing the Lease if held, so a standby takes over at once.
    pub async fn step_down(self) {
        drop(self.state);
        let _ = self.task.await;
    }
}
