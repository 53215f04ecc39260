//! The CustomResourceDefinitions generated from the Rust types, and their YAML and JSON renderings.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

use crate::McpRegistry;

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

/// Every CRD of the operator (today: `mcpregistries.toolhive.stacklok.io`).
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![McpRegistry::crd()]
}

/// The CRDs as one YAML stream (`---` between documents), as committed under `deploy/crds/`.
pub fn crds_yaml() -> Result<String, CrdError> {
    let mut out = String::new();
    for crd in crds() {
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string(&crd)?);
    }
    Ok(out)
}

/// The CRDs as a JSON array.
pub fn crds_json() -> Result<String, CrdError> {
    let mut text = serde_json::to_string_pretty(&crds())?;
    text.push('\n');
    Ok(text)
}
