//! The ConfigMaps and Secrets registries read, as the controller's watches see them.
//!
//! Watches record the `resourceVersion` of every ConfigMap and Secret a registry references; after each
//! sync the reconciler remembers the versions it synced from. A source ConfigMap whose version moved (or is
//! unknown, after a restart) makes the next reconcile sync, conditionally; a Secret whose version moved
//! makes a failing registry retry at once (a healthy one uses the new Secret at its next fetch). Only
//! versions are kept, never data.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};

use crate::{AuthSecret, McpRegistry, SourceType, StorageType};

/// Which kind of object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputKind {
    /// A source ConfigMap.
    ConfigMap,
    /// An `authSecret` Secret.
    Secret,
}

/// A ConfigMap or Secret in a registry's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InputRef {
    /// ConfigMap or Secret.
    pub kind: InputKind,
    /// Its namespace (the registry's).
    pub namespace: String,
    /// Its name.
    pub name: String,
}

/// The objects `registry` reads: its source ConfigMap, or the Secret of its source's `authSecret`, and the
/// Secret of its PostgreSQL storage.
pub fn references(registry: &McpRegistry) -> Vec<InputRef> {
    let Some(namespace) = registry.namespace() else {
        return Vec::new();
    };
    let source = &registry.spec.source;
    let input = |kind, name: &str| InputRef { kind, namespace: namespace.clone(), name: name.to_owned() };
    let secret = |auth: Option<&AuthSecret>| auth.map(|a| input(InputKind::Secret, &a.name));
    let reference = match source.type_ {
        SourceType::Configmap => source.config_map.as_ref().map(|c| input(InputKind::ConfigMap, &c.name)),
        SourceType::Url => secret(source.url.as_ref().and_then(|u| u.auth_secret.as_ref())),
        SourceType::Git => secret(source.git.as_ref().and_then(|g| g.auth_secret.as_ref())),
        SourceType::Registry => secret(source.registry.as_ref().and_then(|r| r.auth_secret.as_ref())),
    };
    // The storage Secret: a fix or a rotation reconciles the registry at once.
    let storage = registry
        .spec
        .storage
        .postgres
        .as_ref()
        .filter(|_| registry.spec.storage.type_ == StorageType::Postgres)
        .map(|p| input(InputKind::Secret, &p.secret_ref.name));
    reference.into_iter().chain(storage).collect()
}

/// The registries in `store` that read `input`.
pub fn readers(store: &Store<McpRegistry>, input: &InputRef) -> Vec<ObjectRef<McpRegistry>> {
    store.state().iter().filter(|r| references(r).contains(input)).map(|r| ObjectRef::from(r.as_ref())).collect()
}

/// What changed in a registry's inputs since its last sync.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changes {
    /// The source ConfigMap changed, or its version at the last sync is unknown.
    pub source: bool,
    /// A referenced Secret changed.
    pub secret: bool,
}

