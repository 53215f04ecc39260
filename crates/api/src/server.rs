//! The API server as a library entry point: what `thv registry serve` runs, and what the operator's
//! per-registry API pods run.
//!
//! [`ServerBuilder`] takes the store, the registry specs, who may call the API ([`AuthConfig`]), the HTTP
//! limits ([`HttpOptions`]) and the connection limits ([`ConnectionLimits`]); [`ServerBuilder::start`] loads
//! the stored catalogs and marks the server ready; [`Server::run`] serves a listener until a shutdown future
//! resolves ([`crate::listener::serve`]). Two modes:
//!
//! - **with a scheduler** ([`ServerBuilder::scheduler`]): the process syncs each registry whose sync lease
//!   it holds (one replica per registry when several serve one database) and serves the new catalog as
//!   soon as a sync commits it; every sync is logged and counted in the metrics, and so is which leases
//!   it holds (`thv_sync_lease_held`). A manual sync asked of it runs here or by the lease holder. This
//!   is `thv registry serve`.
//! - **read-only replica** (the default): no sync runs here. Something outside says the store changed
//!   (the operator's storage watch) through a [`ReloadHandle`]; the server then reloads the catalogs from
//!   the store and serves them.
//!
//! In both modes the server follows the store: every commit made elsewhere is served within moments where
//! the store pushes events (PostgreSQL `LISTEN`/`NOTIFY`, reconnecting after a lost connection), and
//! within [`ServerBuilder::catalog_poll_interval`] everywhere (a cheap comparison of catalog versions);
//! a reload happens only when a catalog version changed. The sync requests other replicas make wake the
//! scheduler at once.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use thv_store::{EventFeed, Store, StoreError, StoreEvent, SyncOutcome};
use thv_sync::{HeldLeases, RegistrySpec, Scheduler, SchedulerHandle, SyncReport};
use tokio::net::TcpListener;
use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinHandle;

use crate::auth::AuthConfig;
use crate::listener::ConnectionLimits;
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
    connections: ConnectionLimits,
    /// Where sources keep their caches, when this process syncs.
    sync_cache: Option<PathBuf>,
    replica_id: String,
    catalog_poll: Duration,
}

/// How often a server compares the store's catalog versions with those it serves, by default.
pub const DEFAULT_CATALOG_POLL: Duration = Duration::from_secs(30);

/// The longest wait before the event feed is opened again after an error.
const MAX_FEED_RETRY: Duration = Duration::from_secs(30);

impl ServerBuilder {
    /// A read-only replica serving `registries` (in config order: the first one wins a name in the
    /// aggregate) from `store`, with anonymous reads, no writes and the default HTTP and connection limits.
    pub fn new(store: Arc<dyn Store>, registries: Vec<RegistrySpec>) -> Self {
        Self {
            store,
            registries,
            auth: AuthConfig::default(),
            http: HttpOptions::default(),
            connections: ConnectionLimits::default(),
            sync_cache: None,
            replica_id: thv_sync::default_replica_id(),
            catalog_poll: DEFAULT_CATALOG_POLL,
        }
    }

    /// This replica's id, unique among the processes serving the store: the holder named in sync leases
    /// and the `replica` label of the lease metric. Default [`thv_sync::default_replica_id`].
    pub fn replica_id(mut self, id: impl Into<String>) -> Self {
        self.replica_id = id.into();
        self
    }

