//! Status conditions: the closed set of types and reasons an MCPRegistry's status uses, and pure functions that
//! set them the way kstatus and `kubectl wait` expect.
//!
//! - `Ready` is the summary (`kubectl wait --for=condition=Ready`).
//! - `Reconciling` and `Stalled` are *abnormal-true*: present only while true, [`remove`]d otherwise.
//! - `SourceAvailable`, `Synced` and `APIReady` are always present once the registry was handled.
//! - `lastTransitionTime` changes only when a condition's status changes; reason, message and
//!   `observedGeneration` are updated in place.
//!
//! Kubernetes Events use the same reasons (`SyncSucceeded`, `SyncFailed`, `SourceNotFound`, …).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use serde::{Deserialize, Serialize};

/// The condition types of an MCPRegistry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum ConditionType {
    /// Summary: True when the catalog is synced and stored and the API (if enabled) is available; False with
    /// the reason of the failing step; Unknown while the first sync of a generation runs.
    Ready,
    /// Abnormal-true: present while the operator works on a new generation, a requested sync, or retries after
    /// a failure that may pass (then with reason `ProgressingWithRetry`).
    Reconciling,
    /// Abnormal-true: present while the registry cannot progress without a change to its spec, its ConfigMap or
    /// Secret, or its source (bad spec, missing object, refused credentials, unreadable document, catalog too
    /// large for its storage). No retries until something changes.
    Stalled,
    /// Whether the last fetch from the source succeeded.
    SourceAvailable,
    /// Whether the last sync stored the catalog (or confirmed it unchanged).
    Synced,
    /// Whether the registry's API Deployment is available.
    #[serde(rename = "APIReady")]
    ApiReady,
}

impl ConditionType {
    /// Every type, in the order the status lists them.
    pub const ALL: [Self; 6] =
        [Self::Ready, Self::Reconciling, Self::Stalled, Self::SourceAvailable, Self::Synced, Self::ApiReady];

    /// The `type` as written in the status.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "Ready",
            Self::Reconciling => "Reconciling",
            Self::Stalled => "Stalled",
            Self::SourceAvailable => "SourceAvailable",
            Self::Synced => "Synced",
            Self::ApiReady => "APIReady",
        }
    }

    /// Whether the condition is present only while true (`Reconciling`, `Stalled`).
    pub fn is_abnormal_true(self) -> bool {
        matches!(self, Self::Reconciling | Self::Stalled)
    }
}

/// A condition's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConditionStatus {
    /// `"True"`.
    True,
    /// `"False"`.
    False,
    /// `"Unknown"`.
    Unknown,
}

impl ConditionStatus {
    /// The status as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::True => "True",
            Self::False => "False",
            Self::Unknown => "Unknown",
        }
    }
}

impl From<bool> for ConditionStatus {
    fn from(value: bool) -> Self {
        if value { Self::True } else { Self::False }
    }
}

/// The reasons of MCPRegistry conditions and Events: a closed set. Each names the conditions it appears on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Reason {
    /// Ready True: the catalog is synced and stored, and the API is available or disabled.
    Succeeded,
    /// Reconciling True, Ready Unknown: working on a new generation, the first sync or a requested sync.
    Progressing,
    /// Reconciling True: a failure that may pass (network, HTTP 5xx, timeout, storage write); retrying after
    /// the backoff of `syncPolicy.retry`. The condition's message names the failure and the next attempt.
    ProgressingWithRetry,
    /// Stalled True, SourceAvailable False, Ready False: the spec cannot be used as written (a combination
    /// the schema cannot refuse, such as a header the source refuses).
    InvalidSpec,
    /// Stalled True, SourceAvailable False, Ready False; Event: the source ConfigMap or its key, the URL
    /// (HTTP 404), or the Git branch, tag, commit or file does not exist.
    SourceNotFound,
    /// Stalled True, SourceAvailable False, Ready False: the `authSecret` Secret or one of its keys does not
    /// exist.
    SecretNotFound,
    /// Stalled True, SourceAvailable False, Ready False: the source refused the credentials (HTTP 401 or 403).
    AuthenticationFailed,
    /// SourceAvailable False, Ready False: fetching failed in a way that may pass (network, HTTP 5xx or 429,
    /// timeout); see `Reconciling`.
    FetchFailed,
    /// SourceAvailable True: the last fetch succeeded, or the source reported no change.
    Fetched,
    /// Stalled True, Synced False, Ready False: the source document cannot be read as a catalog; the stored
    /// catalog is kept.
    InvalidDocument,
    /// Synced True; Event (with the change counts): the last sync stored the catalog or confirmed it unchanged.
    SyncSucceeded,
    /// Synced False, Ready False; Event: the last sync failed; the stored catalog is kept.
    SyncFailed,
    /// Synced False, Ready False; Event: writing the catalog to storage failed in a way that may pass, or
    /// the PostgreSQL database of `storage.postgres` cannot be reached (see `Reconciling` for the retry).
    StorageFailed,
    /// Stalled True, Synced False, Ready False; Event: the `storage.postgres.secretRef` Secret or its key does
    /// not exist, or its value is not a PostgreSQL URL; nothing syncs until the Secret is fixed, and the
    /// stored catalog is kept.
    StorageSecretNotFound,
    /// Stalled True, Synced False, Ready False; Event: the compressed catalog would exceed the storage
    /// ConfigMap's 1 MiB limit; the stored catalog is kept. Filter the catalog, or use PostgreSQL storage.
    StorageTooLarge,
    /// Synced Unknown; Event: `spec.suspend` is true; no sync runs and the stored catalog stays served.
    Suspended,
    /// APIReady True: the API Deployment has its available replicas.
    DeploymentAvailable,
    /// APIReady False: the API Deployment is rolling out or has fewer available replicas than asked for.
    DeploymentProgressing,
    /// APIReady False, Ready False: the API Deployment failed (progress deadline exceeded, or it could not be
    /// created or updated).
    DeploymentFailed,
    /// APIReady True: `spec.api.enabled` is false, so there is no API to wait for.
    #[serde(rename = "APIDisabled")]
    ApiDisabled,
}

