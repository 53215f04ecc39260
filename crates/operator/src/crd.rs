//! The CustomResourceDefinitions generated from the Rust types, and their YAML and JSON renderings.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

use crate::{McpRegistry, McpRegistryExportJob, McpRegistryImportJob, McpRegistrySyncJob};

/// The CRD could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum CrdError {
    /// YAML rendering failed.
    #[error("cannot render the CRDs as YAML: {0}")]
    Yaml(#[from] serde_saphyr::ser::Error),
    /// JSON rendering failed.
    #[error("cannot render the CRDs as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Every CRD of the operator: `mcpregistries`, `mcpregistrysyncjobs`, `mcpregistryexportjobs` and
/// `mcpregistryimportjobs`
/// (`toolhive.stacklok.io`), the MCPRegistry first.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![McpRegistry::crd(), McpRegistrySyncJob::crd(), McpRegistryExportJob::crd(), McpRegistryImportJob::crd()]
}

/// The CRDs as one YAML stream (`---` before each document): the files committed under `deploy/crds/`
/// ([`crd_file_name`]), in the order of [`crds`].
pub fn crds_yaml() -> Result<String, CrdError> {
    let mut out = String::new();
    for crd in crds() {
        out.push_str(&crd_yaml(&crd)?);
    }
    Ok(out)
}

/// One CRD as YAML, as committed under `deploy/crds/` (a `---` line first).
pub fn crd_yaml(crd: &CustomResourceDefinition) -> Result<String, CrdError> {
    Ok(format!("---\n{}", serde_saphyr::to_string(crd)?))
}

/// The name of a CRD's file under `deploy/crds/` (`toolhive.stacklok.io_mcpregistries.yaml`).
pub fn crd_file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural)
}

/// The CRDs as a JSON array.
pub fn crds_json() -> Result<String, CrdError> {
    let mut text = serde_json::to_string_pretty(&crds())?;
    text.push('\n');
    Ok(text)
}
