//! `MCPRegistryExportJob`: one attempt reads the registry's stored catalog (through the same [`Backend`]
//! store the sync writes), writes it in the asked format with `thv_model`'s writers, and creates or replaces
//! the target ConfigMap. The ConfigMap is not owned by the job (it outlives the job's TTL); the operator marks
//! it with [`EXPORT_JOB_ANNOTATION`] and never overwrites one it did not write for this job.
//!
//! The decisions are pure: [`thv_sync::export::export`] (catalog → bytes and counts, the rendering `thv registry
//! export` uses too) and [`encode`] (plain `data`, gzip in
//! `binaryData` above [`COMPRESS_ABOVE`], refused above [`EXPORT_LIMIT`]).
//!
//! [`Backend`]: crate::controller::Backend

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{Api, ObjectMeta, PostParams};
use sha2::Digest as _;
use thv_model::write::Outcome as EntryOutcome;
use thv_sync::export::export;

use super::{JobContext, JobKind};
use crate::McpRegistry;
use crate::controller::Error;
use crate::jobs::lifecycle::Outcome;
use crate::jobs::{
    ExportFormat, ExportResult, JobPolicy, JobReason, JobStatus, McpRegistryExportJob, McpRegistryExportJobStatus,
};
use crate::labels::{APP_NAME, MANAGED_BY};
use crate::storage::layout::{self, STORAGE_LIMIT};

/// Annotation on an export's ConfigMap naming the job that wrote it; a ConfigMap without it (or naming
/// another job) is never overwritten.
pub const EXPORT_JOB_ANNOTATION: &str = "toolhive.stacklok.io/export-job";
/// Exports larger than this (uncompressed) are gzip-compressed into `binaryData`.
pub const COMPRESS_ABOVE: usize = 256 * 1024;
/// The largest export written: the same margin under the API server's 1 MiB ConfigMap limit as the storage
/// ConfigMap keeps.
pub const EXPORT_LIMIT: u64 = STORAGE_LIMIT;

/// An export as ConfigMap fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// `data` (the export under its key, when small).
    pub data: BTreeMap<String, String>,
    /// `binaryData` (the export gzip-compressed under `<key>.gz`, when large).
    pub binary_data: BTreeMap<String, ByteString>,
    /// The key written.
    pub key: String,
    /// Whether it is compressed.
    pub compressed: bool,
}

/// Why an export cannot be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLarge {
    /// Bytes uncompressed.
    pub bytes: usize,
    /// Bytes compressed (with the key, as the API server counts).
    pub stored: u64,
    /// The limit.
    pub limit: u64,
}

