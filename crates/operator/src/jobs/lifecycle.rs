//! The one lifecycle of every job kind, as pure functions: what a reconcile does first ([`decide`]), and the
//! status and next step after an attempt reports where it stands ([`advance`]).
//!
//! ```text
//! new generation ──► Running (attempt 1) ──► Succeeded ──► deleted ttlSecondsAfterFinished later
//!                       │   ▲
//!               failure │   │ backoff passed (attempt n+1)
//!                       ▼   │
//!                     Pending ── retries used up, or a failure retrying cannot fix ──► Failed ──► deleted …
//! ```
//!
//! A job runs once per generation: a finished job does nothing more until its spec changes (a new
//! generation), which starts a new run from attempt 1.
//!
//! Conditions (kstatus): while an attempt runs, `Reconciling` True (`Progressing`) and `Ready` Unknown; while
//! a retry waits, `Reconciling` True (`ProgressingWithRetry`) and `Ready` False with the failure's reason;
//! `Succeeded`: `Ready` True; `Failed`: `Stalled` True and `Ready` False (`BackoffLimitExceeded`, or the
//! reason of a failure retrying cannot fix). `Reconciling` and `Stalled` are removed when false.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{JobPhase, JobPolicy, JobReason, JobStatus};
use crate::conditions::{self, ConditionStatus, ConditionType};

/// How retries are spaced: `initial`, doubling per failed attempt, at most `max` (Kubernetes Jobs: 10 s and
/// 6 minutes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the first retry.
    pub initial: Duration,
    /// Longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { initial: Duration::from_secs(10), max: Duration::from_secs(360) }
    }
}

impl Backoff {
    /// Delay before the retry that follows failed attempt `attempt` (1 for the first).
    pub fn delay(self, attempt: i32) -> Duration {
        let doublings = u32::try_from(attempt.saturating_sub(1)).unwrap_or(0).min(20);
        self.initial.saturating_mul(1 << doublings).min(self.max)
    }
}

/// What a reconcile does first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A new generation (or a job never handled): start attempt 1 of a new run.
    Start,
    /// A retry's backoff has passed: start attempt `n`.
    Retry(i32),
    /// An attempt is in progress: look at where it stands.
    Continue,
    /// A retry waits for its backoff: look again after this long.
    Wait(Duration),
    /// Finished for this generation: delete the job now (its TTL passed).
    Delete,
    /// Finished for this generation: look again after this long (when its TTL passes), or only when the job
    /// changes (`None`).
    Done(Option<Duration>),
}

/// Where the job stands, as the reconcile reads it.
#[derive(Debug, Clone, Copy)]
pub struct JobView<'a> {
    /// `metadata.generation`.
    pub generation: Option<i64>,
    /// The spec's `backoffLimit` and `ttlSecondsAfterFinished`.
    pub policy: JobPolicy,
    /// The status.
    pub status: &'a JobStatus,
}

/// Decides what a reconcile does first.
pub fn decide(job: JobView<'_>, now: Timestamp) -> Decision {
    let status = job.status;
    if status.observed_generation != job.generation || status.phase.is_none() {
        return Decision::Start;
    }
    match status.phase {
        Some(JobPhase::Succeeded | JobPhase::Failed) => match ttl_left(job, now) {
            Some(Duration::ZERO) => Decision::Delete,
            left => Decision::Done(left),
        },
        Some(JobPhase::Pending) => {
            let due = status.next_attempt_time.as_ref().map_or(Duration::ZERO, |t| until(now, t.0));
            if due.is_zero() {
                Decision::Retry(status.attempts.unwrap_or(0).saturating_add(1))
            } else {
                Decision::Wait(due)
            }
        }
        Some(JobPhase::Running) | None => Decision::Continue,
    }
}

/// How long until a finished job's TTL passes (`Some(ZERO)`: it has), or `None` without a TTL.
fn ttl_left(job: JobView<'_>, now: Timestamp) -> Option<Duration> {
    let ttl = Duration::from_secs(u64::try_from(job.policy.ttl_seconds_after_finished?).unwrap_or(0));
    let finished = job.status.completion_time.as_ref().map_or(now, |t| t.0);
    let deadline = finished.checked_add(jiff::SignedDuration::try_from(ttl).ok()?).ok()?;
    Some(until(now, deadline))
}

/// The time from `now` to `then`, zero when it has passed.
fn until(now: Timestamp, then: Timestamp) -> Duration {
    Duration::try_from(then.duration_since(now)).unwrap_or(Duration::ZERO)
}

