//! Fingerprints that tell whether a residual still applies: a short hash of a value's canonical JSON.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// First 16 hex digits of the sha256 of `value`'s canonical JSON (keys sorted, no whitespace).
pub fn fingerprint(value: &Value) -> String {
    let mut hasher = Sha256::new();
    crate::digest::write_canonical(value, &mut hasher);
    hex::encode(&hasher.finalize()[..8])
}
