//! How a catalog document sits under one key of a ConfigMap — the one rule for every ConfigMap a document is
//! written to (`thv registry migrate`'s source ConfigMap, an export job's output) and the one the ConfigMap
//! source reads back: the text in `data[key]`, or gzip-compressed in `binaryData[key]` (recognized by the
//! gzip magic number) when it is large; refused when even compressed it exceeds the object limit.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;

use crate::storage::layout::data_size;

/// How a document is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Encoding {
    /// `data[key]`, the document as it is.
    Text,
    /// `binaryData[key]`, gzip-compressed.
    Gzip,
}

/// A document as ConfigMap fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    /// `data`: the document under its key when held as text.
    pub data: Option<BTreeMap<String, String>>,
    /// `binaryData`: the gzip-compressed document under its key otherwise.
    pub binary_data: Option<BTreeMap<String, ByteString>>,
    /// Which of the two.
    pub encoding: Encoding,
    /// Bytes of the fields (keys plus values) as the API server counts them against its limit.
    pub size: u64,
}

/// A document that does not fit a ConfigMap even compressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "needs {stored} bytes in a ConfigMap even gzip-compressed ({bytes} bytes as text), over the {limit} byte limit"
)]
pub struct TooLarge {
    /// Bytes of the document, uncompressed.
    pub bytes: u64,
    /// Bytes of the compressed fields, as the API server counts them.
    pub stored: u64,
    /// The limit.
    pub limit: u64,
}

/// Places `bytes` under `key`: as text when it is UTF-8, at most `compress_above` bytes and within `limit`;
/// else gzip-compressed; refused when that exceeds `limit` too.
pub fn place(key: &str, bytes: &[u8], compress_above: usize, limit: u64) -> Result<Placed, TooLarge> {
    if bytes.len() <= compress_above
        && let Ok(text) = std::str::from_utf8(bytes)
    {
        let data = BTreeMap::from([(key.to_owned(), text.to_owned())]);
        let size = data_size(Some(&data), None);
        if size <= limit {
            return Ok(Placed { data: Some(data), binary_data: None, encoding: Encoding::Text, size });
        }
    }
    // Compressing into memory cannot fail: writing to a `Vec` never returns an error.
    let packed = crate::gzip::compress(bytes).expect("gzip into a Vec");
    let binary_data = BTreeMap::from([(key.to_owned(), ByteString(packed))]);
    let size = data_size(None, Some(&binary_data));
    if size > limit {
        return Err(TooLarge { bytes: bytes.len() as u64, stored: size, limit });
    }
    Ok(Placed { data: None, binary_data: Some(binary_data), encoding: Encoding::Gzip, size })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_within_the_bounds_stays_text_larger_is_compressed_under_the_same_key_and_too_large_is_refused() {
        let small = place("registry.json", b"{\"servers\":{}}\n", 1024, 10_000).expect("fits");
        assert_eq!(small.encoding, Encoding::Text);
        assert_eq!(small.data.expect("data")["registry.json"], "{\"servers\":{}}\n");
        assert_eq!(small.size, 13 + 15);

        let large = "x".repeat(2048);
        let packed = place("registry.json", large.as_bytes(), 1024, 10_000).expect("compresses");
        assert_eq!((packed.encoding, packed.data.is_none()), (Encoding::Gzip, true));
        let gz = &packed.binary_data.expect("binaryData")["registry.json"].0;
        assert!(crate::gzip::is_gzip(gz));
        assert_eq!(crate::gzip::decompress(gz, u64::MAX).expect("gzip"), large.as_bytes());

        // Text over the limit is compressed even below compress_above; bytes that are not UTF-8 always are.
        assert_eq!(place("k", large.as_bytes(), usize::MAX, 1000).expect("fits compressed").encoding, Encoding::Gzip);
        assert_eq!(place("k", &[0xff, 0xfe], usize::MAX, 1000).expect("binary").encoding, Encoding::Gzip);

        let noise: Vec<u8> = (0..100_000_u32).flat_map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes()).collect();
        let refused = place("k", &noise, usize::MAX, 100_000).expect_err("too large");
        assert_eq!((refused.bytes, refused.limit), (400_000, 100_000));
        assert!(refused.stored > refused.limit);
    }
}
