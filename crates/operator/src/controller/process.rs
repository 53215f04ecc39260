//! The operator process (`thv operator run`): the admin endpoints, the leader election and the controller,
//! with a graceful shutdown.
//!
//! 1. `/metrics`, `/healthz` and `/readyz` are served from the start (a standby replica is ready: it waits);
//! 2. with leader election, the replica waits for the Lease;
//! 3. the controller runs until the shutdown signal (then the reconciles in flight finish) or until the
//!    Lease is lost (then the process ends with [`OperatorError::LostLeadership`], so Kubernetes restarts
//!    it as a standby and no two replicas reconcile at once);
//! 4. on a clean shutdown the Lease is released, so a standby takes over at once.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::{self, Either};
use tokio::sync::watch;
use tracing::info;

use super::leader::{self, LeaderError, LeaderSettings};
use super::metrics::Metrics;
use super::{Backend, Context, Readiness, Settings, admin, run};

/// What `thv operator run` was asked to do.
#[derive(Debug, Clone)]
pub struct OperatorOptions {
    /// The controller's settings.
    pub settings: Settings,
    /// Where `/metrics`, `/healthz` and `/readyz` listen.
    pub metrics_addr: SocketAddr,
    /// Take part in a leader election (`None`: always lead).
    pub leader: Option<LeaderSettings>,
}

/// Why the operator stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// The admin endpoints could not listen.
    #[error("cannot listen on {addr} for /metrics, /healthz and /readyz: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The leader election could not start.
    #[error(transparent)]
    Leader(#[from] LeaderError),
    /// Another replica took the Lease over (or renewing it failed): this one stopped reconciling.
    #[error("lost the leader election Lease {namespace}/{lease}; stopping so that only the new leader reconciles")]
    LostLeadership {
        /// The Lease's namespace.
        namespace: String,
        /// The Lease's name.
        lease: String,
    },
}

/// Runs the operator until `shutdown` resolves (or the leadership is lost).
pub async fn run_operator(
    client: kube::Client,
    backend: Arc<dyn Backend>,
    options: OperatorOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), OperatorError> {
    let metrics = Arc::new(Metrics::new());
    let readiness = Arc::new(Readiness::default());
    let listener = tokio::net::TcpListener::bind(options.metrics_addr)
        .await
        .map_err(|source| OperatorError::Bind { addr: options.metrics_addr, source })?;
    info!(addr = %options.metrics_addr, "serving /metrics, /healthz and /readyz");
    let (stopped, admin_stop) = watch::channel(false);
    let admin = tokio::spawn(admin::serve(listener, Arc::clone(&metrics), Arc::clone(&readiness), async move {
        let mut admin_stop = admin_stop;
        let _ = admin_stop.wait_for(|stop| *stop).await;
    }));
    let shutdown = shutdown.shared();

    let mut leadership = None;
    if let Some(settings) = &options.leader {
        readiness.set_standby(true);
        metrics.set_leader(false);
        info!(
            lease = settings.lease_name,
            namespace = settings.namespace,
            identity = settings.identity,
            "waiting for the leader election"
        );
        let mut joined = leader::join(client.clone(), settings).await?;
        let acquired = tokio::select! {
            acquired = joined.acquired() => acquired,
            () = shutdown.clone() => false,
        };
        if !acquired {
            joined.step_down().await;
            let _ = stopped.send(true);
            let _ = admin.await;
            return Ok(());
        }
        info!(identity = settings.identity, "leading");
        leadership = Some(joined);
    }
    readiness.set_standby(false);
    metrics.set_leader(true);

    let ctx = Arc::new(Context::new(client, backend, options.settings.clone(), Arc::clone(&metrics)));
    let (lost_tx, lost_rx) = tokio::sync::oneshot::channel::<()>();
    let lease_shutdown = shutdown.clone();
    let watch_lease = match leadership {
        Some(mut joined) => Either::Left(async move {
            let lost = tokio::select! {
                () = joined.lost() => true,
                () = lease_shutdown => false,
            };
            if lost {
                let _ = lost_tx.send(());
            }
            Some((joined, lost))
        }),
        None => Either::Right(future::ready(None)),
    };
    let lease_task = tokio::spawn(watch_lease);
    let stop = async move {
        tokio::select! {
            () = shutdown => {}
            // Without an election the sender is dropped at once: that branch is then disabled.
            Ok(()) = lost_rx => {}
        }
    };
    info!(namespace = options.settings.namespace.as_deref().unwrap_or("(all)"), "controller started");
    run(ctx, readiness, stop).await;
    info!("controller stopped");
    metrics.set_leader(false);
    let outcome = match lease_task.await.ok().flatten() {
        Some((_, true)) => {
            let settings = options.leader.as_ref();
            Err(OperatorError::LostLeadership {
                namespace: settings.map(|s| s.namespace.clone()).unwrap_or_default(),
                lease: settings.map(|s| s.lease_name.clone()).unwrap_or_default(),
            })
        }
        Some((joined, false)) => {
            joined.step_down().await;
            Ok(())
        }
        None => Ok(()),
    };
    let _ = stopped.send(true);
    let _ = admin.await;
    outcome
}