    /// How often the store's catalog versions are compared with the served ones (the fallback when no
    /// change event comes, and the only way for stores that push none); default [`DEFAULT_CATALOG_POLL`].
    pub fn catalog_poll_interval(mut self, every: Duration) -> Self {
        self.catalog_poll = every.max(Duration::from_millis(100));
        self
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

    /// Connection timeouts and cap.
    pub fn connection_limits(mut self, limits: ConnectionLimits) -> Self {
        self.connections = limits;
        self
    }

    /// Runs the sync scheduler in this process (sources cache under `cache_dir`), and serves each committed
    /// sync at once; `POST /api/v1/registries/{registry}/sync` works only in this mode.
    pub fn scheduler(mut self, cache_dir: PathBuf) -> Self {
        self.sync_cache = Some(cache_dir);
        self
    }

    /// Loads the stored catalogs, starts the scheduler (when asked for) and the store follower, and marks
    /// the server ready. Must be called within a Tokio runtime.
    pub async fn start(self) -> Result<Server, ServerError> {
        let state = AppState::new(Snapshot::default());
        state.set_store(Arc::clone(&self.store));
        state.set_registries(self.registries.clone());
        state.set_auth(self.auth);
        // Listening before the first load, so that no commit falls between the two unseen.
        let feed = self.store.events().await;
        state.reload().await.map_err(ServerError::Load)?;

        let mut tasks = Vec::new();
        let scheduler = self.sync_cache.map(|cache_dir| {
            let scheduler = Scheduler::start_as(
                self.registries.clone(),
                Arc::clone(&self.store),
                cache_dir,
                self.replica_id.clone(),
            );
            state.set_scheduler(scheduler.handle());
            tasks.push(tokio::spawn(follow_syncs(scheduler.subscribe(), state.clone())));
            tasks.push(tokio::spawn(follow_leases(scheduler.leases(), state.clone(), self.replica_id.clone())));
            scheduler
        });
        let wanted = Arc::new(Notify::new());
        tasks.push(tokio::spawn(reload_when_asked(Arc::clone(&wanted), state.clone())));
        let changed = Arc::new(Notify::new());
        tasks.push(tokio::spawn(reload_when_changed(Arc::clone(&changed), state.clone())));
        let follower = StoreFollower {
            store: Arc::clone(&self.store),
            changed,
            scheduler: scheduler.as_ref().map(Scheduler::handle),
            poll: self.catalog_poll,
        };
        tasks.push(tokio::spawn(follower.run(feed)));
        state.set_ready(true);
        let reload = ReloadHandle { wanted, state: state.clone() };
        let registries = self.registries.len();
        Ok(Server { state, scheduler, tasks, reload, http: self.http, connections: self.connections, registries })
    }
}

/// A started server: ready, its catalogs loaded. Serve it with [`Server::run`].
pub struct Server {
    state: AppState,
    scheduler: Option<Scheduler>,
    tasks: Vec<JoinHandle<()>>,
    reload: ReloadHandle,
    http: HttpOptions,
    connections: ConnectionLimits,
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

