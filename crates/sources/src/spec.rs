//! Declarative source specs, as written in the YAML config and the `MCPRegistry` resource.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thv_model::duration::{DurationOutOfRange, DurationRange};

use crate::redact::{HIDDEN, redact_url};

/// Allowed values of every source `timeout`: 100 ms to one day.
pub const TIMEOUT_RANGE: DurationRange = DurationRange::new(Duration::from_millis(100), Duration::from_secs(86_400));
/// Allowed values of a registry API's `fullResyncInterval`: zero (every walk is a full one) to one year.
pub const FULL_RESYNC_RANGE: DurationRange = DurationRange::new(Duration::ZERO, Duration::from_secs(31_557_600));

/// Where a registry's catalog comes from. Exactly one kind per registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SourceSpec {
    /// A local file.
    File(FileSpec),
    /// An HTTP(S) URL.
    Url(UrlSpec),
    /// A file in a Git repository.
    Git(GitSpec),
    /// Another server speaking the MCP Registry API.
    RegistryApi(ApiSpec),
    /// A key of a Kubernetes ConfigMap in the registry's namespace. Data only: the operator reads it
    /// (`thv operator run`); [`build`](crate::build) refuses it everywhere else.
    ConfigMap(ConfigMapSpec),
}

impl SourceSpec {
    /// `file`, `url`, `git` or `registryApi`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::File(_) => "file",
            Self::Url(_) => "url",
            Self::Git(_) => "git",
            Self::RegistryApi(_) => "registryApi",
            Self::ConfigMap(_) => "configMap",
        }
    }

    /// Where the catalog comes from, without secrets ([`redact_url`]): a path, a URL, or
    /// `repository[@ref]:path` for Git.
    pub fn location(&self) -> String {
        match self {
            Self::File(s) => s.path.display().to_string(),
            Self::Url(s) => redact_url(&s.url),
            Self::Git(s) => {
                let reference = s.reference.as_ref().map(|r| format!("@{}", r.name())).unwrap_or_default();
                format!("{}{reference}:{}", redact_url(&s.repository), s.path_or_default())
            }
            Self::RegistryApi(s) => redact_url(&s.url),
            Self::ConfigMap(s) => format!("configmap/{}:{}", s.name, s.key),
        }
    }

    /// The spec as it may be shown: URLs through [`redact_url`] and header values (often API keys) hidden.
    /// Credentials are only ever references (a file or a variable name), which are shown.
    pub fn redacted(&self) -> Self {
        let hide = |headers: &BTreeMap<String, String>| -> BTreeMap<String, String> {
            headers.keys().map(|k| (k.clone(), HIDDEN.to_owned())).collect()
        };
        match self {
            Self::File(s) => Self::File(s.clone()),
            Self::ConfigMap(s) => Self::ConfigMap(s.clone()),
            Self::Url(s) => Self::Url(UrlSpec { url: redact_url(&s.url), headers: hide(&s.headers), ..s.clone() }),
            Self::Git(s) => Self::Git(GitSpec { repository: redact_url(&s.repository), ..s.clone() }),
            Self::RegistryApi(s) => {
                Self::RegistryApi(ApiSpec { url: redact_url(&s.url), headers: hide(&s.headers), ..s.clone() })
            }
        }
    }

    /// Checks what serde cannot: every duration within its range. Errors name the field from `source.`.
    pub fn check(&self) -> Result<(), DurationOutOfRange> {
        match self {
            Self::File(_) | Self::ConfigMap(_) => Ok(()),
            Self::Url(s) => s.check(),
            Self::Git(s) => s.check(),
            Self::RegistryApi(s) => s.check(),
        }
    }
}

/// A local file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileSpec {
    /// Path of the catalog file.
    pub path: PathBuf,
}

/// A key of a Kubernetes ConfigMap in the registry's own namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigMapSpec {
    /// Name of the ConfigMap.
    pub name: String,
    /// Key holding the catalog (default `registry.json`).
    #[serde(default = "default_config_map_key")]
    pub key: String,
}

/// The key a ConfigMap source reads when none is given.
pub const DEFAULT_CONFIG_MAP_KEY: &str = "registry.json";

impl ConfigMapSpec {
    /// The error every caller outside the operator gives for this source.
    pub fn operator_only(&self) -> crate::SourceError {
        crate::SourceError::InvalidSpec(format!(
            "ConfigMap {} (key {}) can only be read by the operator (thv operator run)",
            self.name, self.key
        ))
    }
}

fn default_config_map_key() -> String {
    DEFAULT_CONFIG_MAP_KEY.to_owned()
}

/// A secret value read at fetch time, never stored in the config itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SecretRef {
    /// Read from this file (surrounding whitespace trimmed).
    File(PathBuf),
    /// Read from this environment variable.
    Env(String),
}

