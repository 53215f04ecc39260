//! The official MCP Registry formats: `server.json`, the API envelope and ToolHive's wrapper file.

mod envelope;
mod file;
mod schema_version;
mod server;

pub use envelope::{OFFICIAL_META_KEY, OfficialMeta, ResponseMeta, ServerResponse};
pub use file::{UPSTREAM_FILE_SCHEMA_URL, UpstreamFile, UpstreamFileData, UpstreamFileMeta, UpstreamGroup};
pub use schema_version::{SchemaVersion, UnknownSchemaDate};
pub use server::{
    Argument, ArgumentType, Extra, Icon, Input, InputFormat, KeyValueInput, Package, RegistryType, Remote, Repository,
    ServerJson, Transport, TransportType,
};

/// `_meta` key under which publishers put their own data.
pub const PUBLISHER_PROVIDED_KEY: &str = "io.modelcontextprotocol.registry/publisher-provided";