/// The ConfigMap fields of an export: plain text up to [`COMPRESS_ABOVE`] bytes, gzip in `binaryData` above,
/// refused when the fields would exceed `limit` bytes as the API server counts them.
pub fn encode(key: &str, bytes: &[u8], limit: u64) -> Result<Encoded, TooLarge> {
    if bytes.len() <= COMPRESS_ABOVE
        && let Ok(text) = std::str::from_utf8(bytes)
    {
        let data = BTreeMap::from([(key.to_owned(), text.to_owned())]);
        let stored = layout::data_size(Some(&data), None);
        if stored <= limit {
            return Ok(Encoded { data, binary_data: BTreeMap::new(), key: key.to_owned(), compressed: false });
        }
    }
    let compressed_key = format!("{key}.gz");
    let gz = layout::gzip(bytes).unwrap_or_default();
    let binary_data = BTreeMap::from([(compressed_key.clone(), ByteString(gz))]);
    let stored = layout::data_size(None, Some(&binary_data));
    if stored > limit {
        return Err(TooLarge { bytes: bytes.len(), stored, limit });
    }
    Ok(Encoded { data: BTreeMap::new(), binary_data, key: compressed_key, compressed: true })
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

#[async_trait::async_trait]
impl JobKind for McpRegistryExportJob {
    type Status = McpRegistryExportJobStatus;

    fn policy(&self) -> JobPolicy {
        self.spec.policy
    }

    fn stored_status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }

    fn common(status: &Self::Status) -> &JobStatus {
        &status.job
    }

    fn common_mut(status: &mut Self::Status) -> &mut JobStatus {
        &mut status.job
    }

    async fn attempt(
        &self,
        jobs: &JobContext,
        status: &mut Self::Status,
        _fresh: bool,
        _now: Timestamp,
    ) -> Result<Outcome, Error> {
        let namespace = self.namespace().ok_or(Error::Incomplete("metadata.namespace"))?;
        let name = self.name_any();
        let registry_name = &self.spec.registry;
        let registries: Api<McpRegistry> = Api::namespaced(jobs.ctx.client.clone(), &namespace);
        let failed = |reason, message: String, retryable| Outcome::Failed { reason, message, retryable };
        let registry = match registries.get_opt(registry_name).await {
            Ok(Some(registry)) => registry,
            Ok(None) => {
                return Ok(failed(
                    JobReason::RegistryNotFound,
                    format!("MCPRegistry {registry_name} does not exist"),
                    true,
                ));
            }
            Err(e) => return Err(Error::kube(format!("read MCPRegistry {registry_name}"))(e)),
        };
        let store = match jobs.ctx.backend.store(&registry).await {
            Ok(store) => store,
            // A PostgreSQL storage whose Secret or database cannot be used (the registry's status says so).
            Err(Error::Storage(e)) => {
                let message = format!("cannot open the storage of MCPRegistry {registry_name}: {e}");
                return Ok(failed(JobReason::StorageReadFailed, message, true));
            }
            Err(e) => return Err(e),
        };
        let state = match store.registry_state(registry_name).await {
            Ok(state) => state,
            Err(e) => {
                return Ok(failed(
                    JobReason::StorageReadFailed,
                    format!("cannot read the storage of MCPRegistry {registry_name}: {e}"),
                    true,
                ));
            }
        };
        let synced = state.as_ref().and_then(|s| s.last_success_at.clone());
        if synced.is_none() {
            return Ok(failed(
                JobReason::RegistryNotSynced,
                format!("MCPRegistry {registry_name} has no stored catalog yet: its first sync has not succeeded"),
                true,
            ));
        }
        let versions = match store.catalog(registry_name).await {
            Ok(versions) => versions,
            Err(e) => {
                return Ok(failed(
                    JobReason::StorageReadFailed,
                    format!("cannot read the catalog of MCPRegistry {registry_name}: {e}"),
                    true,
                ));
            }
        };
        let format = self.spec.format;
        let rendered = export(
            &versions,
            match format {
                ExportFormat::Toolhive => thv_sync::export::ExportFormat::Toolhive,
                ExportFormat::Upstream => thv_sync::export::ExportFormat::Upstream,
            },
        );
        let target = &self.spec.config_map;
        let encoded = match encode(&target.key, &rendered.bytes, EXPORT_LIMIT) {
            Ok(encoded) => encoded,
            Err(too_large) => {
                return Ok(failed(
                    JobReason::ExportTooLarge,
                    format!(
                        "the {} export of MCPRegistry {registry_name} is {} bytes, {} gzip-compressed; a ConfigMap \
                         holds at most {} bytes: filter the registry, or export it to a file with thv registry \
                         export",
                        format.as_str(),
                        too_large.bytes,
                        too_large.stored,
                        too_large.limit
                    ),
                    false,
                ));
            }
        };
        if let Some(conflict) = write_export(jobs, &namespace, &name, &target.name, &encoded).await? {
            return Ok(failed(JobReason::TargetConflict, conflict, false));
        }
        let (degraded, skipped) = (rendered.count(EntryOutcome::Degraded), rendered.count(EntryOutcome::Skipped));
        let notable = rendered.notable();
        status.job.result_ref = if notable.is_empty() {
            None
        } else {
            let text = serde_json::to_string_pretty(&notable).unwrap_or_default();
            Some(super::write_result(jobs, self, &namespace, text).await?)
        };
        let to_i64 = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        status.export = Some(ExportResult {
            config_map: target.name.clone(),
            key: encoded.key.clone(),
            compressed: encoded.compressed,
            servers: to_i64(rendered.servers),
            versions: to_i64(rendered.versions),
            bytes: to_i64(rendered.bytes.len()),
            digest: sha256(&rendered.bytes),
            revision: state.and_then(|s| s.revision),
            degraded: to_i64(degraded),
            skipped: to_i64(skipped),
        });
        let compressed = if encoded.compressed { ", gzip-compressed" } else { "" };
        Ok(Outcome::Succeeded {
            summary: format!(
                "exported {} servers ({} versions) of {registry_name} as {} to ConfigMap {} key {}{compressed}; \
                 {degraded} degraded, {skipped} skipped",
                rendered.servers,
                rendered.versions,
                format.as_str(),
                target.name,
                encoded.key
            ),
        })
    }
}