/// Credentials for a URL, Git or registry-API source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AuthSpec {
    /// `Authorization: Bearer <token>` (for Git over HTTP: the token as password).
    Bearer {
        /// The token.
        token: SecretRef,
    },
    /// HTTP basic authentication.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: SecretRef,
    },
    /// Keys of a Kubernetes Secret in the registry's own namespace. Data only: the operator reads the Secret
    /// at each fetch; every other caller refuses it with [`KubernetesSecretAuth::operator_only`].
    KubernetesSecret(KubernetesSecretAuth),
}

/// Credentials held in a Kubernetes Secret: a bearer token (`token_key`), or a user name and password
/// (`username_key` and `password_key`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubernetesSecretAuth {
    /// Name of the Secret.
    pub name: String,
    /// Key of the bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_key: Option<String>,
    /// Key of the user name for HTTP basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_key: Option<String>,
    /// Key of the password for HTTP basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_key: Option<String>,
}

impl KubernetesSecretAuth {
    /// The error every source outside the operator gives for these credentials.
    pub fn operator_only(&self) -> crate::SourceError {
        crate::SourceError::InvalidSpec(format!(
            "credentials from Kubernetes Secret {} can only be read by the operator (thv operator run)",
            self.name
        ))
    }
}

/// An HTTP(S) URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UrlSpec {
    /// The URL.
    pub url: String,
    /// Extra request headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthSpec>,
    /// PEM file of extra CA certificates to trust.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<PathBuf>,
    /// Largest body accepted, after decompression (default 64 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    /// Total time allowed for one fetch (default 60 s).
    #[serde(default, with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Redirects followed (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_redirects: Option<u32>,
    /// Allow link-local and cloud-metadata addresses (refused by default).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_link_local: bool,
}

impl UrlSpec {
    /// A spec for `url` with every option at its default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            headers: BTreeMap::new(),
            auth: None,
            ca_bundle: None,
            max_bytes: None,
            timeout: None,
            max_redirects: None,
            allow_link_local: false,
        }
    }

    /// Checks the durations (see [`SourceSpec::check`]).
    pub fn check(&self) -> Result<(), DurationOutOfRange> {
        TIMEOUT_RANGE.check_optional("source.url.timeout", self.timeout)
    }
}

/// Which commit of a Git repository to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GitRef {
    /// The tip of a branch.
    Branch(String),
    /// A tag.
    Tag(String),
    /// A commit id (full or abbreviated hex).
    Commit(String),
}

impl GitRef {
    /// The branch, tag or commit as written.
    pub fn name(&self) -> &str {
        match self {
            Self::Branch(s) | Self::Tag(s) | Self::Commit(s) => s,
        }
    }
}

/// A file in a Git repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitSpec {
    /// Repository URL: `https://…`, `http://…` or `file://…`.
    pub repository: String,
    /// Branch, tag or commit; the remote's default branch when absent.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<GitRef>,
    /// Path of the catalog inside the repository (default `registry.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Credentials for HTTP(S) repositories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthSpec>,
    /// Largest pack fetched (default 256 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    /// Total time allowed for one fetch (default 120 s).
    #[serde(default, with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
}

impl GitSpec {
    /// The catalog path, `registry.json` by default.
    pub fn path_or_default(&self) -> &str {
        self.path.as_deref().unwrap_or("registry.json")
    }

    /// Checks the durations (see [`SourceSpec::check`]).
    pub fn check(&self) -> Result<(), DurationOutOfRange> {
        TIMEOUT_RANGE.check_optional("source.git.timeout", self.timeout)
    }
}

/// Another registry's MCP Registry API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiSpec {
    /// Base URL (the part before `/v0.1/servers`).
    pub url: String,
    /// Extra request headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthSpec>,
    /// PEM file of extra CA certificates to trust.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<PathBuf>,
    /// Fetch only the latest version of each server (`version=latest`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub latest_only: bool,
    /// How often to walk everything instead of asking for changes only (default 24 h), to see deletions.
    #[serde(default, with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub full_resync_interval: Option<Duration>,
    /// Total time allowed for one walk (default 5 min).
    #[serde(default, with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Largest page body accepted (default 16 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_page_bytes: Option<u64>,
    /// Most pages walked (default 10,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pages: Option<u32>,
    /// Allow link-local and cloud-metadata addresses (refused by default).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_link_local: bool,
}

