//! The `server.json` document (schema 2025-12-11, read leniently from 2025-09-16 onward).
//!
//! Every field is optional so that real, imperfect documents load; validation says what is wrong.
//! Unknown keys at every level land in `extra` and are written back after the known ones, so
//! read → write gives the same JSON value.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::open_enum::open_enum;

/// Unknown keys of an object, kept verbatim.
pub type Extra = Map<String, Value>;

open_enum! {
    /// How a package is distributed (`registryType`).
    pub enum RegistryType {
        /// npm package, run with `npx`.
        Npm => "npm",
        /// Python package, run with `uvx`.
        Pypi => "pypi",
        /// OCI image; the tag is part of the identifier.
        Oci => "oci",
        /// NuGet package, run with `dnx`.
        Nuget => "nuget",
        /// MCP bundle downloaded from a URL.
        Mcpb => "mcpb",
        /// Rust crate.
        Cargo => "cargo",
    }
}

open_enum! {
    /// Transport `type` of a package or remote.
    pub enum TransportType {
        /// Standard input/output.
        Stdio => "stdio",
        /// Streamable HTTP.
        StreamableHttp => "streamable-http",
        /// Server-sent events.
        Sse => "sse",
    }
}

open_enum! {
    /// Input `format`.
    pub enum InputFormat {
        /// Free text (the default).
        String => "string",
        /// A decimal number written as a string.
        Number => "number",
        /// `"true"` or `"false"`.
        Boolean => "boolean",
        /// A path on the user's file system.
        Filepath => "filepath",
    }
}

open_enum! {
    /// Argument `type`.
    pub enum ArgumentType {
        /// A value inserted verbatim.
        Positional => "positional",
        /// A `--flag value` pair.
        Named => "named",
    }
}

/// One published version of an MCP server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerJson {
    /// Schema URL, kept verbatim (fragment and all).
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Reverse-DNS name, `namespace/name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// One-line description (1..100 chars).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Source repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<Repository>,
    /// Version string; should be semver but may be anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Home page.
    #[serde(rename = "websiteUrl", default, skip_serializing_if = "Option::is_none")]
    pub website_url: Option<String>,
    /// Icons for user interfaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icons: Option<Vec<Icon>>,
    /// Ways to install and run the server locally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages: Option<Vec<Package>>,
    /// Hosted endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remotes: Option<Vec<Remote>>,
    /// Extension data keyed by reverse-DNS namespaces.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Map<String, Value>>,
    /// Keys no schema declares.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ServerJson {
    /// The name, or `""` when absent.
    pub fn name_str(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    /// The version, or `""` when absent.
    pub fn version_str(&self) -> &str {
        self.version.as_deref().unwrap_or("")
    }

    /// The packages, empty when absent.
    pub fn packages(&self) -> &[Package] {
        self.packages.as_deref().unwrap_or_default()
    }

    /// The remotes, empty when absent.
    pub fn remotes(&self) -> &[Remote] {
        self.remotes.as_deref().unwrap_or_default()
    }

    /// Whether the document is in the 2025-07-09 snake_case shape (declared, or recognisable by its keys),
    /// which this project reads and validates but does not convert.
    pub fn is_snake_case_shape(&self) -> bool {
        let declared = self
            .schema
            .as_deref()
            .and_then(super::SchemaVersion::from_schema_url)
            .is_some_and(super::SchemaVersion::is_snake_case);
        declared
            || self.extra.contains_key("website_url")
            || self
                .packages()
                .iter()
                .any(|p| p.extra.contains_key("registry_type") || p.extra.contains_key("environment_variables"))
    }
}

/// Source repository of a server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Repository {
    /// Repository URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Forge: `github` or `gitlab`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Forge repository id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Path of the server inside a monorepo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subfolder: Option<String>,
    /// Keys no schema declares.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An icon for user interfaces.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Icon {
    /// HTTPS URL of the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
    /// MIME type override.
    #[serde(rename = "mimeType", default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Sizes such as `48x48` or `any`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sizes: Option<Vec<String>>,
    /// `light` or `dark`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
    /// Keys no schema declares.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A way to install and run the server locally.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Package {
    /// Package registry kind.
    #[serde(rename = "registryType", default, skip_serializing_if = "Option::is_none")]
    pub registry_type: Option<RegistryType>,
    /// Registry base URL.
    #[serde(rename = "registryBaseUrl", default, skip_serializing_if = "Option::is_none")]
    pub registry_base_url: Option<String>,
    /// Package name, image reference or download URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// Package version (absent for OCI images, whose tag is in the identifier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// SHA-256 of the downloaded file.
    #[serde(rename = "fileSha256", default, skip_serializing_if = "Option::is_none")]
    pub file_sha256: Option<String>,
    /// Runtime to use (`npx`, `uvx`, `docker`, `dnx`, …).
    #[serde(rename = "runtimeHint", default, skip_serializing_if = "Option::is_none")]
    pub runtime_hint: Option<String>,
    /// How a client talks to the running package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    /// Arguments for the runtime.
    #[serde(rename = "runtimeArguments", default, skip_serializing_if = "Option::is_none")]
    pub runtime_arguments: Option<Vec<Argument>>,
    /// Arguments for the server binary.
    #[serde(rename = "packageArguments", default, skip_serializing_if = "Option::is_none")]
    pub package_arguments: Option<Vec<Argument>>,
    /// Environment variables the user sets.
    #[serde(rename = "environmentVariables", default, skip_serializing_if = "Option::is_none")]
    pub environment_variables: Option<Vec<KeyValueInput>>,
    /// Keys no schema declares.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Package {
    /// The registry type, if any.
    pub fn kind(&self) -> Option<&RegistryType> {
        self.registry_type.as_ref()
    }

    /// The identifier, or `""` when absent.
    pub fn identifier_str(&self) -> &str {
        self.identifier.as_deref().unwrap_or("")
    }

    /// The transport type, if any.
    pub fn transport_type(&self) -> Option<&TransportType> {
        self.transport.as_ref().and_then(|t| t.kind.as_ref())
    }
}

/// Transport of a package (`LocalTransport`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transport {
    /// `stdio`, `streamable-http` or `sse`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<TransportType>,
    /// Endpoint for HTTP transports; may hold `{variables}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Headers the client sends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<KeyValueInput>>,
    /// Keys no schema declares.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A hosted endpoint (`RemoteTransport`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Remote {
    /// `streamable-http` or `sse`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<TransportType>,
    /// Endpoint URL; may hold `{variables}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Headers the client sends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<KeyValueInput>>,
    /// URL template variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<IndexMap<String, Input>>,
    /// Keys no schema declares.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A value the user supplies or the publisher fixes. One type serves every input shape of the schema