/// Creates the target ConfigMap, or replaces the one this job wrote before; `Some(why)` when a ConfigMap of
/// that name exists that this job did not write (it is left alone).
async fn write_export(
    jobs: &JobContext,
    namespace: &str,
    job: &str,
    target: &str,
    encoded: &Encoded,
) -> Result<Option<String>, Error> {
    let api: Api<ConfigMap> = Api::namespaced(jobs.ctx.client.clone(), namespace);
    let existing = api.get_opt(target).await.map_err(Error::kube(format!("read ConfigMap {namespace}/{target}")))?;
    let labels = BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), APP_NAME.to_owned()),
        ("app.kubernetes.io/managed-by".to_owned(), MANAGED_BY.to_owned()),
        ("app.kubernetes.io/component".to_owned(), "registry-export".to_owned()),
    ]);
    let mut object = ConfigMap {
        metadata: ObjectMeta {
            name: Some(target.to_owned()),
            namespace: Some(namespace.to_owned()),
            labels: Some(labels),
            annotations: Some(BTreeMap::from([(EXPORT_JOB_ANNOTATION.to_owned(), job.to_owned())])),
            ..ObjectMeta::default()
        },
        data: (!encoded.data.is_empty()).then(|| encoded.data.clone()),
        binary_data: (!encoded.binary_data.is_empty()).then(|| encoded.binary_data.clone()),
        ..ConfigMap::default()
    };
    let action = format!("write ConfigMap {namespace}/{target}");
    match existing {
        None => {
            api.create(&PostParams::default(), &object).await.map_err(Error::kube(action))?;
        }
        Some(current) => {
            let writer = current.annotations().get(EXPORT_JOB_ANNOTATION);
            if writer.map(String::as_str) != Some(job) {
                let by = writer.map_or_else(|| "not by an export job".to_owned(), |w| format!("by export job {w}"));
                return Ok(Some(format!(
                    "ConfigMap {target} exists and was written {by}; it is left alone: delete it or name another \
                     one in spec.configMap.name"
                )));
            }
            if current.data == object.data && current.binary_data == object.binary_data {
                return Ok(None);
            }
            object.metadata.resource_version = current.resource_version();
            api.replace(target, &PostParams::default(), &object).await.map_err(Error::kube(action))?;
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_exports_are_plain_large_ones_compressed_and_too_large_ones_refused() {
        let small = encode("registry.json", b"{\"servers\":{}}\n", EXPORT_LIMIT).expect("fits");
        assert_eq!((small.key.as_str(), small.compressed), ("registry.json", false));
        assert_eq!(small.data["registry.json"], "{\"servers\":{}}\n");

        let large = "x".repeat(COMPRESS_ABOVE + 1);
        let compressed = encode("registry.json", large.as_bytes(), EXPORT_LIMIT).expect("compresses");
        assert_eq!((compressed.key.as_str(), compressed.compressed), ("registry.json.gz", true));
        assert!(compressed.data.is_empty());
        assert!(compressed.binary_data["registry.json.gz"].0.len() < 10_000);

        // Incompressible bytes past the limit: refused, with the sizes.
        let noise: Vec<u8> = (0..400_000_u32).flat_map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes()).collect();
        let refused = encode("registry.json", &noise, 1_000_000).expect_err("too large");
        assert_eq!((refused.bytes, refused.limit), (1_600_000, 1_000_000));
        assert!(refused.stored > 1_000_000);
    }
}
