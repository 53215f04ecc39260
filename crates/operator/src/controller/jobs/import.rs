//! `MCPRegistryImportJob`: one attempt reads the input (a ConfigMap key or a URL through the same sources a
//! registry syncs from, or the inline document), imports it into the registry's storage (the same
//! [`Backend`] store the sync writes) with [`thv_sync::import::import`], the one entry point for importing,
//! and writes each entry's result to the job's `<job>-result` ConfigMap.
//!
//! The store's commit is what the registry's API follows (the storage ConfigMap's watch, PostgreSQL's
//! notification), so the API serves the imported layer as it serves a sync's result.
//!
//! [`Backend`]: crate::controller::Backend

use jiff::Timestamp;
use kube::ResourceExt;
use kube::api::Api;
use thv_sources::{ConfigMapSpec, FetchOutcome, Payload, SourceSpec, UrlSpec};
use thv_sync::import::{ImportMode as SyncImportMode, ImportReport, import};
use thv_sync::{RegistrySpec, SyncError};

use super::{JobContext, JobKind, write_result};
use crate::McpRegistry;
use crate::controller::Error;
use crate::jobs::lifecycle::Outcome;
use crate::jobs::{ImportMode, ImportResult, JobReason, McpRegistryImportJob, McpRegistryImportJobStatus};

/// The document an import reads, and how it is named in messages (without credentials).
struct Input {
    name: String,
    bytes: Vec<u8>,
}

fn failed(reason: JobReason, message: String, retryable: bool) -> Outcome {
    Outcome::Failed { reason, message, retryable }
}

/// Reads the job's input; `Err(outcome)` when it cannot be read (retried: the ConfigMap or the URL may
/// appear or recover).
async fn read_input(
    jobs: &JobContext,
    job: &McpRegistryImportJob,
    registry: &McpRegistry,
    spec: &RegistrySpec,
) -> Result<Input, Outcome> {
    let source = match (&job.spec.config_map_ref, &job.spec.url, &job.spec.inline) {
        (_, _, Some(inline)) => return Ok(Input { name: "spec.inline".to_owned(), bytes: inline.as_bytes().to_vec() }),
        (Some(c), _, _) => SourceSpec::ConfigMap(ConfigMapSpec { name: c.name.clone(), key: c.key.clone() }),
        (None, Some(url), None) => SourceSpec::Url(UrlSpec::new(url)),
        (None, None, None) => {
            let message = "set exactly one input: spec.configMapRef, spec.url or spec.inline".to_owned();
            return Err(failed(JobReason::InvalidSpec, message, false));
        }
    };
    let input_spec = RegistrySpec { source, ..spec.clone() };
    let source = jobs.ctx.backend.source(registry, &input_spec).map_err(|e| {
        failed(
            JobReason::InvalidSpec,
            format!("the input of MCPRegistryImportJob {} cannot be used: {e}", job.name_any()),
            false,
        )
    })?;
    let name = source.describe();
    match source.fetch(None).await {
        Ok(FetchOutcome::Fetched(fetched)) => match fetched.payload {
            Payload::Full(bytes) => Ok(Input { name, bytes }),
            Payload::Delta(_) => Err(failed(JobReason::InvalidInput, format!("{name}: not a whole catalog"), false)),
        },
        Ok(FetchOutcome::NotModified { .. }) => {
            Err(failed(JobReason::InputUnavailable, format!("{name}: the source answered not modified"), true))
        }
        Err(e) => Err(failed(JobReason::InputUnavailable, format!("cannot read {name}: {e}"), true)),
    }
}

/// The status result and the summary line of an import.
fn result_of(input: &str, report: &ImportReport) -> ImportResult {
    let to_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let c = report.counts;
    ImportResult {
        input: input.to_owned(),
        added: to_i64(c.added),
        updated: to_i64(c.updated),
        unchanged: to_i64(c.unchanged),
        removed: to_i64(c.removed),
        rejected: to_i64(c.rejected),
        layer: to_i64(report.layer),
        total: to_i64(report.total),
        changed: report.run_id.is_some(),
    }
}

