//! The API server as a library entry point: what `thv registry serve` runs, and what the operator's
//! per-registry API pods run.
//!
//! [`ServerBuilder`] takes the store, the registry specs, who may call the API ([`AuthConfig`]) and the HTTP
//! limits ([`HttpOptions`]); [`ServerBuilder::start`] loads the stored catalogs and marks the server ready;
//! [`Server::run`] serves a listener until a shutdown future resolves. Two modes:
//!
//! - **with a scheduler** ([`ServerBuilder::scheduler`]): the process syncs each registry on its schedule
//!   and serves the new catalog as soon as a sync commits it; every sync is logged and counted in the
//!   metrics. This is `thv registry serve`.
//! - **read-only replica** (the default): no sync runs here. Something outside knows when the store
//!   changed (the operator's storage watch, later PostgreSQL `LISTEN`) and says so through a
//!   [`ReloadHandle`]; the server then reloads the catalogs from the store and serves them.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use thv_store::{Store, StoreError, SyncOutcome};
use thv_sync::{RegistrySpec, Scheduler, SyncReport};
use tokio::net::TcpListener;
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;

use crate::auth::AuthConfig;
use crate::routes::{HttpOptions, router_with};
use crate::snapshot::Snapshot;
use crate::state::AppState;

/// Why the server cannot start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The stored catalogs could not be loaded at start.
    #[error("loading the stored catalogs: {0}")]
    Load(#[source] StoreError),
    /// The listener failed.
    #[error("serving HTTP: {0}")]
    Serve(#[source] std::io::Error),
}

/// Settings of a [`Server`]; see the module documentation for the two modes.
pub struct ServerBuilder {
    store: Arc<dyn Store>,
    registries: Vec<RegistrySpec>,
    auth: AuthConfig,
    http: HttpOptions,
    /// Where sources keep their caches, when this process syncs.
    sync_cache: Option<PathBuf>,
}

impl ServerBuilder {
    /// A read-only replica serving `registries` (in config order: the first one wins a name in the
    /// aggregate) from `store`, with anonymous reads, no writes and the default HTTP limits.
    pub fn new(store: Arc<dyn Store>, registries: Vec<RegistrySpec>) -> Self {
        Self { store, registries, auth: AuthConfig::default(), http: HttpOptions::default(), sync_cache: None }
    }

    /// Who may call the API.
    pub fn auth(mut self, auth: AuthConfig) -> Self {
        self.auth = auth;
        self
    }

    /// Timeouts and body limit of every request.
    pub fn http_options(mut self, options: HttpOptions) -> Self {
        self.http = options;
        self
    }

    /// Runs the sync scheduler in this process (sources cache under `cache_dir`), and serves each committed
    /// sync at once; `POST /api/v1/registries/{registry}/sync` works only in this mode.
    pub fn scheduler(mut self, cache_dir: PathBuf) -> Self {
        self.sync_cache = Some(cache_dir);
        self
    }

    /// Loads the stored catalogs, starts the scheduler (when asked for) and marks the server ready.
    /// Must be called within a Tokio runtime.
    pub async fn start(self) -> Result<Server, ServerError> {
        let state = AppState::new(Snapshot::default());
        state.set_store(Arc::clone(&self.store));
        state.set_registries(self.registries.clone());
        state.set_auth(self.auth);
        state.reload().await.map_err(ServerError::Load)?;

        let mut tasks = Vec::new();
        let scheduler = self.sync_cache.map(|cache_dir| {
            let scheduler = Scheduler::start(self.registries.clone(), Arc::clone(&self.store), cache_dir);
            state.set_scheduler(scheduler.handle());
            tasks.push(tokio::spawn(follow_syncs(scheduler.subscribe(), state.clone())));
            scheduler
        });
        let wanted = Arc::new(Notify::new());
        tasks.push(tokio::spawn(reload_when_asked(Arc::clone(&wanted), state.clone())));
        state.set_ready(true);
        let reload = ReloadHandle { wanted, state: state.clone() };
        Ok(Server { state, scheduler, tasks, reload, http: self.http, registries: self.registries.len() })
    }
}

/// A started server: ready, its catalogs loaded. Serve it with [`Server::run`].
pub struct Server {
    state: AppState,
    scheduler: Option<Scheduler>,
    tasks: Vec<JoinHandle<()>>,
    reload: ReloadHandle,
    http: HttpOptions,
    registries: usize,
}

impl Server {
    /// The state the handlers share (snapshot, readiness, metrics).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Tells the server that the store changed; cloneable, usable from any task.
    pub fn reload_handle(&self) -> ReloadHandle {
        self.reload.clone()
    }

    /// The router with every route and HTTP layer, for callers that serve it themselves.
    pub fn router(&self) -> Router {
        router_with(self.state.clone(), self.http)
    }

    /// Serves `listener` until `shutdown` resolves, lets requests in flight finish, then stops the
    /// scheduler (after the sync step it is in) and the reload tasks.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let address = listener.local_addr().map_err(ServerError::Serve)?;
        let mode = if self.scheduler.is_some() { "scheduler" } else { "read-only" };
        tracing::info!(registries = self.registries, address = %format!("http://{address}"), mode, "serving");
        let served = axum::serve(listener, self.router()).with_graceful_shutdown(shutdown).await;
        tracing::info!("shutting down");
        if let Some(scheduler) = self.scheduler {
            scheduler.stop().await;
        }
        for task in self.tasks {
            task.abort();
        }
        served.map_err(ServerError::Serve)
    }
}

