//! Conversion (placeholder).
