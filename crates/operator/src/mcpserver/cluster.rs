//! The MCPServer kind as the cluster serves it: found through discovery (ToolHive's CRD may be absent, and
//! serves `v1beta1` and `v1alpha1`), then read and written as `DynamicObject`s.

use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::{ApiResource, oneshot};

use super::{GROUP, KIND};

/// The MCPServer kind at the version the cluster prefers, or `None` when ToolHive's CRD is not installed.
pub async fn discover(client: &Client) -> Result<Option<ApiResource>, kube::Error> {
    match oneshot::group(client, GROUP).await {
        Ok(group) => Ok(group.recommended_kind(KIND).map(|(resource, _)| resource)),
        Err(kube::Error::Discovery(_)) => Ok(None),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
        Err(e) => Err(e),
    }
}

/// MCPServers of `namespace` at `resource`'s version.
pub fn api(client: &Client, resource: &ApiResource, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), namespace, resource)
}

/// Server-side applies `body` (an MCPServer named `name`) under `manager`, never forced: a field another
/// manager owns with another value is a 409 conflict, not taken over.
pub async fn apply(
    api: &Api<DynamicObject>,
    name: &str,
    manager: &str,
    body: &serde_json::Value,
) -> Result<DynamicObject, kube::Error> {
    api.patch(name, &PatchParams::apply(manager), &Patch::Apply(body)).await
}

/// The message of a conflict or refusal, for an Event or an error.
pub fn api_message(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => status.message.clone(),
        other => other.to_string(),
    }
}
