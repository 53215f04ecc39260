//! Credentials from Kubernetes Secrets, read at each fetch.

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use thv_sources::{CredentialResolver, Credentials, KubernetesSecretAuth, SourceError};

use crate::kube_error::{call, source_error};

/// Reads `authSecret` credentials from Secrets in one namespace through the API, at every fetch: a rotated
/// Secret is used at the next fetch. A missing Secret or key is [`SourceError::CredentialsNotFound`] naming
/// the Secret and key; values never appear in errors or logs.
pub struct SecretResolver {
    api: Api<Secret>,
    namespace: String,
}

impl SecretResolver {
    /// A resolver for Secrets in `namespace`.
    pub fn new(client: kube::Client, namespace: &str) -> Self {
        Self { api: Api::namespaced(client, namespace), namespace: namespace.to_owned() }
    }
}

#[async_trait]
impl CredentialResolver for SecretResolver {
    async fn resolve(&self, secret: &KubernetesSecretAuth) -> Result<Credentials, SourceError> {
        let what = format!("Secret {}/{}", self.namespace, secret.name);
        let object = call(self.api.get_opt(&secret.name))
            .await
            .map_err(|e| source_error(&what, "secrets", &self.namespace, e))?
            .ok_or_else(|| SourceError::CredentialsNotFound {
                what: what.clone(),
                message: "not found; create it in the registry's namespace".to_owned(),
            })?;
        let value = |key: &str| -> Result<String, SourceError> {
            let bytes = object.data.as_ref().and_then(|d| d.get(key)).map(|b| b.0.clone());
            let bytes =
                bytes.or_else(|| object.string_data.as_ref().and_then(|d| d.get(key)).map(|s| s.clone().into()));
            let bytes = bytes.ok_or_else(|| SourceError::CredentialsNotFound {
                what: what.clone(),
                message: format!("no key {key}"),
            })?;
            String::from_utf8(bytes)
                .map_err(|_| SourceError::InvalidSpec(format!("{what}: the value of key {key} is not UTF-8 text")))
        };
        match (&secret.token_key, &secret.username_key, &secret.password_key) {
            (Some(token), None, None) => Ok(Credentials::Bearer(value(token)?)),
            (None, Some(username), Some(password)) => {
                Ok(Credentials::Basic { username: value(username)?, password: value(password)? })
            }
            _ => Err(SourceError::InvalidSpec(format!(
                "authSecret {}: set tokenKey, or usernameKey and passwordKey",
                secret.name
            ))),
        }
    }
}
