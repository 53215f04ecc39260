//! Hiding the credentials a source location may carry, before it is shown, logged or stored.
//!
//! URLs carry secrets in two places: the user information (`https://user:password@host/…`) and the query
//! (presigned URLs, `?token=…`, `?X-Amz-Signature=…`). [`redact_url`] is the one rule for both; every
//! location or error message that quotes a source URL goes through it.

/// What replaces a hidden value.
pub(crate) const HIDDEN: &str = "***";

/// `location` with its credentials hidden: the user information removed and every query (and fragment)
/// value replaced by `***`, keys kept. Text without `://` (a file path) is returned as it is; text that is
/// not a valid URL is handled all the same.
///
/// `https://u:p@host/c.json?token=abc&X-Amz-Signature=def` → `https://host/c.json?token=***&X-Amz-Signature=***`
pub fn redact_url(location: &str) -> String {
    let Some(scheme_end) = location.find("://").map(|i| i + 3) else { return location.to_owned() };
    let (scheme, rest) = location.split_at(scheme_end);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, rest) = rest.split_at(authority_end);
    let host = authority.rfind('@').map_or(authority, |at| &authority[at + 1..]);
    let (before_fragment, fragment) = match rest.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (rest, None),
    };
    let (path, query) = match before_fragment.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (before_fragment, None),
    };
    let mut out = String::with_capacity(location.len());
    out.push_str(scheme);
    out.push_str(host);
    out.push_str(path);
    if let Some(query) = query {
        out.push('?');
        out.push_str(&hide_values(query));
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(&hide_values(fragment));
    }
    out
}

/// `a=1&b&c=` → `a=***&***&c=`: each value hidden, a bare item (which may itself be a token) too.
fn hide_values(pairs: &str) -> String {
    pairs
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, "")) => format!("{key}="),
            Some((key, _)) => format!("{key}={HIDDEN}"),
            None if pair.is_empty() => String::new(),
            None => HIDDEN.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Query and fragment values shorter than this are not scrubbed from messages: `v=1` or `ref=main` hold no
/// secret, and replacing such short text everywhere would garble the message.
const MIN_SCRUBBED_VALUE: usize = 4;

/// The secrets [`redact_url`] hides in `location` (the password, query and fragment values), longest first,
/// to scrub them from the messages of libraries that quote the URL themselves.
pub(crate) fn hidden_values(location: &str) -> Vec<String> {
    let Some(scheme_end) = location.find("://").map(|i| i + 3) else { return Vec::new() };
    let rest = &location[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let mut values = Vec::new();
    if let Some((_, password)) =
        rest[..authority_end].rsplit_once('@').and_then(|(userinfo, _)| userinfo.split_once(':'))
        && !password.is_empty()
    {
        values.push(password.to_owned());
    }
    let tail = &rest[authority_end..];
    if let Some(start) = tail.find(['?', '#']) {
        for pair in tail[start + 1..].split(['&', '#']) {
            let value = pair.split_once('=').map_or(pair, |(_, value)| value);
            if value.len() >= MIN_SCRUBBED_VALUE {
                values.push(value.to_owned());
            }
        }
    }
    values.sort();
    values.dedup();
    // Longest first, so a value that contains another is replaced whole.
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_goes_and_query_values_are_hidden() {
        let cases = [
            (
                "https://user:pw@example.com/c.json?token=S3CRET&X-Amz-Signature=S3CRET",
                "https://example.com/c.json?token=***&X-Amz-Signature=***",
            ),
            ("https://example.com/c.json", "https://example.com/c.json"),
            ("http://a:b@h:8080/p@q", "http://h:8080/p@q"),
            ("https://h/p?bare-token&k=&k2=v=w", "https://h/p?***&k=&k2=***"),
            ("https://h/p?k=v#access_token=t", "https://h/p?k=***#access_token=***"),
            ("https://user@h?t=1", "https://h?t=***"),
            ("https://h/repo.git?token=x@main:registry.json", "https://h/repo.git?token=***"),
            ("file:///srv/git/r.git", "file:///srv/git/r.git"),
            ("/etc/catalog.json", "/etc/catalog.json"),
            ("http://exa mple.com/?t=S3CRET", "http://exa mple.com/?t=***"),
            ("no scheme?token=x", "no scheme?token=x"),
            ("", ""),
        ];
        for (raw, want) in cases {
            assert_eq!(redact_url(raw), want, "{raw}");
        }
    }

    #[test]
    fn hidden_values_are_what_redaction_hides() {
        assert_eq!(
            hidden_values("https://me:pw@h/r.git?token=S3CRET&sig=abcd&v=1#frag=wxyz"),
            ["S3CRET", "abcd", "wxyz", "pw"]
        );
        assert!(hidden_values("https://me@h/r.git").is_empty(), "a user name is no secret");
        assert!(hidden_values("https://h/r.git").is_empty());
        assert!(hidden_values("/srv/r.git").is_empty());
    }
}
