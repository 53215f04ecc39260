//! The keys of a storage ConfigMap and how each is encoded: the one place that turns [`Draft`]s into
//! ConfigMap data and back, and counts bytes as the API server does.
//!
//! | key | field | content |
//! |---|---|---|
//! | `state.json` | `data` | the registry's sync state (JSON), absent before the first state is written |
//! | `catalog.json.gz` | `binaryData` | the catalog: a gzip-compressed JSON array of stored versions, ordered by (name, version) |
//! | `history.json.gz` | `binaryData` | the newest runs and their change sets (gzip-compressed JSON) |
//! | `imported.json.gz` | `binaryData` | the imported layer (gzip-compressed JSON array), absent when empty |
//!
//! The annotation [`STORAGE_FORMAT_ANNOTATION`](crate::labels::STORAGE_FORMAT_ANNOTATION) carries
//! [`FORMAT`]. Decompression is bounded ([`MAX_DECOMPRESSED_BYTES`]), so a planted object cannot exhaust
//! memory.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use serde::Deserialize;
use serde_json::value::RawValue;
use thv_store::{ImportedEntry, JsonText, RegistryState, ServerVersion, StoreError, StoreResult};

use super::content::{Draft, History};

/// The layout version written in the format annotation.
pub const FORMAT: &str = "1";
/// `data` key of the state.
pub const STATE_KEY: &str = "state.json";
/// `binaryData` key of the catalog.
pub const CATALOG_KEY: &str = "catalog.json.gz";
/// `binaryData` key of the runs and change sets.
pub const HISTORY_KEY: &str = "history.json.gz";

/// `binaryData` key of the imported layer.
pub const IMPORTED_KEY: &str = "imported.json.gz";

/// The API server's limit on a ConfigMap's `data` plus `binaryData`, keys and values counted
/// (`corev1.MaxSecretSize`, 1 MiB): a larger write is refused with 422 `Too long`.
pub const API_SERVER_LIMIT: u64 = 1024 * 1024;
/// The most this store writes: 64 KiB under [`API_SERVER_LIMIT`], so a catalog too large is refused with a
/// typed error of ours before the API server refuses the write, with room left for the object's metadata
/// within etcd's request limit.
pub const STORAGE_LIMIT: u64 = API_SERVER_LIMIT - 64 * 1024;
/// Most bytes one stored key may decompress to (a catalog compresses about ten to one, so a full
/// storage ConfigMap is far below this).
pub const MAX_DECOMPRESSED_BYTES: u64 = 64 * 1024 * 1024;

/// A draft turned into ConfigMap fields.
#[derive(Debug, Clone)]
pub(crate) struct Encoded {
    /// `data`.
    pub data: BTreeMap<String, String>,
    /// `binaryData`.
    pub binary_data: BTreeMap<String, ByteString>,
}

impl Encoded {
    /// Bytes as the API server counts them against [`API_SERVER_LIMIT`]: every key plus every value
    /// (`binaryData` decoded).
    pub fn size(&self) -> u64 {
        data_size(Some(&self.data), Some(&self.binary_data))
    }
}

/// Bytes of ConfigMap fields as the API server counts them against [`API_SERVER_LIMIT`].
pub fn data_size(data: Option<&BTreeMap<String, String>>, binary_data: Option<&BTreeMap<String, ByteString>>) -> u64 {
    let text = data.into_iter().flatten().map(|(k, v)| k.len() + v.len());
    let binary = binary_data.into_iter().flatten().map(|(k, v)| k.len() + v.0.len());
    text.chain(binary).map(|n| n as u64).sum()
}

/// Encodes a draft whose catalog, compressed, is `catalog` (the draft's new one, or the stored one kept
/// byte for byte).
/// `imported` is the compressed layer to keep (the draft's new one, or the stored one byte for byte); none
/// when the layer is empty.
pub(crate) fn encode(draft: &Draft, catalog: ByteString, imported: Option<ByteString>) -> StoreResult<Encoded> {
    let mut data = BTreeMap::new();
    if let Some(state) = &draft.state {
        let text = serde_json::to_string(state).map_err(|e| encode_error("the state", &e))?;
        data.insert(STATE_KEY.to_owned(), text);
    }
    let mut binary_data = BTreeMap::new();
    binary_data.insert(CATALOG_KEY.to_owned(), catalog);
    binary_data.insert(HISTORY_KEY.to_owned(), ByteString(encode_history(&draft.history)?));
    if let Some(imported) = imported {
        binary_data.insert(IMPORTED_KEY.to_owned(), imported);
    }
    Ok(Encoded { data, binary_data })
}

/// The compressed JSON array of `versions`.
pub(crate) fn encode_catalog(versions: &[ServerVersion]) -> StoreResult<Vec<u8>> {
    let json = serde_json::to_vec(versions).map_err(|e| encode_error("the catalog", &e))?;
    gzip(&json)
}

/// The compressed history.
pub(crate) fn encode_history(history: &History) -> StoreResult<Vec<u8>> {
    let json = serde_json::to_vec(history).map_err(|e| encode_error("the run history", &e))?;
    gzip(&json)
}

