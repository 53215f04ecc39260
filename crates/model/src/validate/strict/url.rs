//! URLs as the registry reads them: `scheme://host[:port][/…]` with a non-empty host, a numeric
//! port and no white space; `{name}` template variables.

use crate::validate::check::{Quoted, Sink};
use crate::validate::loc::Loc;

/// The parts of an absolute URL the rules look at.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Parsed<'a> {
    /// Scheme, as written (compare case-insensitively).
    pub scheme: &'a str,
    /// Host without brackets, user info or port.
    pub host: &'a str,
}

/// Splits `url` into scheme and host; `None` when it is not `scheme://host…` with a valid port and
/// without white space, control characters, quotes or angle brackets.
pub(super) fn parse(url: &str) -> Option<Parsed<'_>> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>')) {
        return None;
    }
    let (scheme, rest) = url.split_once("://")?;
    let mut chars = scheme.chars();
    let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    if host.is_empty() || port.is_some_and(|p| !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    Some(Parsed { scheme, host })
}

/// A finding unless `url` is an absolute https URL.
pub(super) fn absolute_https(sink: &mut Sink, loc: &Loc<'_>, url: &str, what: &str) {
    match parse(url) {
        Some(p) if p.scheme.eq_ignore_ascii_case("https") => {}
        Some(_) => sink.push(loc, format!("{what} must use https, found {}", Quoted(url))),
        None => sink.push(
            loc,
            format!(
                "{what} must be an absolute https URL without spaces, quotes or angle brackets, found {}",
                Quoted(url)
            ),
        ),
    }
}

/// The `{name}` template variables of `url`, in order (the registry's `\{([^}]+)\}`).
pub(super) fn variables(url: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = url;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            None => break,
            Some(0) => rest = after,
            Some(close) => {
                out.push(&after[..close]);
                rest = &after[close + 1..];
            }
        }
    }
    out
}

/// `url` with its template variables replaced by sample values so it can be parsed: a variable
/// right after `:` and before `/` or the end becomes a port, any other one a name.
pub(super) fn fill_template(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}').filter(|&c| c > 0) else {
            out.push_str(&rest[..=open]);
            rest = after;
            continue;
        };
        out.push_str(&rest[..open]);
        let tail = &after[close + 1..];
        let port = out.ends_with(':') && (tail.is_empty() || tail.starts_with('/'));
        out.push_str(if port { "8080" } else { "placeholder" });
        rest = tail;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts() {
        let p = parse("https://user@Example.com:443/x?y#z").expect("parses");
        assert_eq!(p.host, "Example.com");
        assert_eq!(parse("https://[::1]:8080/").map(|p| p.host), Some("::1"));
        assert!(parse("https:///path").is_none());
        assert!(parse("https://a.com:port/").is_none());
        assert!(parse("https://a b.com").is_none());
        assert!(parse("example.com").is_none());
        assert!(parse("1https://a").is_none());
    }

    #[test]
    fn template_variables() {
        assert_eq!(variables("https://{a}.x/{b}/{}{c"), vec!["a", "b"]);
        assert_eq!(variables("{a{b}"), vec!["a{b"]);
        assert_eq!(fill_template("http://localhost:{--port}/mcp"), "http://localhost:8080/mcp");
        assert_eq!(fill_template("https://{tenant}.example.com:{port}"), "https://placeholder.example.com:8080");
        assert_eq!(fill_template("https://x/{}"), "https://x/{}");
    }
}
