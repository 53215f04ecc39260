//! Bounded gzip: the one decoder for compressed data the operator reads from the cluster (storage
//! ConfigMaps, ConfigMap sources), so a planted object cannot exhaust memory.

use std::io::{Read as _, Write as _};

/// The two bytes every gzip stream starts with.
const MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Whether `bytes` look like a gzip stream (its magic number).
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

/// Compresses `bytes` at the best level.
pub fn compress(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 8), flate2::Compression::best());
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// Decompresses `bytes`, reading at most `limit` bytes of output; the error says what is wrong (not gzip
/// data, or more than `limit` bytes).
pub fn decompress(bytes: &[u8], limit: u64) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| format!("not gzip data: {e}"))?;
    if out.len() as u64 > limit {
        return Err(format!("decompresses to more than {limit} bytes"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_bounds_the_output() {
        let text = b"{\"servers\": {}}".repeat(100);
        let packed = compress(&text).expect("compress");
        assert!(is_gzip(&packed) && !is_gzip(&text));
        assert_eq!(decompress(&packed, text.len() as u64).expect("decompress"), text);
        let err = decompress(&packed, 10).expect_err("over the bound");
        assert!(err.contains("more than 10 bytes"), "{err}");
        assert!(decompress(b"\x1f\x8bnot really", 100).expect_err("bad").starts_with("not gzip data"));
    }
}
