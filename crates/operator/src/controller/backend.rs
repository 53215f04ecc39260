//! The cluster's [`Backend`]: each registry's catalog in its storage ConfigMap ([`ConfigMapStore`], one per
//! registry, kept for its cache) or in the PostgreSQL database its Secret names ([`Databases`], one pool per
//! distinct URL, the Secret re-read at each reconcile), and its source built for the registry's namespace.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::{Client, Resource, ResourceExt};
use thv_sources::{Source, SourceContext, SourceError};
use thv_store::Store;
use thv_sync::RegistrySpec;

use super::{Backend, Error};
use crate::postgres::{self, Databases};
use crate::{ConfigMapStore, McpRegistry, StorageType};

/// Storage ConfigMaps, PostgreSQL databases and sources in the cluster.
pub struct ClusterBackend {
    client: Client,
    cache_dir: PathBuf,
    /// One store per registry (by uid): a store caches what it decoded.
    stores: Mutex<HashMap<String, Arc<ConfigMapStore>>>,
    /// The PostgreSQL databases postgres registries name.
    databases: Databases,
    /// The `resourceVersion` of each postgres registry's storage Secret as last read (by uid).
    secret_versions: Mutex<HashMap<String, String>>,
}

impl ClusterBackend {
    /// A backend reaching the cluster through `client`; Git sources cache clones under `cache_dir`.
    pub fn new(client: Client, cache_dir: PathBuf) -> Self {
        Self {
            client,
            cache_dir,
            stores: Mutex::default(),
            databases: Databases::default(),
            secret_versions: Mutex::default(),
        }
    }

    /// How many PostgreSQL pools are open.
    pub fn open_databases(&self) -> usize {
        self.databases.open_count()
    }

    fn config_map_store(
        &self,
        registry: &McpRegistry,
        uid: String,
        namespace: String,
    ) -> Result<Arc<dyn Store>, Error> {
        let owner = registry.controller_owner_ref(&()).ok_or(Error::Incomplete("metadata.uid"))?;
        let mut stores = self.stores.lock().unwrap_or_else(PoisonError::into_inner);
        let store = stores.entry(uid).or_insert_with(|| {
            Arc::new(ConfigMapStore::new(self.client.clone(), namespace, registry.name_any(), owner))
        });
        Ok(Arc::clone(store) as Arc<dyn Store>)
    }
}

#[async_trait::async_trait]
impl Backend for ClusterBackend {
    async fn store(&self, registry: &McpRegistry) -> Result<Arc<dyn Store>, Error> {
        let uid = registry.uid().ok_or(Error::Incomplete("metadata.uid"))?;
        let namespace = registry.namespace().ok_or(Error::Incomplete("metadata.namespace"))?;
        let storage = &registry.spec.storage;
        // `convert::to_local` refused a postgres type without its block before the reconcile got here.
        match (storage.type_, &storage.postgres) {
            (StorageType::Configmap, _) | (StorageType::Postgres, None) => {
                self.databases.release(&uid);
                self.config_map_store(registry, uid, namespace)
            }
            (StorageType::Postgres, Some(spec)) => {
                self.stores.lock().unwrap_or_else(PoisonError::into_inner).remove(&uid);
                let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &namespace);
                let read = postgres::read_url(&secrets, &namespace, &spec.secret_ref).await?;
                if let Some(version) = read.version {
                    self.secret_versions.lock().unwrap_or_else(PoisonError::into_inner).insert(uid.clone(), version);
                }
                Ok(self.databases.store(&uid, &namespace, read.url, &read.text).await?)
            }
        }
    }

    fn source(&self, registry: &McpRegistry, spec: &RegistrySpec) -> Result<Box<dyn Source>, SourceError> {
        let namespace = registry.namespace().unwrap_or_default();
        let ctx = SourceContext::new(self.cache_dir.join(&namespace), spec.name.clone());
        crate::sources::build(spec, self.client.clone(), &namespace, &ctx)
    }

    fn storage_secret_version(&self, uid: &str) -> Option<String> {
        self.secret_versions.lock().unwrap_or_else(PoisonError::into_inner).get(uid).cloned()
    }

    fn forget(&self, uid: &str) {
        self.stores.lock().unwrap_or_else(PoisonError::into_inner).remove(uid);
        self.secret_versions.lock().unwrap_or_else(PoisonError::into_inner).remove(uid);
        self.databases.release(uid);
    }
}
