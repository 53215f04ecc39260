//! Why a sync failed, and whether trying again may help.

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
}
