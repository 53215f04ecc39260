//! The JSON Schema `format`s the ToolHive schema asserts (`date-time`, `uri`, `hostname`), checked
//! the way the `jsonschema` crate checks them for draft 7: RFC 3339 date-times (leap seconds only
//! at 23:59 UTC), RFC 3986 absolute URIs, RFC 1123 host names with IDNA A-labels.
//!
//! One approximation: a decoded A-label (`xn--…`) is accepted when its code points are
//! alphanumeric (`char::is_alphanumeric`) and pass RFC 5892's contextual rules; `jsonschema` uses
//! Unicode general categories instead, which also admit combining marks.

/// RFC 3339 `date-time`: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
pub(crate) fn is_date_time(s: &str) -> bool {
    let Some(t) = s.bytes().position(|b| b == b'T' || b == b't') else {
        return false;
    };
    is_date(&s.as_bytes()[..t]) && is_time(&s.as_bytes()[t + 1..])
}

fn two_digits(b: &[u8]) -> Option<u8> {
    match b {
        [a @ b'0'..=b'9', c @ b'0'..=b'9'] => Some((a - b'0') * 10 + (c - b'0')),
        _ => None,
    }
}

fn is_date(d: &[u8]) -> bool {
    if d.len() != 10 || d[4] != b'-' || d[7] != b'-' {
        return false;
    }
    let (Some(y1), Some(y2), Some(month), Some(day)) = (
        two_digits(&d[0..2]),
        two_digits(&d[2..4]),
        two_digits(&d[5..7]),
        two_digits(&d[8..10]),
    ) else {
        return false;
    };
    let year = u16::from(y1) * 100 + u16::from(y2);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let last = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=last).contains(&day)
}

fn is_time(t: &[u8]) -> bool {
    if t.len() < 9 || t[2] != b':' || t[5] != b':' {
        return false;
    }
    let (Some(hour), Some(minute), Some(second)) = (
        two_digits(&t[0..2]),
        two_digits(&t[3..5]),
        two_digits(&t[6..8]),
    ) else {
        return false;
    };
    if hour > 23 || minute > 59 || second > 60 {
        return false;
    }
    let mut i = 8;
    if t.get(i) == Some(&b'.') {
        i += 1;
        let digits = t[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return false;
        }
        i += digits;
    }
    let leap_ok =
        |utc_hour: i16, utc_minute: i16| second != 60 || (utc_hour == 23 && utc_minute == 59);
    match t.get(i) {
        Some(b'Z' | b'z') => i == t.len() - 1 && leap_ok(i16::from(hour), i16::from(minute)),
        Some(&sign @ (b'+' | b'-')) => {
            let offset = &t[i + 1..];
            if offset.len() != 5 || offset[2] != b':' {
                return false;
            }
            let (Some(oh), Some(om)) = (two_digits(&offset[0..2]), two_digits(&offset[3..5]))
            else {
                return false;
            };
            if oh > 23 || om > 59 {
                return false;
            }
            // Local time minus a positive offset (plus a negative one) is UTC.
            let dir: i16 = if sign == b'+' { -1 } else { 1 };
            let mut h = i16::from(hour) + dir * i16::from(oh);
            let mut m = i16::from(minute) + dir * i16::from(om);
            h += m / 60;
            m %= 60;
            if m < 0 {
                m += 60;
                h -= 1;
            }
            leap_ok((h + 24) % 24, m)
        }
        _ => false,
    }
}

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
    let n = b
        .iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')))?;
    (b[n] == b':').then_some(n)
}

/// `[userinfo "@"] host [":" port]` over bytes already limited to authority characters.
fn host_port_ok(b: &[u8]) -> bool {
    let host_port = b
        .iter()
        .position(|&c| c == b'@')
        .map_or(b, |at| &b[at + 1..]);
    let host_end = host_port
        .iter()
        .position(|&c| class(c) & (COLON | AT) != 0)
        .unwrap_or(host_port.len());
    match host_port.get(host_end) {
        None => true,
        Some(b':') => host_port[host_end + 1..].iter().all(u8::is_ascii_digit),
        Some(_) => false,
    }
}

