//! The MCP server catalog model of thv-registry.
//!
//! Pure and I/O-free: the `server.json` types (upstream), ToolHive's catalog types, format detection,
//! lossless conversion between the two, native validation, filters, content digests, and the bounds of
//! durations read from configuration.

pub mod catalog;
pub mod convert;
pub mod detect;
pub mod digest;
pub mod duration;
pub mod filter;
pub mod load;
pub mod names;
mod open_enum;
pub mod pointer;
pub mod toolhive;
pub mod upstream;
pub mod validate;
pub mod version;
pub mod write;

pub use catalog::{Catalog, CatalogInfo};
pub use detect::{DocumentFormat, detect_format, parse_json};
