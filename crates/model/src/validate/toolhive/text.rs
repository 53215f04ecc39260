//! The `pattern`s of the ToolHive schema, hand-written (ECMA-262 `\w` and `\d` are ASCII), except
//! the image reference, which uses a regex built once.

use std::sync::LazyLock;

use regex::Regex;

/// Server and group map keys.
pub(super) const SERVER_KEY: &str = "^[a-z0-9][a-z0-9-]+[a-z0-9]$";
/// Group names.
pub(super) const GROUP_NAME: &str = "^[a-z0-9][a-z0-9-]*[a-z0-9]$";
/// Tags.
pub(super) const TAG: &str = "^[a-z0-9][a-z0-9_-]*[a-z0-9]$";
/// Tool names.
pub(super) const TOOL: &str = r"^[\w-]+$";
/// Environment variable names.
pub(super) const ENV_NAME: &str = "^[A-Za-z_][A-Za-z0-9_]*$";
/// Header names.
pub(super) const HEADER_NAME: &str = "^[A-Za-z0-9][A-Za-z0-9-]*$";
/// The catalog's `version`.
pub(super) const VERSION: &str = r"^\d+\.\d+\.\d+$";
/// Mounted paths.
pub(super) const PATH: &str = r"^(/[^/\0]+)+/?$";
/// Domain suffixes in `allow_host`.
pub(super) const HOST_SUFFIX: &str = r"^\.[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$";
/// Container image references.
pub(super) const IMAGE: &str =
    "^[a-z0-9]([a-z0-9._-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*(:([a-zA-Z0-9][a-zA-Z0-9._-]*))?$";

static IMAGE_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(IMAGE).expect("constant pattern compiles"));

/// `first`, then `middle`* (at least `min_middle`), then `last`, all ASCII.
fn framed(s: &str, min_middle: usize, edge: impl Fn(u8) -> bool, middle: impl Fn(u8) -> bool) -> bool {
    let b = s.as_bytes();
    b.len() >= min_middle + 2
        && b.first().is_some_and(|&c| edge(c))
        && b.last().is_some_and(|&c| edge(c))
        && b[1..b.len() - 1].iter().all(|&c| middle(c))
}

fn lower_digit(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// [`SERVER_KEY`]: at least three characters.
pub(super) fn is_server_key(s: &str) -> bool {
    framed(s, 1, lower_digit, |c| lower_digit(c) || c == b'-')
}

/// [`GROUP_NAME`]: at least two characters.
pub(super) fn is_group_name(s: &str) -> bool {
    framed(s, 0, lower_digit, |c| lower_digit(c) || c == b'-')
}

/// [`TAG`].
pub(super) fn is_tag(s: &str) -> bool {
    framed(s, 0, lower_digit, |c| lower_digit(c) || c == b'_' || c == b'-')
}

/// [`TOOL`].
pub(super) fn is_tool(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// [`ENV_NAME`].
pub(super) fn is_env_name(s: &str) -> bool {
    let b = s.as_bytes();
    b.first().is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_')
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

/// [`HEADER_NAME`].
pub(super) fn is_header_name(s: &str) -> bool {
    let b = s.as_bytes();
    b.first().is_some_and(u8::is_ascii_alphanumeric) && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
}

/// [`VERSION`].
pub(super) fn is_version(s: &str) -> bool {
    let mut parts = 0;
    let all_digits = s.split('.').all(|p| {
        parts += 1;
        !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit())
    });
    all_digits && parts == 3
}

/// [`PATH`]: `/segment` one or more times, optionally a trailing `/`, no NUL.
pub(super) fn is_path(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('/') else {
        return false;
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    !s.contains('\0') && rest.split('/').all(|seg| !seg.is_empty())
}

/// [`HOST_SUFFIX`].
pub(super) fn is_host_suffix(s: &str) -> bool {
    s.strip_prefix('.').is_some_and(|rest| {
        let b = rest.as_bytes();
        b.first().is_some_and(u8::is_ascii_alphanumeric)
            && b.last().is_some_and(u8::is_ascii_alphanumeric)
            && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-')
    })
}

/// [`IMAGE`].
pub(super) fn is_image(s: &str) -> bool {
    IMAGE_RE.is_match(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_tags_and_names() {
        assert!(is_server_key("fetch"));
        assert!(is_server_key("a-b"));
        assert!(!is_server_key("ab"));
        assert!(!is_server_key("-ab"));
        assert!(!is_server_key("io.github.x/y"));
        assert!(is_group_name("ab"));
        assert!(!is_group_name("a"));
        assert!(is_tag("web_search"));
        assert!(!is_tag("Web"));
        assert!(!is_tag("a"));
        assert!(is_tool("get-file_contents2"));
        assert!(!is_tool("get file"));
        assert!(!is_tool("é"));
        assert!(is_env_name("_X1"));
        assert!(!is_env_name("1X"));
        assert!(is_header_name("X-Api-Key"));
        assert!(!is_header_name("-X"));
        assert!(is_version("1.0.0"));
        assert!(!is_version("1.0"));
        assert!(!is_version("1.0.0.0"));
        assert!(!is_version("1..0"));
    }

    #[test]
    fn paths_hosts_and_images() {
        assert!(is_path("/tmp"));
        assert!(is_path("/a/b/"));
        assert!(!is_path("/"));
        assert!(!is_path("//"));
        assert!(!is_path("/a//b"));
        assert!(!is_path("/a//"));
        assert!(!is_path("a/b"));
        assert!(!is_path("/a\0"));
        assert!(is_host_suffix(".github.com"));
        assert!(is_host_suffix(".a"));
        assert!(!is_host_suffix(".-a"));
        assert!(!is_host_suffix("."));
        assert!(is_image("ghcr.io/github/github-mcp-server:latest"));
        assert!(is_image("example.com:5000/team/my-app:2.0"));
        assert!(is_image("mcr.microsoft.com/playwright/mcp"));
        assert!(!is_image("Mcp/fetch"));
        assert!(!is_image("mcp/fetch@sha256:abc"));
        assert!(!is_image("npx://pkg@1"));
    }
}
