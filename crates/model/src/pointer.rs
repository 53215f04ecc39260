//! JSON Pointer (RFC 6901) building.

/// Escapes one reference token (`~` → `~0`, `/` → `~1`).
pub fn escape_token(token: &str) -> String {
    if token.contains(['~', '/']) { token.replace('~', "~0").replace('/', "~1") } else { token.to_owned() }
}

/// Appends a token to a pointer.
pub fn join(pointer: &str, token: impl AsRef<str>) -> String {
    format!("{pointer}/{}", escape_token(token.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_slashes_and_tildes() {
        assert_eq!(join("/servers", "io.github.a/b"), "/servers/io.github.a~1b");
        assert_eq!(join("", "a~b"), "/a~0b");
        assert_eq!(join("/x", "0"), "/x/0");
    }
}
