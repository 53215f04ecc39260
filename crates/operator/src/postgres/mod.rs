//! `spec.storage.type: postgres`: a registry's catalog in a PostgreSQL database named by a Secret.
//!
//! - [`registry_key`]: a registry is stored as `<namespace>/<name>`, so registries of any namespaces can
//!   share one database; [`NamespacedStore`] maps the plain `<name>` the pipeline and the API use to that key.
//! - [`read_url`]: the connection URL from `storage.postgres.secretRef`, with errors that name the Secret and
//!   key and never the value.
//! - [`Databases`]: the operator's open databases, one bounded pool per distinct URL, shared by the
//!   registries that name it; a registry whose Secret now names another URL moves to that pool, and a pool
//!   no registry uses any more is closed.

mod databases;
mod scoped;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use std::sync::Arc;

use thv_store::{PostgresUrl, Store, StoreLocation};

pub use self::databases::{Databases, MAX_DATABASES};
pub use self::scoped::NamespacedStore;
use crate::SecretKeyRef;
use crate::kube_error::{CallError, call, describe};

/// The key under which the registry `name` of `namespace` is stored in a shared database:
/// `<namespace>/<name>` (namespaces cannot contain `/`, so keys of different namespaces never meet).
pub fn registry_key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// Opens the PostgreSQL database at `url` (the schema migrated first).
///
/// On a blocking thread of the runtime: the store's opening future is not `Send` for every lifetime (sqlx's
/// migrator, a rustc limitation with higher-ranked `Acquire`), and the reconciler's futures must be.
pub async fn open(url: PostgresUrl) -> thv_store::StoreResult<Arc<dyn Store>> {
    let runtime = tokio::runtime::Handle::current();
    let location = StoreLocation::Postgres(url);
    let shown = location.to_string();
    tokio::task::spawn_blocking(move || runtime.block_on(thv_store::open(&location)))
        .await
        .unwrap_or_else(|e| Err(thv_store::StoreError::Open { location: shown, message: e.to_string() }))
}

/// Why a registry's PostgreSQL storage cannot be used. No variant carries the URL's password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The Secret or its key does not exist.
    #[error("Secret {namespace}/{name} {problem} (storage.postgres.secretRef); the stored catalog is kept")]
    SecretNotFound {
        /// The registry's namespace.
        namespace: String,
        /// The Secret's name.
        name: String,
        /// `not found` or `has no key url`.
        problem: String,
    },
    /// The Secret's value is not a usable PostgreSQL URL.
    #[error("Secret {namespace}/{name} key {key}: {message} (storage.postgres.secretRef)")]
    SecretInvalid {
        /// The registry's namespace.
        namespace: String,
        /// The Secret's name.
        name: String,
        /// The key.
        key: String,
        /// What is wrong (never the value).
        message: String,
    },
    /// The Secret could not be read, or the database could not be opened; may pass by itself.
    #[error("{0}; the stored catalog is kept")]
    Unavailable(String),
}

impl StorageError {
    /// Whether only a change (to the Secret, or the spec) helps; else a retry may.
    pub fn is_stalled(&self) -> bool {
        !matches!(self, Self::Unavailable(_))
    }
}

/// The URL a storage Secret holds, as read.
pub struct SecretUrl {
    /// The URL, its password kept apart.
    pub url: PostgresUrl,
    /// The URL as the Secret holds it (the pool's key; never shown).
    pub text: String,
    /// The Secret's `resourceVersion`.
    pub version: Option<String>,
}

/// The connection URL in `secret_ref` of a registry in `namespace`, read through `secrets` (an API of that
/// namespace). A `postgres://` or `postgresql://` URL; its password stays out of every error.
pub async fn read_url(
    secrets: &Api<Secret>,
    namespace: &str,
    secret_ref: &SecretKeyRef,
) -> Result<SecretUrl, StorageError> {
    let not_found = |problem: String| StorageError::SecretNotFound {
        namespace: namespace.to_owned(),
        name: secret_ref.name.clone(),
        problem,
    };
    let invalid = |message: &str| StorageError::SecretInvalid {
        namespace: namespace.to_owned(),
        name: secret_ref.name.clone(),
        key: secret_ref.key.clone(),
        message: message.to_owned(),
    };
    let secret = match call(secrets.get_opt(&secret_ref.name)).await {
        Ok(Some(secret)) => secret,
        Ok(None) => return Err(not_found("not found; create it in the registry's namespace".to_owned())),
        Err(CallError::TimedOut) => {
            return Err(StorageError::Unavailable(format!(
                "reading Secret {namespace}/{}: the Kubernetes API server did not answer",
                secret_ref.name
            )));
        }
        Err(CallError::Api(e)) => {
            return Err(StorageError::Unavailable(format!(
                "reading Secret {namespace}/{}: {}",
                secret_ref.name,
                describe(&e)
            )));
        }
    };
    let bytes = secret.data.as_ref().and_then(|d| d.get(&secret_ref.key)).map(|b| b.0.clone());
    let bytes =
        bytes.or_else(|| secret.string_data.as_ref().and_then(|d| d.get(&secret_ref.key)).map(|s| s.clone().into()));
    let bytes = bytes.ok_or_else(|| not_found(format!("has no key {}", secret_ref.key)))?;
    let text = String::from_utf8(bytes).map_err(|_| invalid("the value is not UTF-8 text"))?;
    let text = text.trim().to_owned();
    if !thv_store::is_postgres_url(&text) {
        return Err(invalid("the value is not a postgres:// or postgresql:// URL"));
    }
    // The parser's own message quotes the URL without its password; the value itself stays out.
    let url = PostgresUrl::parse(&text).map_err(|_| invalid("the value is not a valid PostgreSQL URL"))?;
    Ok(SecretUrl { url, text, version: secret.metadata.resource_version })
}