    /// Serves `listener` under the connection limits until `shutdown` resolves, lets requests in flight
    /// finish, then stops the scheduler (a sync in progress gets [`thv_sync::STOP_GRACE`] to finish) and the
    /// reload tasks.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let address = listener.local_addr().map_err(ServerError::Serve)?;
        let mode = if self.scheduler.is_some() { "scheduler" } else { "read-only" };
        tracing::info!(registries = self.registries, address = %format!("http://{address}"), mode, "serving");
        let connections = self.state.metrics().connections().clone();
        crate::listener::serve(listener, self.router(), self.connections, connections, shutdown).await;
        tracing::info!("shutting down");
        if let Some(scheduler) = self.scheduler {
            let abandoned = scheduler.stop().await;
            if !abandoned.is_empty() {
                tracing::warn!(
                    registries = %abandoned.join(", "),
                    grace_s = thv_sync::STOP_GRACE.as_secs(),
                    "abandoned the syncs still running at shutdown; nothing of them is committed"
                );
            }
        }
        for task in self.tasks {
            task.abort();
        }
        Ok(())
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

/// Reloads, for each (coalesced) sign of a change, when a catalog version changed.
async fn reload_when_changed(changed: Arc<Notify>, state: AppState) {
    loop {
        changed.notified().await;
        let started = std::time::Instant::now();
        match state.reload_if_changed().await {
            Ok(true) => tracing::info!(
                registries = state.registries().len(),
                duration_ms = millis(started.elapsed()),
                "catalogs reloaded: a sync committed elsewhere"
            ),
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "reloading the catalogs failed, still serving the previous ones"),
        }
    }
}

/// Follows what other processes do to the store: change events where the store pushes them, and a
/// comparison of catalog versions every `poll`.
struct StoreFollower {
    store: Arc<dyn Store>,
    /// Signals [`reload_when_changed`].
    changed: Arc<Notify>,
    /// Woken when another replica asks for a sync.
    scheduler: Option<SchedulerHandle>,
    poll: Duration,
}

impl StoreFollower {
    /// Follows `opened`, the store's feed (listening since before the catalogs were loaded).
    async fn run(self, opened: Result<Option<Box<dyn EventFeed>>, StoreError>) {
        // `None` for stores that push no events, or while the feed cannot be opened (tried again at each
        // poll).
        let mut feed_down = false;
        if let Err(e) = &opened {
            tracing::warn!(
                error = %e,
                poll_ms = millis(self.poll),
                "cannot listen for the database's change notifications; comparing catalog versions until it can"
            );
            feed_down = true;
        }
        let mut feed = opened.unwrap_or(None);
        let mut retry = Duration::from_secs(1);
        // After a feed error: when to try it again.
        let mut paused_until = None;
        let mut poll = tokio::time::interval(self.poll);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        poll.tick().await; // The first tick is immediate; the catalogs were just loaded.
        loop {
            tokio::select! {
                event = next_event(&mut feed, paused_until) => match event {
                    Ok(event) => {
                        (retry, paused_until) = (Duration::from_secs(1), None);
                        self.handle(event);
                    }
                    Err(e) => {
                        tracing::warn!(
                            error = %e,
                            retry_in_ms = millis(retry),
                            poll_ms = millis(self.poll),
                            "lost the database's change notifications; comparing catalog versions until they are back"
                        );
                        paused_until = Some(tokio::time::Instant::now() + retry);
                        retry = (retry * 2).min(MAX_FEED_RETRY);
                    }
                },
                _ = poll.tick() => {
                    self.changed.notify_one();
                    // Sync requests of other replicas, where the store pushes no events.
                    self.wake(None);
                    if feed_down && let Ok(opened) = self.open_feed().await {
                        tracing::info!("listening for the database's change notifications");
                        (feed, feed_down) = (opened, false);
                        // Commits made before it listened: one look.
                        self.changed.notify_one();
                    }
                }
            }
        }
    }

    /// The store's event feed; `None` for stores that push none.
    async fn open_feed(&self) -> Result<Option<Box<dyn EventFeed>>, StoreError> {
        self.store.events().await
    }

    fn handle(&self, event: StoreEvent) {
        match event {
            StoreEvent::CatalogChanged(_) => self.changed.notify_one(),
            StoreEvent::SyncRequested(registry) => self.wake(registry.as_deref()),
            StoreEvent::Missed => {
                tracing::info!("the database's change notifications are back; checking every catalog");
                self.changed.notify_one();
                self.wake(None);
            }
        }
    }

    fn wake(&self, registry: Option<&str>) {
        if let Some(scheduler) = &self.scheduler {
            scheduler.wake(registry);
        }
    }
}

/// The next event of `feed`, once `paused_until` has passed; never, when there is no feed.
async fn next_event(
    feed: &mut Option<Box<dyn EventFeed>>,
    paused_until: Option<tokio::time::Instant>,
) -> Result<StoreEvent, StoreError> {
    let Some(feed) = feed else { return std::future::pending().await };
    if let Some(until) = paused_until {
        tokio::time::sleep_until(until).await;
    }
    feed.next().await
}

/// Sets the lease metric and logs each lease this replica takes or loses.
async fn follow_leases(mut leases: watch::Receiver<HeldLeases>, state: AppState, replica: String) {
    let mut known = HeldLeases::new();
    loop {
        let current = leases.borrow_and_update().clone();
        for (registry, &held) in &current {
            state.metrics().set_lease_held(registry, &replica, held);
            match (known.get(registry), held) {
                (Some(false) | None, true) => {
                    tracing::info!(registry = %registry, replica = %replica, "holding the sync lease: this replica syncs the registry")
                }
                (Some(true), false) => {
                    tracing::info!(registry = %registry, replica = %replica, "gave up the sync lease: another replica syncs the registry")
                }
                _ => {}
            }
        }
        known = current;
        if leases.changed().await.is_err() {
            return;
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
        // Only the registry that committed is read again; the others keep their records.
        if report.outcome == SyncOutcome::Success
            && let Err(e) = state.reload_if_changed().await
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
