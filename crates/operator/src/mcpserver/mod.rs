//! ToolHive's `MCPServer` (`toolhive.stacklok.dev`) and the registry entries it runs: the labels that associate
//! a server with an entry, the fields the registry manages on it, and what a changed entry does to it under
//! `syncPolicy.onUpdate`. The object is handled as JSON (`DynamicObject`), so the operator needs no ToolHive
//! types and runs without ToolHive's CRD.
//!
//! - [`managed`]: from a catalog entry, the managed fields (image, transport, `mcpPort`, args, env defaults),
//!   the `tier` and `category` labels, their digest, and the MCPServer bodies built from them — the one
//!   builder of the controller and of `thv registry deploy`.
//! - [`plan`]: pure decisions — which server an object is associated with, which managed fields another
//!   field manager set (left alone), and what to do on a change ([`plan::Step`]).
//! - [`cluster`]: discovery of the MCPServer kind and the API calls.

pub mod cluster;
pub mod managed;
pub mod plan;

/// The API group of ToolHive's `MCPServer`.
pub const GROUP: &str = "toolhive.stacklok.dev";
/// The kind.
pub const KIND: &str = "MCPServer";
/// The version `thv registry deploy --dry-run` writes without a cluster to ask (ToolHive's storage version);
/// on a cluster, the version discovery prefers.
pub const DEFAULT_VERSION: &str = "v1beta1";
/// The field manager of every write to an MCPServer (the controller's and `thv registry deploy`'s).
pub const FIELD_MANAGER: &str = "thv-registry-mcpserver";
/// The field manager of the values a person gives `thv registry deploy --env`: theirs, not the registry's,
/// so the controller leaves them alone.
pub const USER_FIELD_MANAGER: &str = "thv-registry-deploy";

/// Label naming the MCPRegistry a server runs an entry of (set by a person, or by `thv registry deploy`).
pub const REGISTRY_NAME_LABEL: &str = "toolhive.stacklok.io/registry-name";
/// Label naming that MCPRegistry's namespace (absent: the MCPServer's own namespace).
pub const REGISTRY_NAMESPACE_LABEL: &str = "toolhive.stacklok.io/registry-namespace";
/// Label naming the entry: a full server name when it is a valid label value, else its short name.
pub const SERVER_NAME_LABEL: &str = "toolhive.stacklok.io/server-name";
/// Label with the entry's ToolHive tier (set by the operator).
pub const TIER_LABEL: &str = "toolhive.stacklok.io/tier";
/// Label with the entry's ToolHive category (set by the operator).
pub const CATEGORY_LABEL: &str = "toolhive.stacklok.io/category";
/// Annotation with the digest of the managed fields last applied ([`managed::Desired::digest`]): an entry
/// changed when its digest differs.
pub const ENTRY_DIGEST_ANNOTATION: &str = "toolhive.stacklok.io/registry-entry-digest";

/// The reasons of the Events about MCPServers (on the MCPServer and on its MCPRegistry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerReason {
    /// The tier and category labels were set or changed.
    ServerLabeled,
    /// The managed fields were applied (`onUpdate: update`, or a newly associated server).
    ServerUpdated,
    /// The server was deleted and created again from the entry (`onUpdate: recreate`).
    ServerRecreated,
    /// Managed fields another field manager set were left at their values (Warning).
    ServerFieldsKept,
    /// The API server refused the apply with a conflict, or the recreate could not finish (Warning).
    ServerConflict,
    /// The labels name an entry the registry does not have, or a registry that does not exist (Warning).
    ServerEntryNotFound,
}

impl ServerReason {
    /// Every reason.
    pub const ALL: [Self; 6] = [
        Self::ServerLabeled,
        Self::ServerUpdated,
        Self::ServerRecreated,
        Self::ServerFieldsKept,
        Self::ServerConflict,
        Self::ServerEntryNotFound,
    ];

    /// The reason as the Event carries it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ServerLabeled => "MCPServerLabeled",
            Self::ServerUpdated => "MCPServerUpdated",
            Self::ServerRecreated => "MCPServerRecreated",
            Self::ServerFieldsKept => "MCPServerFieldsKept",
            Self::ServerConflict => "MCPServerConflict",
            Self::ServerEntryNotFound => "MCPServerEntryNotFound",
        }
    }

    /// Whether the Event is a Warning.
    pub fn is_warning(self) -> bool {
        matches!(self, Self::ServerFieldsKept | Self::ServerConflict | Self::ServerEntryNotFound)
    }
}
