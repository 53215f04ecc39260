//! `MCPRegistryExportJob`: one attempt reads the registry's stored catalog (through the same [`Backend`]
//! store the sync writes), writes it in the asked format with `thv_model`'s writers, and creates or replaces
//! the target ConfigMap. The ConfigMap is not owned by the job (it outlives the job's TTL); the operator marks
//! it with [`EXPORT_JOB_ANNOTATION`] and never overwrites one it did not write for this job.
//!
//! The decisions are pure: [`thv_sync::export::export`] (catalog → bytes and counts, the rendering `thv registry
//! export` uses too) and [`place`] (plain `data`, gzip in `binaryData` under the same key above
//! [`COMPRESS_ABOVE`], refused above [`EXPORT_LIMIT`]: the rule `thv registry migrate` and the ConfigMap source
//! share).
//!
//! [`Backend`]: crate::controller::Backend

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{Api, ObjectMeta, PostParams};
use sha2::Digest as _;
use thv_model::write::Outcome as EntryOutcome;
use thv_sync::export::export;

use super::{JobContext, JobKind};
use crate::McpRegistry;
use crate::controller::Error;
use crate::document_config_map::{Encoding, Placed, TooLarge, place};
use crate::jobs::lifecycle::Outcome;
use crate::jobs::{ExportFormat, ExportResult, JobReason, McpRegistryExportJob, McpRegistryExportJobStatus};
use crate::labels::{APP_NAME, MANAGED_BY};
use crate::storage::layout::STORAGE_LIMIT;

/// Annotation on an export's ConfigMap naming the job that wrote it; a ConfigMap without it (or naming
/// another job) is never overwritten.
pub const EXPORT_JOB_ANNOTATION: &str = "toolhive.stacklok.io/export-job";
/// Exports larger than this (uncompressed) are gzip-compressed into `binaryData` (under the same key).
pub const COMPRESS_ABOVE: usize = 256 * 1024;
/// The largest export written: the same margin under the API server's 1 MiB ConfigMap limit as the storage
/// ConfigMap keeps.
pub const EXPORT_LIMIT: u64 = STORAGE_LIMIT;

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

#[async_trait::async_trait]
impl JobKind for McpRegistryExportJob {
    type Status = McpRegistryExportJobStatus;

    job_accessors!();

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
        let placed = match place(&target.key, &rendered.bytes, COMPRESS_ABOVE, EXPORT_LIMIT) {
            Ok(placed) => placed,
            Err(TooLarge { bytes, stored, limit }) => {
                return Ok(failed(
                    JobReason::ExportTooLarge,
                    format!(
                        "the {} export of MCPRegistry {registry_name} is {} bytes, {} gzip-compressed; a ConfigMap \
                         holds at most {} bytes: filter the registry, or export it to a file with thv registry \
                         export",
                        format.as_str(),
                        bytes,
                        stored,
                        limit
                    ),
                    false,
                ));
            }
        };
        let compressed = placed.encoding == Encoding::Gzip;
        if let Some(conflict) = write_export(jobs, &namespace, &name, &target.name, placed).await? {
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
            key: target.key.clone(),
            compressed,
            servers: to_i64(rendered.servers),
            versions: to_i64(rendered.versions),
            bytes: to_i64(rendered.bytes.len()),
            digest: sha256(&rendered.bytes),
            revision: state.and_then(|s| s.revision),
            degraded: to_i64(degraded),
            skipped: to_i64(skipped),
        });
        let compressed_note = if compressed { ", gzip-compressed" } else { "" };
        Ok(Outcome::Succeeded {
            summary: format!(
                "exported {} servers ({} versions) of {registry_name} as {} to ConfigMap {} key {}{compressed_note}; \
                 {degraded} degraded, {skipped} skipped",
                rendered.servers,
                rendered.versions,
                format.as_str(),
                target.name,
                target.key
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
    placed: Placed,
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
        data: placed.data,
        binary_data: placed.binary_data,
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
    fn exports_up_to_256_kib_are_plain_larger_ones_compressed_under_the_same_key() {
        let small = place("registry.json", &b"x".repeat(COMPRESS_ABOVE), COMPRESS_ABOVE, EXPORT_LIMIT).expect("fits");
        assert_eq!(small.encoding, Encoding::Text);
        let large =
            place("registry.json", &b"x".repeat(COMPRESS_ABOVE + 1), COMPRESS_ABOVE, EXPORT_LIMIT).expect("fits");
        assert_eq!(large.encoding, Encoding::Gzip);
        assert!(large.binary_data.expect("binaryData")["registry.json"].0.len() < 10_000);
    }
}
