//! Image references: tags, and the `npx://`-style schemes ToolHive uses for non-OCI packages.

use crate::upstream::{Package, RegistryType};

/// The tag of an OCI reference (`host:port/path:tag@digest` → `tag`), if any.
pub fn image_tag(image: &str) -> Option<&str> {
    let without_digest = image.split_once('@').map_or(image, |(r, _)| r);
    let last_segment = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last_segment.rsplit_once(':').map(|(_, tag)| tag).filter(|t| !t.is_empty())
}

/// Whether an OCI reference carries a tag or a digest.
pub fn has_tag_or_digest(image: &str) -> bool {
    image.contains('@') || image_tag(image).is_some()
}

/// ToolHive's scheme for a package type that ToolHive builds into an image on demand.
fn scheme(kind: &RegistryType) -> Option<&'static str> {
    match kind {
        RegistryType::Npm => Some("npx://"),
        RegistryType::Pypi => Some("uvx://"),
        RegistryType::Nuget => Some("dnx://"),
        _ => None,
    }
}

/// The registry type a scheme stands for.
fn kind_of_scheme(image: &str) -> Option<(RegistryType, &str)> {
    [(RegistryType::Npm, "npx://"), (RegistryType::Pypi, "uvx://"), (RegistryType::Nuget, "dnx://")]
        .into_iter()
        .find_map(|(kind, prefix)| image.strip_prefix(prefix).map(|rest| (kind, rest)))
}

/// How a package becomes a ToolHive `image`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageFor {
    /// An OCI image ToolHive runs as is.
    Oci(String),
    /// A scheme ToolHive builds into an image (`npx://pkg@1.0`).
    Scheme(String),
    /// A reference ToolHive cannot run (an MCP bundle URL, a crate, an unknown type).
    NotRunnable(String),
}

impl ImageFor {
    /// The image string.
    pub fn image(&self) -> &str {
        match self {
            Self::Oci(s) | Self::Scheme(s) | Self::NotRunnable(s) => s,
        }
    }
}

/// The ToolHive image for a package.
pub fn image_for(package: &Package) -> ImageFor {
    let id = package.identifier_str();
    let version = package.version.as_deref().filter(|v| !v.is_empty());
    let with_version = |prefix: &str| match version {
        Some(v) => format!("{prefix}{id}@{v}"),
        None => format!("{prefix}{id}"),
    };
    match package.kind() {
        Some(RegistryType::Oci) => match version {
            Some(v) if !has_tag_or_digest(id) => ImageFor::Oci(format!("{id}:{v}")),
            _ => ImageFor::Oci(id.to_owned()),
        },
        Some(kind) => match scheme(kind) {
            Some(prefix) => ImageFor::Scheme(with_version(prefix)),
            None if *kind == RegistryType::Mcpb => ImageFor::NotRunnable(id.to_owned()),
            None => ImageFor::NotRunnable(with_version(&format!("{kind}://"))),
        },
        None => ImageFor::NotRunnable(id.to_owned()),
    }
}

/// The package an image stands for: `npx://pkg@1.0` → npm `pkg` 1.0; anything else → OCI.
pub fn package_for_image(image: &str) -> (RegistryType, String, Option<String>) {
    match kind_of_scheme(image) {
        Some((kind, rest)) => {
            // A scoped npm name starts with `@`; the version separator is the last `@` after it.
            match rest.get(1..).and_then(|tail| tail.rfind('@')).map(|i| i + 1) {
                Some(at) => (kind, rest[..at].to_owned(), Some(rest[at + 1..].to_owned())),
                None => (kind, rest.to_owned(), None),
            }
        }
        None => (RegistryType::Oci, image.to_owned(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(kind: &str, id: &str, version: Option<&str>) -> Package {
        Package {
            registry_type: Some(kind.into()),
            identifier: Some(id.into()),
            version: version.map(Into::into),
            ..Package::default()
        }
    }

    #[test]
    fn tags_ignore_registry_ports_and_digests() {
        assert_eq!(image_tag("ghcr.io/a/b:1.2.3"), Some("1.2.3"));
        assert_eq!(image_tag("localhost:5000/a/b"), None);
        assert_eq!(image_tag("localhost:5000/a/b:v1@sha256:abc"), Some("v1"));
        assert_eq!(image_tag("b"), None);
    }

    #[test]
    fn packages_map_to_images_and_back() {
        assert_eq!(
            image_for(&package("npm", "@scope/pkg", Some("1.0.0"))),
            ImageFor::Scheme("npx://@scope/pkg@1.0.0".into())
        );
        assert_eq!(image_for(&package("pypi", "mcp-x", None)), ImageFor::Scheme("uvx://mcp-x".into()));
        assert_eq!(image_for(&package("oci", "docker.io/a/b", Some("2"))), ImageFor::Oci("docker.io/a/b:2".into()));
        assert_eq!(image_for(&package("oci", "docker.io/a/b:1", Some("2"))), ImageFor::Oci("docker.io/a/b:1".into()));
        assert!(matches!(image_for(&package("mcpb", "https://x/y.mcpb", None)), ImageFor::NotRunnable(_)));
        assert_eq!(
            package_for_image("npx://@scope/pkg@1.0.0"),
            (RegistryType::Npm, "@scope/pkg".into(), Some("1.0.0".into()))
        );
        assert_eq!(package_for_image("npx://@scope/pkg"), (RegistryType::Npm, "@scope/pkg".into(), None));
        assert_eq!(package_for_image("dnx://Pkg@2.0"), (RegistryType::Nuget, "Pkg".into(), Some("2.0".into())));
        assert_eq!(package_for_image("ghcr.io/a/b:1"), (RegistryType::Oci, "ghcr.io/a/b:1".into(), None));
    }
}
