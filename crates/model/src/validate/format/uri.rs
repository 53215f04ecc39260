//! RFC 3986 `uri`: an absolute URI, IP literals included.

/// Byte classes of RFC 3986.
const REG_NAME: u8 = 1;
const COLON: u8 = 2;
const AT: u8 = 4;
const SLASH: u8 = 8;
const QUESTION: u8 = 16;
const PERCENT: u8 = 32;
const USERINFO: u8 = REG_NAME | COLON;
const AUTHORITY: u8 = USERINFO | AT;
const PATH: u8 = REG_NAME | COLON | AT | SLASH;
const QUERY: u8 = PATH | QUESTION;

/// The class of one byte: unreserved and sub-delims are `REG_NAME`.
fn class(b: u8) -> u8 {
    match b {
        b'a'..=b'z'
        | b'A'..=b'Z'
        | b'0'..=b'9'
        | b'-'
        | b'.'
        | b'_'
        | b'~'
        | b'!'
        | b'$'
        | b'&'
        | b'\''
        | b'('
        | b')'
        | b'*'
        | b'+'
        | b','
        | b';'
        | b'=' => REG_NAME,
        b':' => COLON,
        b'@' => AT,
        b'/' => SLASH,
        b'?' => QUESTION,
        b'%' => PERCENT,
        _ => 0,
    }
}

/// The end of the run of bytes in `allowed` (percent-encodings included) from `at`; `None` on a
/// broken percent-encoding.
fn scan(b: &[u8], mut at: usize, allowed: u8) -> Option<usize> {
    while let Some(&c) = b.get(at) {
        let k = class(c);
        if k & allowed != 0 {
            at += 1;
        } else if k == PERCENT {
            if !b.get(at + 1..at + 3)?.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            at += 3;
        } else {
            break;
        }
    }
    Some(at)
}

/// RFC 3986 `URI` (absolute, fragment allowed).
pub(crate) fn is_uri(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(scheme) = scheme_len(b) else {
        return false;
    };
    let mut at = scheme + 1;
    if b[at..].starts_with(b"//") {
        let start = at + 2;
        let Some(end) = scan(b, start, AUTHORITY) else {
            return false;
        };
        at = if matches!(b.get(end), Some(b'[' | b']')) {
            match ip_literal_authority(b, start) {
                Some(end) => end,
                None => return false,
            }
        } else if host_port_ok(&b[start..end]) {
            end
        } else {
            return false;
        };
    }
    let Some(mut at) = scan(b, at, PATH) else {
        return false;
    };
    for (mark, allowed) in [(b'?', QUERY), (b'#', QUERY)] {
        if b.get(at) == Some(&mark) {
            match scan(b, at + 1, allowed) {
                Some(end) => at = end,
                None => return false,
            }
        }
    }
    at == b.len()
}

/// The length of a leading `scheme` followed by `:`.
fn scheme_len(b: &[u8]) -> Option<usize> {
    if !b.first()?.is_ascii_alphabetic() {
        return None;
    }
    let n = b.iter().position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')))?;
    (b[n] == b':').then_some(n)
}

/// `[userinfo "@"] host [":" port]` over bytes already limited to authority characters.
fn host_port_ok(b: &[u8]) -> bool {
    let host_port = b.iter().position(|&c| c == b'@').map_or(b, |at| &b[at + 1..]);
    let host_end = host_port.iter().position(|&c| class(c) & (COLON | AT) != 0).unwrap_or(host_port.len());
    match host_port.get(host_end) {
        None => true,
        Some(b':') => host_port[host_end + 1..].iter().all(u8::is_ascii_digit),
        Some(_) => false,
    }
}

/// An authority whose host is an IP literal (`[v6]` or `[vX.future]`): the index after it.
fn ip_literal_authority(b: &[u8], start: usize) -> Option<usize> {
    let userinfo_end = scan(b, start, USERINFO)?;
    let host = if b.get(userinfo_end) == Some(&b'@') { userinfo_end + 1 } else { start };
    if b.get(host) != Some(&b'[') {
        return None;
    }
    let close = host + 1 + b[host + 1..].iter().position(|&c| c == b']')?;
    let literal = std::str::from_utf8(&b[host + 1..close]).ok()?;
    if !(literal.parse::<std::net::Ipv6Addr>().is_ok() || is_ip_future(literal)) {
        return None;
    }
    let mut at = close + 1;
    if b.get(at) == Some(&b':') {
        at += 1 + b[at + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
    }
    matches!(b.get(at), None | Some(b'/' | b'?' | b'#')).then_some(at)
}

/// `IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )`.
fn is_ip_future(s: &str) -> bool {
    let Some(rest) = s.strip_prefix(['v', 'V']) else {
        return false;
    };
    let Some((version, tail)) = rest.split_once('.') else {
        return false;
    };
    !version.is_empty()
        && version.bytes().all(|c| c.is_ascii_hexdigit())
        && !tail.is_empty()
        && tail.bytes().all(|c| class(c) & USERINFO != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        for ok in [
            "https://github.com/stacklok/toolhive",
            "urn:isbn:0451450523",
            "http://[::1]:8080/x",
            "http://user@[v1.fe]/",
            "https://a.example/%20?q=1#frag",
            "mailto:a@b.c",
        ] {
            assert!(is_uri(ok), "{ok}");
        }
        for bad in [
            "github.com/x",
            "https://a b",
            "https://x/[y]",
            "https://a.example:80a/",
            "https://%zz",
            "http://[::1/",
            "http://[zz]/",
            "",
            "https://é.example",
        ] {
            assert!(!is_uri(bad), "{bad}");
        }
    }
}
