//! How errors of the Kubernetes API read in our messages: one wording for the storage and the sources.

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
