//! Periodic and manual syncs of many registries.
//!
//! Each registry runs in its own task, so a slow or failing registry never delays the others. A task
//! sleeps until its registry is due (`interval` after the last attempt), syncs, and on a
//! [`FailureKind::Retryable`] failure retries with exponential backoff and jitter up to `retry.maxRetries`
//! times; a [`FailureKind::Stalled`] one waits for the next interval (or a manual sync). A manual trigger runs a sync
//! at once, whatever the schedule. Every report is also broadcast (the API server reloads its snapshot on
//! them).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use thv_sources::SourceContext;
use thv_store::{FailureKind, Store};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::pipeline::{SyncError, SyncReport, record_failure, sync_registry};
use crate::spec::RegistrySpec;

/// Syncs one registry now: checks the spec and builds its source (either failing is a failed, stalled sync)
/// and runs the pipeline.
pub async fn sync_spec(spec: &RegistrySpec, store: &dyn Store, cache_dir: &std::path::Path) -> SyncReport {
    if let Err(message) = spec.check() {
        return record_failure(spec, store, SyncError::Spec(message)).await;
    }
    let ctx = SourceContext::new(cache_dir.to_path_buf(), spec.name.clone());
    match thv_sources::build(&spec.source, &ctx) {
        Ok(source) => sync_registry(spec, source.as_ref(), store).await,
        Err(e) => record_failure(spec, store, SyncError::Source(e)).await,
    }
}

type Trigger = oneshot::Sender<SyncReport>;

/// A running scheduler.
pub struct Scheduler {
    handle: SchedulerHandle,
    reports: broadcast::Sender<SyncReport>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Scheduler {
    /// Starts one task per registry.
    pub fn start(registries: Vec<RegistrySpec>, store: Arc<dyn Store>, cache_dir: PathBuf) -> Self {
        let (reports, _) = broadcast::channel(256);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut triggers = HashMap::new();
        let mut tasks = Vec::new();
        for spec in registries {
            let (tx, rx) = mpsc::channel(16);
            triggers.insert(spec.name.clone(), tx);
            let worker = Worker {
                spec,
                store: Arc::clone(&store),
                cache_dir: cache_dir.clone(),
                reports: reports.clone(),
                shutdown: shutdown_rx.clone(),
            };
            tasks.push(tokio::spawn(worker.run(rx)));
        }
        Self { handle: SchedulerHandle { triggers: Arc::new(triggers) }, reports, shutdown, tasks }
    }

    /// A cheap, cloneable handle that can request syncs while the scheduler runs.
    pub fn handle(&self) -> SchedulerHandle {
        self.handle.clone()
    }

    /// Reports of every sync from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<SyncReport> {
        self.reports.subscribe()
    }

    /// Requests a sync of `registry` now; the receiver gets its report. `None` for an unknown registry.
    pub async fn trigger(&self, registry: &str) -> Option<oneshot::Receiver<SyncReport>> {
        self.handle.trigger(registry).await
    }

    /// Names of the scheduled registries.
    pub fn registries(&self) -> impl Iterator<Item = &str> {
        self.handle.triggers.keys().map(String::as_str)
    }

    /// Stops every task after its current sync step and waits for them.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Requests syncs of a running [`Scheduler`]; after [`Scheduler::stop`] every request answers `None`.
#[derive(Debug, Clone)]
pub struct SchedulerHandle {
    triggers: Arc<HashMap<String, mpsc::Sender<Trigger>>>,
}

impl SchedulerHandle {
    /// Requests a sync of `registry` now; the receiver gets its report. `None` for an unknown registry or
    /// a stopped scheduler.
    pub async fn trigger(&self, registry: &str) -> Option<oneshot::Receiver<SyncReport>> {
        let tx = self.triggers.get(registry)?;
        let (reply, rx) = oneshot::channel();
        tx.send(reply).await.ok()?;
        Some(rx)
    }
}

struct Worker {
    spec: RegistrySpec,
    store: Arc<dyn Store>,
    cache_dir: PathBuf,
    reports: broadcast::Sender<SyncReport>,
    shutdown: watch::Receiver<bool>,
}

impl Worker {
    async fn run(mut self, mut triggers: mpsc::Receiver<Trigger>) {
        let mut wait = self.initial_wait().await;
        loop {
            let mut reply = None;
            tokio::select! {
                _ = self.shutdown.changed() => return,
                t = triggers.recv() => match t {
                    Some(t) => reply = Some(t),
                    None => return,
                },
                () = sleep_or_forever(wait) => {}
            }
            if !self.sync_with_retries(&mut triggers, reply).await {
                return;
            }
            wait = self.spec.sync_policy.enabled.then_some(self.spec.sync_policy.interval);
        }
    }

    /// Due now when never synced or overdue; else the rest of the interval. `None` when automatic syncs
    /// are off.
    async fn initial_wait(&self) -> Option<Duration> {
        if !self.spec.sync_policy.enabled {
            return None;
        }
        let last = self.store.registry_state(&self.spec.name).await.ok().flatten().and_then(|s| s.last_attempt_at);
        let elapsed = last
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .map(|t| jiff::Timestamp::now().duration_since(t))
            .and_then(|d| Duration::try_from(d).ok());
        Some(match elapsed {
            Some(e) if e < self.spec.sync_policy.interval => self.spec.sync_policy.interval - e,
            _ => Duration::ZERO,
        })
    }

    /// Runs a sync and its retries. Returns `false` when shut down.
    async fn sync_with_retries(&mut self, triggers: &mut mpsc::Receiver<Trigger>, mut reply: Option<Trigger>) -> bool {
        let mut attempt = 0;
        loop {
            let report = sync_spec(&self.spec, self.store.as_ref(), &self.cache_dir).await;
            let _ = self.reports.send(report.clone());
            let retry =
                report.failure == Some(FailureKind::Retryable) && attempt < self.spec.sync_policy.retry.max_retries;
            if let Some(r) = reply.take() {
                let _ = r.send(report);
            }
            if !retry {
                return true;
            }
            attempt += 1;
            let delay = self.spec.sync_policy.retry.delay(attempt, fastrand::f64());
            tokio::select! {
                _ = self.shutdown.changed() => return false,
                t = triggers.recv() => reply = t,
                () = tokio::time::sleep(delay) => {}
            }
        }
    }
}

async fn sleep_or_forever(wait: Option<Duration>) {
    match wait {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}
