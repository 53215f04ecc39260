//! The one conversion between an MCPRegistry spec and a local registry (`thv_sync::RegistrySpec`, an entry of
//! `registries.yaml`), so both describe a registry the same way and `migrate` is mechanical.
//!
//! - [`to_local`] splits a spec into the local registry and the [`ClusterSettings`] a local registry has no
//!   place for (display name, description, `onUpdate`, `suspend`, storage, API). A ConfigMap source becomes the
//!   data-only [`SourceSpec::ConfigMap`] and an `authSecret` becomes [`AuthSpec::KubernetesSecret`]; both are
//!   read only by the operator.
//! - [`from_local`] is the inverse. It fails, naming the field, for what a resource cannot hold: a file source,
//!   credentials in a file or environment variable, limits and options the resource does not expose, durations
//!   outside the resource's bounds.
//!
//! `from_local(to_local(spec))` gives `spec` back exactly. `to_local(from_local(local))` gives `local` back up to
//! defaults written out (a Git `path: registry.json` reads back as no path) and durations written canonically.

use std::collections::BTreeMap;

use thv_model::filter::{Criteria as LocalCriteria, Filter};
use thv_sources::{
    ApiSpec as LocalApiSpec, AuthSpec, ConfigMapSpec, GitRef, GitSpec as LocalGitSpec, KubernetesSecretAuth,
    SourceSpec, UrlSpec as LocalUrlSpec,
};
use thv_sync::{RegistrySpec, RetryPolicy as LocalRetry, SyncPolicy as LocalSync, ValidationPolicy};

use crate::duration::{BACKOFF, INTERVAL};
use crate::policy::MAX_RETRIES;
use crate::source::DEFAULT_GIT_PATH;
use crate::{
    ApiSpec, AuthSecret, ConfigMapSource, Criteria, FilterSpec, GitSource, HttpHeader, McpRegistrySpec, OnUpdate,
    RegistryApiSource, RegistrySource, RetryPolicy, SourceFormat, SourceType, StorageSpec, SyncPolicy, UrlSource,
    ValidationMode, ValidationSpec,
};

/// The parts of an MCPRegistry spec a local registry has no place for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterSettings {
    /// `spec.displayName`.
    pub display_name: Option<String>,
    /// `spec.description`.
    pub description: Option<String>,
    /// `spec.syncPolicy.onUpdate`.
    pub on_update: OnUpdate,
    /// `spec.suspend`.
    pub suspend: bool,
    /// `spec.storage`.
    pub storage: StorageSpec,
    /// `spec.api`.
    pub api: ApiSpec,
    /// `spec.priority`.
    pub priority: i32,
}

