//! Content digests (placeholder).
