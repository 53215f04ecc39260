//! A local catalog or registry as Kubernetes objects, ready for `kubectl apply` (`thv registry migrate`): an
//! MCPRegistry and, when the catalog travels with it, the ConfigMap its `configmap` source reads.
//!
//! The spec is the local registry's, converted by [`crate::convert::from_local`] (the one mapping between the
//! two), with a file source replaced by the ConfigMap holding the file's bytes. The data goes in
//! `data[key]` as written when it fits the API server's object limit, else gzip-compressed in
//! `binaryData[key]` (the ConfigMap source decompresses it), else the migration is refused: one
//! MCPRegistry reads one key of one ConfigMap, so a catalog is never split across objects.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::ObjectMeta;
use thv_sources::{ConfigMapSpec, SourceSpec};
use thv_sync::RegistrySpec;

use crate::McpRegistry;
use crate::convert::{ClusterSettings, ConversionError, from_local, to_local};
use crate::document_config_map::place;
use crate::labels::{self, REGISTRY_LABEL};
use crate::storage::STORAGE_LIMIT;

/// Where the migrated objects go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `metadata.name` of the MCPRegistry (the ConfigMap is named after it).
    pub name: String,
    /// `metadata.namespace` of both objects; `None` leaves it to `kubectl apply` (the current namespace).
    pub namespace: Option<String>,
    /// The ConfigMap key holding the catalog.
    pub key: String,
}

pub use crate::document_config_map::Encoding;

/// The objects of a migration.
#[derive(Debug, Clone)]
pub struct Migration {
    /// The ConfigMap holding the catalog, when the registry's data travels with it (a file source).
    pub config_map: Option<ConfigMap>,
    /// How the ConfigMap holds the catalog.
    pub encoding: Option<Encoding>,
    /// Bytes of the ConfigMap's data as the API server counts them against its limit.
    pub data_bytes: u64,
    /// The MCPRegistry.
    pub registry: McpRegistry,
}

impl Migration {
    /// The objects as one multi-document YAML stream: the ConfigMap first, so the registry's first sync
    /// finds it.
    pub fn to_yaml(&self) -> Result<String, MigrateError> {
        let mut out = String::new();
        let config_map = self.config_map.as_ref().map(serde_json::to_value).transpose();
        let registry = serde_json::to_value(&self.registry);
        let values = config_map.and_then(|c| Ok(c.into_iter().chain([registry?])));
        for value in values.map_err(|e| MigrateError::Encode(e.to_string()))? {
            out.push_str("---\n");
            out.push_str(&serde_saphyr::to_string(&value).map_err(|e| MigrateError::Encode(e.to_string()))?);
        }
        Ok(out)
    }
}

/// Why a migration was refused. Messages name the registry, the field or the size at fault.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The target name cannot name an MCPRegistry.
    #[error("{0}")]
    Name(String),
    /// The registry cannot be expressed as an MCPRegistry.
    #[error(transparent)]
    Conversion(#[from] ConversionError),
    /// A file source without its data.
    #[error("registry {registry}: a file source needs the file's content to move into a ConfigMap")]
    MissingData {
        /// The registry.
        registry: String,
    },
    /// The catalog does not fit one ConfigMap even compressed.
    #[error(
        "the catalog needs {size} bytes in a ConfigMap even gzip-compressed ({text} bytes as text), over the {limit} \
         bytes one ConfigMap may hold (the API server's 1 MiB object limit, less a margin); one MCPRegistry reads one \
         ConfigMap key, so the catalog cannot be split: serve the file from a URL or a Git repository and point the \
         registry's source there (thv registry add --url or --git, then thv registry migrate --registry)"
    )]
    TooLarge {
        /// Compressed bytes.
        size: u64,
        /// Uncompressed bytes.
        text: u64,
        /// The most a ConfigMap written here holds.
        limit: u64,
    },
    /// The objects could not be written as YAML.
    #[error("cannot write the objects as YAML: {0}")]
    Encode(String),
}

/// Name of the ConfigMap that holds a migrated registry's catalog.
pub fn source_config_map_name(registry: &str) -> String {
    format!("{registry}-registry-source")
}

/// Migrates `local` to `target`. `data` is the catalog document of a file source (the file's bytes); other
/// sources are kept as they are (a URL, a Git repository or another registry is as reachable from the
/// cluster as from here) and need no data.
pub fn migrate(local: &RegistrySpec, data: Option<&[u8]>, target: &Target) -> Result<Migration, MigrateError> {
    labels::check_registry_name(&target.name).map_err(MigrateError::Name)?;
    let mut local = local.clone();
    local.name.clone_from(&target.name);
    let (config_map, encoding, data_bytes) = match (&local.source, data) {
        (SourceSpec::File(_), None) => return Err(MigrateError::MissingData { registry: local.name }),
        (SourceSpec::File(_), Some(bytes)) => {
            let name = source_config_map_name(&target.name);
            local.source = SourceSpec::ConfigMap(ConfigMapSpec { name: name.clone(), key: target.key.clone() });
            let (object, encoding, size) = config_map(&name, target, bytes)?;
            (Some(object), Some(encoding), size)
        }
        _ => (None, None, 0),
    };
    let spec = from_local(&local, &ClusterSettings::default())?;
    // The way back must read: what the CRD's rules refuse is refused here too, naming the field.
    to_local(&target.name, &spec)?;
    let mut registry = McpRegistry::new(&target.name, spec);
    registry.metadata.namespace.clone_from(&target.namespace);
    Ok(Migration { config_map, encoding, data_bytes, registry })
}

