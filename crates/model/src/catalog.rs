//! The in-memory catalog: canonical `{server, _meta}` records plus file-level information.

use crate::upstream::ServerResponse;

/// File-level facts that survive a format change (version, timestamps, groups).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CatalogInfo {
    /// `$schema` of the source file, if it had one.
    pub schema: Option<String>,
    /// File format version (`version` of ToolHive and wrapper files).
    pub version: Option<String>,
    /// Last update of the file (RFC 3339).
    pub last_updated: Option<String>,
    /// Groups: name, description and member server names.
    pub groups: Vec<GroupInfo>,
}

/// A named group of servers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupInfo {
    /// Group name.
    pub name: String,
    /// What the group is for.
    pub description: Option<String>,
    /// Full names of member servers.
    pub servers: Vec<String>,
}

/// A catalog in canonical form: one record per server version.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    /// File-level facts.
    pub info: CatalogInfo,
    /// The records, in source order.
    pub entries: Vec<ServerResponse>,
}
