//! The ConfigMap source: a key of a ConfigMap in the registry's namespace, read through the API.

use async_trait::async_trait;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use thv_sources::{ConfigMapSpec, FetchOutcome, Fetched, Payload, Source, SourceError, Validators, sha256_revision};

use crate::gzip;
use crate::kube_error::{call, source_error};
use crate::storage::MAX_DECOMPRESSED_BYTES;

/// Reads `data[key]` (or `binaryData[key]`) of a ConfigMap at each fetch; a `binaryData` value that is gzip
/// data (as `thv registry migrate` writes a catalog too large for the object uncompressed) is decompressed,
/// to at most [`MAX_DECOMPRESSED_BYTES`]. The revision is `sha256:<hex>` of the stored bytes; the same bytes
/// as last time are [`FetchOutcome::NotModified`]. A missing ConfigMap or key is
/// [`SourceError::NotFound`] (stalled until it appears); API trouble (5xx, timeouts) is retryable.
pub struct ConfigMapSource {
    api: Api<ConfigMap>,
    namespace: String,
    spec: ConfigMapSpec,
}

impl ConfigMapSource {
    /// The source of `spec` in `namespace`.
    pub fn new(client: kube::Client, namespace: &str, spec: &ConfigMapSpec) -> Self {
        Self { api: Api::namespaced(client, namespace), namespace: namespace.to_owned(), spec: spec.clone() }
    }

    fn what(&self) -> String {
        format!("ConfigMap {}/{}", self.namespace, self.spec.name)
    }
}

#[async_trait]
impl Source for ConfigMapSource {
    fn describe(&self) -> String {
        format!("configmap {}/{} key {}", self.namespace, self.spec.name, self.spec.key)
    }

    async fn fetch(&self, previous: Option<&Validators>) -> Result<FetchOutcome, SourceError> {
        let what = self.what();
        let object = call(self.api.get_opt(&self.spec.name))
            .await
            .map_err(|e| source_error(&what, "configmaps", &self.namespace, e))?
            .ok_or_else(|| SourceError::NotFound {
                what: what.clone(),
                message: format!("not found; create it with the catalog under key {}", self.spec.key),
            })?;
        let key = &self.spec.key;
        let text = object.data.as_ref().and_then(|d| d.get(key)).map(|text| text.as_bytes());
        let binary = || object.binary_data.as_ref().and_then(|b| b.get(key)).map(|b| b.0.as_slice());
        let compressed = text.is_none() && binary().is_some_and(gzip::is_gzip);
        let Some(bytes) = text.or_else(binary) else {
            let mut keys: Vec<&str> = object.data.iter().flatten().map(|(k, _)| k.as_str()).collect();
            keys.extend(object.binary_data.iter().flatten().map(|(k, _)| k.as_str()));
            let present =
                if keys.is_empty() { "it has no keys".to_owned() } else { format!("it has {}", keys.join(", ")) };
            return Err(SourceError::NotFound { what, message: format!("no key {key} ({present})") });
        };
        let revision = sha256_revision(bytes);
        let validators = Validators { content_sha256: Some(revision.clone()), ..Validators::default() };
        if previous.and_then(|p| p.content_sha256.as_deref()) == Some(revision.as_str()) {
            return Ok(FetchOutcome::NotModified { revision, validators });
        }
        let payload = if compressed {
            gzip::decompress(bytes, MAX_DECOMPRESSED_BYTES)
                .map_err(|message| SourceError::BadContent { what: format!("{what} binaryData key {key}"), message })?
        } else {
            bytes.to_vec()
        };
        Ok(FetchOutcome::Fetched(Fetched { payload: Payload::Full(payload), revision, validators }))
    }
}