/// The compressed imported layer; `None` for an empty one (the key is then left out).
pub(crate) fn encode_imported(layer: &[ImportedEntry]) -> StoreResult<Option<ByteString>> {
    if layer.is_empty() {
        return Ok(None);
    }
    let json = serde_json::to_vec(layer).map_err(|e| encode_error("the imported layer", &e))?;
    gzip(&json).map(|bytes| Some(ByteString(bytes)))
}

/// The imported layer in compressed `bytes` (empty when `None`).
pub(crate) fn decode_imported(bytes: Option<&ByteString>, what: &str) -> StoreResult<Vec<ImportedEntry>> {
    let Some(bytes) = bytes else {
        return Ok(Vec::new());
    };
    let json = gunzip(&bytes.0, what, IMPORTED_KEY)?;
    serde_json::from_slice(&json).map_err(|e| corrupt(what, IMPORTED_KEY, &e.to_string()))
}

/// The state in `data`, if any; `what` names the ConfigMap for errors.
pub(crate) fn decode_state(data: Option<&BTreeMap<String, String>>, what: &str) -> StoreResult<Option<RegistryState>> {
    let Some(text) = data.and_then(|d| d.get(STATE_KEY)) else {
        return Ok(None);
    };
    serde_json::from_str(text).map(Some).map_err(|e| corrupt(what, STATE_KEY, &e.to_string()))
}

/// The history in `binaryData`; an empty history when the key is absent.
pub(crate) fn decode_history(binary: Option<&BTreeMap<String, ByteString>>, what: &str) -> StoreResult<History> {
    let Some(bytes) = binary.and_then(|b| b.get(HISTORY_KEY)) else {
        return Ok(History::default());
    };
    let json = gunzip(&bytes.0, what, HISTORY_KEY)?;
    serde_json::from_slice(&json).map_err(|e| corrupt(what, HISTORY_KEY, &e.to_string()))
}

/// A stored version as read back: the document stays the exact text that was written.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredVersion {
    name: String,
    version: String,
    document: Box<RawValue>,
    extra_meta: serde_json::Value,
    digest: String,
    status: String,
    status_changed_at: Option<String>,
    status_message: Option<String>,
    published_at: String,
    updated_at: String,
    is_latest: bool,
}

impl From<StoredVersion> for ServerVersion {
    fn from(v: StoredVersion) -> Self {
        Self {
            document: JsonText::from_trusted(v.document.get().to_owned()),
            name: v.name,
            version: v.version,
            extra_meta: v.extra_meta,
            digest: v.digest,
            status: v.status,
            status_changed_at: v.status_changed_at,
            status_message: v.status_message,
            published_at: v.published_at,
            updated_at: v.updated_at,
            is_latest: v.is_latest,
        }
    }
}

/// The catalog in compressed `bytes` (empty when `None`).
pub(crate) fn decode_catalog(bytes: Option<&ByteString>, what: &str) -> StoreResult<Vec<ServerVersion>> {
    let Some(bytes) = bytes else {
        return Ok(Vec::new());
    };
    let json = gunzip(&bytes.0, what, CATALOG_KEY)?;
    let stored: Vec<StoredVersion> =
        serde_json::from_slice(&json).map_err(|e| corrupt(what, CATALOG_KEY, &e.to_string()))?;
    Ok(stored.into_iter().map(ServerVersion::from).collect())
}

pub(crate) fn gzip(bytes: &[u8]) -> StoreResult<Vec<u8>> {
    crate::gzip::compress(bytes).map_err(|e| encode_error("gzip", &e))
}

fn gunzip(bytes: &[u8], what: &str, key: &str) -> StoreResult<Vec<u8>> {
    crate::gzip::decompress(bytes, MAX_DECOMPRESSED_BYTES).map_err(|message| corrupt(what, key, &message))
}

fn corrupt(what: &str, key: &str, message: &str) -> StoreError {
    StoreError::Corrupt { what: format!("{what}, key {key}"), message: message.to_owned() }
}

fn encode_error(what: &str, e: &dyn std::fmt::Display) -> StoreError {
    StoreError::Query { operation: "encode the storage ConfigMap", message: format!("{what}: {e}") }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    #[test]
    fn sizes_count_keys_and_decoded_values() {
        let data = BTreeMap::from([("ab".to_owned(), "xyz".to_owned())]);
        let binary = BTreeMap::from([("k".to_owned(), ByteString(vec![0; 10]))]);
        assert_eq!(data_size(Some(&data), Some(&binary)), 2 + 3 + 1 + 10);
        assert_eq!(data_size(None, None), 0);
    }

    #[test]
    fn bad_and_oversized_gzip_are_corrupt_data_not_panics() {
        let err = gunzip(b"not gzip", "ConfigMap ns/x", CATALOG_KEY).expect_err("not gzip");
        assert!(matches!(err, StoreError::Corrupt { .. }) && err.to_string().contains("catalog.json.gz"), "{err}");
        // A bomb: a little gzip that inflates past the bound.
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..=(MAX_DECOMPRESSED_BYTES / zeros.len() as u64) {
            encoder.write_all(&zeros).expect("write");
        }
        let bomb = encoder.finish().expect("finish");
        assert!(bomb.len() < 1024 * 1024, "{} bytes", bomb.len());
        let err = gunzip(&bomb, "ConfigMap ns/x", CATALOG_KEY).expect_err("bomb");
        assert!(err.to_string().contains("decompresses to more than"), "{err}");
    }
}