/// Asks a [`Server`] to reload its catalogs from the store.
#[derive(Debug, Clone)]
pub struct ReloadHandle {
    wanted: Arc<Notify>,
    state: AppState,
}

impl ReloadHandle {
    /// Asks for a reload and returns at once. Requests made while one is pending are served by one reload,
    /// which starts after the last of them, so it sees every change they announced. A failed reload is
    /// logged and the previous catalogs stay served.
    pub fn request(&self) {
        self.wanted.notify_one();
    }

    /// Reloads now and returns once the new catalogs are served (or why they could not be loaded; the
    /// previous ones stay served).
    pub async fn reload(&self) -> Result<(), StoreError> {
        self.state.reload().await
    }
}

/// Serves a reload for each (coalesced) request.
async fn reload_when_asked(wanted: Arc<Notify>, state: AppState) {
    loop {
        wanted.notified().await;
        match state.reload().await {
            Ok(()) => tracing::info!(registries = state.registries().len(), "catalogs reloaded on request"),
            Err(e) => tracing::error!(error = %e, "reloading the catalogs failed, still serving the previous ones"),
        }
    }
}

/// Logs and counts every sync the scheduler reports, and serves the catalog of each one that committed.
async fn follow_syncs(mut reports: broadcast::Receiver<SyncReport>, state: AppState) {
    loop {
        let report = match reports.recv().await {
            Ok(report) => report,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        state.metrics().record_sync(
            &report.registry,
            report.outcome.as_str(),
            report.duration.as_secs_f64(),
            report.counts.total,
            jiff::Timestamp::now().as_second(),
        );
        if report.outcome == SyncOutcome::Failed {
            tracing::warn!(
                registry = %report.registry,
                outcome = report.outcome.as_str(),
                duration_ms = millis(report.duration),
                error = report.error.as_deref().unwrap_or(""),
                "sync failed, still serving the registry's last good catalog"
            );
            continue;
        }
        tracing::info!(
            registry = %report.registry,
            outcome = report.outcome.as_str(),
            duration_ms = millis(report.duration),
            servers = report.counts.total,
            "sync finished"
        );
        if report.outcome == SyncOutcome::Success
            && let Err(e) = state.reload().await
        {
            tracing::error!(
                registry = %report.registry,
                error = %e,
                "reloading the catalogs after a sync failed, still serving the previous ones"
            );
        }
    }
}

/// `duration` in whole milliseconds, for log fields.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
