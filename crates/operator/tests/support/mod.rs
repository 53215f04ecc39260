//! Fixtures shared by the operator's integration tests: a fake API server with an MCPRegistry in it, and
//! store records shaped like the ones the sync pipeline writes (`thv_store::fixtures`).
#![allow(dead_code, unused_imports)] // Each test binary uses a different part.

pub mod pod;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, PostParams};
use kube::{CustomResourceExt, Resource};
use serde_json::json;
use thv_kube_fake::FakeApiServer;
use thv_operator::McpRegistry;
pub use thv_store::fixtures::{change, commit, generation_of, key, nv, run, state, version};

/// Namespace of every test object.
pub const NAMESPACE: &str = "default";

/// A fake API server that serves MCPRegistry.
pub fn fake() -> FakeApiServer {
    let fake = FakeApiServer::new();
    fake.register_crd(&McpRegistry::crd());
    fake
}

/// Creates the MCPRegistry `name` (a ConfigMap source) and returns it.
pub async fn registry(fake: &FakeApiServer, name: &str) -> McpRegistry {
    let spec = serde_json::from_value(json!({"source": {"type": "configmap", "configMap": {"name": "catalog"}}}))
        .expect("spec");
    let api: Api<McpRegistry> = Api::namespaced(fake.client_as("user"), NAMESPACE);
    api.create(&PostParams::default(), &McpRegistry::new(name, spec)).await.expect("create the MCPRegistry")
}

/// The controller reference of `registry`.
pub fn owner(registry: &McpRegistry) -> OwnerReference {
    registry.controller_owner_ref(&()).expect("the stored registry has a uid")
}
