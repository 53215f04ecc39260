//! ToolHive's own catalog format (the "legacy" registry file) and its `_meta` extension object.

mod extension;
mod file;

pub use extension::{STACKLOK_NAMESPACE, StacklokExtension, find_extension, stacklok_map};
pub use file::{EnvVar, Group, Header, Metadata, ServerEntry, ToolHiveRegistry};

/// Namespace ToolHive prefixes to short names to make full server names.
pub const TOOLHIVE_NAME_PREFIX: &str = "io.github.stacklok/";

/// `$schema` ToolHive writes on its catalog files.
pub const TOOLHIVE_SCHEMA_URL: &str =
    "https://raw.githubusercontent.com/stacklok/toolhive/main/pkg/registry/data/toolhive-legacy-registry.schema.json";
