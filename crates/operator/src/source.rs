//! `spec.source`: where the catalog comes from. A Kubernetes-style union: `type` names the one block that is set.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use crate::schema::{
    DATA_KEY, DATA_KEY_MAX, DNS_SUBDOMAIN, DNS_SUBDOMAIN_MAX, GIT_COMMIT, GIT_PATH_MAX, GIT_REF_NAME, GIT_REF_NAME_MAX,
    HEADER_NAME, HEADER_NAME_MAX, HEADER_VALUE, HEADER_VALUE_MAX, URL_MAX, URL_RULE, URL_RULE_MESSAGE,
};

/// Where the catalog comes from: `type` names the one block that is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(
    "has(self.configMap) == (self.type == 'configmap') && has(self.url) == (self.type == 'url') \
     && has(self.git) == (self.type == 'git') && has(self.registry) == (self.type == 'registry')"
).message("set exactly the block that source.type names: configMap, url, git or registry"))]
pub struct RegistrySource {
    /// Kind of source: `configmap`, `url`, `git` or `registry`.
    #[serde(rename = "type")]
    pub type_: SourceType,
    /// A key of a ConfigMap in the registry's namespace; an edit of the ConfigMap syncs at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<ConfigMapSource>,
    /// A catalog file at an HTTP(S) URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<UrlSource>,
    /// A catalog file in a Git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitSource>,
    /// Another registry that serves the MCP Registry API (`/v0.1/servers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<RegistryApiSource>,
}

/// See [`RegistrySource::type_`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SourceType {
    /// `source.configMap`.
    Configmap,
    /// `source.url`.
    Url,
    /// `source.git`.
    Git,
    /// `source.registry`.
    Registry,
}

impl SourceType {
    /// The value as written in the resource (`configmap`, `url`, `git`, `registry`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Configmap => "configmap",
            Self::Url => "url",
            Self::Git => "git",
            Self::Registry => "registry",
        }
    }
}

/// A key of a ConfigMap in the registry's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapSource {
    /// Name of the ConfigMap.
    #[schemars(length(min = 1, max = DNS_SUBDOMAIN_MAX), regex(pattern = DNS_SUBDOMAIN))]
    pub name: String,
    /// Key holding the catalog document.
    #[serde(default = "default_config_map_key")]
    #[schemars(length(min = 1, max = DATA_KEY_MAX), regex(pattern = DATA_KEY))]
    pub key: String,
}

fn default_config_map_key() -> String {
    thv_sources::DEFAULT_CONFIG_MAP_KEY.to_owned()
}

/// A catalog file at an HTTP(S) URL, fetched with conditional requests (ETag, Last-Modified).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct UrlSource {
    /// The URL of the catalog file.
    #[schemars(length(max = URL_MAX))]
    #[x_kube(validation = Rule::new(URL_RULE).message(URL_RULE_MESSAGE))]
    pub url: String,
    /// Extra request headers (not for credentials: use authSecret).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::schema::headers")]
    #[x_kube(validation = Rule::new("!self.exists(h, h.name.lowerAscii() == 'authorization')")
        .message("put credentials in authSecret, not in an Authorization header"))]
    pub headers: Vec<HttpHeader>,
    /// Credentials from a Secret in the registry's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_secret: Option<AuthSecret>,
}

/// A catalog file in a Git repository, fetched at depth 1 into a cache that later fetches reuse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(
    "(has(self.branch) ? 1 : 0) + (has(self.tag) ? 1 : 0) + (has(self.commit) ? 1 : 0) <= 1"
).message("set at most one of git.branch, git.tag and git.commit (none: the remote's default branch)"))]
pub struct GitSource {
    /// Repository URL (`https://…` or `http://…`).
    #[schemars(length(max = URL_MAX))]
    #[x_kube(validation = Rule::new(URL_RULE).message(URL_RULE_MESSAGE))]
    pub repository: String,
    /// Branch to follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = GIT_REF_NAME_MAX), regex(pattern = GIT_REF_NAME))]
    pub branch: Option<String>,
    /// Tag to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = GIT_REF_NAME_MAX), regex(pattern = GIT_REF_NAME))]
    pub tag: Option<String>,
    /// Commit id to read (full or abbreviated hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 4, max = 64), regex(pattern = GIT_COMMIT))]
    pub commit: Option<String>,
    /// Path of the catalog file inside the repository.
    #[serde(default = "default_git_path")]
    #[schemars(length(min = 1, max = GIT_PATH_MAX))]
    #[x_kube(validation = Rule::new("!self.startsWith('/') && !self.split('/').exists(p, p == '..')")
        .message("git.path must be a relative path inside the repository (no leading '/', no '..')"))]
    pub path: String,
    /// Credentials from a Secret in the registry's namespace (token, or user name and password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_secret: Option<AuthSecret>,
}

fn default_git_path() -> String {
    DEFAULT_GIT_PATH.to_owned()
}

/// The catalog file a Git source reads when `path` is not given.
pub(crate) const DEFAULT_GIT_PATH: &str = "registry.json";

/// Another registry's MCP Registry API; its servers are walked page by page, then only changes are asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistryApiSource {
    /// Base URL: the part before `/v0.1/servers`.
    #[schemars(length(max = URL_MAX))]
    #[x_kube(validation = Rule::new(URL_RULE).message(URL_RULE_MESSAGE))]
    pub url: String,
    /// Fetch only the latest version of each server.
    #[serde(default)]
    pub latest_only: bool,
    /// Credentials from a Secret in the registry's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_secret: Option<AuthSecret>,
}

/// An extra HTTP request header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct HttpHeader {
    /// Header name.
    #[schemars(length(min = 1, max = HEADER_NAME_MAX), regex(pattern = HEADER_NAME))]
    pub name: String,
    /// Header value (visible to anyone who can read the MCPRegistry).
    #[schemars(length(max = HEADER_VALUE_MAX), regex(pattern = HEADER_VALUE))]
    pub value: String,
}

/// Keys of a Secret in the registry's namespace, read at every fetch (a rotated Secret is used at the next
/// fetch): `tokenKey` for a bearer token, or `usernameKey` and `passwordKey` for HTTP basic authentication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(
    "has(self.tokenKey) ? !has(self.usernameKey) && !has(self.passwordKey) \
     : has(self.usernameKey) && has(self.passwordKey)"
).message("authSecret needs tokenKey, or usernameKey and passwordKey, not both"))]
pub struct AuthSecret {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = DNS_SUBDOMAIN_MAX), regex(pattern = DNS_SUBDOMAIN))]
    pub name: String,
    /// Key of the bearer token (sent as `Authorization: Bearer`; for Git, as the password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = DATA_KEY_MAX), regex(pattern = DATA_KEY))]
    pub token_key: Option<String>,
    /// Key of the user name for HTTP basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = DATA_KEY_MAX), regex(pattern = DATA_KEY))]
    pub username_key: Option<String>,
    /// Key of the password for HTTP basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = DATA_KEY_MAX), regex(pattern = DATA_KEY))]
    pub password_key: Option<String>,
}
