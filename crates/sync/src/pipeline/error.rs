//! Why a sync failed, and whether trying again may help.

use serde::{Deserialize, Serialize};
use thv_store::{FailureKind, StoreError};

/// Why a sync failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Fetching failed.
    #[error(transparent)]
    Source(#[from] thv_sources::SourceError),
    /// The document is not a catalog.
    #[error("{location}: {error}")]
    Document {
        /// The source location (without secrets).
        location: String,
        /// What is wrong.
        error: thv_model::detect::DetectError,
    },
    /// The registry spec is unusable.
    #[error("{0}")]
    Spec(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SyncError {
    /// Whether retrying may help: network trouble, 5xx answers, timeouts and store failures are
    /// [`FailureKind::Retryable`]; an invalid spec, refused credentials, a document that is not a catalog
    /// and a size limit (of the source, or of the store: [`StoreError::TooLarge`]) are
    /// [`FailureKind::Stalled`] (they do not change by themselves).
    pub fn kind(&self) -> FailureKind {
        match self {
            Self::Source(e) if e.is_retryable() => FailureKind::Retryable,
            Self::Store(e) if e.is_retryable() => FailureKind::Retryable,
            Self::Source(_) | Self::Store(_) | Self::Document { .. } | Self::Spec(_) => FailureKind::Stalled,
        }
    }

    /// Which step failed and why, finer than [`SyncError::kind`]: what the operator's conditions and events
    /// name.
    pub fn cause(&self) -> FailureCause {
        use thv_sources::SourceError as S;
        match self {
            Self::Spec(_) => FailureCause::Spec,
            Self::Document { .. } => FailureCause::Document,
            Self::Store(StoreError::TooLarge { .. }) => FailureCause::StorageTooLarge,
            Self::Store(_) => FailureCause::Storage,
            Self::Source(e) => match e {
                S::Unauthorized { .. } => FailureCause::Unauthorized,
                S::CredentialsNotFound { .. } => FailureCause::CredentialsNotFound,
                S::NotFound { .. } | S::HttpStatus { status: 404 | 410, .. } => FailureCause::SourceNotFound,
                S::TooLarge { .. } | S::BadContent { .. } => FailureCause::Document,
                _ if e.is_retryable() => FailureCause::Fetch,
                // Unsupported kinds, unusable settings, refused addresses and 4xx answers to what the spec asks.
                _ => FailureCause::Spec,
            },
        }
    }
}

/// Which part of a failed sync went wrong. With [`FailureKind`] it tells a status what to say: the spec, the
/// source, the credentials, the document or the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FailureCause {
    /// The spec or the source settings cannot be used as written (including a 4xx answer to what they ask).
    Spec,
    /// What the source names does not exist: HTTP 404 or 410, a missing Git branch, tag, commit or file.
    SourceNotFound,
    /// The credentials the spec names are missing (a Secret or one of its keys).
    CredentialsNotFound,
    /// The source refused the credentials (HTTP 401 or 403).
    Unauthorized,
    /// Fetching failed in a way that may pass: network trouble, 5xx, 408 or 429 answers, timeouts.
    Fetch,
    /// The document is not a catalog, or larger than allowed.
    Document,
    /// The catalog is larger than the store can hold ([`StoreError::TooLarge`]).
    StorageTooLarge,
    /// The store failed.
    Storage,
}

#[cfg(test)]
mod tests {
    use thv_sources::SourceError;

    use super::*;

    #[test]
    fn failures_are_retryable_or_stalled() {
        let network = SourceError::Network { url: "https://x".into(), message: "reset".into() };
        let timeout = SourceError::Timeout { what: "fetching https://x".into(), seconds: 60 };
        let unavailable = SourceError::HttpStatus { url: "https://x".into(), status: 503 };
        let throttled = SourceError::HttpStatus { url: "https://x".into(), status: 429 };
        let store = StoreError::Query { operation: "read", message: "locked".into() };
        for retryable in [SyncError::from(network), timeout.into(), unavailable.into(), throttled.into(), store.into()]
        {
            assert_eq!(retryable.kind(), FailureKind::Retryable, "{retryable}");
        }
        let refused = SourceError::Unauthorized { url: "https://x".into(), status: 401 };
        let missing = SourceError::HttpStatus { url: "https://x".into(), status: 404 };
        let spec = SourceError::InvalidSpec("bad URL".into());
        let big = SourceError::TooLarge { what: "response".into(), limit: 1 };
        let document = thv_model::load::load_bytes(b"{ not json", thv_model::detect::FormatHint::Auto)
            .map(|_| ())
            .expect_err("not JSON");
        let stalled = [
            SyncError::from(refused),
            missing.into(),
            spec.into(),
            big.into(),
            SyncError::Document { location: "file r.json".into(), error: document },
            SyncError::Spec("registry x: syncPolicy.interval: 0s is out of range".into()),
            StoreError::TooLarge {
                what: "storage ConfigMap ns/x-registry-storage".into(),
                size: 2_000_000,
                limit: 1_000_000,
                advice: "Narrow spec.filter.".into(),
            }
            .into(),
        ];
        for e in stalled {
            assert_eq!(e.kind(), FailureKind::Stalled, "{e}");
        }
    }

    #[test]
    fn failures_name_their_cause() {
        let cause = |e: SourceError| SyncError::from(e).cause();
        assert_eq!(cause(SourceError::Unauthorized { url: "u".into(), status: 403 }), FailureCause::Unauthorized);
        assert_eq!(cause(SourceError::HttpStatus { url: "u".into(), status: 404 }), FailureCause::SourceNotFound);
        assert_eq!(
            cause(SourceError::NotFound { what: "git r".into(), message: "no branch x".into() }),
            FailureCause::SourceNotFound
        );
        assert_eq!(cause(SourceError::HttpStatus { url: "u".into(), status: 503 }), FailureCause::Fetch);
        assert_eq!(cause(SourceError::Network { url: "u".into(), message: "reset".into() }), FailureCause::Fetch);
        assert_eq!(cause(SourceError::HttpStatus { url: "u".into(), status: 400 }), FailureCause::Spec);
        assert_eq!(cause(SourceError::InvalidSpec("bad".into())), FailureCause::Spec);
        let missing = SourceError::CredentialsNotFound { what: "Secret a/b".into(), message: "no key t".into() };
        assert_eq!(cause(missing), FailureCause::CredentialsNotFound);
        assert_eq!(cause(SourceError::TooLarge { what: "body".into(), limit: 1 }), FailureCause::Document);
        let store = StoreError::Query { operation: "write", message: "x".into() };
        assert_eq!(SyncError::from(store).cause(), FailureCause::Storage);
        let too_large = StoreError::TooLarge { what: "w".into(), size: 2, limit: 1, advice: "a".into() };
        assert_eq!(SyncError::from(too_large).cause(), FailureCause::StorageTooLarge);
        assert_eq!(SyncError::Spec("x".into()).cause(), FailureCause::Spec);
    }
}