/// A spec that cannot be converted. Messages name the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConversionError {
    /// The MCPRegistry is not usable as written (what the schema should have refused).
    #[error("{field}: {message}")]
    InvalidSpec {
        /// The field (`spec.source.git`, `metadata.name`).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A filter value that cannot be what the user meant.
    #[error("spec.{0}")]
    Filter(#[from] thv_model::filter::FilterError),
    /// The local registry uses something an MCPRegistry cannot hold.
    #[error("registry {registry}: {field} cannot be expressed in an MCPRegistry: {reason}")]
    Unrepresentable {
        /// The local registry's name.
        registry: String,
        /// The field, as written in `registries.yaml`.
        field: String,
        /// Why, and what to use instead.
        reason: String,
    },
}

fn invalid(field: &str, message: impl Into<String>) -> ConversionError {
    ConversionError::InvalidSpec { field: format!("spec.{field}"), message: message.into() }
}

fn invalid_duration(e: crate::duration::DurationError) -> ConversionError {
    invalid(e.field(), e.reason())
}

/// Splits the spec of the MCPRegistry `name` into a local registry and the settings only a cluster has.
pub fn to_local(name: &str, spec: &McpRegistrySpec) -> Result<(RegistrySpec, ClusterSettings), ConversionError> {
    let registry = RegistrySpec {
        name: name.to_owned(),
        source: source_to_local(&spec.source)?,
        format: match spec.format {
            None => thv_sync::SourceFormat::Auto,
            Some(SourceFormat::Toolhive) => thv_sync::SourceFormat::Toolhive,
            Some(SourceFormat::Upstream) => thv_sync::SourceFormat::Upstream,
        },
        sync_policy: LocalSync {
            enabled: spec.sync_policy.enabled,
            interval: INTERVAL.parse(&spec.sync_policy.interval).map_err(invalid_duration)?,
            retry: LocalRetry {
                max_retries: u32::try_from(spec.sync_policy.retry.max_retries)
                    .map_err(|_| invalid("syncPolicy.retry.maxRetries", "must not be negative"))?,
                backoff_interval: BACKOFF.parse(&spec.sync_policy.retry.backoff_interval).map_err(invalid_duration)?,
            },
        },
        filter: Filter {
            include: criteria_to_local(&spec.filter.include),
            exclude: criteria_to_local(&spec.filter.exclude),
        },
        validation: ValidationPolicy {
            mode: match spec.validation.mode {
                ValidationMode::Warn => thv_sync::ValidationMode::Warn,
                ValidationMode::Skip => thv_sync::ValidationMode::Skip,
            },
            strict: false,
            against: None,
        },
    };
    registry.filter.validate()?;
    check_storage(&spec.storage)?;
    registry.check().map_err(|message| ConversionError::InvalidSpec { field: "metadata.name".to_owned(), message })?;
    let cluster = ClusterSettings {
        display_name: spec.display_name.clone(),
        description: spec.description.clone(),
        on_update: spec.sync_policy.on_update,
        suspend: spec.suspend,
        storage: spec.storage.clone(),
        api: spec.api.clone(),
        priority: spec.priority,
    };
    Ok((registry, cluster))
}

/// `storage.postgres` is set exactly when `storage.type` is `postgres` (the schema's CEL rule, checked again
/// for API servers that do not run it).
fn check_storage(storage: &StorageSpec) -> Result<(), ConversionError> {
    match (storage.type_, &storage.postgres) {
        (crate::StorageType::Postgres, None) => {
            Err(invalid("storage.postgres", "storage.type is postgres: set storage.postgres.secretRef"))
        }
        (crate::StorageType::Configmap, Some(_)) => {
            Err(invalid("storage.postgres", "only for storage.type postgres (storage.type is configmap)"))
        }
        _ => Ok(()),
    }
}

/// Builds the MCPRegistry spec of a local registry plus the cluster-only settings (the registry's name becomes
/// the resource's `metadata.name`).
pub fn from_local(local: &RegistrySpec, cluster: &ClusterSettings) -> Result<McpRegistrySpec, ConversionError> {
    let unrepresentable = |field: &str, reason: &str| ConversionError::Unrepresentable {
        registry: local.name.clone(),
        field: field.to_owned(),
        reason: reason.to_owned(),
    };
    if local.validation.strict {
        return Err(unrepresentable("validation.strict", "an MCPRegistry has no strict validation mode"));
    }
    if local.validation.against.is_some() {
        return Err(unrepresentable("validation.against", "an MCPRegistry judges records by their declared schema"));
    }
    let max_retries =
        i32::try_from(local.sync_policy.retry.max_retries).ok().filter(|n| *n <= MAX_RETRIES).ok_or_else(|| {
            unrepresentable("syncPolicy.retry.maxRetries", &format!("an MCPRegistry allows at most {MAX_RETRIES}"))
        })?;
    let out_of_range = |e: crate::duration::DurationError| unrepresentable(e.field(), &e.reason());
    Ok(McpRegistrySpec {
        display_name: cluster.display_name.clone(),
        description: cluster.description.clone(),
        format: match local.format {
            thv_sync::SourceFormat::Auto => None,
            thv_sync::SourceFormat::Toolhive => Some(SourceFormat::Toolhive),
            thv_sync::SourceFormat::Upstream => Some(SourceFormat::Upstream),
        },
        source: source_from_local(&local.source, &unrepresentable)?,
        sync_policy: SyncPolicy {
            enabled: local.sync_policy.enabled,
            interval: INTERVAL.format(local.sync_policy.interval).map_err(out_of_range)?,
            on_update: cluster.on_update,
            retry: RetryPolicy {
                max_retries,
                backoff_interval: BACKOFF.format(local.sync_policy.retry.backoff_interval).map_err(out_of_range)?,
            },
        },
        filter: FilterSpec {
            include: criteria_from_local(&local.filter.include),
            exclude: criteria_from_local(&local.filter.exclude),
        },
        validation: ValidationSpec {
            mode: match local.validation.mode {
                thv_sync::ValidationMode::Warn => ValidationMode::Warn,
                thv_sync::ValidationMode::Skip => ValidationMode::Skip,
            },
        },
        suspend: cluster.suspend,
        storage: cluster.storage.clone(),
        api: cluster.api.clone(),
        priority: cluster.priority,
    })
}

fn source_to_local(source: &RegistrySource) -> Result<SourceSpec, ConversionError> {
    let missing = || invalid("source", format!("source.type is {} but that block is missing", source.type_.as_str()));
    let blocks = [source.config_map.is_some(), source.url.is_some(), source.git.is_some(), source.registry.is_some()];
    if blocks.iter().filter(|set| **set).count() > 1 {
        return Err(invalid("source", "set only the block that source.type names"));
    }
    Ok(match source.type_ {
        SourceType::Configmap => {
            let c = source.config_map.as_ref().ok_or_else(missing)?;
            SourceSpec::ConfigMap(ConfigMapSpec { name: c.name.clone(), key: c.key.clone() })
        }
        SourceType::Url => {
            let u = source.url.as_ref().ok_or_else(missing)?;
            SourceSpec::Url(LocalUrlSpec {
                headers: headers_to_local("source.url.headers", &u.headers)?,
                auth: u.auth_secret.as_ref().map(auth_to_local),
                ..LocalUrlSpec::new(&u.url)
            })
        }
        SourceType::Git => {
            let g = source.git.as_ref().ok_or_else(missing)?;
            let reference = match (&g.branch, &g.tag, &g.commit) {
                (None, None, None) => None,
                (Some(b), None, None) => Some(GitRef::Branch(b.clone())),
                (None, Some(t), None) => Some(GitRef::Tag(t.clone())),
                (None, None, Some(c)) => Some(GitRef::Commit(c.clone())),
                _ => return Err(invalid("source.git", "set at most one of branch, tag and commit")),
            };
            SourceSpec::Git(LocalGitSpec {
                repository: g.repository.clone(),
                reference,
                path: (g.path != DEFAULT_GIT_PATH).then(|| g.path.clone()),
                auth: g.auth_secret.as_ref().map(auth_to_local),
                max_bytes: None,
                timeout: None,
            })
        }
        SourceType::Registry => {
            let r = source.registry.as_ref().ok_or_else(missing)?;
            SourceSpec::RegistryApi(LocalApiSpec {
                latest_only: r.latest_only,
                auth: r.auth_secret.as_ref().map(auth_to_local),
                ..LocalApiSpec::new(&r.url)
            })
        }
    })
}

fn source_from_local(
    source: &SourceSpec,
    unrepresentable: &dyn Fn(&str, &str) -> ConversionError,
) -> Result<RegistrySource, ConversionError> {
    let empty = RegistrySource { type_: SourceType::Configmap, config_map: None, url: None, git: None, registry: None };
    let auth = |field: &str, auth: &Option<AuthSpec>| match auth {
        None => Ok(None),
        Some(AuthSpec::KubernetesSecret(secret)) => Ok(Some(auth_from_local(secret))),
        Some(AuthSpec::Bearer { .. } | AuthSpec::Basic { .. }) => Err(unrepresentable(
            field,
            "an MCPRegistry reads credentials from a Secret (authSecret), not from a file or environment variable",
        )),
    };
    // Options a resource does not expose must be at their defaults.
    let refuse =
        |set: bool, field: &str| if set { Err(unrepresentable(field, "not a field of MCPRegistry")) } else { Ok(()) };
    Ok(match source {
        SourceSpec::File(_) => {
            return Err(unrepresentable(
                "source.file",
                "a cluster has no local files: put the catalog in a ConfigMap (source type configmap)",
            ));
        }
        SourceSpec::ConfigMap(c) => RegistrySource {
            type_: SourceType::Configmap,
            config_map: Some(ConfigMapSource { name: c.name.clone(), key: c.key.clone() }),
            ..empty
        },
        SourceSpec::Url(u) => {
            refuse(u.ca_bundle.is_some(), "source.url.caBundle")?;
            refuse(u.max_bytes.is_some(), "source.url.maxBytes")?;
            refuse(u.timeout.is_some(), "source.url.timeout")?;
            refuse(u.max_redirects.is_some(), "source.url.maxRedirects")?;
            refuse(u.allow_link_local, "source.url.allowLinkLocal")?;
            RegistrySource {
                type_: SourceType::Url,
                url: Some(UrlSource {
                    url: u.url.clone(),
                    headers: u
                        .headers
                        .iter()
                        .map(|(name, value)| HttpHeader { name: name.clone(), value: value.clone() })
                        .collect(),
                    auth_secret: auth("source.url.auth", &u.auth)?,
                }),
                ..empty
            }
        }
        SourceSpec::Git(g) => {
            refuse(g.max_bytes.is_some(), "source.git.maxBytes")?;
            refuse(g.timeout.is_some(), "source.git.timeout")?;
            let (branch, tag, commit) = match &g.reference {
                None => (None, None, None),
                Some(GitRef::Branch(b)) => (Some(b.clone()), None, None),
                Some(GitRef::Tag(t)) => (None, Some(t.clone()), None),
                Some(GitRef::Commit(c)) => (None, None, Some(c.clone())),
            };
            RegistrySource {
                type_: SourceType::Git,
                git: Some(GitSource {
                    repository: g.repository.clone(),
                    branch,
                    tag,
                    commit,
                    path: g.path_or_default().to_owned(),
                    auth_secret: auth("source.git.auth", &g.auth)?,
                }),
                ..empty
            }
        }
        SourceSpec::RegistryApi(r) => {
            refuse(!r.headers.is_empty(), "source.registryApi.headers")?;
            refuse(r.ca_bundle.is_some(), "source.registryApi.caBundle")?;
            refuse(r.full_resync_interval.is_some(), "source.registryApi.fullResyncInterval")?;
            refuse(r.timeout.is_some(), "source.registryApi.timeout")?;
            refuse(r.max_page_bytes.is_some(), "source.registryApi.maxPageBytes")?;
            refuse(r.max_pages.is_some(), "source.registryApi.maxPages")?;
            refuse(r.allow_link_local, "source.registryApi.allowLinkLocal")?;
            RegistrySource {
                type_: SourceType::Registry,
                registry: Some(RegistryApiSource {
                    url: r.url.clone(),
                    latest_only: r.latest_only,
                    auth_secret: auth("source.registryApi.auth", &r.auth)?,
                }),
                ..empty
            }
        }
    })
}

/// Header names are case-insensitive, so two that differ only in case are one header given twice.
fn headers_to_local(field: &str, headers: &[HttpHeader]) -> Result<BTreeMap<String, String>, ConversionError> {
    let mut out = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    for header in headers {
        if !seen.insert(header.name.to_ascii_lowercase()) {
            return Err(invalid(field, format!("header {} is given twice", header.name)));
        }
        out.insert(header.name.clone(), header.value.clone());
    }
    Ok(out)
}

fn auth_to_local(secret: &AuthSecret) -> AuthSpec {
    AuthSpec::KubernetesSecret(KubernetesSecretAuth {
        name: secret.name.clone(),
        token_key: secret.token_key.clone(),
        username_key: secret.username_key.clone(),
        password_key: secret.password_key.clone(),
    })
}

fn auth_from_local(secret: &KubernetesSecretAuth) -> AuthSecret {
    AuthSecret {
        name: secret.name.clone(),
        token_key: secret.token_key.clone(),
        username_key: secret.username_key.clone(),
        password_key: secret.password_key.clone(),
    }
}

fn criteria_to_local(c: &Criteria) -> LocalCriteria {
    LocalCriteria {
        names: c.names.clone(),
        tags: c.tags.clone(),
        tiers: c.tiers.clone(),
        transports: c.transports.clone(),
        categories: c.categories.clone(),
    }
}

fn criteria_from_local(c: &LocalCriteria) -> Criteria {
    Criteria {
        names: c.names.clone(),
        tags: c.tags.clone(),
        tiers: c.tiers.clone(),
        transports: c.transports.clone(),
        categories: c.categories.clone(),
    }
}