impl Reason {
    /// Every reason.
    pub const ALL: [Self; 20] = [
        Self::Succeeded,
        Self::Progressing,
        Self::ProgressingWithRetry,
        Self::InvalidSpec,
        Self::SourceNotFound,
        Self::SecretNotFound,
        Self::AuthenticationFailed,
        Self::FetchFailed,
        Self::Fetched,
        Self::InvalidDocument,
        Self::SyncSucceeded,
        Self::SyncFailed,
        Self::StorageFailed,
        Self::StorageSecretNotFound,
        Self::StorageTooLarge,
        Self::Suspended,
        Self::DeploymentAvailable,
        Self::DeploymentProgressing,
        Self::DeploymentFailed,
        Self::ApiDisabled,
    ];

    /// The reason as written in conditions and Events (PascalCase).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "Succeeded",
            Self::Progressing => "Progressing",
            Self::ProgressingWithRetry => "ProgressingWithRetry",
            Self::InvalidSpec => "InvalidSpec",
            Self::SourceNotFound => "SourceNotFound",
            Self::SecretNotFound => "SecretNotFound",
            Self::AuthenticationFailed => "AuthenticationFailed",
            Self::FetchFailed => "FetchFailed",
            Self::Fetched => "Fetched",
            Self::InvalidDocument => "InvalidDocument",
            Self::SyncSucceeded => "SyncSucceeded",
            Self::SyncFailed => "SyncFailed",
            Self::StorageFailed => "StorageFailed",
            Self::StorageSecretNotFound => "StorageSecretNotFound",
            Self::StorageTooLarge => "StorageTooLarge",
            Self::Suspended => "Suspended",
            Self::DeploymentAvailable => "DeploymentAvailable",
            Self::DeploymentProgressing => "DeploymentProgressing",
            Self::DeploymentFailed => "DeploymentFailed",
            Self::ApiDisabled => "APIDisabled",
        }
    }
}

/// A closed set of condition reasons: [`Reason`] (MCPRegistry) and [`crate::jobs::JobReason`] (the jobs).
pub trait ConditionReason: Copy {
    /// The reason as written (PascalCase).
    fn as_str(self) -> &'static str;
}

impl ConditionReason for Reason {
    fn as_str(self) -> &'static str {
        Reason::as_str(self)
    }
}

impl ConditionReason for crate::jobs::JobReason {
    fn as_str(self) -> &'static str {
        crate::jobs::JobReason::as_str(self)
    }
}

/// Longest condition message Kubernetes accepts (`metav1.Condition.message`), in bytes.
pub const MESSAGE_MAX: usize = 32768;

/// The condition of `type_`, if present.
pub fn find(conditions: &[Condition], type_: ConditionType) -> Option<&Condition> {
    conditions.iter().find(|c| c.type_ == type_.as_str())
}

/// Whether the condition of `type_` is present with status `True`.
pub fn is_true(conditions: &[Condition], type_: ConditionType) -> bool {
    find(conditions, type_).is_some_and(|c| c.status == ConditionStatus::True.as_str())
}

/// Sets the condition of `type_`. Its `lastTransitionTime` becomes `now` when the condition is new or its status
/// changes, and is kept otherwise; reason, message (cut to [`MESSAGE_MAX`] bytes) and `observedGeneration` are
/// replaced. A new condition is appended. Returns whether anything changed, so an unchanged status costs no write.
pub fn set(
    conditions: &mut Vec<Condition>,
    type_: ConditionType,
    status: ConditionStatus,
    reason: impl ConditionReason,
    message: &str,
    observed_generation: Option<i64>,
    now: jiff::Timestamp,
) -> bool {
    let message = bounded(message);
    let wanted = |last_transition_time: Time| Condition {
        type_: type_.as_str().to_owned(),
        status: status.as_str().to_owned(),
        reason: reason.as_str().to_owned(),
        message: message.clone().into_owned(),
        observed_generation,
        last_transition_time,
    };
    match conditions.iter_mut().find(|c| c.type_ == type_.as_str()) {
        None => {
            conditions.push(wanted(Time(now)));
            true
        }
        Some(existing) => {
            let since =
                if existing.status == status.as_str() { existing.last_transition_time.clone() } else { Time(now) };
            let updated = wanted(since);
            if *existing == updated {
                return false;
            }
            *existing = updated;
            true
        }
    }
}

