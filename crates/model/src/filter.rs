//! Catalog filters (placeholder).
