//! Errors of sources. Messages name the source and never contain secrets.

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The source kind is not available in this build.
    #[error("{0} sources are not supported yet")]
    Unsupported(String),
    /// The spec is unusable (bad URL, missing secret file, …).
    #[error("invalid source: {0}")]
    InvalidSpec(String),
    /// A local file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The remote answered with an error status.
    #[error("{url} answered HTTP {status}")]
    HttpStatus {
        /// Request URL (without credentials).
        url: String,
        /// Status code.
        status: u16,
    },
    /// The request failed on the network.
    #[error("request to {url} failed: {message}")]
    Network {
        /// Request URL (without credentials).
        url: String,
        /// What happened.
        message: String,
    },
    /// The content is larger than allowed.
    #[error("{what} is larger than the limit of {limit} bytes")]
    TooLarge {
        /// What was too large.
        what: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The fetch took longer than allowed.
    #[error("{what} took longer than {seconds} s")]
    Timeout {
        /// What timed out.
        what: String,
        /// The limit.
        seconds: u64,
    },
    /// The address is not allowed (link-local, cloud metadata).
    #[error("refusing to connect to {host}: {reason}")]
    ForbiddenAddress {
        /// The host.
        host: String,
        /// Why.
        reason: String,
    },
    /// Credentials were rejected.
    #[error("{url}: authentication failed (HTTP {status})")]
    Unauthorized {
        /// Request URL.
        url: String,
        /// 401 or 403.
        status: u16,
    },
    /// What the spec names does not exist at the source (a Git branch, tag, commit or path, or any commit).
    #[error("{what}: {message}")]
    NotFound {
        /// Where (`git <repository>`).
        what: String,
        /// What is missing.
        message: String,
    },
    /// Credentials the spec names do not exist: a Kubernetes Secret, or a key in it (see
    /// [`CredentialResolver`](crate::CredentialResolver)). Not retried: it waits for the Secret.
    #[error("{what}: {message}")]
    CredentialsNotFound {
        /// Where they were looked for (`Secret team-a/creds`), never a value.
        what: String,
        /// What is missing.
        message: String,
    },
    /// A Git operation failed.
    #[error("git {repository}: {message}")]
    Git {
        /// Repository URL (without credentials).
        repository: String,
        /// What happened.
        message: String,
    },
    /// The content is not what the source expects (e.g. a registry API page that is not JSON).
    #[error("{what}: {message}")]
    BadContent {
        /// Where.
        what: String,
        /// What is wrong.
        message: String,
    },
}

impl From<thv_model::duration::DurationOutOfRange> for SourceError {
    fn from(e: thv_model::duration::DurationOutOfRange) -> Self {
        Self::InvalidSpec(e.to_string())
    }
}

impl SourceError {
    /// Whether retrying later may help (network trouble, 5xx, timeouts), as opposed to a spec or auth error.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Network { .. } | Self::Timeout { .. } | Self::Git { .. } | Self::Io { .. } => true,
            Self::HttpStatus { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            _ => false,
        }
    }
}
