//! The `pattern`s of the `server.json` schemas, hand-written with ECMA-262 semantics (`\d` is ASCII,
//! `\s` is ECMA white space, `$` only matches at the end), as JSON Schema evaluates them.

/// `^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$` (server `name`).
pub(crate) const SERVER_NAME: &str = "^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$";
/// `^[a-f0-9]{64}$` (package `fileSha256`).
pub(crate) const SHA256: &str = "^[a-f0-9]{64}$";
/// `^(\d+x\d+|any)$` (icon `sizes` items).
pub(crate) const ICON_SIZE: &str = r"^(\d+x\d+|any)$";
/// `^https?://[^\s]+$` (transport `url` from 2025-12-11).
pub(crate) const HTTP_URL: &str = r"^https?://[^\s]+$";

/// Whether `s` matches [`SERVER_NAME`].
pub(crate) fn is_server_name(s: &str) -> bool {
    let Some((namespace, name)) = s.split_once('/') else {
        return false;
    };
    !namespace.is_empty()
        && !name.is_empty()
        && namespace.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Whether `s` matches [`SHA256`].
pub(crate) fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether `s` matches [`ICON_SIZE`].
pub(crate) fn is_icon_size(s: &str) -> bool {
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    s == "any" || s.split_once('x').is_some_and(|(w, h)| digits(w) && digits(h))
}

/// Whether `s` matches [`HTTP_URL`].
pub(crate) fn is_http_url(s: &str) -> bool {
    let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.chars().any(is_ecma_whitespace))
}

/// ECMA-262 `\s`: white space (TAB, VT, FF, SP, NBSP, BOM, every `Zs`) and line terminators.
pub(crate) fn is_ecma_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | ' '
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
            | '\u{feff}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names() {
        assert!(is_server_name("io.github.a/b_c.d-e"));
        assert!(is_server_name("-/."));
        assert!(!is_server_name("a/b/c"));
        assert!(!is_server_name("a_b/c"));
        assert!(!is_server_name("/c"));
        assert!(!is_server_name("a/"));
        assert!(!is_server_name("a/é"));
    }

    #[test]
    fn icon_sizes_and_hashes() {
        assert!(is_icon_size("48x48"));
        assert!(is_icon_size("any"));
        assert!(!is_icon_size("48X48"));
        assert!(!is_icon_size("x48"));
        assert!(!is_icon_size("4x4x4"));
        assert!(!is_icon_size("٤x4"));
        assert!(is_sha256(&"a0".repeat(32)));
        assert!(!is_sha256(&"A0".repeat(32)));
    }

    #[test]
    fn http_urls() {
        assert!(is_http_url("https://x"));
        assert!(is_http_url("http://{host}:{port}/mcp"));
        assert!(!is_http_url("https://"));
        assert!(!is_http_url("ftp://x"));
        assert!(!is_http_url("https://a b"));
        assert!(!is_http_url("https://a\u{feff}"));
        assert!(!is_http_url("https://a\n"));
        assert!(is_http_url("https://a\u{85}"));
    }
}