/// An authority whose host is an IP literal (`[v6]` or `[vX.future]`): the index after it.
fn ip_literal_authority(b: &[u8], start: usize) -> Option<usize> {
    let userinfo_end = scan(b, start, USERINFO)?;
    let host = if b.get(userinfo_end) == Some(&b'@') {
        userinfo_end + 1
    } else {
        start
    };
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
        at += 1 + b[at + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
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

/// RFC 1123 `hostname`, with `xn--` labels decoded and checked as IDNA A-labels.
pub(crate) fn is_hostname(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 253 || b.last() == Some(&b'.') {
        return false;
    }
    b.split(|&c| c == b'.').all(|label| {
        let shape = !label.is_empty()
            && label.len() <= 63
            && label.first() != Some(&b'-')
            && label.last() != Some(&b'-')
            && label
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'-');
        let dashes = label.len() >= 4 && label[2] == b'-' && label[3] == b'-';
        let a_label = dashes && label.starts_with(b"xn");
        shape
            && (!dashes || a_label)
            && (!a_label
                || std::str::from_utf8(&label[4..])
                    .ok()
                    .and_then(decode_punycode)
                    .is_some_and(|u| is_unicode_label(&u)))
    })
}

/// RFC 3492 Punycode decoding of an A-label's payload.
fn decode_punycode(input: &str) -> Option<String> {
    const BASE: u32 = 36;
    const T_MIN: u32 = 1;
    const T_MAX: u32 = 26;
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(u32::from(c - b'0') + 26),
        b'A'..=b'Z' => Some(u32::from(c - b'A')),
        b'a'..=b'z' => Some(u32::from(c - b'a')),
        _ => None,
    };
    let adapt = |mut delta: u32, count: u32, first: bool| {
        delta /= if first { 700 } else { 2 };
        delta += delta / count;
        let mut k = 0;
        while delta > ((BASE - T_MIN) * T_MAX) / 2 {
            delta /= BASE - T_MIN;
            k += BASE;
        }
        k + ((BASE - T_MIN + 1) * delta) / (delta + 38)
    };
    let bytes = input.as_bytes();
    let (basic, encoded) = match bytes.iter().rposition(|&c| c == b'-') {
        Some(p) if p > 0 => (&bytes[..p], &bytes[p + 1..]),
        _ => (&bytes[..0], bytes),
    };
    let mut output: Vec<char> = basic.iter().map(|&c| char::from(c)).collect();
    let (mut n, mut i, mut bias, mut pos) = (128u32, 0u32, 72u32, 0usize);
    while pos < encoded.len() {
        let old = i;
        let mut weight = 1u32;
        let mut k = BASE;
        loop {
            let d = digit(*encoded.get(pos)?)?;
            pos += 1;
            i = i.checked_add(d.checked_mul(weight)?)?;
            let t = if k <= bias {
                T_MIN
            } else if k >= bias + T_MAX {
                T_MAX
            } else {
                k - bias
            };
            if d < t {
                break;
            }
            weight = weight.checked_mul(BASE - t)?;
            k += BASE;
        }
        let count = u32::try_from(output.len()).ok()? + 1;
        bias = adapt(i - old, count, old == 0);
        n = n.checked_add(i / count)?;
        i %= count;
        output.insert(usize::try_from(i).ok()?, char::from_u32(n)?);
        i += 1;
    }
    Some(output.into_iter().collect())
}

/// RFC 5892 checks of a decoded label (code points approximated, see the module documentation).
fn is_unicode_label(label: &str) -> bool {
    let chars: Vec<char> = label.chars().collect();
    let mut katakana_dot = false;
    let mut kana_or_han = false;
    let mut arabic_digits = false;
    let mut extended_arabic_digits = false;
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
        let next = chars.get(i + 1).copied();
        let ok = match c {
            '\u{00B7}' => prev == Some('l') && next == Some('l'),
            '\u{0375}' => next.is_some_and(|n| ('\u{0370}'..='\u{03FF}').contains(&n)),
            '\u{05F3}' | '\u{05F4}' => prev.is_some_and(|p| ('\u{0590}'..='\u{05FF}').contains(&p)),
            '\u{30FB}' => {
                katakana_dot = true;
                true
            }
            '\u{0640}'
            | '\u{07FA}'
            | '\u{302E}'
            | '\u{302F}'
            | '\u{3031}'..='\u{3035}'
            | '\u{303B}' => false,
            // ZERO WIDTH JOINER is only valid after a virama, which needs Unicode tables: rejected.
            '\u{200D}' => false,
            '\u{200C}' | '\u{06FD}' | '\u{06FE}' | '\u{0F0B}' | '\u{3007}' => true,
            c => {
                if matches!(c, '\u{3040}'..='\u{30FF}' | '\u{4E00}'..='\u{9FFF}') {
                    kana_or_han = true;
                }
                arabic_digits |= ('\u{0660}'..='\u{0669}').contains(&c);
                extended_arabic_digits |= ('\u{06F0}'..='\u{06F9}').contains(&c);
                c.is_ascii() || c.is_alphanumeric()
            }
        };
        if !ok {
            return false;
        }
    }
    (!katakana_dot || kana_or_han) && !(arabic_digits && extended_arabic_digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times() {
        for ok in [
            "2026-02-18T00:24:11Z",
            "2025-12-18T10:00:49.16262Z",
            "2024-02-29t23:59:60z",
            "1990-12-31T15:59:60-08:00",
            "2025-01-01T00:00:00+05:30",
        ] {
            assert!(is_date_time(ok), "{ok}");
        }
        for bad in [
            "2026-02-18",
            "2025-02-29T00:00:00Z",
            "2025-01-01T24:00:00Z",
            "2025-01-01T00:00:00",
            "2025-01-01T00:00:00.Z",
            "2025-01-01T12:00:60Z",
            "2025-01-01T00:00:00+5:30",
            "2025-01-01 00:00:00Z",
            "２025-01-01T00:00:00Z",
        ] {
            assert!(!is_date_time(bad), "{bad}");
        }
    }

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

    #[test]
    fn hostnames() {
        for ok in [
            "api.github.com",
            "localhost",
            "a-b.c",
            "xn--bcher-kva.example",
            "1.2.3.4",
        ] {
            assert!(is_hostname(ok), "{ok}");
        }
        for bad in [
            "",
            ".github.com",
            "a..b",
            "-a.com",
            "a-.com",
            "a_b.com",
            "ab--cd.com",
            "xn--zz--.com",
            "host.",
            &"a".repeat(64),
        ] {
            assert!(!is_hostname(bad), "{bad}");
        }
    }
}