/// The versions watches saw, and those each registry last synced from.
#[derive(Debug, Default)]
pub struct InputVersions {
    seen: Mutex<HashMap<InputRef, String>>,
    synced: Mutex<HashMap<String, HashMap<InputRef, Option<String>>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl InputVersions {
    /// A watch saw `input` at `version` (`None`: deleted). Returns whether a version seen before moved.
    pub fn observe(&self, input: InputRef, version: Option<String>) -> bool {
        let mut seen = lock(&self.seen);
        let before = match version.clone() {
            Some(version) => seen.insert(input, version),
            None => seen.remove(&input),
        };
        before.is_some_and(|before| Some(before) != version)
    }

    /// The versions of `inputs` as seen now: what a sync that starts now reads.
    pub fn snapshot(&self, inputs: &[InputRef]) -> HashMap<InputRef, Option<String>> {
        let seen = lock(&self.seen);
        inputs.iter().map(|i| (i.clone(), seen.get(i).cloned())).collect()
    }

    /// What changed for the registry `uid` reading `inputs` since its last sync.
    pub fn changes(&self, uid: &str, inputs: &[InputRef]) -> Changes {
        let now = self.snapshot(inputs);
        let synced = lock(&self.synced);
        let Some(before) = synced.get(uid) else {
            // Never synced since this process started: the source ConfigMap may have changed meanwhile (a
            // conditional sync finds out); a Secret is read at the next fetch anyway.
            let source = inputs.iter().any(|i| i.kind == InputKind::ConfigMap);
            return Changes { source, secret: false };
        };
        let moved = |kind| now.iter().any(|(i, v)| i.kind == kind && before.get(i) != Some(v));
        Changes { source: moved(InputKind::ConfigMap), secret: moved(InputKind::Secret) }
    }

    /// The registry `uid` synced from `versions` (a [`InputVersions::snapshot`] taken before the sync).
    pub fn synced(&self, uid: &str, versions: HashMap<InputRef, Option<String>>) {
        lock(&self.synced).insert(uid.to_owned(), versions);
    }

    /// The registry `uid` is gone.
    pub fn forget(&self, uid: &str) {
        lock(&self.synced).remove(uid);
    }

    /// Whether the last sync of `uid` is known (some sync ran since this process started).
    pub fn known(&self, uid: &str) -> bool {
        lock(&self.synced).contains_key(uid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::McpRegistrySpec;

    fn registry(source: serde_json::Value) -> McpRegistry {
        let spec: McpRegistrySpec = serde_json::from_value(serde_json::json!({"source": source})).expect("spec");
        let mut registry = McpRegistry::new("platform", spec);
        registry.metadata.namespace = Some("team-a".into());
        registry
    }

    fn cm(name: &str) -> InputRef {
        InputRef { kind: InputKind::ConfigMap, namespace: "team-a".into(), name: name.into() }
    }

    fn secret(name: &str) -> InputRef {
        InputRef { kind: InputKind::Secret, namespace: "team-a".into(), name: name.into() }
    }

    #[test]
    fn references_are_the_source_configmap_or_the_auth_secret() {
        let from_cm = registry(serde_json::json!({"type": "configmap", "configMap": {"name": "catalog"}}));
        assert_eq!(references(&from_cm), [cm("catalog")]);
        let url = registry(serde_json::json!({"type": "url", "url": {"url": "https://x/r.json",
            "authSecret": {"name": "token", "tokenKey": "t"}}}));
        assert_eq!(references(&url), [secret("token")]);
        let anonymous = registry(serde_json::json!({"type": "git", "git": {"repository": "https://x/r.git"}}));
        assert_eq!(references(&anonymous), []);
        let mut stored = registry(serde_json::json!({"type": "configmap", "configMap": {"name": "catalog"}}));
        stored.spec.storage = serde_json::from_value(serde_json::json!({"type": "postgres",
            "postgres": {"secretRef": {"name": "registry-db", "key": "url"}}}))
        .expect("storage");
        assert_eq!(references(&stored), [cm("catalog"), secret("registry-db")], "the storage Secret too");
    }

    #[test]
    fn a_moved_version_is_a_change_until_synced_from() {
        let versions = InputVersions::default();
        let inputs = [cm("catalog")];
        // Unknown since start: a ConfigMap source checks once.
        assert_eq!(versions.changes("uid", &inputs), Changes { source: true, secret: false });
        assert!(!versions.observe(cm("catalog"), Some("10".into())), "first sighting");
        assert!(!versions.observe(cm("catalog"), Some("10".into())), "same version");
        versions.synced("uid", versions.snapshot(&inputs));
        assert_eq!(versions.changes("uid", &inputs), Changes::default());
        assert!(versions.observe(cm("catalog"), Some("11".into())), "moved");
        assert_eq!(versions.changes("uid", &inputs), Changes { source: true, secret: false });
        versions.synced("uid", versions.snapshot(&inputs));
        // Deleted: a change (the next sync reports the ConfigMap missing).
        assert!(versions.observe(cm("catalog"), None), "deleted");
        assert!(versions.changes("uid", &inputs).source);
        // Secrets: no check after a restart, a change once known.
        let inputs = [secret("token")];
        assert_eq!(versions.changes("other", &inputs), Changes::default());
        versions.synced("other", versions.snapshot(&inputs));
        let _ = versions.observe(secret("token"), Some("3".into()));
        assert_eq!(versions.changes("other", &inputs), Changes { source: false, secret: true });
        versions.forget("other");
        assert!(!versions.known("other"));
    }
}
