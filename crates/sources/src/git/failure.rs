//! Why the blocking part of a Git fetch failed, before it is turned into a [`SourceError`] with the repository,
//! reference and path the user wrote.

use super::limits::Guard;
use crate::SourceError;

/// A failed fetch, without context.
#[derive(Debug)]
pub(super) enum Failure {
    /// The remote has no such branch, tag or commit (`branch 'main'`, …).
    RefNotFound(String),
    /// The remote repository has no commits yet.
    EmptyRemote,
    /// The commit (given as its revision) has no entry at the catalog path.
    PathNotFound(String),
    /// The catalog path names a directory, a link or a submodule in the commit (given as its revision).
    NotAFile(String),
    /// The catalog file is larger than the limit (bytes).
    FileTooLarge(u64),
    /// The received pack grew beyond the limit (bytes).
    PackTooLarge(u64),
    /// A single object in the pack is larger than the limit (bytes) once decompressed.
    ObjectTooLarge(u64),
    /// The time was up.
    Timeout,
    /// The remote refused the credentials (or asked for some and there were none): HTTP 401 or 403.
    Unauthorized(u16),
    /// The remote could not be reached or broke off.
    Network(String),
    /// The spec cannot work (a reference or path that is not a valid name).
    Spec(String),
    /// Anything else gix reported. `local` failures may go away with a fresh clone.
    Git {
        /// What gix said.
        message: String,
        /// Whether the failure may be caused by the local cache.
        local: bool,
    },
}

impl Failure {
    /// A gix error raised while working on the local cache (reading objects, peeling): a fresh clone may cure it.
    pub(super) fn local(err: &gix::Error) -> Self {
        Self::Git { message: describe(err), local: true }
    }

    /// The cache directory could not be prepared; a fresh clone will not help.
    pub(super) fn cache(message: String) -> Self {
        Self::Git { message, local: false }
    }

    /// Reads a gix error raised while talking to the remote, in the light of why the fetch may have been
    /// interrupted. Errors while connecting and listing refs (`receiving == false`) never involve the cache; errors
    /// while receiving may, unless the transport itself failed.
    pub(super) fn from_gix(err: &gix::Error, guard: &Guard, receiving: bool) -> Self {
        if guard.timed_out() {
            return Self::Timeout;
        }
        if guard.too_large() {
            return Self::PackTooLarge(guard.max_pack_bytes());
        }
        if err.is_resource_exhausted() {
            return Self::ObjectTooLarge(guard.max_pack_bytes());
        }
        let message = describe(err);
        if err.is_unauthenticated() {
            return Self::Unauthorized(401);
        }
        if err.is_permission_denied() && !has_io_kind(err, std::io::ErrorKind::PermissionDenied) {
            return Self::Unauthorized(403);
        }
        if err.is_retryable() || has_io_kind(err, std::io::ErrorKind::ConnectionRefused) {
            return Self::Network(message);
        }
        let transport_failed = err.downcast_any_ref::<gix::protocol::transport::client::Error>().is_some();
        Self::Git { message, local: receiving && !transport_failed }
    }

    /// Whether starting from an empty cache may cure this failure.
    pub(super) fn may_be_cache_damage(&self) -> bool {
        matches!(self, Self::Git { local: true, .. })
    }

    /// The user-facing error, naming the repository, the reference (`main`, `v1.2`, `HEAD`, a commit) and the path.
    pub(super) fn into_source_error(
        self,
        repository: &str,
        reference: &str,
        path: &str,
        timeout_seconds: u64,
    ) -> SourceError {
        let git = |message: String| SourceError::Git { repository: repository.to_owned(), message };
        let missing = |message: String| SourceError::NotFound { what: format!("git {repository}"), message };
        match self {
            Self::RefNotFound(what) => missing(format!("{what} does not exist in the repository")),
            Self::EmptyRemote => missing("the repository has no commits".to_owned()),
            Self::PathNotFound(revision) => missing(format!("no file '{path}' at {reference} ({revision})")),
            Self::NotAFile(revision) => missing(format!("'{path}' at {reference} ({revision}) is not a file")),
            Self::FileTooLarge(limit) => {
                SourceError::TooLarge { what: format!("git {repository}: '{path}' at {reference}"), limit }
            }
            Self::PackTooLarge(limit) => SourceError::TooLarge { what: format!("git fetch from {repository}"), limit },
            Self::ObjectTooLarge(limit) => {
                SourceError::TooLarge { what: format!("an object in the git repository {repository}"), limit }
            }
            Self::Timeout => {
                SourceError::Timeout { what: format!("git fetch from {repository}"), seconds: timeout_seconds }
            }
            Self::Unauthorized(status) => SourceError::Unauthorized { url: repository.to_owned(), status },
            Self::Network(message) => SourceError::Network { url: repository.to_owned(), message },
            Self::Spec(message) => SourceError::InvalidSpec(format!("git {repository}: {message}")),
            Self::Git { message, .. } => git(message),
        }
    }

    /// Replaces each of `secrets` wherever it occurs in the text of this failure (give the longest first).
    pub(super) fn scrub(self, secrets: &[String]) -> Self {
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).filter(|s| !s.is_empty()).collect();
        if secrets.is_empty() {
            return self;
        }
        let clean =
            |text: String| secrets.iter().fold(text, |text, secret| text.replace(secret, crate::redact::HIDDEN));
        match self {
            Self::Network(message) => Self::Network(clean(message)),
            Self::Git { message, local } => Self::Git { message: clean(message), local },
            Self::RefNotFound(what) => Self::RefNotFound(clean(what)),
            Self::Spec(message) => Self::Spec(clean(message)),
            other => other,
        }
    }
}

/// gix's chain of messages on one line, `outer: inner: cause`.
fn describe(err: &gix::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for part in err.iter_errors().map(ToString::to_string) {
        if !part.is_empty() && parts.last() != Some(&part) {
            parts.push(part);
        }
    }
    parts.join(": ")
}

fn has_io_kind(err: &gix::Error, kind: std::io::ErrorKind) -> bool {
    err.iter_errors().filter_map(|e| e.downcast_ref::<std::io::Error>()).any(|e| e.kind() == kind)
}
