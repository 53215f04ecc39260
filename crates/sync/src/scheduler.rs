//! Periodic and manual syncs of many registries, by one replica at a time.
//!
//! Each registry runs in its own task, so a slow or failing registry never delays the others. A task syncs
//! its registry only while this replica holds the registry's sync lease in the store (see [`crate::lease`]
//! for its timing): it takes the lease when it is free, renews it while it holds it (during a sync too),
//! and hands every write to the pipeline through a [`Leased`] view, so a replica that lost the lease
//! writes nothing. Holding it, the task sleeps until the registry is due (`interval` after the last
//! attempt, by whichever replica), syncs, and on a [`FailureKind::Retryable`] failure retries with
//! exponential backoff and jitter up to `retry.maxRetries` times; a [`FailureKind::Stalled`] one waits for
//! the next interval (or a manual sync). A manual trigger runs a sync at once, whatever the schedule —
//! here when this replica holds the lease or can take it, else by the holder, through a sync request in
//! the store. Requests made elsewhere are run when the holder is woken ([`SchedulerHandle::wake`]) or at
//! its next renewal. Every report is also broadcast (the API server reloads its snapshot on them), and
//! which leases this replica holds is published ([`Scheduler::leases`]).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use thv_sources::SourceContext;
use thv_store::{FailureKind, Leased, Store};
use tokio::sync::{Notify, broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::lease::{default_replica_id, hand_over, lease_tick, lease_ttl};
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

/// Which registries' sync leases this replica holds, by registry name.
pub type HeldLeases = BTreeMap<String, bool>;

/// A running scheduler.
pub struct Scheduler {
    handle: SchedulerHandle,
    reports: broadcast::Sender<SyncReport>,
    leases: watch::Receiver<HeldLeases>,
    shutdown: watch::Sender<bool>,
    /// Each task's registry, in the order of `tasks`.
    names: Vec<String>,
    tasks: Vec<JoinHandle<()>>,
}

/// How long [`Scheduler::stop`] lets the syncs in progress finish.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

impl Scheduler {
    /// Starts one task per registry, as the replica [`default_replica_id`] names.
    pub fn start(registries: Vec<RegistrySpec>, store: Arc<dyn Store>, cache_dir: PathBuf) -> Self {
        Self::start_as(registries, store, cache_dir, default_replica_id())
    }

    /// Starts one task per registry, taking sync leases as `replica` (unique among the processes that
    /// serve the store).
    pub fn start_as(registries: Vec<RegistrySpec>, store: Arc<dyn Store>, cache_dir: PathBuf, replica: String) -> Self {
        let (reports, _) = broadcast::channel(256);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let held = registries.iter().map(|spec| (spec.name.clone(), false)).collect();
        let (leases_tx, leases) = watch::channel(held);
        let replica: Arc<str> = Arc::from(replica);
        let mut workers = HashMap::new();
        let mut tasks = Vec::new();
        let names = registries.iter().map(|spec| spec.name.clone()).collect();
        for spec in registries {
            let (tx, rx) = mpsc::channel(16);
            let wake = Arc::new(Notify::new());
            workers.insert(spec.name.clone(), WorkerHandle { trigger: tx, wake: Arc::clone(&wake) });
            let ttl = lease_ttl(spec.sync_policy.interval);
            let worker = Worker {
                spec,
                store: Arc::clone(&store),
                cache_dir: cache_dir.clone(),
                reports: reports.clone(),
                shutdown: shutdown_rx.clone(),
                replica: Arc::clone(&replica),
                ttl,
                tick: lease_tick(ttl),
                wake,
                leases: leases_tx.clone(),
            };
            tasks.push(tokio::spawn(worker.run(rx)));
        }
        Self { handle: SchedulerHandle { workers: Arc::new(workers) }, reports, leases, shutdown, names, tasks }
    }

    /// A cheap, cloneable handle that can request syncs while the scheduler runs.
    pub fn handle(&self) -> SchedulerHandle {
        self.handle.clone()
    }

    /// Reports of every sync from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<SyncReport> {
        self.reports.subscribe()
    }

    /// Which registries' sync leases this replica holds, updated as they are taken and lost.
    pub fn leases(&self) -> watch::Receiver<HeldLeases> {
        self.leases.clone()
    }

    /// Requests a sync of `registry` now; the receiver gets its report. `None` for an unknown registry.
    pub async fn trigger(&self, registry: &str) -> Option<oneshot::Receiver<SyncReport>> {
        self.handle.trigger(registry).await
    }

    /// Names of the scheduled registries.
    pub fn registries(&self) -> impl Iterator<Item = &str> {
        self.handle.workers.keys().map(String::as_str)
    }

    /// Stops every task once its current sync is over, giving up the leases it holds; a sync still running
    /// after [`STOP_GRACE`] is abandoned. Returns the registries whose sync was abandoned.
    pub async fn stop(self) -> Vec<String> {
        self.stop_within(STOP_GRACE).await
    }

    /// [`Scheduler::stop`], abandoning the syncs still running after `grace`. An abandoned sync commits
    /// nothing (its transaction is rolled back) and its lease is left to expire.
    pub async fn stop_within(self, grace: Duration) -> Vec<String> {
        let _ = self.shutdown.send(true);
        let deadline = Instant::now() + grace;
        let mut abandoned = Vec::new();
        for (name, mut task) in self.names.into_iter().zip(self.tasks) {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
                abandoned.push(name);
            }
        }
        abandoned
    }
}

