//! Sources of MCP server catalogs: a file, a URL, a Git repository, or another registry's API.
//!
//! Every source implements [`Source`]: given the cache validators of the previous fetch it returns either
//! "not modified" or the document's bytes with a revision and new validators. Sources know nothing about
//! storage, parsing or Kubernetes; they bound size and time and never put secrets in errors or logs (every
//! location they quote goes through [`redact_url`]). Credentials are read at each fetch; those kept in a
//! Kubernetes Secret come through the [`CredentialResolver`] of the [`SourceContext`] (the operator's).

mod address;
mod api;
mod error;
mod file;
mod git;
mod http;
mod redact;
mod secret;
mod spec;
mod url;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use self::url::UrlSource;
pub use api::ApiSource;
pub use error::SourceError;
pub use file::FileSource;
pub use git::GitSource;
pub use http::ensure_crypto_provider;
pub use redact::redact_url;
pub use secret::{CredentialResolver, Credentials};
pub use spec::{
    ApiSpec, AuthSpec, ConfigMapSpec, DEFAULT_CONFIG_MAP_KEY, FULL_RESYNC_RANGE, FileSpec, GitRef, GitSpec,
    KubernetesSecretAuth, SecretRef, SourceSpec, TIMEOUT_RANGE, UrlSpec,
};

/// What a source remembers between fetches to avoid refetching unchanged content.
///
/// Stored by the sync engine as opaque JSON next to the registry's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Validators {
    /// HTTP `ETag` of the last response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// HTTP `Last-Modified` of the last response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// Git commit id of the last fetch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Registry API: when the last (full or incremental) walk started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_synced_at: Option<String>,
    /// Registry API: when the last full walk started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_full_synced_at: Option<String>,
    /// sha256 of the last document's bytes (`sha256:<hex>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_sha256: Option<String>,
}

/// The document a source returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// The whole catalog.
    Full(Vec<u8>),
    /// Only records changed since the previous fetch (a JSON array of `{server, _meta}` records), to be
    /// merged into the previous catalog. Records with status `deleted` remove nothing by themselves; they
    /// carry the new status.
    Delta(Vec<u8>),
}

impl Payload {
    /// The bytes, whatever the kind.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Self::Full(b) | Self::Delta(b) => b,
        }
    }
}

/// A successful fetch with content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The document.
    pub payload: Payload,
    /// Human-readable revision: `sha256:<hex>` of the bytes, `<ref>@sha1:<commit>` for Git, …
    pub revision: String,
    /// Validators for the next fetch.
    pub validators: Validators,
}

/// The result of [`Source::fetch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// The source says nothing changed since `previous` (HTTP 304, same commit, …).
    NotModified {
        /// The unchanged revision.
        revision: String,
        /// Validators for the next fetch (may refresh, e.g. a new `Date`).
        validators: Validators,
    },
    /// New content.
    Fetched(Fetched),
}

/// A place a catalog comes from.
#[async_trait]
pub trait Source: Send + Sync {
    /// A one-line description without secrets, e.g. `url https://example.com/registry.json`.
    fn describe(&self) -> String;

    /// Fetches the catalog. `previous` holds the validators of the last successful fetch, if any.
    async fn fetch(&self, previous: Option<&Validators>) -> Result<FetchOutcome, SourceError>;
}

/// What the host process gives the sources it builds: where they may keep data between fetches (Git
/// clones), and how to read credentials kept outside the config.
#[derive(Clone)]
pub struct SourceContext {
    /// A directory the source may create files under; one subdirectory per registry.
    pub cache_dir: std::path::PathBuf,
    /// The registry the source belongs to (names its cache subdirectory).
    pub registry: String,
    /// Reads [`AuthSpec::KubernetesSecret`] credentials at each fetch; `None` refuses them.
    pub credentials: Option<std::sync::Arc<dyn CredentialResolver>>,
}

impl SourceContext {
    /// A context caching under `cache_dir` for `registry`, without a credential resolver.
    pub fn new(cache_dir: impl Into<std::path::PathBuf>, registry: impl Into<String>) -> Self {
        Self { cache_dir: cache_dir.into(), registry: registry.into(), credentials: None }
    }

    /// The same context, reading Kubernetes Secret credentials through `resolver`.
    pub fn with_credentials(mut self, resolver: std::sync::Arc<dyn CredentialResolver>) -> Self {
        self.credentials = Some(resolver);
        self
    }
}

impl std::fmt::Debug for SourceContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceContext")
            .field("cache_dir", &self.cache_dir)
            .field("registry", &self.registry)
            .field("credentials", &self.credentials.as_ref().map(|_| "resolver"))
            .finish()
    }
}

/// `sha256:<hex>` of some bytes.
pub fn sha256_revision(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// Builds the source a spec describes.
pub fn build(spec: &SourceSpec, ctx: &SourceContext) -> Result<Box<dyn Source>, SourceError> {
    match spec {
        SourceSpec::File(s) => Ok(Box::new(FileSource::new(s.clone()))),
        SourceSpec::Url(s) => Ok(Box::new(UrlSource::new(s.clone())?.with_credentials(ctx.credentials.clone()))),
        SourceSpec::RegistryApi(s) => {
            Ok(Box::new(ApiSource::new(s.clone())?.with_credentials(ctx.credentials.clone())))
        }
        SourceSpec::Git(s) => Ok(Box::new(GitSource::new(s.clone(), ctx)?)),
        SourceSpec::ConfigMap(s) => Err(s.operator_only()),
    }
}
