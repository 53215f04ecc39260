//! What differs between the released schemas, as data: key spelling and the few constraints that
//! were added or dropped from one date to the next.

use crate::upstream::SchemaVersion;

/// Keys whose spelling changed from snake_case (2025-07-09) to camelCase (2025-09-16 onward).
#[derive(Debug)]
pub(crate) struct Keys {
    pub website_url: &'static str,
    pub registry_type: &'static str,
    pub registry_base_url: &'static str,
    pub file_sha256: &'static str,
    pub runtime_hint: &'static str,
    pub runtime_arguments: &'static str,
    pub package_arguments: &'static str,
    pub environment_variables: &'static str,
    pub is_required: &'static str,
    pub is_secret: &'static str,
    pub value_hint: &'static str,
    pub is_repeated: &'static str,
}

/// Keys of 2025-09-16 and later.
pub(crate) const CAMEL: Keys = Keys {
    website_url: "websiteUrl",
    registry_type: "registryType",
    registry_base_url: "registryBaseUrl",
    file_sha256: "fileSha256",
    runtime_hint: "runtimeHint",
    runtime_arguments: "runtimeArguments",
    package_arguments: "packageArguments",
    environment_variables: "environmentVariables",
    is_required: "isRequired",
    is_secret: "isSecret",
    value_hint: "valueHint",
    is_repeated: "isRepeated",
};

/// Keys of 2025-07-09.
pub(crate) const SNAKE: Keys = Keys {
    website_url: "website_url",
    registry_type: "registry_type",
    registry_base_url: "registry_base_url",
    file_sha256: "file_sha256",
    runtime_hint: "runtime_hint",
    runtime_arguments: "runtime_arguments",
    package_arguments: "package_arguments",
    environment_variables: "environment_variables",
    is_required: "is_required",
    is_secret: "is_secret",
    value_hint: "value_hint",
    is_repeated: "is_repeated",
};

impl Keys {
    /// The keys a document of `version` uses.
    pub(crate) fn of(version: SchemaVersion) -> &'static Keys {
        if version.is_snake_case() { &SNAKE } else { &CAMEL }
    }

    /// Every package property the schema declares (the closed set of 2025-07-09 … 2025-09-29).
    pub(super) fn package_properties(&self) -> [&'static str; 10] {
        [
            self.registry_type,
            self.registry_base_url,
            "identifier",
            "version",
            self.file_sha256,
            self.runtime_hint,
            "transport",
            self.runtime_arguments,
            self.package_arguments,
            self.environment_variables,
        ]
    }
}

/// The rule set of one released schema.
#[derive(Debug)]
pub(super) struct Rules {
    /// The schema's date, for messages.
    pub version: SchemaVersion,
    /// Key spelling.
    pub keys: &'static Keys,
    /// Server `status` enum (`active`/`deprecated`/`deleted`): 2025-07-09 and 2025-09-16.
    pub status: bool,
    /// `_meta["io.modelcontextprotocol.registry/official"]` must be an object: 2025-07-09 and 2025-09-16.
    pub official_meta: bool,
    /// Packages allow no other keys (`additionalProperties: false`): up to 2025-09-29.
    pub closed_package: bool,
    /// Package `version` is required: up to 2025-09-29.
    pub package_version_required: bool,
    /// `title`, `icons` and input `placeholder` exist: from 2025-10-11.
    pub display: bool,
    /// Remotes carry `variables` (a map of inputs): from 2025-12-11.
    pub remote_variables: bool,
    /// Transport `url` must match `^https?://[^\s]+$`: from 2025-12-11.
    pub url_pattern: bool,
}

impl Rules {
    /// The rules of `version`.
    pub(super) fn of(version: SchemaVersion) -> Self {
        use SchemaVersion as V;
        Self {
            version,
            keys: Keys::of(version),
            status: matches!(version, V::V2025_07_09 | V::V2025_09_16),
            official_meta: matches!(version, V::V2025_07_09 | V::V2025_09_16),
            closed_package: version <= V::V2025_09_29,
            package_version_required: version <= V::V2025_09_29,
            display: version >= V::V2025_10_11,
            remote_variables: version >= V::V2025_12_11,
            url_pattern: version >= V::V2025_12_11,
        }
    }
}