#[async_trait::async_trait]
impl JobKind for McpRegistryImportJob {
    type Status = McpRegistryImportJobStatus;

    job_accessors!();

    async fn attempt(
        &self,
        jobs: &JobContext,
        status: &mut Self::Status,
        _fresh: bool,
        _now: Timestamp,
    ) -> Result<Outcome, Error> {
        let namespace = self.namespace().ok_or(Error::Incomplete("metadata.namespace"))?;
        let registry_name = &self.spec.registry;
        let registries: Api<McpRegistry> = Api::namespaced(jobs.ctx.client.clone(), &namespace);
        let registry = match registries.get_opt(registry_name).await {
            Ok(Some(registry)) => registry,
            Ok(None) => {
                let message = format!("MCPRegistry {registry_name} does not exist");
                return Ok(failed(JobReason::RegistryNotFound, message, true));
            }
            Err(e) => return Err(Error::kube(format!("read MCPRegistry {registry_name}"))(e)),
        };
        let spec = match crate::convert::to_local(registry_name, &registry.spec) {
            Ok((spec, _)) => spec,
            Err(e) => {
                let message = format!("MCPRegistry {registry_name} has a spec that cannot be used: {e}");
                return Ok(failed(JobReason::InvalidSpec, message, true));
            }
        };
        let store = match jobs.ctx.backend.store(&registry).await {
            Ok(store) => store,
            Err(Error::Storage(e)) => {
                let message = format!("cannot open the storage of MCPRegistry {registry_name}: {e}");
                return Ok(failed(JobReason::StorageReadFailed, message, true));
            }
            Err(e) => return Err(e),
        };
        match store.registry_state(registry_name).await {
            Ok(Some(state)) if state.last_success_at.is_some() => {}
            Ok(_) => {
                let message = format!(
                    "MCPRegistry {registry_name} has no storage yet: its first sync has not succeeded, and an import \
                     waits for it"
                );
                return Ok(failed(JobReason::RegistryNotSynced, message, true));
            }
            Err(e) => {
                let message = format!("cannot read the storage of MCPRegistry {registry_name}: {e}");
                return Ok(failed(JobReason::StorageReadFailed, message, true));
            }
        }
        let input = match read_input(jobs, self, &registry, &spec).await {
            Ok(input) => input,
            Err(outcome) => return Ok(outcome),
        };
        let mode = match self.spec.mode {
            ImportMode::Merge => SyncImportMode::Merge,
            ImportMode::Replace => SyncImportMode::Replace,
        };
        let report = match import(&spec, store.as_ref(), &input.name, &input.bytes, mode).await {
            Ok(report) => report,
            Err(e @ SyncError::Document { .. }) => {
                let message = format!("{e}; nothing was imported into MCPRegistry {registry_name}");
                return Ok(failed(JobReason::InvalidInput, message, false));
            }
            Err(e) => {
                let retryable = e.kind() == thv_sync::FailureKind::Retryable;
                let message = format!("cannot import {} into MCPRegistry {registry_name}: {e}", input.name);
                return Ok(failed(JobReason::ImportFailed, message, retryable));
            }
        };
        let text = serde_json::to_string_pretty(&report.entries).unwrap_or_default();
        status.job.result_ref =
            if report.entries.is_empty() { None } else { Some(write_result(jobs, self, &namespace, text).await?) };
        let result = result_of(&input.name, &report);
        let summary = format!(
            "imported {} into {registry_name} ({}): {} added, {} updated, {} unchanged, {} removed, {} rejected; {} \
             in the layer, {} in the catalog",
            input.name,
            self.spec.mode.as_str(),
            result.added,
            result.updated,
            result.unchanged,
            result.removed,
            result.rejected,
            result.layer,
            result.total
        );
        status.import = Some(result);
        Ok(Outcome::Succeeded { summary })
    }
}
