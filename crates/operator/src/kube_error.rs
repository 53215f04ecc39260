//! How errors of the Kubernetes API read in our messages: one wording for the storage and the sources.

use std::future::Future;
use std::time::Duration;

/// How long one call to the API server may take before it counts as failed.
pub(crate) const API_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The API server's answer, when the call got one.
pub(crate) fn status(error: &kube::Error) -> Option<&kube::core::Status> {
    match error {
        kube::Error::Api(status) => Some(status),
        _ => None,
    }
}

/// The HTTP status code of the API server's answer, when there was one.
pub(crate) fn code(error: &kube::Error) -> Option<u16> {
    status(error).map(|s| s.code)
}

/// One line: the API server's message and code, or what failed on the way to it.
pub(crate) fn describe(error: &kube::Error) -> String {
    match status(error) {
        Some(status) if status.reason.is_empty() => format!("{} (HTTP {})", status.message, status.code),
        Some(status) => format!("{} (HTTP {} {})", status.message, status.code, status.reason),
        None => error.to_string(),
    }
}

/// Why one API call failed.
pub(crate) enum CallError {
    /// The API server answered with an error, or the request failed on the way.
    Api(kube::Error),
    /// No answer within [`API_CALL_TIMEOUT`].
    TimedOut,
}

/// Runs one API call, bounded by [`API_CALL_TIMEOUT`].
pub(crate) async fn call<T>(request: impl Future<Output = Result<T, kube::Error>>) -> Result<T, CallError> {
    match tokio::time::timeout(API_CALL_TIMEOUT, request).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(CallError::Api(e)),
        Err(_) => Err(CallError::TimedOut),
    }
}

/// A failed read of `what` (`ConfigMap team-a/catalog`) as a source error: answers that may pass by
/// themselves (5xx, 429, a timeout, a connection failure, an expired token) are retryable; a refusal
/// (403) or another 4xx is stalled, with a message that says what the operator may not do.
pub(crate) fn source_error(what: &str, resource: &str, namespace: &str, error: CallError) -> thv_sources::SourceError {
    use thv_sources::SourceError;
    let shown = format!("the Kubernetes API server (reading {what})");
    let e = match error {
        CallError::TimedOut => {
            return SourceError::Timeout { what: format!("reading {what}"), seconds: API_CALL_TIMEOUT.as_secs() };
        }
        CallError::Api(e) => e,
    };
    match code(&e) {
        Some(status @ (408 | 429 | 500..=599)) => SourceError::HttpStatus { url: shown, status },
        // The operator's own token, refreshed from its file by the client: may pass at the next attempt.
        Some(401) => SourceError::Network { url: shown, message: describe(&e) },
        Some(403) => SourceError::InvalidSpec(format!(
            "{what}: the operator may not read it ({}); grant its ServiceAccount get on {resource} in namespace \
             {namespace}",
            describe(&e)
        )),
        Some(_) => SourceError::InvalidSpec(format!("{what}: {}", describe(&e))),
        None => SourceError::Network { url: shown, message: describe(&e) },
    }
}
