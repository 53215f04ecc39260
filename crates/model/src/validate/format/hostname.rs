//! RFC 1123 `hostname`, with IDNA A-labels decoded (RFC 3492) and checked (RFC 5892).

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
            && label.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-');
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
            '\u{0640}' | '\u{07FA}' | '\u{302E}' | '\u{302F}' | '\u{3031}'..='\u{3035}' | '\u{303B}' => false,
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
    fn hostnames() {
        for ok in ["api.github.com", "localhost", "a-b.c", "xn--bcher-kva.example", "1.2.3.4"] {
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