/// The ConfigMap `name` holding `bytes` under the target's key: as text when it fits, else compressed
/// ([`crate::document_config_map`]).
fn config_map(name: &str, target: &Target, bytes: &[u8]) -> Result<(ConfigMap, Encoding, u64), MigrateError> {
    let placed = place(&target.key, bytes, usize::MAX, STORAGE_LIMIT).map_err(|e| MigrateError::TooLarge {
        size: e.stored,
        text: bytes.len() as u64 + target.key.len() as u64,
        limit: e.limit,
    })?;
    let labels = BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), labels::APP_NAME.to_owned()),
        ("app.kubernetes.io/component".to_owned(), labels::COMPONENT_SOURCE.to_owned()),
        ("app.kubernetes.io/instance".to_owned(), target.name.clone()),
        (REGISTRY_LABEL.to_owned(), target.name.clone()),
    ]);
    let object = ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: target.namespace.clone(),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        data: placed.data,
        binary_data: placed.binary_data,
        ..ConfigMap::default()
    };
    Ok((object, placed.encoding, placed.size))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn target(name: &str) -> Target {
        Target { name: name.into(), namespace: Some("team-a".into()), key: "registry.json".into() }
    }

    fn local(value: serde_json::Value) -> RegistrySpec {
        serde_json::from_value(value).expect("spec")
    }

    #[test]
    fn a_file_source_becomes_a_config_map_holding_the_bytes() {
        let spec = local(json!({"name": "local", "source": {"file": {"path": "r.json"}}, "format": "toolhive",
            "filter": {"include": {"tags": ["official"]}}, "validation": {"mode": "skip"}}));
        let doc = br#"{"servers": {}}"#;
        let m = migrate(&spec, Some(doc), &target("platform")).expect("migrated");
        let cm = m.config_map.as_ref().expect("config map");
        assert_eq!(cm.metadata.name.as_deref(), Some("platform-registry-source"));
        assert_eq!(cm.metadata.namespace.as_deref(), Some("team-a"));
        assert_eq!(cm.data.as_ref().and_then(|d| d.get("registry.json")).map(String::as_bytes), Some(&doc[..]));
        assert_eq!(m.encoding, Some(Encoding::Text));
        let (back, _) = to_local("platform", &m.registry.spec).expect("reads back");
        assert_eq!(
            back.source,
            SourceSpec::ConfigMap(ConfigMapSpec {
                name: "platform-registry-source".into(),
                key: "registry.json".into()
            })
        );
        assert_eq!((back.format, back.filter, back.validation), (spec.format, spec.filter, spec.validation));
    }

    #[test]
    fn a_catalog_too_large_as_text_is_compressed_and_one_too_large_compressed_is_refused() {
        let spec = local(json!({"name": "local", "source": {"file": {"path": "r.json"}}}));
        let big = format!("[{}]", vec![r#"{"server":{"name":"io.x/a","version":"1"}}"#; 30_000].join(","));
        let m = migrate(&spec, Some(big.as_bytes()), &target("platform")).expect("compressed");
        assert_eq!(m.encoding, Some(Encoding::Gzip));
        let binary = m.config_map.as_ref().and_then(|c| c.binary_data.as_ref()).expect("binaryData");
        let packed = &binary["registry.json"].0;
        assert_eq!(crate::gzip::decompress(packed, u64::MAX).expect("gzip"), big.as_bytes());
        assert!(m.data_bytes <= STORAGE_LIMIT);

        // Random bytes do not compress.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let noise: Vec<u8> = (0..STORAGE_LIMIT + 10)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        let err = migrate(&spec, Some(&noise), &target("platform")).expect_err("too large");
        assert!(matches!(err, MigrateError::TooLarge { .. }), "{err}");
        assert!(err.to_string().contains("cannot be split"), "{err}");
    }

    #[test]
    fn other_sources_are_kept_and_names_the_crd_refuses_are_refused() {
        let spec =
            local(json!({"name": "official", "source": {"registryApi": {"url": "https://registry.example.com"}},
            "syncPolicy": {"interval": "2h"}}));
        let m = migrate(&spec, None, &target("official")).expect("migrated");
        assert!(m.config_map.is_none());
        assert_eq!(m.registry.spec.sync_policy.interval, "2h");
        let err = migrate(&spec, None, &target("Official")).expect_err("bad name");
        assert!(err.to_string().contains("\"Official\""), "{err}");
        let file = local(json!({"name": "local", "source": {"file": {"path": "r.json"}}}));
        assert!(matches!(migrate(&file, None, &target("local")), Err(MigrateError::MissingData { .. })));
    }
}
