//! Annotations, labels and object names that the operator, the manifests under `deploy/` and the docs share.

use crate::McpRegistry;

/// Annotation that requests a sync: set it to any new value (`kubectl annotate --overwrite mcpreg/x
/// toolhive.stacklok.io/sync-trigger="$(date +%s)"`). The operator syncs once and copies the value to
/// `status.lastHandledSyncTrigger`.
pub const SYNC_TRIGGER_ANNOTATION: &str = "toolhive.stacklok.io/sync-trigger";

/// `app.kubernetes.io/name` of every object the operator creates and of the operator itself.
pub const APP_NAME: &str = "thv-registry";
/// `app.kubernetes.io/managed-by` of the objects the operator creates.
pub const MANAGED_BY: &str = "thv-operator";
/// `app.kubernetes.io/component` of the operator's own pods.
pub const COMPONENT_OPERATOR: &str = "operator";
/// `app.kubernetes.io/component` of a registry's API Deployment, Service and pods.
pub const COMPONENT_API: &str = "registry-api";
/// `app.kubernetes.io/component` of a registry's storage ConfigMap.
pub const COMPONENT_STORAGE: &str = "registry-storage";
/// Label naming the MCPRegistry an object belongs to (its `metadata.name`).
pub const REGISTRY_LABEL: &str = "toolhive.stacklok.io/registry";

/// The port the registry API pods and Services serve on.
pub const API_PORT: u16 = 8080;

/// `app.kubernetes.io/component` of the ConfigMap `thv registry migrate` writes with a registry's catalog.
pub const COMPONENT_SOURCE: &str = "registry-source";

/// Longest MCPRegistry name: its API Service `<name>-api` must be a DNS label (63 characters).
pub const REGISTRY_NAME_MAX: usize = 63 - "-api".len();

/// The CRD's rule on `metadata.name`, so that every object named after the registry is valid.
pub fn registry_name_rule() -> kube::core::Rule {
    kube::core::Rule::new(format!(
        "self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$') && size(self.metadata.name) <= {REGISTRY_NAME_MAX}"
    ))
    .message(kube::core::Message::Message(format!(
        "metadata.name names the registry's API Service <name>-api: at most {REGISTRY_NAME_MAX} lowercase letters, \
         digits or '-', starting with a letter and not ending with '-'"
    )))
}

/// Checks `name` by the CRD's rule on `metadata.name` ([`registry_name_rule`]), before an API server does.
pub fn check_registry_name(name: &str) -> Result<(), String> {
    let bytes = name.as_bytes();
    let shape = bytes.first().is_some_and(u8::is_ascii_lowercase)
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && !name.ends_with('-');
    if shape && name.len() <= REGISTRY_NAME_MAX {
        Ok(())
    } else {
        Err(format!(
            "{name:?} cannot name an MCPRegistry: at most {REGISTRY_NAME_MAX} lowercase letters, digits or '-', \
             starting with a letter and not ending with '-' (its API Service <name>-api is a DNS label)"
        ))
    }
}

/// Name of a registry's storage ConfigMap.
pub fn storage_config_map_name(registry: &str) -> String {
    format!("{registry}-registry-storage")
}

/// Name of a registry's API Deployment and Service.
pub fn api_name(registry: &str) -> String {
    format!("{registry}-api")
}

/// In-cluster URL of a registry's API Service (`status.apiEndpoint`).
pub fn api_endpoint(registry: &str, namespace: &str) -> String {
    format!("http://{}.{namespace}.svc:{API_PORT}", api_name(registry))
}

/// Annotation on a registry's storage ConfigMap naming the layout of its keys (see
/// [`crate::storage`]); the operator refuses to read a layout it does not know, or to overwrite a ConfigMap
/// without it.
pub const STORAGE_FORMAT_ANNOTATION: &str = "toolhive.stacklok.io/storage-format";