/// (`Input`, `InputWithVariables`, `KeyValueInput`, `PositionalArgument`, `NamedArgument`): the fields of
/// the other shapes are simply absent, and arguments of an unknown `type` load and are kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Input {
    /// What the input is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether the user must supply it.
    #[serde(rename = "isRequired", default, skip_serializing_if = "Option::is_none")]
    pub is_required: Option<bool>,
    /// Value format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<InputFormat>,
    /// Fixed value; `{var}` placeholders refer to `variables`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Whether the value is a secret.
    #[serde(rename = "isSecret", default, skip_serializing_if = "Option::is_none")]
    pub is_secret: Option<bool>,
    /// Default value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Example shown while configuring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    /// Allowed values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<String>>,
    /// Variables referenced by `value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<IndexMap<String, Input>>,
    /// Argument kind: `positional` or `named`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ArgumentType>,
    /// Variable or header name (key-value inputs); flag name with its dashes (named arguments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Label of a positional argument.
    #[serde(rename = "valueHint", default, skip_serializing_if = "Option::is_none")]
    pub value_hint: Option<String>,
    /// Whether the argument may repeat.
    #[serde(rename = "isRepeated", default, skip_serializing_if = "Option::is_none")]
    pub is_repeated: Option<bool>,
    /// Keys no schema declares.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An environment variable or header (`KeyValueInput`): an [`Input`] with a `name`.
pub type KeyValueInput = Input;

/// A command-line argument (`PositionalArgument` or `NamedArgument`): an [`Input`] with a `type`.
pub type Argument = Input;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn server(value: serde_json::Value) -> ServerJson {
        serde_json::from_value(value).expect("server.json")
    }

    #[test]
    fn snake_case_documents_are_recognised() {
        let declared = json!({"$schema": "https://static.modelcontextprotocol.io/schemas/2025-07-09/server.schema.json", "name": "a/b"});
        assert!(server(declared).is_snake_case_shape());
        assert!(server(json!({"name": "a/b", "packages": [{"registry_type": "npm"}]})).is_snake_case_shape());
        assert!(!server(json!({"name": "a/b", "packages": [{"registryType": "npm"}]})).is_snake_case_shape());
    }
}