/// The status of a job starting attempt `attempt` (1: a new run, which forgets the previous run's times and
/// result).
pub fn start_attempt(previous: &JobStatus, generation: Option<i64>, attempt: i32, now: Timestamp) -> JobStatus {
    let mut next = if attempt <= 1 {
        JobStatus { conditions: previous.conditions.clone(), start_time: Some(Time(now)), ..JobStatus::default() }
    } else {
        previous.clone()
    };
    next.observed_generation = generation;
    next.phase = Some(JobPhase::Running);
    next.attempts = Some(attempt.max(1));
    next.last_attempt_time = Some(Time(now));
    next.next_attempt_time = None;
    next.completion_time = None;
    next.summary = None;
    next.result_ref = None;
    next
}

/// Where an attempt stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Still working: what it waits for; look again after `check_after`.
    InProgress {
        /// What the attempt waits for.
        message: String,
        /// When to look again (watches usually trigger sooner).
        check_after: Duration,
    },
    /// The attempt succeeded.
    Succeeded {
        /// The result in one line.
        summary: String,
    },
    /// The attempt failed.
    Failed {
        /// Why.
        reason: JobReason,
        /// The failure in words.
        message: String,
        /// Whether another attempt may succeed (a missing registry may appear; a too-large export will not
        /// shrink).
        retryable: bool,
    },
}

/// What the reconcile does after writing the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Look again after this long.
    Requeue(Duration),
    /// Delete the job now (finished with a TTL of 0).
    Delete,
    /// Nothing until the job changes.
    AwaitChange,
}

/// The status after the current attempt reported `outcome`, and what to do next.
pub fn advance(
    current: &JobStatus,
    policy: JobPolicy,
    backoff: Backoff,
    outcome: &Outcome,
    now: Timestamp,
) -> (JobStatus, Next) {
    let mut next = current.clone();
    let attempt = current.attempts.unwrap_or(1).max(1);
    let generation = current.observed_generation;
    let conditions = &mut next.conditions;
    let set = |conditions: &mut Vec<_>, type_, status, reason: JobReason, message: &str| {
        conditions::set(conditions, type_, status, reason, message, generation, now);
    };
    match outcome {
        Outcome::InProgress { message, check_after } => {
            next.phase = Some(JobPhase::Running);
            let message = format!("attempt {attempt} of {}: {message}", policy.backoff_limit.saturating_add(1));
            set(conditions, ConditionType::Reconciling, ConditionStatus::True, JobReason::Progressing, &message);
            set(conditions, ConditionType::Ready, ConditionStatus::Unknown, JobReason::Progressing, &message);
            conditions::remove(conditions, ConditionType::Stalled);
            (next, Next::Requeue(*check_after))
        }
        Outcome::Succeeded { summary } => {
            next.phase = Some(JobPhase::Succeeded);
            next.completion_time = Some(Time(now));
            next.summary = Some(summary.clone());
            set(conditions, ConditionType::Ready, ConditionStatus::True, JobReason::Succeeded, summary);
            conditions::remove(conditions, ConditionType::Reconciling);
            conditions::remove(conditions, ConditionType::Stalled);
            (next, after_finish(policy))
        }
        Outcome::Failed { reason, message, retryable } => {
            let retries_used = attempt - 1;
            if *retryable && retries_used < policy.backoff_limit {
                let delay = backoff.delay(attempt);
                next.phase = Some(JobPhase::Pending);
                next.next_attempt_time = not_before(now, delay).map(Time);
                let words = format!(
                    "attempt {attempt} of {} failed: {message}; retrying in {}",
                    policy.backoff_limit.saturating_add(1),
                    crate::controller::status::human(delay)
                );
                set(
                    conditions,
                    ConditionType::Reconciling,
                    ConditionStatus::True,
                    JobReason::ProgressingWithRetry,
                    &words,
                );
                set(conditions, ConditionType::Ready, ConditionStatus::False, *reason, &words);
                conditions::remove(conditions, ConditionType::Stalled);
                (next, Next::Requeue(delay))
            } else {
                let (stalled_reason, words) = if *retryable {
                    (
                        JobReason::BackoffLimitExceeded,
                        format!(
                            "failed after {attempt} attempt{} (backoffLimit {}): {message}",
                            if attempt == 1 { "" } else { "s" },
                            policy.backoff_limit
                        ),
                    )
                } else {
                    (*reason, format!("failed; retrying cannot help: {message}"))
                };
                next.phase = Some(JobPhase::Failed);
                next.completion_time = Some(Time(now));
                next.next_attempt_time = None;
                next.summary = Some(words.clone());
                set(conditions, ConditionType::Stalled, ConditionStatus::True, stalled_reason, &words);
                set(conditions, ConditionType::Ready, ConditionStatus::False, stalled_reason, &words);
                conditions::remove(conditions, ConditionType::Reconciling);
                (next, after_finish(policy))
            }
        }
    }
    .sorted()
}