/// Removes the condition of `type_` (an abnormal-true condition that became false). Returns whether it was there.
pub fn remove(conditions: &mut Vec<Condition>, type_: ConditionType) -> bool {
    let before = conditions.len();
    conditions.retain(|c| c.type_ != type_.as_str());
    conditions.len() != before
}

/// `message` cut to at most [`MESSAGE_MAX`] bytes at a character boundary, ending in `…` when cut.
fn bounded(message: &str) -> std::borrow::Cow<'_, str> {
    if message.len() <= MESSAGE_MAX {
        return message.into();
    }
    const ELLIPSIS: &str = "…";
    let mut end = MESSAGE_MAX - ELLIPSIS.len();
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ELLIPSIS}", &message[..end]).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_800_000_000 + seconds).expect("timestamp")
    }

    #[test]
    fn transition_time_moves_only_when_the_status_changes() {
        let mut conditions = Vec::new();
        assert!(set(
            &mut conditions,
            ConditionType::Ready,
            ConditionStatus::Unknown,
            Reason::Progressing,
            "first sync",
            Some(1),
            at(0)
        ));
        assert_eq!(conditions[0].last_transition_time, Time(at(0)));

        // Same status, new reason, message and generation: updated in place, time kept.
        assert!(set(
            &mut conditions,
            ConditionType::Ready,
            ConditionStatus::Unknown,
            Reason::Progressing,
            "new generation 1 -> 2",
            Some(2),
            at(10)
        ));
        assert_eq!(conditions[0].last_transition_time, Time(at(0)));
        assert_eq!(conditions[0].message, "new generation 1 -> 2");
        assert_eq!(conditions[0].observed_generation, Some(2));

        // Status flips: time moves.
        assert!(set(
            &mut conditions,
            ConditionType::Ready,
            ConditionStatus::True,
            Reason::Succeeded,
            "41 servers",
            Some(2),
            at(20)
        ));
        assert_eq!(conditions[0].last_transition_time, Time(at(20)));
        assert_eq!((conditions[0].status.as_str(), conditions[0].reason.as_str()), ("True", "Succeeded"));

        // Nothing new: no change reported, nothing touched.
        let before = conditions.clone();
        assert!(!set(
            &mut conditions,
            ConditionType::Ready,
            ConditionStatus::True,
            Reason::Succeeded,
            "41 servers",
            Some(2),
            at(30)
        ));
        assert_eq!(conditions, before);
        assert_eq!(conditions.len(), 1);
    }

    #[test]
    fn conditions_are_kept_apart_by_type_and_abnormal_ones_removed() {
        let mut conditions = Vec::new();
        set(&mut conditions, ConditionType::Synced, true.into(), Reason::SyncSucceeded, "", None, at(0));
        set(
            &mut conditions,
            ConditionType::Stalled,
            ConditionStatus::True,
            Reason::SourceNotFound,
            "ConfigMap x",
            None,
            at(1),
        );
        assert_eq!(conditions.iter().map(|c| c.type_.as_str()).collect::<Vec<_>>(), ["Synced", "Stalled"]);
        assert!(is_true(&conditions, ConditionType::Stalled));
        assert!(ConditionType::Stalled.is_abnormal_true() && !ConditionType::Synced.is_abnormal_true());
        assert!(remove(&mut conditions, ConditionType::Stalled));
        assert!(!remove(&mut conditions, ConditionType::Stalled));
        assert!(find(&conditions, ConditionType::Stalled).is_none());
        assert!(is_true(&conditions, ConditionType::Synced));
        assert!(!is_true(&conditions, ConditionType::Ready));
    }

    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        let mut conditions = Vec::new();
        let long = "é".repeat(MESSAGE_MAX);
        set(&mut conditions, ConditionType::Synced, ConditionStatus::False, Reason::SyncFailed, &long, None, at(0));
        let message = &conditions[0].message;
        assert!(message.len() <= MESSAGE_MAX && message.ends_with('…'), "{}", message.len());
    }

    #[test]
    fn names_are_the_wire_names() {
        let serialized: Vec<String> = Reason::ALL
            .iter()
            .map(|r| serde_json::to_value(r).expect("reason").as_str().expect("string").to_owned())
            .collect();
        let written: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(serialized, written);
        let types: Vec<String> = ConditionType::ALL
            .iter()
            .map(|t| serde_json::to_value(t).expect("type").as_str().expect("s").to_owned())
            .collect();
        assert_eq!(types, ConditionType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>());
        // Kubernetes' pattern for condition reasons, and the Event reason limit.
        for reason in written {
            assert!(reason.len() <= 128 && reason.chars().all(|c| c.is_ascii_alphanumeric()), "{reason}");
            assert!(reason.starts_with(|c: char| c.is_ascii_uppercase()), "{reason}");
        }
    }
}
