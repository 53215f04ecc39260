//! The sync engine: a registry is a named source plus a sync policy and a filter; syncing it turns the
//! source's bytes into a validated, filtered catalog committed atomically, never replacing a good catalog
//! with a broken one.

pub mod diff;
pub mod export;
pub mod import;
pub mod lease;
pub mod pipeline;
pub mod scheduler;
pub mod spec;
pub mod status;

pub use import::{EntryOutcome, EntryResult, ImportCounts, ImportMode, ImportReport};
pub use lease::{check_replica_id, default_replica_id};
pub use pipeline::{FailureCause, SkippedRecord, SyncError, SyncReport, now_rfc3339, record_failure, sync_registry};
pub use scheduler::{HeldLeases, STOP_GRACE, Scheduler, SchedulerHandle, sync_spec};
pub use spec::{
    BACKOFF_RANGE, INTERVAL_RANGE, RegistrySpec, RetryPolicy, SourceFormat, SyncPolicy, ValidationMode,
    ValidationPolicy,
};
pub use status::RegistryStatus;
pub use thv_store::FailureKind;
