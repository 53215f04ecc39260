//! Server names: ToolHive short names and full reverse-DNS names.

use crate::toolhive::TOOLHIVE_NAME_PREFIX;

/// The full name for a ToolHive key: kept when it already has a `/`, else prefixed with `io.github.stacklok/`.
pub fn full_name(key: &str) -> String {
    if key.contains('/') { key.to_owned() } else { format!("{TOOLHIVE_NAME_PREFIX}{key}") }
}

/// The short name: the part after the single `/`; the name itself with no or several slashes.
pub fn short_name(name: &str) -> &str {
    crate::names::short_name(name).unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_full_names() {
        assert_eq!(full_name("fetch"), "io.github.stacklok/fetch");
        assert_eq!(full_name("io.github.acme/tool"), "io.github.acme/tool");
        assert_eq!(short_name("io.github.acme/tool"), "tool");
        assert_eq!(short_name("tool"), "tool");
        assert_eq!(short_name("a/b/c"), "a/b/c");
    }
}
