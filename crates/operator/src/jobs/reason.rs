//! The reasons of job conditions and Events: a closed set, shared by every job kind.

use serde::{Deserialize, Serialize};

/// The reasons of job conditions (`Ready`, `Reconciling`, `Stalled`) and Events. Each names where it appears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum JobReason {
    /// Reconciling True, Ready Unknown: an attempt is in progress (the message says which and what it waits
    /// for).
    Progressing,
    /// Reconciling True: an attempt failed and a retry follows after its backoff (the message names the
    /// failure, the attempt and the delay); Ready is False with the failure's reason, and a Warning Event with
    /// that reason carries the same words.
    ProgressingWithRetry,
    /// Ready True; Event: the job succeeded for its generation (the message is the summary).
    Succeeded,
    /// Stalled True, Ready False; Event: the last attempt failed and `backoffLimit` retries are used up. The
    /// message names the last failure.
    BackoffLimitExceeded,
    /// Attempt failure: a registry the job names does not exist in its namespace.
    RegistryNotFound,
    /// Attempt failure: the job's selector matches no MCPRegistry in its namespace.
    NoRegistriesSelected,
    /// Attempt failure: a registry has `spec.suspend: true`, so it runs no sync.
    RegistrySuspended,
    /// Attempt failure: a registry's sync failed (its own reason and message are in the job's per-registry
    /// result).
    SyncFailed,
    /// Attempt failure: a registry did not handle the sync request within `timeoutSeconds`.
    DeadlineExceeded,
    /// Attempt failure: the registry has no stored catalog yet (its first sync has not succeeded).
    RegistryNotSynced,
    /// Attempt failure: the registry's storage could not be read.
    StorageReadFailed,
    /// Stalled True, Ready False, no retry: the export, compressed, does not fit in a ConfigMap (1 MiB).
    /// Filter the registry, or export with `thv registry export` to a file.
    ExportTooLarge,
    /// Stalled True, Ready False, no retry: the target ConfigMap exists and was not written by this job;
    /// it is left alone. Delete it or name another one.
    TargetConflict,
    /// Stalled True, Ready False, no retry: the spec cannot be used as written (a selector the API server
    /// admitted but that does not parse).
    InvalidSpec,
    /// Attempt failure (retried): an import's input cannot be read (the ConfigMap or its key is missing, the
    /// URL does not answer or answers an error). The message names the input.
    InputUnavailable,
    /// Stalled True, Ready False, no retry: an import's input is not a catalog in any supported format;
    /// nothing was imported. The message names the input and what is wrong. Fix the input and edit the job.
    InvalidInput,
    /// Attempt failure: the import could not be written to the registry's storage (retried when the
    /// storage may recover; not when the catalog would exceed a storage ConfigMap).
    ImportFailed,
}

impl JobReason {
    /// Every reason.
    pub const ALL: [Self; 17] = [
        Self::Progressing,
        Self::ProgressingWithRetry,
        Self::Succeeded,
        Self::BackoffLimitExceeded,
        Self::RegistryNotFound,
        Self::NoRegistriesSelected,
        Self::RegistrySuspended,
        Self::SyncFailed,
        Self::DeadlineExceeded,
        Self::RegistryNotSynced,
        Self::StorageReadFailed,
        Self::ExportTooLarge,
        Self::TargetConflict,
        Self::InvalidSpec,
        Self::InputUnavailable,
        Self::InvalidInput,
        Self::ImportFailed,
    ];

    /// The reason as written in conditions and Events (PascalCase).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Progressing => "Progressing",
            Self::ProgressingWithRetry => "ProgressingWithRetry",
            Self::Succeeded => "Succeeded",
            Self::BackoffLimitExceeded => "BackoffLimitExceeded",
            Self::RegistryNotFound => "RegistryNotFound",
            Self::NoRegistriesSelected => "NoRegistriesSelected",
            Self::RegistrySuspended => "RegistrySuspended",
            Self::SyncFailed => "SyncFailed",
            Self::DeadlineExceeded => "DeadlineExceeded",
            Self::RegistryNotSynced => "RegistryNotSynced",
            Self::StorageReadFailed => "StorageReadFailed",
            Self::ExportTooLarge => "ExportTooLarge",
            Self::TargetConflict => "TargetConflict",
            Self::InvalidSpec => "InvalidSpec",
            Self::InputUnavailable => "InputUnavailable",
            Self::InvalidInput => "InvalidInput",
            Self::ImportFailed => "ImportFailed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_wire_names_and_fit_kubernetes() {
        for reason in JobReason::ALL {
            let wire = serde_json::to_value(reason).expect("reason");
            assert_eq!(wire.as_str(), Some(reason.as_str()));
            let text = reason.as_str();
            assert!(text.len() <= 128 && text.chars().all(|c| c.is_ascii_alphanumeric()), "{text}");
            assert!(text.starts_with(|c: char| c.is_ascii_uppercase()), "{text}");
        }
    }
}
