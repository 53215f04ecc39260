//! Fingerprints that tell whether a residual still applies: a short hash of a value's canonical JSON.

use serde_json::Value;

/// First 16 hex digits of the sha256 of `value`'s canonical JSON (keys sorted, no whitespace).
pub fn fingerprint(value: &Value) -> String {
    let mut hex = crate::digest::sha256_hex_of(value);
    hex.truncate(16);
    hex
}