/// `now + delay`, rounded up to a whole second: the status keeps times in seconds, and a retry must not start
/// before its backoff has passed.
fn not_before(now: Timestamp, delay: Duration) -> Option<Timestamp> {
    let at = now.checked_add(jiff::SignedDuration::try_from(delay).ok()?).ok()?;
    let whole = Timestamp::from_second(at.as_second()).ok()?;
    if whole == at { Some(at) } else { whole.checked_add(jiff::SignedDuration::from_secs(1)).ok() }
}

/// What follows a finished attempt: the TTL, or nothing.
fn after_finish(policy: JobPolicy) -> Next {
    match policy.ttl_seconds_after_finished {
        Some(0) => Next::Delete,
        Some(seconds) => Next::Requeue(Duration::from_secs(u64::try_from(seconds).unwrap_or(0))),
        None => Next::AwaitChange,
    }
}

trait Sorted {
    fn sorted(self) -> Self;
}

impl Sorted for (JobStatus, Next) {
    /// Conditions in the order `Ready`, `Reconciling`, `Stalled`.
    fn sorted(mut self) -> Self {
        self.0
            .conditions
            .sort_by_key(|c| ConditionType::ALL.iter().position(|t| t.as_str() == c.type_).unwrap_or(usize::MAX));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).expect("timestamp")
    }

    fn policy(backoff_limit: i32, ttl: Option<i32>) -> JobPolicy {
        JobPolicy { backoff_limit, ttl_seconds_after_finished: ttl }
    }

    fn view(status: &JobStatus, generation: i64, policy: JobPolicy) -> JobView<'_> {
        JobView { generation: Some(generation), policy, status }
    }

    fn condition(status: &JobStatus, type_: ConditionType) -> Option<(String, String)> {
        conditions::find(&status.conditions, type_).map(|c| (c.status.clone(), c.reason.clone()))
    }

    fn failed(retryable: bool) -> Outcome {
        Outcome::Failed { reason: JobReason::RegistryNotFound, message: "no MCPRegistry x".into(), retryable }
    }

    #[test]
    fn a_new_job_starts_and_succeeds_once_per_generation() {
        let empty = JobStatus::default();
        assert_eq!(decide(view(&empty, 1, policy(3, None)), at(0)), Decision::Start);
        let running = start_attempt(&empty, Some(1), 1, at(0));
        assert_eq!((running.phase, running.attempts), (Some(JobPhase::Running), Some(1)));
        assert_eq!(running.start_time, Some(Time(at(0))));
        assert_eq!(decide(view(&running, 1, policy(3, None)), at(1)), Decision::Continue);

        let waiting = Outcome::InProgress { message: "waiting for a".into(), check_after: Duration::from_secs(30) };
        let (running, next) = advance(&running, policy(3, None), Backoff::default(), &waiting, at(1));
        assert_eq!(next, Next::Requeue(Duration::from_secs(30)));
        assert_eq!(condition(&running, ConditionType::Reconciling), Some(("True".into(), "Progressing".into())));
        assert_eq!(condition(&running, ConditionType::Ready), Some(("Unknown".into(), "Progressing".into())));

        let done = Outcome::Succeeded { summary: "1 registry: 1 synced".into() };
        let (finished, next) = advance(&running, policy(3, None), Backoff::default(), &done, at(2));
        assert_eq!(next, Next::AwaitChange);
        assert_eq!(finished.phase, Some(JobPhase::Succeeded));
        assert_eq!(finished.completion_time, Some(Time(at(2))));
        assert_eq!(finished.summary.as_deref(), Some("1 registry: 1 synced"));
        assert_eq!(condition(&finished, ConditionType::Ready), Some(("True".into(), "Succeeded".into())));
        assert_eq!(condition(&finished, ConditionType::Reconciling), None);
        assert_eq!(finished.conditions.iter().map(|c| c.observed_generation).collect::<Vec<_>>(), [Some(1)]);

        // Once per generation: nothing more runs, however long after.
        assert_eq!(decide(view(&finished, 1, policy(3, None)), at(100_000)), Decision::Done(None));
        // A spec edit (new generation) starts a new run that forgets the old one's times.
        assert_eq!(decide(view(&finished, 2, policy(3, None)), at(10)), Decision::Start);
        let rerun = start_attempt(&finished, Some(2), 1, at(10));
        assert_eq!(
            (rerun.phase, rerun.attempts, rerun.observed_generation),
            (Some(JobPhase::Running), Some(1), Some(2))
        );
        assert_eq!((rerun.completion_time, rerun.summary), (None, None));
        assert_eq!(rerun.start_time, Some(Time(at(10))));
    }

    #[test]
    fn failures_retry_with_doubling_backoff_up_to_the_limit_then_fail() {
        let backoff = Backoff::default();
        let limit = policy(2, None);
        let mut status = start_attempt(&JobStatus::default(), Some(1), 1, at(0));
        let mut now = 0;
        let mut delays = Vec::new();
        loop {
            let (next_status, next) = advance(&status, limit, backoff, &failed(true), at(now));
            status = next_status;
            match next {
                Next::Requeue(delay) if status.phase == Some(JobPhase::Pending) => {
                    delays.push(delay.as_secs());
                    assert_eq!(
                        condition(&status, ConditionType::Reconciling),
                        Some(("True".into(), "ProgressingWithRetry".into()))
                    );
                    assert_eq!(
                        condition(&status, ConditionType::Ready),
                        Some(("False".into(), "RegistryNotFound".into()))
                    );
                    // Not due before the backoff has passed; due after.
                    let wait = i64::try_from(delay.as_secs()).expect("secs");
                    assert_eq!(
                        decide(view(&status, 1, limit), at(now + wait - 1)),
                        Decision::Wait(Duration::from_secs(1))
                    );
                    let attempt = status.attempts.expect("attempts") + 1;
                    assert_eq!(decide(view(&status, 1, limit), at(now + wait)), Decision::Retry(attempt));
                    now += wait;
                    status = start_attempt(&status, Some(1), attempt, at(now));
                }
                other => {
                    assert_eq!(other, Next::AwaitChange);
                    break;
                }
            }
        }
        assert_eq!(delays, [10, 20], "two retries, doubling");
        assert_eq!(status.phase, Some(JobPhase::Failed));
        assert_eq!(status.attempts, Some(3));
        assert_eq!(status.start_time, Some(Time(at(0))), "the run's start is kept across retries");
        assert_eq!(condition(&status, ConditionType::Stalled), Some(("True".into(), "BackoffLimitExceeded".into())));
        assert_eq!(condition(&status, ConditionType::Ready), Some(("False".into(), "BackoffLimitExceeded".into())));
        assert_eq!(condition(&status, ConditionType::Reconciling), None);
        let message = &conditions::find(&status.conditions, ConditionType::Ready).expect("ready").message;
        assert!(message.contains("failed after 3 attempts (backoffLimit 2): no MCPRegistry x"), "{message}");
        assert_eq!(backoff.delay(1), Duration::from_secs(10));
        // The status keeps whole seconds: a retry's time is rounded up, never down.
        let half = Timestamp::from_millisecond(1_800_000_000_500).expect("timestamp");
        assert_eq!(not_before(half, Duration::from_millis(300)), Some(at(1)));
        assert_eq!(not_before(at(0), Duration::from_secs(2)), Some(at(2)));
        assert_eq!(backoff.delay(30), Duration::from_secs(360), "capped");
    }

    #[test]
    fn a_failure_retrying_cannot_fix_fails_at_once_with_its_reason() {
        let status = start_attempt(&JobStatus::default(), Some(1), 1, at(0));
        let outcome =
            Outcome::Failed { reason: JobReason::ExportTooLarge, message: "2 MiB compressed".into(), retryable: false };
        let (status, next) = advance(&status, policy(5, None), Backoff::default(), &outcome, at(1));
        assert_eq!((status.phase, next), (Some(JobPhase::Failed), Next::AwaitChange));
        assert_eq!(condition(&status, ConditionType::Stalled), Some(("True".into(), "ExportTooLarge".into())));
        // backoffLimit 0: the first retryable failure is final too.
        let status = start_attempt(&JobStatus::default(), Some(1), 1, at(0));
        let (status, _) = advance(&status, policy(0, None), Backoff::default(), &failed(true), at(1));
        assert_eq!(status.phase, Some(JobPhase::Failed));
    }

    #[test]
    fn a_finished_job_is_deleted_when_its_ttl_passes() {
        let status = start_attempt(&JobStatus::default(), Some(1), 1, at(0));
        let done = Outcome::Succeeded { summary: "ok".into() };
        let ttl = policy(3, Some(60));
        let (finished, next) = advance(&status, ttl, Backoff::default(), &done, at(5));
        assert_eq!(next, Next::Requeue(Duration::from_secs(60)));
        assert_eq!(decide(view(&finished, 1, ttl), at(35)), Decision::Done(Some(Duration::from_secs(30))));
        assert_eq!(decide(view(&finished, 1, ttl), at(65)), Decision::Delete);
        // A failed job too; a TTL of 0 deletes at once.
        let (failed_status, next) = advance(&status, policy(0, Some(0)), Backoff::default(), &failed(true), at(5));
        assert_eq!((failed_status.phase, next), (Some(JobPhase::Failed), Next::Delete));
        assert_eq!(decide(view(&failed_status, 1, policy(0, Some(0))), at(5)), Decision::Delete);
    }
}
