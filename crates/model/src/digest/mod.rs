//! Content digests: SHA-256 of canonical JSON, so that key order and whitespace never matter and any
//! change of content does.
//!
//! Canonical JSON (see [`to_canonical_vec`]) sorts object keys recursively, has no whitespace and
//! normalises numbers (`17.0` is `17`). It is written straight into the hasher entry by entry; no
//! string of the whole catalog is built.

mod canonical;

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::upstream::ServerResponse;

pub use canonical::{CanonicalError, Encoder, to_canonical_vec};

/// Prefix of every digest this module returns.
pub const DIGEST_PREFIX: &str = "sha256:";

/// `sha256:<hex>` of a catalog in normal form: entries ordered by (name, version) — ties by their
/// canonical JSON — and written as one canonical JSON array.
///
/// Equal to [`value_digest`] of that array. Neither the order of the entries nor the key order or
/// formatting of the source changes it; any change of content, `_meta` included, does.
pub fn catalog_digest(entries: &[ServerResponse]) -> String {
    let mut order: Vec<&ServerResponse> = entries.iter().collect();
    order.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));

    let mut hasher = Sha256::new();
    let mut encoder = Encoder::new();
    hasher.update(b"[");
    let mut first = true;
    for run in order.chunk_by(|a, b| sort_key(a) == sort_key(b)) {
        let mut separator = |hasher: &mut Sha256| {
            if !std::mem::take(&mut first) {
                hasher.update(b",");
            }
        };
        if let [only] = run {
            separator(&mut hasher);
            hasher.update(encode(&mut encoder, *only));
        } else {
            // Same (name, version) twice: order by content so the input order still does not matter.
            let mut texts: Vec<Vec<u8>> = run.iter().map(|e| encode(&mut encoder, *e).into_owned()).collect();
            texts.sort_unstable();
            for text in &texts {
                separator(&mut hasher);
                hasher.update(text);
            }
        }
    }
    hasher.update(b"]");
    prefixed(hasher)
}

/// `sha256:<hex>` of one JSON document's canonical form.
pub fn value_digest(value: &Value) -> String {
    let mut hasher = Sha256::new();
    hasher.update(encode(&mut Encoder::new(), value));
    prefixed(hasher)
}

/// Lower-case hex SHA-256 (no prefix) of the canonical JSON of `value`.
pub(crate) fn sha256_hex_of<T: Serialize + fmt::Debug>(value: &T) -> String {
    hex::encode(Sha256::digest(encode(&mut Encoder::new(), value)))
}

fn sort_key(entry: &ServerResponse) -> (&str, &str) {
    (entry.server.name_str(), entry.server.version_str())
}

fn prefixed(hasher: Sha256) -> String {
    format!("{DIGEST_PREFIX}{}", hex::encode(hasher.finalize()))
}

/// The canonical JSON of `value`. Encoding fails only when a `Serialize` impl reports an error, which
/// none of the model's types (nor `serde_json::Value`) do; should one ever, the bytes are a marker
/// plus the `Debug` form, so the digest still follows the content instead of panicking.
fn encode<'e, T: Serialize + fmt::Debug + ?Sized>(encoder: &'e mut Encoder, value: &T) -> Cow<'e, [u8]> {
    match encoder.encode(value) {
        Ok(bytes) => Cow::Borrowed(bytes),
        Err(err) => Cow::Owned(format!("\0{err}\0{value:?}").into_bytes()),
    }
}