/// Labels of a registry's storage ConfigMap.
pub fn storage_labels(registry: &str) -> [(&'static str, String); 5] {
    [
        ("app.kubernetes.io/name", APP_NAME.to_owned()),
        ("app.kubernetes.io/component", COMPONENT_STORAGE.to_owned()),
        ("app.kubernetes.io/instance", registry.to_owned()),
        ("app.kubernetes.io/managed-by", MANAGED_BY.to_owned()),
        (REGISTRY_LABEL, registry.to_owned()),
    ]
}

/// Labels of a registry's API pods (and the selector of its Deployment and Service).
pub fn api_labels(registry: &str) -> [(&'static str, String); 5] {
    [
        ("app.kubernetes.io/name", APP_NAME.to_owned()),
        ("app.kubernetes.io/component", COMPONENT_API.to_owned()),
        ("app.kubernetes.io/instance", registry.to_owned()),
        ("app.kubernetes.io/managed-by", MANAGED_BY.to_owned()),
        (REGISTRY_LABEL, registry.to_owned()),
    ]
}

/// The sync-trigger value not yet handled: the annotation's value when it differs from
/// `status.lastHandledSyncTrigger`. Handled once: after the operator echoes it, this is `None` again.
pub fn pending_sync_trigger(registry: &McpRegistry) -> Option<&str> {
    let handled = registry.status.as_ref().and_then(|s| s.last_handled_sync_trigger.as_deref());
    pending_sync_trigger_after(registry, handled)
}

/// The sync-trigger value not yet handled when `handled` is the last value handled (the operator's own
/// record of it may be fresher than the object's status).
pub fn pending_sync_trigger_after<'a>(registry: &'a McpRegistry, handled: Option<&str>) -> Option<&'a str> {
    let requested = registry.metadata.annotations.as_ref()?.get(SYNC_TRIGGER_ANNOTATION)?;
    (handled != Some(requested.as_str())).then_some(requested.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{McpRegistrySpec, McpRegistryStatus};

    fn registry(annotation: Option<&str>, handled: Option<&str>) -> McpRegistry {
        let spec: McpRegistrySpec =
            serde_json::from_value(serde_json::json!({"source": {"type": "configmap", "configMap": {"name": "c"}}}))
                .expect("spec");
        let mut registry = McpRegistry::new("platform", spec);
        if let Some(value) = annotation {
            registry.metadata.annotations = Some([(SYNC_TRIGGER_ANNOTATION.to_owned(), value.to_owned())].into());
        }
        registry.status =
            Some(McpRegistryStatus { last_handled_sync_trigger: handled.map(ToOwned::to_owned), ..Default::default() });
        registry
    }

    #[test]
    fn a_trigger_is_pending_until_it_is_echoed() {
        assert_eq!(pending_sync_trigger(&registry(None, None)), None);
        assert_eq!(pending_sync_trigger(&registry(Some("1714644000"), None)), Some("1714644000"));
        assert_eq!(pending_sync_trigger(&registry(Some("1714644000"), Some("1714644000"))), None);
        assert_eq!(pending_sync_trigger(&registry(Some("1714644001"), Some("1714644000"))), Some("1714644001"));
    }

    #[test]
    fn registry_names_are_checked_as_the_crd_rule_does() {
        for good in ["a", "platform", "team-a-2", &"r".repeat(REGISTRY_NAME_MAX)] {
            assert_eq!(check_registry_name(good), Ok(()), "{good}");
        }
        for bad in ["", "2fast", "-a", "a-", "Platform", "a_b", "a.b", &"r".repeat(REGISTRY_NAME_MAX + 1)] {
            assert!(check_registry_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_fit_kubernetes_limits() {
        // The longest registry name the CRD admits gives a 63-character Service name (a DNS label).
        let longest = "r".repeat(REGISTRY_NAME_MAX);
        assert_eq!(api_name(&longest).len(), 63);
        assert_eq!(storage_config_map_name("platform"), "platform-registry-storage");
        assert_eq!(api_endpoint("platform", "team-a"), "http://platform-api.team-a.svc:8080");
    }
}