/// What a [`SchedulerHandle`] reaches of one registry's task.
#[derive(Debug)]
struct WorkerHandle {
    trigger: mpsc::Sender<Trigger>,
    wake: Arc<Notify>,
}

/// Requests syncs of a running [`Scheduler`]; after [`Scheduler::stop`] every request answers `None`.
#[derive(Debug, Clone)]
pub struct SchedulerHandle {
    workers: Arc<HashMap<String, WorkerHandle>>,
}

impl SchedulerHandle {
    /// Requests a sync of `registry` now; the receiver gets its report. `None` for an unknown registry or
    /// a stopped scheduler.
    pub async fn trigger(&self, registry: &str) -> Option<oneshot::Receiver<SyncReport>> {
        let tx = &self.workers.get(registry)?.trigger;
        let (reply, rx) = oneshot::channel();
        tx.send(reply).await.ok()?;
        Some(rx)
    }

    /// Tells the task of `registry` (of every registry when `None`) to look at its lease and at the sync
    /// requests other replicas made now, rather than at its next renewal.
    pub fn wake(&self, registry: Option<&str>) {
        match registry {
            Some(name) => self.workers.get(name).iter().for_each(|w| w.wake.notify_one()),
            None => self.workers.values().for_each(|w| w.wake.notify_one()),
        }
    }
}

struct Worker {
    spec: RegistrySpec,
    store: Arc<dyn Store>,
    cache_dir: PathBuf,
    reports: broadcast::Sender<SyncReport>,
    shutdown: watch::Receiver<bool>,
    replica: Arc<str>,
    ttl: Duration,
    tick: Duration,
    wake: Arc<Notify>,
    leases: watch::Sender<HeldLeases>,
}

/// Whether this replica holds the lease, as far as it knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claim {
    /// Held (taken or renewed just now).
    Held,
    /// Another replica holds it.
    Elsewhere,
    /// The store did not answer.
    Unknown,
}

/// The schedule while this replica holds the lease.
#[derive(Debug, Default)]
struct Schedule {
    /// When the next automatic sync (or retry) is due; `None` when automatic syncs are off.
    due: Option<Instant>,
    /// Retries made since the last sync that needed none.
    attempt: u32,
}

impl Worker {
    async fn run(mut self, mut triggers: mpsc::Receiver<Trigger>) {
        // `Some` while this replica holds the lease.
        let mut schedule: Option<Schedule> = None;
        loop {
            self.follow(&mut schedule).await;
            if let Some(current) = schedule.as_mut() {
                let requests = self.store.pending_sync_requests(&self.spec.name).await.unwrap_or_default();
                if current.due.is_some_and(|due| due <= Instant::now()) || !requests.is_empty() {
                    self.sync(&mut schedule, None, requests).await;
                    continue;
                }
            }
            let nap = match schedule.as_ref().and_then(|s| s.due) {
                Some(due) => self.tick.min(due.saturating_duration_since(Instant::now())),
                None => self.tick,
            };
            let reply = tokio::select! {
                _ = self.shutdown.changed() => break,
                t = triggers.recv() => match t {
                    Some(reply) => reply,
                    None => break,
                },
                () = self.wake.notified() => continue,
                () = tokio::time::sleep(nap) => continue,
            };
            self.follow(&mut schedule).await;
            if schedule.is_some() {
                let requests = self.store.pending_sync_requests(&self.spec.name).await.unwrap_or_default();
                self.sync(&mut schedule, Some(reply), requests).await;
            } else {
                self.hand_over(reply);
            }
        }
        if schedule.is_some() {
            // Whoever is next may take it at once; a failure leaves it to expire.
            let _ = self.store.release_lease(&self.spec.name, &self.replica).await;
            self.publish(false);
        }
    }