impl ApiSpec {
    /// A spec for the registry at `url` with every option at its default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            headers: BTreeMap::new(),
            auth: None,
            ca_bundle: None,
            latest_only: false,
            full_resync_interval: None,
            timeout: None,
            max_page_bytes: None,
            max_pages: None,
            allow_link_local: false,
        }
    }

    /// Checks the durations (see [`SourceSpec::check`]).
    pub fn check(&self) -> Result<(), DurationOutOfRange> {
        TIMEOUT_RANGE.check_optional("source.registryApi.timeout", self.timeout)?;
        FULL_RESYNC_RANGE.check_optional("source.registryApi.fullResyncInterval", self.full_resync_interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_read_from_json_shapes() {
        let spec: SourceSpec = serde_json::from_str(
            r#"{"git": {"repository": "https://example.com/r.git", "tag": "v1", "auth": {"basic": {"username": "u", "password": {"file": "/p"}}}}}"#,
        )
        .expect("git spec");
        let SourceSpec::Git(git) = &spec else { panic!("git") };
        assert_eq!(git.reference, Some(GitRef::Tag("v1".into())));
        assert_eq!(spec.location(), "https://example.com/r.git@v1:registry.json");
        let url: SourceSpec =
            serde_json::from_str(r#"{"url": {"url": "https://x/r.json", "timeout": "30s"}}"#).expect("url spec");
        let SourceSpec::Url(u) = url else { panic!("url") };
        assert_eq!(u.timeout, Some(Duration::from_secs(30)));
    }

    #[test]
    fn kubernetes_shapes_read_and_are_refused_outside_the_operator() {
        let spec: SourceSpec = serde_json::from_str(r#"{"configMap": {"name": "catalog"}}"#).expect("configMap spec");
        assert_eq!(spec, SourceSpec::ConfigMap(ConfigMapSpec { name: "catalog".into(), key: "registry.json".into() }));
        assert_eq!(spec.location(), "configmap/catalog:registry.json");
        let ctx = crate::SourceContext::new(std::env::temp_dir(), "r");
        let err = crate::build(&spec, &ctx).err().expect("refused");
        assert!(err.to_string().contains("only be read by the operator"), "{err}");

        let url: SourceSpec = serde_json::from_str(
            r#"{"url": {"url": "https://x/r.json", "auth": {"kubernetesSecret": {"name": "creds", "tokenKey": "token"}}}}"#,
        )
        .expect("url spec with a Secret");
        let SourceSpec::Url(u) = url else { panic!("url") };
        let Some(AuthSpec::KubernetesSecret(secret)) = &u.auth else { panic!("secret auth") };
        assert_eq!(secret.token_key.as_deref(), Some("token"));
        assert!(secret.operator_only().to_string().contains("Kubernetes Secret creds"));
    }

    #[test]
    fn locations_and_redacted_specs_hold_no_secret() {
        let cases = [
            (
                r#"{"url": {"url": "https://u:pw@x/r.json?token=S3CRET", "headers": {"X-Key": "S3CRET"}}}"#,
                "https://x/r.json?token=***",
            ),
            (
                r#"{"git": {"repository": "https://u:pw@x/r.git?token=S3CRET", "tag": "v1"}}"#,
                "https://x/r.git?token=***@v1:registry.json",
            ),
            (
                r#"{"registryApi": {"url": "https://x/base?X-Amz-Signature=S3CRET", "headers": {"X-Key": "S3CRET"}}}"#,
                "https://x/base?X-Amz-Signature=***",
            ),
            (r#"{"file": {"path": "/srv/r.json"}}"#, "/srv/r.json"),
        ];
        for (json, location) in cases {
            let spec: SourceSpec = serde_json::from_str(json).expect(json);
            assert_eq!(spec.location(), location, "{json}");
            let shown = serde_json::to_string(&spec.redacted()).expect("json");
            assert!(!shown.contains("S3CRET") && !shown.contains("pw"), "{shown}");
            assert_eq!(spec.redacted().kind(), spec.kind());
        }
    }

    #[test]
    fn every_duration_is_bounded_and_named() {
        let cases = [
            (r#"{"url": {"url": "https://x/r.json", "timeout": "400000000000y"}}"#, "source.url.timeout"),
            (r#"{"git": {"repository": "https://x/r.git", "timeout": "2d"}}"#, "source.git.timeout"),
            (r#"{"git": {"repository": "https://x/r.git", "timeout": "1ms"}}"#, "source.git.timeout"),
            (r#"{"registryApi": {"url": "https://x", "timeout": "400000000000y"}}"#, "source.registryApi.timeout"),
            (
                r#"{"registryApi": {"url": "https://x", "fullResyncInterval": "400000000000y"}}"#,
                "source.registryApi.fullResyncInterval",
            ),
        ];
        for (json, field) in cases {
            let spec: SourceSpec = serde_json::from_str(json).expect(json);
            let err = spec.check().expect_err(json);
            assert_eq!(err.field, field, "{json}");
            assert!(err.to_string().contains("out of range (allowed: "), "{err}");
        }
        let fine: SourceSpec = serde_json::from_str(
            r#"{"registryApi": {"url": "https://x", "timeout": "5m", "fullResyncInterval": "1d"}}"#,
        )
        .expect("spec");
        assert_eq!(fine.check(), Ok(()));
    }
}
