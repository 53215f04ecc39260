//! The kinds of object the fake serves: where each lives in the API (group, version, plural, scope) and the
//! server-side behaviour that differs between kinds (status subresource, `metadata.generation`).

use std::collections::HashMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

/// One served kind at one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceKind {
    /// API group; empty for the core group (`/api/v1`).
    pub group: String,
    /// API version within the group, such as `v1` or `v1alpha1`.
    pub version: String,
    /// `kind`, such as `ConfigMap`.
    pub kind: String,
    /// The plural resource name in paths, such as `configmaps`.
    pub plural: String,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Whether `.status` is a subresource: written only through `/status`, ignored on the main resource.
    pub status_subresource: bool,
    /// Whether the server keeps `metadata.generation` (custom resources, Deployments, CRDs; not
    /// ConfigMaps, Secrets, Services, …, which a real API server leaves without one).
    pub generation: bool,
    /// A built-in kind: a replace (PUT) without `metadata.resourceVersion` is accepted unconditionally and
    /// strategic merge patches are supported. Custom resources get neither, as on a real API server.
    pub builtin: bool,
}

impl ResourceKind {
    /// A namespaced kind without a status subresource or generation.
    pub fn namespaced(group: &str, version: &str, kind: &str, plural: &str) -> Self {
        Self {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            plural: plural.to_string(),
            namespaced: true,
            status_subresource: false,
            generation: false,
            builtin: true,
        }
    }

    /// A cluster-scoped kind without a status subresource or generation.
    pub fn cluster(group: &str, version: &str, kind: &str, plural: &str) -> Self {
        Self { namespaced: false, ..Self::namespaced(group, version, kind, plural) }
    }

    /// With a status subresource.
    pub fn with_status(mut self) -> Self {
        self.status_subresource = true;
        self
    }

    /// With `metadata.generation` kept by the server.
    pub fn with_generation(mut self) -> Self {
        self.generation = true;
        self
    }

    /// Behaving as a custom resource: generation kept, replace requires a `resourceVersion`.
    pub fn custom(mut self) -> Self {
        self.generation = true;
        self.builtin = false;
        self
    }

    /// The kinds a CRD serves, one per served version, with its scope and status subresource.
    pub fn from_crd(crd: &CustomResourceDefinition) -> Vec<Self> {
        let spec = &crd.spec;
        spec.versions
            .iter()
            .filter(|version| version.served)
            .map(|version| {
                let base = if spec.scope == "Cluster" {
                    Self::cluster(&spec.group, &version.name, &spec.names.kind, &spec.names.plural)
                } else {
                    Self::namespaced(&spec.group, &version.name, &spec.names.kind, &spec.names.plural)
                };
                let has_status =
                    version.subresources.as_ref().is_some_and(|subresources| subresources.status.is_some());
                let kind = base.custom();
                if has_status { kind.with_status() } else { kind }
            })
            .collect()
    }

    /// `apiVersion` of objects of this kind: `v1` or `group/version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    /// The resource as error messages name it: `configmaps` or `mcpregistries.toolhive.stacklok.io`.
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() { self.plural.clone() } else { format!("{}.{}", self.plural, self.group) }
    }

    /// The kind as `Invalid` messages name it: `ConfigMap` or `MCPRegistry.toolhive.stacklok.io`.
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() { self.kind.clone() } else { format!("{}.{}", self.kind, self.group) }
    }

    /// Where objects of this kind are stored: all versions of one group and plural share the objects.
    pub(crate) fn storage(&self) -> StorageKey {
        StorageKey { group: self.group.clone(), plural: self.plural.clone() }
    }

    /// The built-in kinds every fake serves.
    pub fn builtins() -> Vec<Self> {
        vec![
            Self::namespaced("", "v1", "ConfigMap", "configmaps"),
            Self::namespaced("", "v1", "Secret", "secrets"),
            Self::namespaced("", "v1", "Service", "services").with_status(),
            Self::namespaced("", "v1", "ServiceAccount", "serviceaccounts"),
            Self::namespaced("", "v1", "Event", "events"),
            Self::namespaced("", "v1", "Pod", "pods").with_status(),
            Self::cluster("", "v1", "Namespace", "namespaces").with_status(),
            Self::namespaced("events.k8s.io", "v1", "Event", "events"),
            Self::namespaced("apps", "v1", "Deployment", "deployments").with_status().with_generation(),
            Self::namespaced("coordination.k8s.io", "v1", "Lease", "leases"),
            Self::cluster("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions")
                .with_status()
                .with_generation(),
        ]
    }
}

/// The identity of a stored collection: group and plural, shared by all versions of a kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct StorageKey {
    pub group: String,
    pub plural: String,
}

/// The registry of served kinds, looked up by path (group, version, plural) or by `apiVersion` + `kind`.
#[derive(Debug, Default)]
pub(crate) struct Kinds {
    by_path: HashMap<(String, String, String), ResourceKind>,
    by_kind: HashMap<(String, String), (String, String, String)>,
}

impl Kinds {
    pub fn with_builtins() -> Self {
        let mut kinds = Self::default();
        for kind in ResourceKind::builtins() {
            kinds.register(kind);
        }
        kinds
    }

    /// Adds or replaces a kind.
    pub fn register(&mut self, kind: ResourceKind) {
        let path = (kind.group.clone(), kind.version.clone(), kind.plural.clone());
        self.by_kind.insert((kind.api_version(), kind.kind.clone()), path.clone());
        self.by_path.insert(path, kind);
    }

    pub fn by_path(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceKind> {
        self.by_path.get(&(group.to_string(), version.to_string(), plural.to_string()))
    }

    pub fn by_api_version(&self, api_version: &str, kind: &str) -> Option<&ResourceKind> {
        let path = self.by_kind.get(&(api_version.to_string(), kind.to_string()))?;
        self.by_path.get(path)
    }

    /// Whether any version of a group is served (to tell an unknown group from an unknown resource).
    pub fn all(&self) -> impl Iterator<Item = &ResourceKind> {
        self.by_path.values()
    }
}
