//! The MCPServer kind as the cluster serves it: found through discovery (ToolHive's CRD may be absent, and
//! serves `v1beta1` and `v1alpha1`), then read and written as `DynamicObject`s.

use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::{ApiResource, oneshot};

use super::managed::{self, Desired};
use super::plan::{Association, ManagedField};
use super::{FIELD_MANAGER, GROUP, KIND, USER_FIELD_MANAGER};

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

/// Creates (or brings up to date) the MCPServer `name` of `desired` as `thv registry deploy` does: the
/// entry's fields and the five labels applied under [`FIELD_MANAGER`] (never forced), then the person's
/// `user_env` values applied under [`USER_FIELD_MANAGER`], so that the controller leaves them alone.
pub async fn deploy(
    client: &Client,
    resource: &ApiResource,
    namespace: &str,
    name: &str,
    association: &Association,
    desired: &Desired,
    user_env: &[(String, String)],
) -> Result<DynamicObject, kube::Error> {
    let api = api(client, resource, namespace);
    let digest = desired.digest();
    // The person's variables are theirs alone: left out of the registry's apply (a re-deploy then does not
    // conflict with them).
    let theirs: Vec<ManagedField> = user_env.iter().map(|(name, _)| ManagedField::Env(name.clone())).collect();
    let spec = desired.spec_json(&theirs);
    let body = managed::apply_body(&resource.api_version, namespace, name, association, desired, spec, Some(&digest));
    let mut object = apply(&api, name, FIELD_MANAGER, &body).await?;
    if !user_env.is_empty() {
        let env = managed::user_env_body(&resource.api_version, namespace, name, user_env);
        object = api.patch(name, &PatchParams::apply(USER_FIELD_MANAGER).force(), &Patch::Apply(&env)).await?;
    }
    Ok(object)
}

/// The message of a conflict or refusal, for an Event or an error.
pub fn api_message(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => status.message.clone(),
        other => other.to_string(),
    }
}
