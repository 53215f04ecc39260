//! The cluster's [`Backend`]: each registry's catalog in its storage ConfigMap ([`ConfigMapStore`], one per
//! registry, kept for its cache), and its source built for the registry's namespace.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use kube::{Client, Resource, ResourceExt};
use thv_sources::{Source, SourceContext, SourceError};
use thv_store::Store;
use thv_sync::RegistrySpec;

use super::{Backend, Error};
use crate::{ConfigMapStore, McpRegistry};

/// Storage ConfigMaps and sources in the cluster.
pub struct ClusterBackend {
    client: Client,
    cache_dir: PathBuf,
    /// One store per registry (by uid): a store caches what it decoded.
    stores: Mutex<HashMap<String, Arc<ConfigMapStore>>>,
}

impl ClusterBackend {
    /// A backend reaching the cluster through `client`; Git sources cache clones under `cache_dir`.
    pub fn new(client: Client, cache_dir: PathBuf) -> Self {
        Self { client, cache_dir, stores: Mutex::default() }
    }
}

impl Backend for ClusterBackend {
    fn store(&self, registry: &McpRegistry) -> Result<Arc<dyn Store>, Error> {
        let uid = registry.uid().ok_or(Error::Incomplete("metadata.uid"))?;
        let namespace = registry.namespace().ok_or(Error::Incomplete("metadata.namespace"))?;
        let owner = registry.controller_owner_ref(&()).ok_or(Error::Incomplete("metadata.uid"))?;
        let mut stores = self.stores.lock().unwrap_or_else(PoisonError::into_inner);
        let store = stores.entry(uid).or_insert_with(|| {
            Arc::new(ConfigMapStore::new(self.client.clone(), namespace, registry.name_any(), owner))
        });
        Ok(Arc::clone(store) as Arc<dyn Store>)
    }

    fn source(&self, registry: &McpRegistry, spec: &RegistrySpec) -> Result<Box<dyn Source>, SourceError> {
        let namespace = registry.namespace().unwrap_or_default();
        let ctx = SourceContext::new(self.cache_dir.join(&namespace), spec.name.clone());
        crate::sources::build(spec, self.client.clone(), &namespace, &ctx)
    }

    fn forget(&self, uid: &str) {
        self.stores.lock().unwrap_or_else(PoisonError::into_inner).remove(uid);
    }
}