    /// Takes or renews the lease and updates `schedule`: a new holder is due when the registry is, by
    /// the stored last attempt; a replica that lost the lease has no schedule.
    async fn follow(&self, schedule: &mut Option<Schedule>) {
        match self.claim().await {
            Claim::Held if schedule.is_none() => *schedule = Some(Schedule { due: self.first_due().await, attempt: 0 }),
            Claim::Held | Claim::Unknown => {}
            Claim::Elsewhere => *schedule = None,
        }
    }

    async fn claim(&self) -> Claim {
        let claim = match self.store.acquire_lease(&self.spec.name, &self.replica, self.ttl).await {
            Ok(lease) if lease.is_held_by(&self.replica) => Claim::Held,
            Ok(_) => Claim::Elsewhere,
            Err(_) => Claim::Unknown,
        };
        if claim != Claim::Unknown {
            self.publish(claim == Claim::Held);
        }
        claim
    }

    fn publish(&self, held: bool) {
        self.leases.send_if_modified(|leases| leases.insert(self.spec.name.clone(), held) != Some(held));
    }

    /// Due now when never synced or overdue; else the rest of the interval. `None` when automatic syncs
    /// are off.
    async fn first_due(&self) -> Option<Instant> {
        if !self.spec.sync_policy.enabled {
            return None;
        }
        let last = self.store.registry_state(&self.spec.name).await.ok().flatten().and_then(|s| s.last_attempt_at);
        let elapsed = last
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .map(|t| jiff::Timestamp::now().duration_since(t))
            .and_then(|d| Duration::try_from(d).ok());
        let wait = match elapsed {
            Some(e) if e < self.spec.sync_policy.interval => self.spec.sync_policy.interval - e,
            _ => Duration::ZERO,
        };
        Some(Instant::now() + wait)
    }

    /// Syncs under the lease, renewing it meanwhile; answers `reply` and completes `requests` with the
    /// report, then schedules the next sync or retry. When the lease is lost on the way, the sync's writes
    /// are refused (or it is abandoned), and `reply` and `requests` are left to the new holder.
    async fn sync(&self, schedule: &mut Option<Schedule>, reply: Option<Trigger>, requests: Vec<i64>) {
        let fenced = Leased::new(self.store.as_ref(), &self.replica);
        let run = sync_spec(&self.spec, &fenced, &self.cache_dir);
        // The renewals are polled beside the sync, never instead of it: a renewal waits for the store's write
        // lock, which the sync may hold across a slow commit; awaited in a `select!` arm it would stop the
        // sync from being polled, so neither would ever finish.
        let lost = async {
            loop {
                tokio::time::sleep(self.tick).await;
                if self.claim().await == Claim::Elsewhere {
                    return;
                }
            }
        };
        let report = tokio::select! {
            report = run => Some(report),
            () = lost => None,
        };
        if let Some(report) = &report {
            let _ = self.reports.send(report.clone());
        }
        let report = match report {
            Some(report) if self.claim().await != Claim::Elsewhere => report,
            _ => {
                *schedule = None;
                if let Some(reply) = reply {
                    self.hand_over(reply);
                }
                return;
            }
        };
        if !requests.is_empty() {
            // A report that cannot be stored leaves the requests pending: the next sync answers them.
            if let Ok(text) = serde_json::to_string(&report) {
                let _ = self.store.complete_sync_requests(&requests, &text).await;
            }
        }
        let current = schedule.get_or_insert_with(Schedule::default);
        let policy = &self.spec.sync_policy;
        if should_retry(&report) && current.attempt < policy.retry.max_retries {
            current.attempt += 1;
            current.due = Some(Instant::now() + policy.retry.delay(current.attempt, fastrand::f64()));
        } else {
            current.attempt = 0;
            current.due = policy.enabled.then(|| Instant::now() + policy.interval);
        }
        if let Some(reply) = reply {
            let _ = reply.send(report);
        }
    }

    /// Hands a manual sync to the lease holder; the reply comes from its report.
    fn hand_over(&self, reply: Trigger) {
        tokio::spawn(hand_over(Arc::clone(&self.store), self.spec.name.clone(), self.replica.to_string(), reply));
    }
}

/// Whether a failed sync is retried before the next interval.
fn should_retry(report: &SyncReport) -> bool {
    report.failure == Some(FailureKind::Retryable)
}
